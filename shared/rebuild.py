"""Replays: rebuild a projection from offset 0 of its topics (or from the service's own event
store) into a fresh schema, compare it with the live one, and optionally swap it in."""

from __future__ import annotations

import time
from dataclasses import dataclass, field

import asyncpg
from aiokafka import AIOKafkaConsumer, TopicPartition

from shared.eventstore import EventStore
from shared.migrations import _quote_ident
from shared.projections import Projection, ProjectionRunner, Record
from shared.settings import ServiceSettings


@dataclass
class RebuildStats:
    projection: str
    schema: str
    events: int = 0
    seconds: float = 0.0
    differences: dict[str, int] = field(default_factory=dict)

    @property
    def events_per_s(self) -> float:
        return self.events / self.seconds if self.seconds else 0.0


async def _fresh_runner(
    settings: ServiceSettings, projection: Projection, schema: str
) -> tuple[asyncpg.Pool, ProjectionRunner]:
    pool = await asyncpg.create_pool(settings.database_url, min_size=1, max_size=2)
    async with pool.acquire() as conn:
        await conn.execute(f"DROP SCHEMA IF EXISTS {_quote_ident(schema)} CASCADE")
    runner = ProjectionRunner(pool, projection, schema)
    await runner.setup()
    return pool, runner


async def rebuild_from_kafka(
    settings: ServiceSettings, projection: Projection, schema: str, batch: int = 5000
) -> RebuildStats:
    """Read every partition of the projection's topics from the beginning up to the end
    offsets seen at the start, applying batches exactly as the live runner does."""
    pool, runner = await _fresh_runner(settings, projection, schema)
    stats = RebuildStats(projection.name, schema)
    consumer = AIOKafkaConsumer(
        bootstrap_servers=settings.kafka_bootstrap,
        enable_auto_commit=False,
        group_id=None,
        max_partition_fetch_bytes=8 * 1024 * 1024,
        fetch_max_bytes=64 * 1024 * 1024,
    )
    await consumer.start()
    try:
        partitions = [
            TopicPartition(t, p)
            for t in (settings.topic(name) for name in projection.topics)
            for p in sorted(consumer.partitions_for_topic(t) or await _partitions(consumer, t))
        ]
        consumer.assign(partitions)
        await consumer.seek_to_beginning(*partitions)
        ends = await consumer.end_offsets(partitions)
        todo = {tp for tp in partitions if ends[tp] > 0}
        started = time.perf_counter()
        while todo:
            fetched = await consumer.getmany(*todo, timeout_ms=1000, max_records=batch)
            records: list[Record] = []
            for tp, msgs in fetched.items():
                for m in msgs:
                    if m.offset < ends[tp]:
                        records.append(Record(m.topic, m.partition, m.offset, m.value or b""))
                if msgs and msgs[-1].offset + 1 >= ends[tp]:
                    todo.discard(tp)
            await runner.apply(records)
            stats.events += len(records)
        stats.seconds = time.perf_counter() - started
    finally:
        await consumer.stop()
        await pool.close()
    return stats


async def _partitions(consumer: AIOKafkaConsumer, topic: str) -> set[int]:
    await consumer._client.force_metadata_update()
    return consumer.partitions_for_topic(topic) or set()


async def rebuild_from_store(
    settings: ServiceSettings, projection: Projection, schema: str, batch: int = 5000
) -> RebuildStats:
    """Replay the service's own event store (publish order) into a fresh schema. Positions are
    recorded as offsets of a pseudo-topic ``store:<topic>``."""
    pool, runner = await _fresh_runner(settings, projection, schema)
    stats = RebuildStats(projection.name, schema)
    store = EventStore(pool)
    topic = f"store:{settings.topic(settings.service)}"
    started = time.perf_counter()
    try:
        after = (0, 0)
        while True:
            rows, _ = await store.read_committed(after, batch)
            if not rows:
                break
            await runner.apply([Record(topic, 0, r.position, r.envelope) for r in rows])
            stats.events += len(rows)
            after = (rows[-1].xid, rows[-1].position)
        stats.seconds = time.perf_counter() - started
    finally:
        await pool.close()
    return stats


async def compare(settings: ServiceSettings, projection: Projection, live: str, rebuilt: str) -> dict[str, int]:
    """Rows that differ between the live and the rebuilt copy of each projection table."""
    conn = await asyncpg.connect(settings.database_url)
    try:
        tables = await conn.fetch(
            "SELECT table_name FROM information_schema.tables WHERE table_schema = $1 AND table_name NOT IN"
            " ('schema_migrations', 'projection_offsets', 'projection_streams', 'projection_gaps')",
            rebuilt,
        )
        out: dict[str, int] = {}
        for t in tables:
            name = t["table_name"]
            a, b = f"{_quote_ident(live)}.{_quote_ident(name)}", f"{_quote_ident(rebuilt)}.{_quote_ident(name)}"
            diff = await conn.fetchval(
                f"SELECT (SELECT count(*) FROM (SELECT * FROM {a} EXCEPT ALL SELECT * FROM {b}) x)"
                f" + (SELECT count(*) FROM (SELECT * FROM {b} EXCEPT ALL SELECT * FROM {a}) y)"
            )
            out[name] = int(diff)
        return out
    finally:
        await conn.close()


async def swap(settings: ServiceSettings, live: str, rebuilt: str) -> None:
    """Make the rebuilt schema the live one (stop the service's consumers first)."""
    conn = await asyncpg.connect(settings.database_url)
    try:
        old = f"{live}_old"
        async with conn.transaction():
            await conn.execute(f"DROP SCHEMA IF EXISTS {_quote_ident(old)} CASCADE")
            await conn.execute(f"ALTER SCHEMA {_quote_ident(live)} RENAME TO {_quote_ident(old)}")
            await conn.execute(f"ALTER SCHEMA {_quote_ident(rebuilt)} RENAME TO {_quote_ident(live)}")
            await conn.execute(f"DROP SCHEMA {_quote_ident(old)} CASCADE")
    finally:
        await conn.close()
