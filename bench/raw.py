"""The stack's own limits on the same payloads, and the peer library on the same server.

- Kafka: aiokafka producing (acks=all, idempotent, like the relay) while a consumer reads the
  same messages back; the figure is messages fully through both per second.
- PostgreSQL: rows shaped like ``events`` inserted as batched ``unnest`` statements (what the
  event store does) and with ``COPY``.
- Appends: ``PostgresEventStore.append`` (ours: one command = one transaction with optimistic
  concurrency, hash chaining, NOTIFY) vs the ``eventsourcing`` library's PostgreSQL application
  recorder (one ``insert_events`` per command), same events, same number of concurrent writers.
"""

from __future__ import annotations

import asyncio
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import date
from typing import Any
from urllib.parse import urlparse
from uuid import UUID, uuid4

import asyncpg
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition

from bench import synth
from bench.stack import KAFKA, Scratch, create_topics
from shared.contracts.intake import ParticipantEnrolled
from shared.envelope import GENESIS_HASH, Actor, new_id
from shared.eventstore import CommandContext, PostgresEventStore
from shared.group_commit import group_committer
from shared.migrations import EVENTSTORE_SQL, migrate
from shared.settings import ServiceSettings


async def kafka_rate(scratch: Scratch, messages: int) -> dict[str, float]:
    topic = f"{scratch.run}.raw"
    await create_topics([topic], partitions=3)
    scratch.topics.append(topic)
    payload = synth.sample_envelope()
    producer = AIOKafkaProducer(
        bootstrap_servers=KAFKA, acks="all", enable_idempotence=True, linger_ms=2, max_batch_size=256 * 1024
    )
    consumer = AIOKafkaConsumer(bootstrap_servers=KAFKA, group_id=None, enable_auto_commit=False)
    await producer.start()
    await consumer.start()
    try:
        parts = [TopicPartition(topic, p) for p in range(3)]
        consumer.assign(parts)
        await consumer.seek_to_beginning(*parts)

        async def consume() -> float:
            seen = 0
            while seen < messages:
                got = await consumer.getmany(timeout_ms=500, max_records=5000)
                seen += sum(len(v) for v in got.values())
            return time.perf_counter()

        started = time.perf_counter()
        reader = asyncio.create_task(consume())
        futures = []
        for i in range(messages):
            futures.append(await producer.send(topic, value=payload, key=str(i % 997).encode()))
            if len(futures) >= 5000:
                await asyncio.gather(*futures)
                futures = []
        await asyncio.gather(*futures)
        produced = time.perf_counter()
        done = await reader
    finally:
        await producer.stop()
        await consumer.stop()
    consume_s = await kafka_consume_alone(topic, messages)
    return {
        "kafka_msgs_per_s": round(messages / (done - started)),
        "kafka_produce_msgs_per_s": round(messages / (produced - started)),
        "kafka_consume_msgs_per_s": round(messages / consume_s),
        "payload_bytes": len(payload),
    }


async def kafka_consume_alone(topic: str, messages: int) -> float:
    """Seconds for a fresh consumer (as a replay reads: aiokafka defaults, batches of up to
    5,000 records) to read ``messages`` already on ``topic`` from offset 0:
    the ceiling of a replay from Kafka, with no producer competing."""
    consumer = AIOKafkaConsumer(bootstrap_servers=KAFKA, group_id=None, enable_auto_commit=False)
    await consumer.start()
    try:
        parts = [TopicPartition(topic, p) for p in range(3)]
        consumer.assign(parts)
        await consumer.seek_to_beginning(*parts)
        started = time.perf_counter()
        seen = 0
        while seen < messages:
            got = await consumer.getmany(timeout_ms=500, max_records=5000)
            seen += sum(len(v) for v in got.values())
        return time.perf_counter() - started
    finally:
        await consumer.stop()


async def pg_rates(scratch: Scratch, rows: int, batch: int = 1000) -> dict[str, float]:
    url = await scratch.database("raw_pg")
    conn = await asyncpg.connect(url)
    try:
        await migrate(conn, EVENTSTORE_SQL)
        data = [r.record() for r in synth.cases(rows)]
        insert = (
            "INSERT INTO events (event_id, stream_id, stream_type, version, event_type, recorded_at, hash, envelope)"
            " SELECT * FROM unnest($1::uuid[], $2::text[], $3::text[], $4::int[], $5::text[],"
            " $6::timestamptz[], $7::text[], $8::bytea[])"
        )
        started = time.perf_counter()
        for i in range(0, rows, batch):
            chunk = data[i : i + batch]
            await conn.execute(insert, *(list(col) for col in zip(*chunk, strict=True)))
        batched = rows / (time.perf_counter() - started)
        await conn.execute("TRUNCATE events")
        cols = ["event_id", "stream_id", "stream_type", "version", "event_type", "recorded_at", "hash", "envelope"]
        started = time.perf_counter()
        for i in range(0, rows, batch * 10):
            await conn.copy_records_to_table("events", records=data[i : i + batch * 10], columns=cols)
        copy = rows / (time.perf_counter() - started)
    finally:
        await conn.close()
    return {"pg_rows_per_s_batched": round(batched), "pg_rows_per_s_copy": round(copy), "pg_batch_rows": batch}


def _event() -> ParticipantEnrolled:
    return ParticipantEnrolled(
        participant_id=uuid4(),
        project="pro-aktiv",
        agency="jc-en",
        start_date=date(2024, 4, 1),
        age_band="45-54",
        sex="female",
    )


class _LeadingRelay:
    """This process's relay while it leads, as in a running service: an autocommitted append
    wakes it in-process instead of sending NOTIFY. What it does then is not part of the append
    (as the peer's listeners are not part of its inserts)."""

    is_leader = True

    def wake(self) -> None:
        return None


async def ours_appends(url: str, appends: int, writers: int, per_stream: int, *, grouped: bool = True) -> float:
    """Appends/s through ``EventStore.append``, with the services' group commit or without."""
    pool = await asyncpg.create_pool(url, min_size=writers, max_size=writers)
    assert pool is not None
    async with pool.acquire() as conn:
        await migrate(conn, EVENTSTORE_SQL)
    group = group_committer(ServiceSettings())  # as the services run it (None if configured off)
    store = PostgresEventStore(pool, group=group if grouped else None)
    store.local_relay = _LeadingRelay()
    ctx = CommandContext(
        actor=Actor(id="bench", role="case-manager"), agency="jc-en", project="pro-aktiv", correlation_id=new_id()
    )
    event = _event()

    async def writer(n: int) -> None:
        # As a command appends (the bus without an idempotency key): after the
        # head it loaded (here: the one it wrote last), one autocommitted statement. The peer
        # likewise inserts at a version it knows, without reading the stream first.
        stream, version, head = f"participant-{uuid4()}", 0, GENESIS_HASH
        for _ in range(n):
            if version == per_stream:
                stream, version, head = f"participant-{uuid4()}", 0, GENESIS_HASH
            async with pool.acquire() as conn:
                sealed = await store.append(
                    conn,
                    stream_id=stream,
                    stream_type="participant",
                    expected_version=version,
                    events=[event],
                    context=ctx,
                    head_hash=head,
                )
            version, head = version + 1, sealed[-1].hash

    started = time.perf_counter()
    await asyncio.gather(*(writer(appends // writers) for _ in range(writers)))
    rate = (appends // writers) * writers / (time.perf_counter() - started)
    await pool.close()
    return rate


def peer_appends(url: str, appends: int, writers: int, per_stream: int) -> float:
    """The eventsourcing library's PostgreSQL recorder: one insert_events per command."""
    from eventsourcing.persistence import StoredEvent
    from eventsourcing.postgres import PostgresApplicationRecorder, PostgresDatastore

    u = urlparse(url)
    datastore = PostgresDatastore(
        dbname=u.path.lstrip("/"), host=u.hostname or "127.0.0.1", port=u.port or 5432, user=u.username or "postgres",
        password=u.password or "", pool_size=writers,
    )  # fmt: skip
    recorder = PostgresApplicationRecorder(datastore)
    recorder.create_table()
    state = synth.enrolment_envelope()  # what ours stores for the same event

    def writer(n: int) -> None:
        stream: UUID = uuid4()
        version = 0
        for _ in range(n):
            if version == per_stream:
                stream, version = uuid4(), 0
            version += 1
            recorder.insert_events([StoredEvent(stream, version, "ParticipantEnrolled", state)])

    started = time.perf_counter()
    with ThreadPoolExecutor(writers) as pool:
        list(pool.map(writer, [appends // writers] * writers))
    rate = (appends // writers) * writers / (time.perf_counter() - started)
    datastore.close()
    return rate


async def peer(scratch: Scratch, appends: int, writers: int = 8, per_stream: int = 5) -> dict[str, Any]:
    ours_url = await scratch.database(f"peer_ours_{writers}")
    alone_url = await scratch.database(f"peer_ours_alone_{writers}")
    theirs_url = await scratch.database(f"peer_eventsourcing_{writers}")
    ours = await ours_appends(ours_url, appends, writers, per_stream)
    alone = await ours_appends(alone_url, appends, writers, per_stream, grouped=False)
    theirs = await asyncio.to_thread(peer_appends, theirs_url, appends, writers, per_stream)
    return {
        "eventsourcing_appends_per_s": round(theirs),
        "ours_appends_per_s": round(ours),
        "ours_without_group_commit_appends_per_s": round(alone),
        "ratio": round(ours / theirs, 2) if theirs else None,
        "writers": writers,
        "events_per_stream": per_stream,
        "appends": appends,
    }
