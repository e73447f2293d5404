"""Projection runner: applies consumed events to PostgreSQL read models, effectively once.

Each batch is applied in one transaction that also stores the consumer position per partition
and the highest applied version per stream. Redelivered offsets and duplicate versions are
skipped; a missing version is recorded as a gap (table, metric, log) and not silently accepted.

Handlers are registered by event class and get ``Recorded[Event]`` values: the runner decodes
and upcasts each record once, and dispatches on the class.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import importlib
import sys
import time
from collections.abc import Awaitable, Callable, Iterable, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Protocol, TypeVar
from uuid import UUID

import asyncpg
import structlog
from aiokafka.errors import KafkaError

from shared import metrics
from shared.contracts.base import DomainEvent, registry
from shared.db import Conn
from shared.envelope import GENESIS_HASH, Envelope
from shared.eventstore import ConcurrencyConflict
from shared.migrations import TRACKING_SQL, _quote_ident, migrate
from shared.recorded import Recorded

log = structlog.get_logger(__name__)

EventClass = type[DomainEvent]
Handler = Callable[[Conn, Recorded[Any]], Awaitable[None]]
BatchHandler = Callable[[Conn, list[Recorded[Any]]], Awaitable[None]]
H = TypeVar("H", bound=Callable[..., Awaitable[None]])
Segment = tuple[int, int]  # (k, n): the k-th of n parts of a rebuild's work, e.g. of its workers


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
    cross_stream: frozenset[EventClass] = frozenset()
    handlers: dict[str, Handler] = field(default_factory=dict)
    # Opt-in batch application: one call with a run of consecutive events (in order) instead of
    # one call (and one SQL round trip) per event. Replays and busy consumers gain the most.
    batch_handlers: dict[str, BatchHandler] = field(default_factory=dict)
    # A step a rebuild runs in the rebuilt schema after its replay (for a parallel one: after
    # every worker and the cross-stream pass), before any switch: e.g. re-deriving rows folded
    # across streams. ``fn(conn, (k, n))`` does share k of n; a parallel rebuild runs its n
    # shares at once, one per worker process, each in its own transaction, so the shares must
    # split the work without overlap (one worker: the one share ``(0, 1)``).
    after_rebuild: Callable[[Conn, Segment], Awaitable[None]] | None = None
    # Batch handlers a rebuild's replay uses instead (``replaying``): they may leave out what
    # ``after_rebuild`` derives anyway at the end (e.g. a fold redone per batch).
    replay_handlers: dict[str, BatchHandler] = field(default_factory=dict)

    # The module that defined this projection: a spawned rebuild worker gets the projection
    # itself (pickled by reference to it, like a function), so the platform never needs to
    # know where services keep their projections.
    module: str = field(default="", compare=False)

    def __post_init__(self) -> None:
        if not self.module:
            self.module = sys._getframe(2).f_globals.get("__name__", "")

    def __reduce__(self) -> tuple[Callable[[str, str], Projection], tuple[str, str]]:
        return (_projection_named, (self.module, self.name))

    def on(self, *classes: EventClass) -> Callable[[H], H]:
        """Register ``fn(conn, recorded)`` for events of these classes."""

        def deco(fn: H) -> H:
            for cls in classes:
                self.handlers[cls.event_type] = fn
            return fn

        return deco

    def on_batch(self, *classes: EventClass) -> Callable[[H], H]:
        """Register ``fn(conn, [recorded, ...])`` for these classes; it gets every run of
        consecutive events (of the batch, in order) whose classes share this handler."""

        def deco(fn: H) -> H:
            for cls in classes:
                self.batch_handlers[cls.event_type] = fn
            return fn

        return deco

    def on_rebuilt(self, fn: H) -> H:
        """Register ``fn(conn, (k, n))`` as the projection's ``after_rebuild`` step."""
        self.after_rebuild = fn
        return fn

    def on_replay(self, *classes: EventClass) -> Callable[[H], H]:
        """Register ``fn(conn, [recorded, ...])`` as the batch handler of these classes while a
        rebuild replays (only with an ``after_rebuild`` step, which then derives the rest)."""

        def deco(fn: H) -> H:
            for cls in classes:
                self.replay_handlers[cls.event_type] = fn
            return fn

        return deco

    def replaying(self) -> Projection:
        """The projection as a rebuild's replay applies it: its replay handlers in place of its
        batch handlers. Itself if it has none, or no ``after_rebuild`` step to finish the job."""
        if not self.replay_handlers or self.after_rebuild is None:
            return self
        handlers = self.batch_handlers | self.replay_handlers
        return replace(self, batch_handlers=handlers, replay_handlers={})

    def handles(self, event_type: str) -> bool:
        return event_type in self.handlers or event_type in self.batch_handlers

    @property
    def cross_stream_types(self) -> frozenset[str]:
        return frozenset(c.event_type for c in self.cross_stream)


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
    key: bytes | None = None


# Why a record was parked (the ``reason`` header on the dead-letter topic, and the table's column).
UNDECODABLE, CONTRACT, TAMPERED, HANDLER, BEHIND_PARKED = (
    "undecodable",
    "contract",
    "tampered",
    "handler",
    "behind-parked",
)


@dataclass(frozen=True, slots=True)
class Parked:
    """A record set aside instead of applied, and why."""

    record: Record
    reason: str
    error: str
    stream_id: str | None
    event_id: UUID | None


class DeadLetterSink(Protocol):
    """Where parked records also go (the consumer's ``<group>.dlq`` topic). Called inside the
    batch's transaction, before it commits: a failure to write there retries the batch."""

    async def __call__(self, parked: Sequence[Parked]) -> None: ...


@dataclass
class BatchResult:
    applied: int = 0
    duplicates: int = 0
    gaps: int = 0
    ignored: int = 0
    parked: list[Parked] = field(default_factory=list)
    positions: dict[tuple[str, int], int] = field(default_factory=dict)
    # (version, hash) per stream after the batch, and the gaps (event, expected version) it had
    touched: dict[str, tuple[int, str]] = field(default_factory=dict, repr=False)
    gap_list: list[tuple[Decoded, int]] = field(default_factory=list, repr=False)


# Failures that say "the database or the broker is not there right now", not "this record is
# bad": the batch is retried (never parked) until they pass.
TRANSIENT_ERRORS: tuple[type[BaseException], ...] = (
    OSError,
    TimeoutError,
    asyncpg.PostgresConnectionError,
    asyncpg.InterfaceError,
    asyncpg.exceptions.OperatorInterventionError,  # CannotConnectNow, AdminShutdown, CrashShutdown
    asyncpg.exceptions.InsufficientResourcesError,  # TooManyConnections, out of memory, disk full
    asyncpg.exceptions.TransactionRollbackError,  # serialization failure, deadlock
    KafkaError,
    ConcurrencyConflict,  # a policy raced a command on its stream: a fresh transaction passes
    # a statement cached before a live rebuild's swap whose result type changed: asyncpg has
    # dropped the pool's cached statements, so the batch passes prepared afresh
    asyncpg.exceptions.InvalidCachedStatementError,
    asyncpg.exceptions.OutdatedSchemaCacheError,
)


def is_transient(exc: BaseException) -> bool:
    """Retry, never park: the same batch will apply once the database or broker is back."""
    return isinstance(exc, TRANSIENT_ERRORS)


@dataclass(slots=True)
class Decoded:
    """One record after the checks that need no database: parsed, hash verified, decoded."""

    record: Record
    envelope: Envelope | None = None
    recorded: Recorded[Any] | None = None  # None if this projection does not handle the type
    problem: tuple[str, str] | None = None  # (reason, error) if it must be parked
    ignored: bool = False  # a type no contract knows: kept in the stream's order, not applied

    @property
    def stream_id(self) -> str | None:
        if self.envelope is not None:
            return self.envelope.stream_id
        return self.record.key.decode("utf-8", "replace") if self.record.key else None

    def parked(self, reason: str, error: str) -> Parked:
        event_id = self.envelope.event_id if self.envelope is not None else None
        return Parked(self.record, reason, error[:2000], self.stream_id, event_id)

    def seen_by(self, projection: Projection) -> Decoded:
        """This record as ``decode_record(record, projection)`` would have decoded it: a type
        the projection does not handle carries neither its payload nor its contract failure."""
        env = self.envelope
        if env is None or self.ignored or projection.handles(env.event_type):
            return self
        if self.recorded is None and self.problem is None:
            return self
        if self.problem is not None and self.problem[0] != CONTRACT:
            return self
        return Decoded(self.record, env)


def decode_record(record: Record, projection: Projection) -> Decoded:
    """parse -> check own hash -> decode by contract (only the types this projection handles)."""
    return decode_shared(record, projection.handles)


def decode_shared(record: Record, needed: Callable[[str], bool]) -> Decoded:
    """parse -> check own hash -> decode by contract, once for every projection of a service
    (``needed``: does any of them handle the type); ``Decoded.seen_by`` gives each its view."""
    try:
        env = Envelope.from_bytes(record.value)
    except ValueError as exc:  # pydantic's ValidationError is one
        return Decoded(record, problem=(UNDECODABLE, _short(exc)))
    if env.compute_hash() != env.hash:
        return Decoded(record, env, problem=(TAMPERED, "content does not match its hash"))
    if not registry.knows(env.event_type):
        return Decoded(record, env, ignored=True)
    if not needed(env.event_type):
        return Decoded(record, env)
    try:
        return Decoded(record, env, recorded=Recorded.decode(env))
    except ValueError as exc:
        return Decoded(record, env, problem=(CONTRACT, _short(exc)))


def _short(exc: BaseException) -> str:
    return f"{type(exc).__name__}: {exc}"[:2000]


@dataclass
class _Known:
    """What the batch's transaction read: stored offsets, applied (version, hash) per stream,
    and the streams that have a record parked."""

    offsets: dict[tuple[str, int], int] = field(default_factory=dict)
    streams: dict[str, tuple[int, str | None]] = field(default_factory=dict)
    blocked: set[str] = field(default_factory=set)


class _Isolate(Exception):
    """A handler failed deterministically: apply the batch again, event by event (for this
    projection only, when several share the batch's transaction)."""

    def __init__(self, projection: str) -> None:
        super().__init__(projection)
        self.projection = projection


class PartFailed(Exception):
    """One projection's part of a shared batch failed (transiently): the whole transaction
    rolls back and is retried; ``projection`` names the part that held it (for readiness)."""

    def __init__(self, projection: str, cause: BaseException) -> None:
        super().__init__(f"{projection}: {cause!r}")
        self.projection = projection
        self.cause = cause


class ProjectionRunner:
    """Applies batches of records to one projection living in one PostgreSQL schema."""

    def __init__(self, pool: asyncpg.Pool, projection: Projection, schema: str) -> None:
        self.pool = pool
        self.projection = projection
        self.schema = schema
        self._q = _quote_ident(schema)
        self.search_path = search_path_of(schema)  # what its handlers run under
        self._sql = _Statements.tagged(schema)
        self.dead_letters: DeadLetterSink | None = None
        # Lower bounds of the stored positions (they only grow): records below are dropped
        # before they are even parsed.
        self._floor: dict[tuple[str, int], int] = {}
        # Set, and replaced, after every committed batch: a read waiting for its own write
        # (shared.consistency) looks again at once instead of at its next poll.
        self._applied = asyncio.Event()

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
        found = {(r["topic"], r["partition"]): r["next_offset"] for r in rows}
        self._raise_floor(found)
        wanted = set(topics) if topics is not None else None
        return {k: v for k, v in found.items() if wanted is None or k[0] in wanted}

    def _raise_floor(self, positions: dict[tuple[str, int], int]) -> None:
        for key, nxt in positions.items():
            self._floor[key] = max(self._floor.get(key, 0), nxt)

    async def reapply(self, envelopes: Sequence[Envelope]) -> None:
        """Run these events' handlers again, in order and in one transaction, without the
        duplicate check: the cross-stream pass of a parallel rebuild (idempotent handlers)."""
        items = [decode_record(Record("", 0, 0, e.to_bytes()), self.projection) for e in envelopes]
        async with self.pool.acquire() as conn, conn.transaction():
            await conn.execute(SET_SEARCH_PATH, self.search_path)
            await self._dispatch(conn, [i for i in items if i.problem is None])

    async def apply(self, records: Sequence[Record]) -> BatchResult:
        """Apply one batch atomically; safe to call again with the same or overlapping records.

        drop seen -> parse -> lock -> read positions -> drop seen -> check chain -> dispatch
        -> park -> store positions. Bad records are parked, not raised; only transient
        failures (database or broker away) raise, and the caller retries the batch.
        """
        started = time.perf_counter()
        fresh = self.drop_below_floor(records)
        result = BatchResult(duplicates=len(records) - len(fresh))
        if not fresh:
            return result
        # Decoded before the transaction: the less work inside it, the shorter it holds its
        # connection and locks.
        items = [decode_record(r, self.projection) for r in fresh]
        try:
            result = await self._apply_items(items, result.duplicates, isolate=False)
        except _Isolate:
            result = await self._apply_items(items, result.duplicates, isolate=True)
        self.committed(result, time.perf_counter() - started)
        return result

    def committed(self, result: BatchResult, seconds: float) -> None:
        """After the batch's transaction committed: raise the floor, count, wake waiting reads."""
        self._raise_floor(result.positions)
        self._observe(result, seconds)
        self._signal_applied()

    def _signal_applied(self) -> None:
        applied, self._applied = self._applied, asyncio.Event()
        applied.set()

    async def next_batch(self, timeout: float) -> None:
        """Return once this runner (in this process) has committed another batch, or after
        ``timeout`` seconds, whichever comes first."""
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._applied.wait(), timeout)

    def drop_below_floor(self, records: Sequence[Record]) -> list[Record]:
        """Records below a position known to be stored were applied (or parked) before."""
        floor = self._floor
        return [r for r in records if r.offset >= floor.get((r.topic, r.partition), 0)]

    async def _apply_items(self, items: list[Decoded], dropped: int, *, isolate: bool) -> BatchResult:
        async with self.pool.acquire() as conn, conn.transaction():
            result = await self.apply_in(conn, items, dropped, isolate=isolate)
            await self.send_dead_letters(result)
        return result

    async def apply_in(self, conn: Conn, items: list[Decoded], dropped: int, *, isolate: bool) -> BatchResult:
        """This projection's batch inside a transaction the caller owns: lock its partitions,
        read its positions, then ``apply_known``. Leaves ``search_path`` on its schema."""
        await self._lock(conn, [i.record for i in items])
        known = await self._read_positions(conn, items)
        result = await self.apply_known(conn, items, known, dropped, isolate=isolate)
        await self._store_positions(conn, result)
        return result

    async def apply_known(
        self,
        conn: Conn,
        items: list[Decoded],
        known: _Known,
        dropped: int,
        *,
        isolate: bool,
        search_path: SearchPath | None = None,
    ) -> BatchResult:
        """This projection's part of a batch whose locks are taken and positions read
        (``known``): dispatch, park, record gaps, in the transaction the caller owns (its own,
        or the one its service's consumer shares between all its projections); not the
        positions write (the caller's: a shared batch writes every part's in one statement).
        Its statements need the search_path on its schema: left there by the positions read,
        or, in a shared batch, set through ``search_path`` only if this part runs any.
        Sends nothing to the dead-letter topic (the caller does, once every part went through:
        ``send_dead_letters``)."""
        result = BatchResult(duplicates=dropped)
        fresh = self._drop_seen(items, known, result)
        await self._run(conn, fresh, known, result, isolate=isolate, search_path=search_path)
        return result

    async def send_dead_letters(self, result: BatchResult) -> None:
        """The batch's parked records to the dead-letter topic, before its transaction commits
        (a failure there retries the batch)."""
        if result.parked and self.dead_letters is not None:
            await self.dead_letters(result.parked)

    async def retry(self, ids: Sequence[int] | None = None) -> BatchResult:
        """Re-drive parked records (all, or these ids) through the same checks and handlers, in
        their original order, after a fix. Those that fail again stay parked (with the new
        error); the others are applied and marked ``retried``."""
        result = BatchResult()
        async with self.pool.acquire() as conn, conn.transaction():
            await conn.execute(SET_SEARCH_PATH, self.search_path)
            rows = await conn.fetch(
                self._sql.parked_for_retry, self.projection.name, None if ids is None else list(ids)
            )
            if not rows:
                return result
            records = [Record(r["topic"], r["partition"], r["offset"], r["record"], r["record_key"]) for r in rows]
            await self._lock(conn, records)
            await conn.execute(self._sql.mark_retried, [r["id"] for r in rows])
            items = [decode_record(r, self.projection) for r in records]
            known = await self._read_positions(conn, items)
            await self._run(conn, items, known, result, isolate=True)
            await self._store_positions(conn, result, with_offsets=False)
        self._observe(result, 0.0)
        return result

    async def _run(
        self,
        conn: Conn,
        items: list[Decoded],
        known: _Known,
        result: BatchResult,
        *,
        isolate: bool,
        search_path: SearchPath | None = None,
    ) -> None:
        """check chain -> dispatch -> park -> record gaps (the steps shared by a batch and a
        retry). ``search_path``: a shared batch's, set to this schema only if any statement
        follows (an event it handles, a record to park, a gap)."""
        candidates = self._check_chain(items, known, result)
        if search_path is not None and (
            result.parked or result.gap_list or any(c.recorded is not None for c in candidates)
        ):
            await search_path.be(conn, self.search_path)
        failed = (
            await self._dispatch_isolating(conn, candidates) if isolate else await self._dispatch_all(conn, candidates)
        )
        result.parked += failed
        failed_records = {id(p.record) for p in failed}
        applied = [c for c in candidates if id(c.record) not in failed_records]
        result.ignored = sum(1 for c in applied if c.ignored)
        result.applied = len(applied) - result.ignored
        result.touched = {c.envelope.stream_id: (c.envelope.version, c.envelope.hash) for c in applied if c.envelope}
        result.gap_list = [(g, x) for g, x in result.gap_list if id(g.record) not in failed_records]
        result.gaps = len(result.gap_list)
        if result.parked:
            await self._park(conn, result.parked)
        await self._record_gaps(conn, result.gap_list)
        for c in applied:
            if c.ignored and c.envelope is not None:
                log.debug("projection.ignored", projection=self.projection.name, event_type=c.envelope.event_type)

    async def _lock(self, conn: Conn, records: Sequence[Record]) -> None:
        """One applier at a time per partition of this projection (a rebalance may briefly
        overlap two): advisory locks, unlike SELECT ... FOR UPDATE, take no xid, and they also
        cover the very first batch, when there is no offsets row to lock yet. Taken in sorted
        order (no deadlocks); appliers of other partitions (a parallel rebuild's workers) do not
        wait. A stream lives in one partition, so its rows are covered too. Also the
        projection's own lock, shared: a live rebuild's swap waits for the batch in flight and
        holds the next one off by taking it exclusive."""
        keys, own = self.lock_keys(records)
        await conn.execute(_LOCK_PARTS, [own], keys)

    def lock_keys(self, records: Sequence[Record]) -> tuple[list[str], str]:
        """What ``_lock`` takes: the records' partitions of this projection (sorted, exclusive)
        and the projection's own lock (shared)."""
        keys = sorted({f"projection:{self.schema}.{self.projection.name}:{r.topic}:{r.partition}" for r in records})
        return keys, projection_lock(self.schema, self.projection.name)

    async def _read_positions(self, conn: Conn, items: list[Decoded]) -> _Known:
        """Stored next offsets, applied (version, hash) per stream, streams with parked records;
        leaves the search_path on this schema."""
        rows = await conn.fetch(self._sql.read_positions, *self.positions_asked(items), self.search_path)
        return _known_from(rows)

    def positions_asked(self, items: list[Decoded]) -> tuple[str, list[str], list[str]]:
        """The positions read's arguments: the projection, the topics and the streams of the batch."""
        streams = list({s for i in items if (s := i.stream_id) is not None})
        return self.projection.name, list({i.record.topic for i in items}), streams

    @staticmethod
    def _drop_seen(items: list[Decoded], known: _Known, result: BatchResult) -> list[Decoded]:
        """Records below the stored position were applied before (a redelivery)."""
        fresh = [i for i in items if i.record.offset >= known.offsets.get((i.record.topic, i.record.partition), 0)]
        result.duplicates += len(items) - len(fresh)
        return fresh

    def _check_chain(self, items: list[Decoded], known: _Known, result: BatchResult) -> list[Decoded]:
        """Park what failed its checks and what comes after it in its stream; skip versions
        already applied; check each link against the stream's last hash; record gaps."""
        candidates: list[Decoded] = []
        for item in items:
            record = item.record
            key = (record.topic, record.partition)
            result.positions[key] = max(result.positions.get(key, 0), record.offset + 1)
            stream = item.stream_id
            if item.problem is not None:
                result.parked.append(item.parked(*item.problem))
                if stream is not None:
                    known.blocked.add(stream)
                continue
            env = item.envelope
            assert env is not None
            assert stream is not None
            if stream in known.blocked:
                result.parked.append(item.parked(BEHIND_PARKED, "an earlier record of its stream is parked"))
                continue
            current, head = known.streams.get(stream, (0, None))
            if env.version <= current:
                result.duplicates += 1
                continue
            if env.version == current + 1:
                expected = GENESIS_HASH if current == 0 else head
                if expected is not None and env.prev_hash != expected:
                    result.parked.append(item.parked(TAMPERED, f"prev_hash does not link to version {current}"))
                    known.blocked.add(stream)
                    continue
            else:
                result.gap_list.append((item, current + 1))
            candidates.append(item)
            known.streams[stream] = (env.version, env.hash)
        return candidates

    async def _dispatch_all(self, conn: Conn, candidates: list[Decoded]) -> list[Parked]:
        """The fast path: the whole batch at once. A deterministic failure aborts the
        transaction, and the batch is applied again, isolating the culprit."""
        try:
            await self._dispatch(conn, candidates)
        except Exception as exc:
            if is_transient(exc):
                raise
            raise _Isolate(self.projection.name) from exc
        return []

    async def _dispatch_isolating(self, conn: Conn, candidates: list[Decoded]) -> list[Parked]:
        """Event by event, each under a savepoint: a handler that fails parks its event (and
        the later ones of its stream); the others are applied."""
        failed: list[Parked] = []
        blocked: set[str] = set()
        for item in candidates:
            assert item.envelope is not None
            stream = item.envelope.stream_id
            if stream in blocked:
                failed.append(item.parked(BEHIND_PARKED, "an earlier record of its stream is parked"))
                continue
            try:
                async with conn.transaction():
                    await self._dispatch(conn, [item])
            except Exception as exc:
                if is_transient(exc):
                    raise
                log.error(
                    "projection.handler_failed", projection=self.projection.name, topic=item.record.topic,
                    partition=item.record.partition, offset=item.record.offset, stream_id=stream, error=_short(exc),
                )  # fmt: skip
                failed.append(item.parked(HANDLER, _short(exc)))
                blocked.add(stream)
        return failed

    async def _dispatch(self, conn: Conn, items: list[Decoded]) -> None:
        """Call each handled event's handler (decoded once, before); consecutive events of one
        batch handler go to it together."""
        handlers = self.projection.handlers
        batch_handlers = self.projection.batch_handlers
        run: list[Any] = []
        run_handler: BatchHandler | None = None
        for item in items:
            if item.recorded is None or item.envelope is None:
                continue  # not an event this projection needs
            event_type = item.envelope.event_type
            batch = batch_handlers.get(event_type)
            handler = handlers.get(event_type) if batch is None else None
            if run_handler is not None and batch is not run_handler:
                await run_handler(conn, run)
                run, run_handler = [], None
            if batch is not None:
                run_handler = batch
                run.append(item.recorded)
            elif handler is not None:
                await handler(conn, item.recorded)
        if run_handler is not None:
            await run_handler(conn, run)

    async def _park(self, conn: Conn, parked: list[Parked]) -> None:
        """Record them next to the positions that step past them (the caller of a batch also
        puts them on the dead-letter topic; a retry does not: they are there already)."""
        for p in parked:
            log.warning(
                "projection.parked", projection=self.projection.name, reason=p.reason, topic=p.record.topic,
                partition=p.record.partition, offset=p.record.offset, stream_id=p.stream_id, error=p.error,
            )  # fmt: skip
        await conn.execute(
            self._sql.insert_parked,
            self.projection.name,
            [p.record.topic for p in parked],
            [p.record.partition for p in parked],
            [p.record.offset for p in parked],
            [p.stream_id for p in parked],
            [p.event_id for p in parked],
            [p.reason for p in parked],
            [p.error for p in parked],
            [p.record.value for p in parked],
            [p.record.key for p in parked],
        )

    async def _record_gaps(self, conn: Conn, gaps: list[tuple[Decoded, int]]) -> None:
        for item, expected in gaps:
            env = item.envelope
            assert env is not None
            log.error(
                "projection.gap", projection=self.projection.name, stream_id=env.stream_id, expected=expected,
                received=env.version, event_id=str(env.event_id),
            )  # fmt: skip
            await conn.execute(
                self._sql.insert_gap, self.projection.name, env.stream_id, expected, env.version, env.event_id
            )

    async def _store_positions(self, conn: Conn, result: BatchResult, *, with_offsets: bool = True) -> None:
        """Versions with hashes, and positions, in the batch's transaction."""
        args = self.positions_written(result, with_offsets=with_offsets)
        if args is not None:
            await conn.execute(self._sql.store_positions, *args)

    def positions_written(self, result: BatchResult, *, with_offsets: bool = True) -> list[Any] | None:
        """The positions write's arguments for this batch's result, or None: nothing to write."""
        touched = result.touched
        positions = result.positions if with_offsets else {}
        if not touched and not positions:  # every record a redelivery
            return None
        return [
            self.projection.name,
            list(touched),
            [v for v, _ in touched.values()],
            [h for _, h in touched.values()],
            [k[0] for k in positions],
            [k[1] for k in positions],
            list(positions.values()),
        ]

    def _observe(self, result: BatchResult, seconds: float) -> None:
        name = self.projection.name
        metrics.PROJECTION_BATCH_SECONDS.labels(name).observe(seconds)
        metrics.PROJECTION_APPLIED.labels(name).inc(result.applied)
        metrics.PROJECTION_DUPLICATES.labels(name).inc(result.duplicates)
        metrics.PROJECTION_GAPS.labels(name).inc(result.gaps)
        metrics.PROJECTION_IGNORED.labels(name).inc(result.ignored)
        metrics.PROJECTION_PARKED_TOTAL.labels(name).inc(len(result.parked))


def projection_lock(schema: str, name: str) -> str:
    """The key every batch of the projection in ``schema`` takes shared (the runners of its
    partitions do not wait for each other) and a live rebuild's swap takes exclusive: while the
    swap holds it, no batch is half-applied and none starts (``shared.rebuild.swap_live``)."""
    return f"projection:{schema}.{name}"


@dataclass(frozen=True, slots=True)
class Share:
    """One projection's part of its service's batches: its runner and the topics it reads."""

    runner: ProjectionRunner
    topics: frozenset[str]


async def apply_shared(pool: asyncpg.Pool, shares: Sequence[Share], records: Sequence[Record]) -> list[BatchResult]:
    """One batch for every projection of a service: routed by topic, each record decoded once,
    every projection's part (``ProjectionRunner.apply_known``) applied in ONE transaction, in the
    order of ``shares`` (so locks are always taken in one order), one result per share.

    Each part keeps its own schema, positions, gaps and parked records. A deterministic handler
    failure in one part rolls the transaction back and the batch runs again with that part
    isolating event by event (it parks the culprit); the other parts apply the same records
    again, so nothing of theirs is lost or doubled. A transient failure raises ``PartFailed``
    (naming the part) and the caller retries the whole batch."""
    started = time.perf_counter()
    routed: list[tuple[ProjectionRunner, list[Record], int]] = []
    for share in shares:
        mine = [r for r in records if r.topic in share.topics]
        fresh = share.runner.drop_below_floor(mine)
        routed.append((share.runner, fresh, len(mine) - len(fresh)))
    decoded = _decode_once([s.runner.projection for s in shares], [r for _, fresh, _ in routed for r in fresh])
    parts = [(runner, [decoded[id(r)].seen_by(runner.projection) for r in fresh], n) for runner, fresh, n in routed]
    if not any(items for _, items, _ in parts):  # a redelivery every part holds: no transaction
        return [BatchResult(duplicates=n) for _, _, n in parts]
    isolating: set[str] = set()
    while True:
        try:
            results = await _apply_parts(pool, parts, isolating)
            break
        except _Isolate as exc:  # an isolating part parks instead of raising: this ends
            isolating.add(exc.projection)
    seconds = time.perf_counter() - started
    for (runner, items, _), result in zip(parts, results, strict=True):
        if items:
            runner.committed(result, seconds)
    return results


def _decode_once(projections: Sequence[Projection], records: Sequence[Record]) -> dict[int, Decoded]:
    """Every record needed by any part, decoded once (by identity: parts share the objects)."""
    handled = frozenset(t for p in projections for t in (*p.handlers, *p.batch_handlers))
    out: dict[int, Decoded] = {}
    for r in records:
        if id(r) not in out:
            out[id(r)] = decode_shared(r, handled.__contains__)
    return out


async def _apply_parts(
    pool: asyncpg.Pool, parts: Sequence[tuple[ProjectionRunner, list[Decoded], int]], isolating: set[str]
) -> list[BatchResult]:
    """The shared transaction: every part's locks (one statement), every part's positions (one),
    each part's handlers, parked records and gaps (with the search_path set only for the parts
    that run any), every part's positions write (one), every part's dead letters, one commit."""
    results: list[BatchResult] = []
    async with pool.acquire() as conn, conn.transaction():
        await _lock_parts(conn, parts)
        busy = [(runner, items) for runner, items, _ in parts if items]
        handling = [runner for runner, items in busy if any(i.recorded is not None for i in items)]
        search_path = SearchPath(handling[0] if handling else busy[0][0] if busy else None)
        known = await _read_parts(conn, busy, search_path)
        for runner, items, dropped in parts:
            isolate = runner.projection.name in isolating
            results.append(await _apply_part(conn, runner, items, known.get(id(runner)), dropped, isolate, search_path))
        await _write_parts(conn, [(r, result) for (r, _, _), result in zip(parts, results, strict=True)], search_path)
        for (runner, _, _), result in zip(parts, results, strict=True):
            try:
                await runner.send_dead_letters(result)
            except Exception as exc:
                raise PartFailed(runner.projection.name, exc) from exc
    return results


async def _lock_parts(conn: Conn, parts: Sequence[tuple[ProjectionRunner, list[Decoded], int]]) -> None:
    """Every part's locks in one statement, before any part reads or writes: each projection's
    own lock (shared), then each part's partitions (exclusive), in part order and sorted
    within a part, so two appliers take them in one order. Holding no table while it waits, the
    batch cannot deadlock with a live rebuild's swap either (it takes one projection's lock
    exclusive, then that projection's tables). One round trip instead of one per part."""
    owns: list[str] = []
    keys: list[str] = []
    for runner, items, _ in parts:
        if items:
            mine, own = runner.lock_keys([i.record for i in items])
            owns.append(own)
            keys += mine
    if owns:
        await conn.execute(_LOCK_PARTS, owns, keys)


async def _read_parts(
    conn: Conn, busy: Sequence[tuple[ProjectionRunner, list[Decoded]]], search_path: SearchPath
) -> dict[int, _Known]:
    """Every busy part's positions in one statement (each part's tables named with its schema),
    which also sets the search_path ``search_path`` starts at: the first part that handles an
    event. One round trip instead of one per part. By the runner's identity."""
    if not busy:
        return {}
    schemas = tuple(runner.schema for runner, _ in busy)
    args = [arg for runner, items in busy for arg in runner.positions_asked(items)]
    rows = await conn.fetch(_positions_of_parts(schemas), *args, search_path.current)
    by_part: list[list[asyncpg.Record]] = [[] for _ in busy]
    for row in rows:
        by_part[row["part"]].append(row)
    return {id(runner): _known_from(found) for (runner, _), found in zip(busy, by_part, strict=True)}


async def _write_parts(
    conn: Conn, done: Sequence[tuple[ProjectionRunner, BatchResult]], search_path: SearchPath
) -> None:
    """Every part's versions and positions in one statement (each part's tables named with its
    schema). Its text names the search_path it runs under, so that its plan stays valid (see
    ``_Statements``)."""
    writes = [(runner, args) for runner, result in done if (args := runner.positions_written(result)) is not None]
    if writes:
        sql = _positions_write(tuple(runner.schema for runner, _ in writes), search_path.current)
        await conn.execute(sql, *(arg for _, args in writes for arg in args))


class SearchPath:
    """A shared batch's search_path, set by a statement only when a part with statements of
    its own differs from the one in force (its first value is set by the positions read)."""

    def __init__(self, first: ProjectionRunner | None) -> None:
        self.current = first.search_path if first is not None else "public"

    async def be(self, conn: Conn, path: str) -> None:
        if path != self.current:
            await conn.execute(SET_SEARCH_PATH, path)
            self.current = path


async def _apply_part(
    conn: Conn,
    runner: ProjectionRunner,
    items: list[Decoded],
    known: _Known | None,
    dropped: int,
    isolate: bool,
    search_path: SearchPath,
) -> BatchResult:
    if not items:
        return BatchResult(duplicates=dropped)
    assert known is not None
    try:
        return await runner.apply_known(conn, items, known, dropped, isolate=isolate, search_path=search_path)
    except _Isolate:
        raise
    except Exception as exc:
        raise PartFailed(runner.projection.name, exc) from exc


# The projections' own locks shared, then the partitions exclusive, in the order given: one
# runner's (``_lock``) or every part's of a shared batch (``_lock_parts``). It sets no
# search_path (the positions read does), so its plan meets only the default one.
_LOCK_PARTS = (
    "SELECT (SELECT count(pg_advisory_xact_lock_shared(hashtextextended(k, 0))) FROM unnest($1::text[]) AS k),"
    " (SELECT count(pg_advisory_xact_lock(hashtextextended(k, 0))) FROM unnest($2::text[]) AS k)"
)

# One projection's positions ({part}: its index in the statement), its tables named with their
# schema ({schema}); $n, $(n+1), $(n+2): the projection, the topics, the streams.
_POSITIONS_OF = """
SELECT {part} AS part, 'o' AS kind, topic AS key, partition, next_offset AS value, NULL::text AS hash
FROM {schema}.projection_offsets
WHERE projection = ${n} AND topic = ANY(${n_topics}::text[])
UNION ALL
SELECT {part}, 's', stream_id, NULL::integer, version::bigint, hash FROM {schema}.projection_streams
WHERE projection = ${n} AND stream_id = ANY(${n_streams}::text[])
UNION ALL
SELECT DISTINCT {part}, 'p', stream_id, NULL::integer, NULL::bigint, NULL::text FROM {schema}.parked
WHERE projection = ${n} AND state = 'parked' AND stream_id = ANY(${n_streams}::text[])
"""
# The last row of a positions read: it sets the search_path (${n}) for the handlers that
# follow, so a (first) part needs no statement of its own for that.
_THEN_PATH = """UNION ALL
SELECT 0, 'x', set_config('search_path', ${n}, true), NULL::integer, NULL::bigint, NULL::text
"""


@functools.lru_cache(maxsize=256)
def _positions_of_parts(schemas: tuple[str, ...]) -> str:
    """The positions read of one projection, or of every busy part of a shared batch (each
    part's three arguments in turn, then the search_path to leave)."""
    reads = [
        _POSITIONS_OF.format(part=k, schema=_quote_ident(schema), n=3 * k + 1, n_topics=3 * k + 2, n_streams=3 * k + 3)
        for k, schema in enumerate(schemas)
    ]
    return "UNION ALL\n".join(reads) + _THEN_PATH.format(n=3 * len(schemas) + 1)


def _known_from(rows: Iterable[asyncpg.Record]) -> _Known:
    """Positions read rows (of one part) as what the batch checks against."""
    known = _Known()
    for row in rows:
        if row["kind"] == "x":
            continue  # the search_path set for what follows
        if row["kind"] == "o":
            known.offsets[(row["key"], row["partition"])] = row["value"]
        elif row["kind"] == "s":
            known.streams[row["key"]] = (row["value"], row["hash"])
        else:
            known.blocked.add(row["key"])
    return known


_INSERT_GAP = (
    "INSERT INTO projection_gaps (projection, stream_id, expected, received, event_id) VALUES ($1, $2, $3, $4, $5)"
)

# A record parked again by a retry keeps its row (and id), with the new reason and error.
_INSERT_PARKED = """
INSERT INTO parked (projection, topic, partition, "offset", stream_id, event_id, reason, error, record, record_key)
SELECT $1, * FROM unnest($2::text[], $3::int[], $4::bigint[], $5::text[], $6::uuid[], $7::text[], $8::text[],
                         $9::bytea[], $10::bytea[])
ON CONFLICT (projection, topic, partition, "offset")
DO UPDATE SET state = 'parked', reason = excluded.reason, error = excluded.error
"""

_PARKED_FOR_RETRY = """
SELECT id, topic, partition, "offset", record, record_key FROM parked
WHERE projection = $1 AND state = 'parked' AND ($2::bigint[] IS NULL OR id = ANY($2::bigint[]))
ORDER BY topic, partition, "offset"
FOR UPDATE
"""

_MARK_RETRIED = "UPDATE parked SET state = 'retried' WHERE id = ANY($1::bigint[])"

# One projection's versions and positions ({k}: its index; $n ... $(n+6): the projection, the
# streams, their versions and hashes, the topics, partitions and next offsets), its tables
# named with their schema.
_POSITIONS_WRITE = """streams{k} AS (
    INSERT INTO {schema}.projection_streams (projection, stream_id, version, hash)
    SELECT ${n}, s, v, h FROM unnest(${n1}::text[], ${n2}::int[], ${n3}::text[]) AS t(s, v, h)
    ON CONFLICT (projection, stream_id) DO UPDATE SET version = excluded.version, hash = excluded.hash
    RETURNING 1
), offsets{k} AS (
    INSERT INTO {schema}.projection_offsets (projection, topic, partition, next_offset)
    SELECT ${n}, t, p, o FROM unnest(${n4}::text[], ${n5}::int[], ${n6}::bigint[]) AS x(t, p, o)
    ON CONFLICT (projection, topic, partition)
    DO UPDATE SET next_offset = GREATEST(projection_offsets.next_offset, excluded.next_offset)
    RETURNING 1
)"""

# the search_path for the rest of the transaction
SET_SEARCH_PATH = "SELECT set_config('search_path', $1, true)"


def search_path_of(schema: str) -> str:
    """The search_path a projection's handlers run under: its schema, then public."""
    return f"{_quote_ident(schema)}, public"


@functools.lru_cache(maxsize=256)
def _positions_write(schemas: tuple[str, ...], search_path: str) -> str:
    """The versions and positions write of one projection, or of every part of a shared batch
    with something to write (seven arguments each, in turn); its text tagged with the
    search_path it runs under."""
    writes = [
        _POSITIONS_WRITE.format(
            k=k, schema=_quote_ident(schema), n=7 * k + 1, **{f"n{i}": 7 * k + 1 + i for i in range(1, 7)}
        )
        for k, schema in enumerate(schemas)
    ]
    counts = " + ".join(
        f"(SELECT count(*) FROM streams{k}) + (SELECT count(*) FROM offsets{k})" for k in range(len(schemas))
    )
    return f"/* {search_path.replace('*/', '')} */ WITH " + ",\n".join(writes) + f"\nSELECT {counts}"


@dataclass(frozen=True)
class _Statements:
    """The runner's own statements, their text tagged with the projection's schema.

    PostgreSQL plans a prepared statement again whenever the search_path differs from the one
    it was planned under, and a service's shared batch sets a different search_path for each
    of its projections on one connection. With one text for all projections, asyncpg's cached
    statement met another search_path on every call and was re-planned every time
    (pg_stat_statements: plans = calls, about forty plans per command across the services,
    planning costing more than executing). One text per schema keeps each plan under one
    search_path. A shared batch reads every part's positions in one statement at its start
    (under the connection's own search_path: ``set_config`` is local to the transaction), and
    each part's positions write leaves the search_path on the next part's schema."""

    read_positions: str
    store_positions: str
    insert_gap: str
    insert_parked: str
    parked_for_retry: str
    mark_retried: str

    @classmethod
    def tagged(cls, schema: str) -> _Statements:
        tag = "/* " + schema.replace("*/", "") + " */ "
        read = tag + _positions_of_parts((schema,))
        write = _positions_write((schema,), search_path_of(schema))
        return cls(read, write, *(tag + sql for sql in (_INSERT_GAP, _INSERT_PARKED, _PARKED_FOR_RETRY, _MARK_RETRIED)))
