"""Projection runner: applies consumed events to PostgreSQL read models, effectively once.

Each batch is applied in one transaction that also stores the consumer position per partition
and the highest applied version per stream. Redelivered offsets and duplicate versions are
skipped; a missing version is recorded as a gap (table, metric, log) and not silently accepted.
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import asyncpg
import structlog

from shared import metrics
from shared.db import Conn
from shared.envelope import Envelope
from shared.migrations import TRACKING_SQL, _quote_ident, migrate

log = structlog.get_logger(__name__)

Handler = Callable[[Conn, Envelope], Awaitable[None]]
BatchHandler = Callable[[Conn, list[Envelope]], Awaitable[None]]


@dataclass
class Projection:
    """A named read model: its tables (SQL files) and one handler per event type it needs."""

    name: str
    sql: Sequence[Path]
    handlers: dict[str, Handler] = field(default_factory=dict)
    topics: Sequence[str] = ()
    # A policy appends its service's own events instead of filling tables: never replayed
    # into a fresh schema (its effects are already history).
    side_effects: bool = False
    # Opt-in batch application: one call with a run of consecutive events (in order) instead of
    # one call (and one SQL round trip) per event. Replays and busy consumers gain the most.
    batch_handlers: dict[str, BatchHandler] = field(default_factory=dict)
    # Every handler reads and writes only rows of the event's own stream, except for the event
    # types in ``cross_stream``: a rebuild may then split the streams over parallel worker
    # processes (``rebuild --workers``).
    stream_local: bool = False
    # Types whose handlers also touch other streams' rows (e.g. an erasure pseudonymising a
    # person's rows everywhere). They must be idempotent: a parallel rebuild applies them once
    # more when every worker is done, so rows written meanwhile by other workers are covered.
    cross_stream: frozenset[str] = frozenset()

    def on_batch(self, *event_types: str) -> Callable[[BatchHandler], BatchHandler]:
        """Register ``fn(conn, envelopes)`` for these types; it gets every run of consecutive
        events (of the batch, in order) whose types share this handler."""

        def deco(fn: BatchHandler) -> BatchHandler:
            for t in event_types:
                self.batch_handlers[t] = fn
            return fn

        return deco

    def on(self, *event_types: str) -> Callable[[Handler], Handler]:
        def deco(fn: Handler) -> Handler:
            for t in event_types:
                self.handlers[t] = fn
            return fn

        return deco


@dataclass(frozen=True, slots=True)
class Record:
    """One consumed message, independent of the client library."""

    topic: str
    partition: int
    offset: int
    value: bytes


@dataclass
class BatchResult:
    applied: int = 0
    duplicates: int = 0
    gaps: int = 0
    positions: dict[tuple[str, int], int] = field(default_factory=dict)


class ProjectionRunner:
    """Applies batches of records to one projection living in one PostgreSQL schema."""

    def __init__(self, pool: asyncpg.Pool, projection: Projection, schema: str) -> None:
        self.pool = pool
        self.projection = projection
        self.schema = schema
        self._q = _quote_ident(schema)

    async def setup(self) -> None:
        async with self.pool.acquire() as conn:
            await migrate(conn, [*TRACKING_SQL, *self.projection.sql], schema=self.schema)

    async def positions(self, topics: Iterable[str] | None = None) -> dict[tuple[str, int], int]:
        """Next offset to read per (topic, partition), as stored with the projection."""
        async with self.pool.acquire() as conn:
            rows = await conn.fetch(
                f"SELECT topic, partition, next_offset FROM {self._q}.projection_offsets WHERE projection = $1",
                self.projection.name,
            )
        wanted = set(topics) if topics is not None else None
        return {(r["topic"], r["partition"]): r["next_offset"] for r in rows if wanted is None or r["topic"] in wanted}

    async def reapply(self, envelopes: Sequence[Envelope]) -> None:
        """Run these events' handlers again, in order and in one transaction, without the
        duplicate check: the cross-stream pass of a parallel rebuild (idempotent handlers)."""
        async with self.pool.acquire() as conn, conn.transaction():
            await conn.execute("SELECT set_config('search_path', $1, true)", f"{self._q}, public")
            for env in envelopes:
                batch = self.projection.batch_handlers.get(env.event_type)
                handler = self.projection.handlers.get(env.event_type)
                if batch is not None:
                    await batch(conn, [env])
                elif handler is not None:
                    await handler(conn, env)

    async def apply(self, records: Sequence[Record]) -> BatchResult:
        """Apply one batch atomically; safe to call again with the same or overlapping records."""
        result = BatchResult()
        if not records:
            return result
        name = self.projection.name
        started = time.perf_counter()
        # Parsed before the transaction: the less work inside it, the shorter the time it holds a
        # transaction id, and in-flight xids hold back the relay of the same database.
        parsed = [(r, Envelope.from_bytes(r.value)) for r in records]
        async with self.pool.acquire() as conn, conn.transaction():
            # One applier at a time per partition of this projection (a rebalance may briefly
            # overlap two): advisory locks, unlike SELECT ... FOR UPDATE, take no xid, and they
            # also cover the very first batch, when there is no offsets row to lock yet. Taken
            # in sorted order (no deadlocks); appliers of other partitions (a parallel rebuild's
            # workers) do not wait. A stream lives in one partition, so its rows are covered too.
            await conn.execute(
                "SELECT set_config('search_path', $1, true),"
                " (SELECT count(pg_advisory_xact_lock(hashtextextended(k, 0))) FROM unnest($2::text[]) AS k)",
                f"{self._q}, public",
                sorted({f"projection:{self.schema}.{name}:{r.topic}:{r.partition}" for r in records}),
            )
            stored: dict[tuple[str, int], int] = {}
            known: dict[str, int] = {}
            for row in await conn.fetch(
                """
                SELECT topic AS key, partition, next_offset AS value FROM projection_offsets
                WHERE projection = $1 AND topic = ANY($2::text[])
                UNION ALL
                SELECT stream_id, NULL, version FROM projection_streams
                WHERE projection = $1 AND stream_id = ANY($3::text[])
                """,
                name,
                list({r.topic for r in records}),
                list({e.stream_id for _, e in parsed}),
            ):
                if row["partition"] is None:
                    known[row["key"]] = row["value"]
                else:
                    stored[(row["key"], row["partition"])] = row["value"]
            envelopes = [(r, e) for r, e in parsed if r.offset >= stored.get((r.topic, r.partition), 0)]
            result.duplicates += len(records) - len(envelopes)
            touched: dict[str, int] = {}
            handlers = self.projection.handlers
            batch_handlers = self.projection.batch_handlers
            run: list[Envelope] = []
            run_handler: BatchHandler | None = None
            for record, env in envelopes:
                current = known.get(env.stream_id, 0)
                if env.version <= current:
                    result.duplicates += 1
                elif env.version > current + 1:
                    result.gaps += 1
                    log.error(
                        "projection.gap",
                        projection=name,
                        stream_id=env.stream_id,
                        expected=current + 1,
                        received=env.version,
                        event_id=str(env.event_id),
                    )
                    await conn.execute(
                        "INSERT INTO projection_gaps (projection, stream_id, expected, received, event_id)"
                        " VALUES ($1, $2, $3, $4, $5)",
                        name,
                        env.stream_id,
                        current + 1,
                        env.version,
                        env.event_id,
                    )
                if env.version > current:
                    batch = batch_handlers.get(env.event_type)
                    if batch is not None:
                        if batch is not run_handler and run_handler is not None:
                            await run_handler(conn, run)
                            run = []
                        run_handler = batch
                        run.append(env)
                    else:
                        handler = handlers.get(env.event_type)
                        if handler is not None:
                            if run_handler is not None:
                                await run_handler(conn, run)
                                run, run_handler = [], None
                            await handler(conn, env)
                    result.applied += 1
                    known[env.stream_id] = env.version
                    touched[env.stream_id] = env.version
                key = (record.topic, record.partition)
                result.positions[key] = max(result.positions.get(key, 0), record.offset + 1)
            if run_handler is not None:
                await run_handler(conn, run)
            if touched or result.positions:  # versions and positions in one round trip
                await conn.execute(
                    """
                    WITH streams AS (
                        INSERT INTO projection_streams (projection, stream_id, version)
                        SELECT $1, s, v FROM unnest($2::text[], $3::int[]) AS t(s, v)
                        ON CONFLICT (projection, stream_id) DO UPDATE SET version = excluded.version
                        RETURNING 1
                    ), offsets AS (
                        INSERT INTO projection_offsets (projection, topic, partition, next_offset)
                        SELECT $1, t, p, o FROM unnest($4::text[], $5::int[], $6::bigint[]) AS x(t, p, o)
                        ON CONFLICT (projection, topic, partition)
                        DO UPDATE SET next_offset = GREATEST(projection_offsets.next_offset, excluded.next_offset)
                        RETURNING 1
                    )
                    SELECT (SELECT count(*) FROM streams), (SELECT count(*) FROM offsets)
                    """,
                    name,
                    list(touched),
                    list(touched.values()),
                    [k[0] for k in result.positions],
                    [k[1] for k in result.positions],
                    list(result.positions.values()),
                )
        metrics.PROJECTION_BATCH_SECONDS.labels(name).observe(time.perf_counter() - started)
        metrics.PROJECTION_APPLIED.labels(name).inc(result.applied)
        metrics.PROJECTION_DUPLICATES.labels(name).inc(result.duplicates)
        metrics.PROJECTION_GAPS.labels(name).inc(result.gaps)
        return result
