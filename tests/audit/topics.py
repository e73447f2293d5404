"""Test helpers: a service-like event store published to a real topic, copies of topics with
records edited, dropped, moved or added (an attacker who controls the topic), and verify."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import asyncpg
import orjson
from aiokafka import AIOKafkaProducer

from shared.audit.schemas import PublishedSchemas
from shared.audit.topics import TopicReader, audit_topics
from shared.audit.verify import Report, Verifier
from shared.contracts.platform import ParkedRecordSkipped
from shared.envelope import Actor, Envelope, new_id
from shared.eventstore import CommandContext, PostgresEventStore
from shared.projections import Record
from shared.relay import OutboxRelay, new_producer
from tests import support

SCHEMAS = Path(__file__).resolve().parents[2] / "docs" / "schemas"
CONTEXT = CommandContext(actor=Actor(id="auditor-test", role="operator"), agency="platform", project=None,
                         correlation_id=new_id())  # fmt: skip


def skipped(n: int) -> ParkedRecordSkipped:
    """A small real contract to fill streams with."""
    return ParkedRecordSkipped(
        projection="p", topic="t", partition=0, offset=n, parked_reason="handler", reason=f"test event {n}"
    )


async def append_events(store: PostgresEventStore, streams: int, per_stream: int, start: int = 0) -> None:
    """``per_stream`` more events on each of ``streams`` streams, one append per event, interleaved."""
    for v in range(start, start + per_stream):
        for s in range(streams):
            await store.append(
                stream_id=f"stream-{s}", stream_type="test", expected_version=v, events=[skipped(v)], context=CONTEXT
            )


async def publish_all(pool: asyncpg.Pool, topic: str, route: Callable[[str], str | None] | None = None) -> int:
    """Run the real outbox relay until the store is drained (``route``: as the runtime routes the
    read records to the audit topic); returns how many it published."""
    producer = new_producer(support.KAFKA, "audit-test")
    await producer.start()
    total = 0
    try:
        relay = OutboxRelay(PostgresEventStore(pool), producer, topic, route=route)
        async with pool.acquire() as conn:
            while True:
                published, held = await relay.publish_once(conn)
                total += published
                if not published and not held:
                    return total
    finally:
        await producer.stop()


async def read_topic(topic: str) -> dict[int, list[Record]]:
    """Every record per partition, in offset order."""
    found: dict[int, list[Record]] = {}
    async with TopicReader(support.KAFKA, [topic]) as reader:
        partitions = {p for _, p in reader.span.ends}
        async for batch in reader.batches():
            for r in batch:
                found.setdefault(r.partition, []).append(r)
    return {p: found.get(p, []) for p in sorted(partitions)}


async def write_copy(records: dict[int, list[Record]], topic: str) -> None:
    """A new topic holding exactly these records, partition by partition, in this order."""
    await support.create_topics([topic], partitions=len(records))
    producer = AIOKafkaProducer(bootstrap_servers=support.KAFKA, acks="all", enable_idempotence=True)
    await producer.start()
    try:
        for partition, rows in records.items():
            for r in rows:
                await (await producer.send(topic, value=r.value, key=r.key, partition=partition))
    finally:
        await producer.stop()


async def verify(topics: list[str], pins: dict[str, set[str]] | None = None) -> Report:
    verifier = Verifier(PublishedSchemas.load(SCHEMAS), pins)
    async with TopicReader(support.KAFKA, topics, optional=audit_topics(topics)) as reader:
        async for batch in reader.batches():
            verifier.feed(batch)
    return verifier.finish()


@dataclass
class Located:
    partition: int
    index: int
    envelope: Envelope


def envelopes(records: dict[int, list[Record]]) -> list[Located]:
    return [Located(p, i, Envelope.from_bytes(r.value)) for p, rows in records.items() for i, r in enumerate(rows)]


def with_value(record: Record, envelope: Envelope | dict[str, Any]) -> Record:
    value = envelope.to_bytes() if isinstance(envelope, Envelope) else orjson.dumps(envelope)
    return Record(record.topic, record.partition, record.offset, value, record.key)


def edited(envelope: Envelope, change: Callable[[dict[str, Any]], None]) -> dict[str, Any]:
    data = envelope.model_dump(mode="json")
    change(data)
    return data
