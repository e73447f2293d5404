"""Projection runner: applies consumed events to PostgreSQL read models, effectively once.

Each batch is applied in one transaction that also stores the consumer position per partition
and the highest applied version per stream. Redelivered offsets and duplicate versions are
skipped; a missing version is recorded as a gap (table, metric, log) and not silently accepted.

Handlers are registered by event class and get ``Recorded[Event]`` values: the runner decodes
and upcasts each record once, and dispatches on the class.
"""

from __future__ import annotations

import importlib
import sys
import time
from collections.abc import Awaitable, Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

import asyncpg
import structlog

from shared import metrics
from shared.contracts.base import DomainEvent
from shared.db import Conn
from shared.envelope import Envelope
from shared.migrations import TRACKING_SQL, _quote_ident, migrate
from shared.recorded import Recorded

log = structlog.get_logger(__name__)

EventClass = type[DomainEvent]
Handler = Callable[[Conn, Recorded[Any]], Awaitable[None]]
BatchHandler = Callable[[Conn, list[Recorded[Any]]], Awaitable[None]]
H = TypeVar("H", bound=Callable[..., Awaitable[None]])


@dataclass
class Projection:
    """A named read model: its tables (SQL files) and one handler per event class it needs."""

    name: str
    sql: Sequence[Path]
    topics: Sequence[str] = ()
    # A policy appends its service's own events instead of filling tables: never replayed
    # into a fresh schema (its effects are already history).
    side_effects: bool = False
    # Every handler reads and writes only rows of the event's own stream, except for the event
    # classes in ``cross_stream``: a rebuild may then split the streams over parallel worker
    # processes (``rebuild --workers``).
    stream_local: bool = False
    # Classes whose handlers also touch other streams' rows (e.g. an erasure pseudonymising a
    # person's rows everywhere). They must be idempotent: a parallel rebuild applies them once
    # more when every worker is done, so rows written meanwhile by other workers are covered.
    cross_stream: frozenset[EventClass | str] = frozenset()
    handlers: dict[str, Handler] = field(default_factory=dict)
    # Opt-in batch application: one call with a run of consecutive events (in order) instead of
    # one call (and one SQL round trip) per event. Replays and busy consumers gain the most.
    batch_handlers: dict[str, BatchHandler] = field(default_factory=dict)

    # TRANSITIONAL (removed once every service registers by class): handlers registered by a
    # type-name string get the raw envelope.
    legacy: set[str] = field(default_factory=set)
    # The module that defined this projection: a spawned rebuild worker gets the projection
    # itself (pickled by reference to it, like a function), so the platform never needs to
    # know where services keep their projections.
    module: str = field(default="", compare=False)

    def __post_init__(self) -> None:
        if not self.module:
            self.module = sys._getframe(2).f_globals.get("__name__", "")

    def __reduce__(self) -> tuple[Callable[[str, str], Projection], tuple[str, str]]:
        return (_projection_named, (self.module, self.name))

    def on(self, *classes: EventClass | str) -> Callable[[H], H]:
        """Register ``fn(conn, recorded)`` for events of these classes."""

        def deco(fn: H) -> H:
            for cls in classes:
                self.handlers[self._key(cls)] = fn
            return fn

        return deco

    def on_batch(self, *classes: EventClass | str) -> Callable[[H], H]:
        """Register ``fn(conn, [recorded, ...])`` for these classes; it gets every run of
        consecutive events (of the batch, in order) whose classes share this handler."""

        def deco(fn: H) -> H:
            for cls in classes:
                self.batch_handlers[self._key(cls)] = fn
            return fn

        return deco

    def _key(self, cls: EventClass | str) -> str:
        if isinstance(cls, str):
            self.legacy.add(cls)
            return cls
        return cls.event_type

    def handles(self, event_type: str) -> bool:
        return event_type in self.handlers or event_type in self.batch_handlers

    @property
    def cross_stream_types(self) -> frozenset[str]:
        return frozenset(c if isinstance(c, str) else c.event_type for c in self.cross_stream)


def _projection_named(module: str, name: str) -> Projection:
    """Unpickle a projection: the object of that name in the module that defined it."""
    found = [v for v in vars(importlib.import_module(module)).values() if isinstance(v, Projection) and v.name == name]
    if not found:
        raise LookupError(f"no projection {name} in {module}")
    return found[0]


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
            await self._dispatch(conn, list(envelopes))

    async def apply(self, records: Sequence[Record]) -> BatchResult:
        """Apply one batch atomically; safe to call again with the same or overlapping records.

        parse -> lock -> read positions -> drop seen -> check versions -> dispatch -> store positions.
        """
        result = BatchResult()
        if not records:
            return result
        started = time.perf_counter()
        # Parsed before the transaction: the less work inside it, the shorter it holds its
        # connection and locks.
        parsed = [(r, Envelope.from_bytes(r.value)) for r in records]
        async with self.pool.acquire() as conn, conn.transaction():
            await self._lock(conn, records)
            stored, known = await self._read_positions(conn, parsed)
            fresh = self._drop_seen(parsed, stored, result)
            to_apply, touched = await self._check_versions(conn, fresh, known, result)
            await self._dispatch(conn, to_apply)
            await self._store_positions(conn, touched, result.positions)
        self._observe(result, time.perf_counter() - started)
        return result

    async def _lock(self, conn: Conn, records: Sequence[Record]) -> None:
        """One applier at a time per partition of this projection (a rebalance may briefly
        overlap two): advisory locks, unlike SELECT ... FOR UPDATE, take no xid, and they also
        cover the very first batch, when there is no offsets row to lock yet. Taken in sorted
        order (no deadlocks); appliers of other partitions (a parallel rebuild's workers) do not
        wait. A stream lives in one partition, so its rows are covered too."""
        keys = sorted({f"projection:{self.schema}.{self.projection.name}:{r.topic}:{r.partition}" for r in records})
        await conn.execute(_LOCK, f"{self._q}, public", keys)

    async def _read_positions(
        self, conn: Conn, parsed: list[tuple[Record, Envelope]]
    ) -> tuple[dict[tuple[str, int], int], dict[str, int]]:
        """Stored next offsets per (topic, partition) and applied versions per stream."""
        stored: dict[tuple[str, int], int] = {}
        known: dict[str, int] = {}
        rows = await conn.fetch(
            _READ_POSITIONS,
            self.projection.name,
            list({r.topic for r, _ in parsed}),
            list({e.stream_id for _, e in parsed}),
        )
        for row in rows:
            if row["partition"] is None:
                known[row["key"]] = row["value"]
            else:
                stored[(row["key"], row["partition"])] = row["value"]
        return stored, known

    @staticmethod
    def _drop_seen(
        parsed: list[tuple[Record, Envelope]], stored: dict[tuple[str, int], int], result: BatchResult
    ) -> list[tuple[Record, Envelope]]:
        """Records below the stored position were applied before (a redelivery)."""
        fresh = [(r, e) for r, e in parsed if r.offset >= stored.get((r.topic, r.partition), 0)]
        result.duplicates += len(parsed) - len(fresh)
        return fresh

    async def _check_versions(
        self, conn: Conn, fresh: list[tuple[Record, Envelope]], known: dict[str, int], result: BatchResult
    ) -> tuple[list[Envelope], dict[str, int]]:
        """Skip versions already applied; record a gap where a version is missing."""
        to_apply: list[Envelope] = []
        touched: dict[str, int] = {}
        for record, env in fresh:
            current = known.get(env.stream_id, 0)
            if env.version <= current:
                result.duplicates += 1
            else:
                if env.version > current + 1:
                    result.gaps += 1
                    await self._record_gap(conn, env, current + 1)
                to_apply.append(env)
                result.applied += 1
                known[env.stream_id] = touched[env.stream_id] = env.version
            key = (record.topic, record.partition)
            result.positions[key] = max(result.positions.get(key, 0), record.offset + 1)
        return to_apply, touched

    async def _record_gap(self, conn: Conn, env: Envelope, expected: int) -> None:
        log.error(
            "projection.gap",
            projection=self.projection.name,
            stream_id=env.stream_id,
            expected=expected,
            received=env.version,
            event_id=str(env.event_id),
        )
        await conn.execute(_INSERT_GAP, self.projection.name, env.stream_id, expected, env.version, env.event_id)

    async def _dispatch(self, conn: Conn, envelopes: list[Envelope]) -> None:
        """Decode each handled event once and call its handler; consecutive events of one batch
        handler go to it together."""
        handlers = self.projection.handlers
        batch_handlers = self.projection.batch_handlers
        run: list[Recorded[Any]] = []
        run_handler: BatchHandler | None = None
        for env in envelopes:
            batch = batch_handlers.get(env.event_type)
            handler = handlers.get(env.event_type) if batch is None else None
            if batch is None and handler is None:
                continue  # not an event this projection needs: not even decoded
            if run_handler is not None and batch is not run_handler:
                await run_handler(conn, run)
                run, run_handler = [], None
            recorded: Any = env if env.event_type in self.projection.legacy else Recorded.decode(env)
            if batch is not None:
                run_handler = batch
                run.append(recorded)
            elif handler is not None:
                await handler(conn, recorded)
        if run_handler is not None:
            await run_handler(conn, run)

    async def _store_positions(
        self, conn: Conn, touched: dict[str, int], positions: dict[tuple[str, int], int]
    ) -> None:
        """Versions and positions in one round trip, in the batch's transaction."""
        if not touched and not positions:
            return
        await conn.execute(
            _STORE_POSITIONS,
            self.projection.name,
            list(touched),
            list(touched.values()),
            [k[0] for k in positions],
            [k[1] for k in positions],
            list(positions.values()),
        )

    def _observe(self, result: BatchResult, seconds: float) -> None:
        name = self.projection.name
        metrics.PROJECTION_BATCH_SECONDS.labels(name).observe(seconds)
        metrics.PROJECTION_APPLIED.labels(name).inc(result.applied)
        metrics.PROJECTION_DUPLICATES.labels(name).inc(result.duplicates)
        metrics.PROJECTION_GAPS.labels(name).inc(result.gaps)


_LOCK = (
    "SELECT set_config('search_path', $1, true),"
    " (SELECT count(pg_advisory_xact_lock(hashtextextended(k, 0))) FROM unnest($2::text[]) AS k)"
)

_READ_POSITIONS = """
SELECT topic AS key, partition, next_offset AS value FROM projection_offsets
WHERE projection = $1 AND topic = ANY($2::text[])
UNION ALL
SELECT stream_id, NULL, version FROM projection_streams
WHERE projection = $1 AND stream_id = ANY($3::text[])
"""

_INSERT_GAP = (
    "INSERT INTO projection_gaps (projection, stream_id, expected, received, event_id) VALUES ($1, $2, $3, $4, $5)"
)

_STORE_POSITIONS = """
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
"""
