"""What happened to every acknowledged write: stored, published, applied — read afterwards from
the platform's own tables (``events``, ``proj_*.projection_streams``), the topics, and the
dead-letter topics (``<group prefix><service>.<projection>.dlq``). Fresh connections each time, so a restarted
PostgreSQL or Kafka does not break the accounting."""

from __future__ import annotations

import asyncio
import contextlib
from collections import Counter
from dataclasses import dataclass

import asyncpg
import orjson
from aiokafka import AIOKafkaConsumer, TopicPartition

from bench.progress import Target
from bench.stack import KAFKA, Services, kafka_admin
from shared.migrations import _quote_ident

Ack = tuple[str, str, int]  # (service, stream id, version) of one 2xx write

# Counters of the reporting projection that add up events (not idempotent by themselves): an
# event applied twice shows up as a counter above the number of stored events.
COUNTERS = {
    "referrals": ("intake", "ReferralReceived"),
    "enrolments": ("intake", "ParticipantEnrolled"),
    "open_cases": ("casework", "CaseOpened"),
}


def group_id(services: Services, t: Target) -> str:
    """The group the projection had alone, which names its dead-letter topic (``shared.runtime.group_id``)."""
    return f"{services.prefix}{t.service}.{t.projection}"


def dlq_topic(services: Services, t: Target) -> str:
    return f"{group_id(services, t)}.dlq"


async def connect(url: str, attempts: int = 60) -> asyncpg.Connection:
    """Connect, waiting out a database that is restarting."""
    for i in range(attempts):
        try:
            return await asyncpg.connect(url, timeout=5)
        except (OSError, asyncpg.PostgresError, TimeoutError):
            if i == attempts - 1:
                raise
            await asyncio.sleep(0.5)
    raise AssertionError("unreachable")


async def stored(services: Services, acks: list[Ack]) -> set[Ack]:
    out: set[Ack] = set()
    by_service: dict[str, list[str]] = {}
    for service, stream, _ in acks:
        by_service.setdefault(service, []).append(stream)
    for service, streams in by_service.items():
        conn = await connect(services.running[service].database_url)
        try:
            rows = await conn.fetch("SELECT stream_id, version FROM events WHERE stream_id = ANY($1)", streams)
        finally:
            await conn.close()
        out |= {(service, r["stream_id"], r["version"]) for r in rows}
    return out & set(acks)


async def read_topics(topics: list[str]) -> dict[str, list[tuple[bytes | None, bytes | None]]]:
    """Every record (key, value) of the topics, from the beginning to the current end."""
    consumer = AIOKafkaConsumer(bootstrap_servers=KAFKA, group_id=None, enable_auto_commit=False)
    await consumer.start()
    out: dict[str, list[tuple[bytes | None, bytes | None]]] = {t: [] for t in topics}
    try:
        parts: list[TopicPartition] = []
        for topic in topics:
            found = consumer.partitions_for_topic(topic)
            if not found:
                await consumer._client.force_metadata_update()
                found = consumer.partitions_for_topic(topic) or set()
            parts += [TopicPartition(topic, p) for p in sorted(found)]
        if not parts:
            return out
        consumer.assign(parts)
        await consumer.seek_to_beginning(*parts)
        ends = await consumer.end_offsets(parts)
        todo = {tp for tp, end in ends.items() if end > 0}
        while todo:
            batch = await consumer.getmany(*todo, timeout_ms=1000, max_records=10_000)
            for tp, records in batch.items():
                out[tp.topic] += [(r.key, r.value) for r in records]
            for tp in list(todo):
                if await consumer.position(tp) >= ends[tp]:
                    todo.discard(tp)
    finally:
        await consumer.stop()
    return out


async def existing_topics() -> set[str]:
    async with kafka_admin() as admin:
        return set(await admin.list_topics())


def envelope_keys(records: list[tuple[bytes | None, bytes | None]]) -> Counter[tuple[str, int]]:
    """(stream, version) of every decodable envelope on a topic, with how often it is there."""
    out: Counter[tuple[str, int]] = Counter()
    for _, value in records:
        with contextlib.suppress(orjson.JSONDecodeError, TypeError, KeyError, AttributeError):
            e = orjson.loads(value or b"")
            out[(str(e["stream_id"]), int(e["version"]))] += 1
    return out


async def applied(services: Services, targets: list[Target], acks: list[Ack]) -> set[Ack]:
    """Acks that every projection reading the written service's topic has applied."""
    streams = sorted({s for _, s, _ in acks})
    seen: dict[Target, dict[str, int]] = {}
    for t in targets:
        conn = await connect(services.running[t.service].database_url)
        try:
            rows = await conn.fetch(
                f"SELECT stream_id, version FROM {_quote_ident(t.schema)}.projection_streams WHERE stream_id = ANY($1)",
                streams,
            )
        finally:
            await conn.close()
        seen[t] = {r["stream_id"]: r["version"] for r in rows}
    return {a for a in acks if all(seen[t].get(a[1], 0) >= a[2] for t in targets if a[0] in t.reads)}


async def counters(services: Services) -> dict[str, dict[str, int]]:
    """Per counted metric: events stored and what the reporting counter says."""
    conn = await connect(services.running["reporting"].database_url)
    try:
        counted = {
            r["metric"]: int(r["n"])
            for r in await conn.fetch("SELECT metric, sum(count) AS n FROM proj_counts.funnel_counts GROUP BY metric")
        }
    finally:
        await conn.close()
    out: dict[str, dict[str, int]] = {}
    for metric, (service, event_type) in COUNTERS.items():
        conn = await connect(services.running[service].database_url)
        try:
            n = int(await conn.fetchval("SELECT count(*) FROM events WHERE event_type = $1", event_type))
        finally:
            await conn.close()
        out[metric] = {"stored": n, "counted": counted.get(metric, 0)}
    return out


@dataclass
class Position:
    unpublished: int
    behind: dict[str, int]

    @property
    def caught_up(self) -> bool:
        return self.unpublished == 0 and not any(self.behind.values())


async def position(services: Services, targets: list[Target]) -> Position:
    """Events not yet relayed (all services) and records each projection still has to read."""
    unpublished = 0
    for name, svc in services.running.items():
        conn = await connect(svc.database_url)
        try:
            topic = f"{services.prefix}{name}.events"
            row = await conn.fetchrow(
                "SELECT last_xid::text AS x, last_position AS p FROM relay_checkpoint WHERE topic = $1", topic
            )
            x, p = (row["x"], row["p"]) if row else ("0", 0)
            unpublished += int(
                await conn.fetchval("SELECT count(*) FROM events WHERE (xid, position) > ($1::text::xid8, $2)", x, p)
            )
        finally:
            await conn.close()
    consumer = AIOKafkaConsumer(bootstrap_servers=KAFKA, group_id=None, enable_auto_commit=False)
    await consumer.start()
    try:
        parts = []
        for name in services.running:
            topic = f"{services.prefix}{name}.events"
            found = consumer.partitions_for_topic(topic)
            if not found:
                await consumer._client.force_metadata_update()
                found = consumer.partitions_for_topic(topic) or set()
            parts += [TopicPartition(topic, p) for p in found]
        ends = {(tp.topic, tp.partition): off for tp, off in (await consumer.end_offsets(parts)).items()}
    finally:
        await consumer.stop()
    behind: dict[str, int] = {}
    for t in targets:
        conn = await connect(services.running[t.service].database_url)
        try:
            rows = await conn.fetch(
                f"SELECT topic, partition, next_offset FROM {_quote_ident(t.schema)}.projection_offsets"
                " WHERE projection = $1",
                t.projection,
            )
        finally:
            await conn.close()
        done = {(r["topic"], r["partition"]): r["next_offset"] for r in rows}
        topics = {f"{services.prefix}{s}.events" for s in t.reads}
        behind[f"{t.service}.{t.projection}"] = sum(e - done.get(k, 0) for k, e in ends.items() if k[0] in topics)
    return Position(unpublished, behind)
