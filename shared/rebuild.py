"""Replays: rebuild a projection from offset 0 of its topics (or from the service's own event
store) into a fresh schema, compare it with the live one, and optionally swap it in."""

from __future__ import annotations

import asyncio
import multiprocessing
import queue
import time
import zlib
from collections.abc import AsyncIterator, Iterable, Sequence
from dataclasses import dataclass, field
from multiprocessing.process import BaseProcess
from typing import TypeAlias

import asyncpg
import structlog
import uvloop
from aiokafka import AIOKafkaConsumer, ConsumerRecord, TopicPartition

from shared.envelope import Envelope
from shared.eventstore import CommittedRow, PostgresEventStore
from shared.kafka_auth import client_options
from shared.migrations import _quote_ident
from shared.projections import (
    SET_SEARCH_PATH,
    Projection,
    ProjectionRunner,
    Record,
    Segment,
    is_transient,
    projection_lock,
    search_path_of,
)
from shared.settings import ServiceSettings

log = structlog.get_logger(__name__)


@dataclass
class RebuildStats:
    projection: str
    schema: str
    events: int = 0
    seconds: float = 0.0
    differences: dict[str, int] = field(default_factory=dict)
    # raw envelopes of the projection's cross-stream types (a parallel rebuild's worker)
    cross_stream: list[bytes] = field(default_factory=list)

    @property
    def events_per_s(self) -> float:
        return self.events / self.seconds if self.seconds else 0.0


async def _fresh_runner(
    settings: ServiceSettings, projection: Projection, schema: str, *, fresh: bool = True, replaying: bool = False
) -> tuple[asyncpg.Pool, ProjectionRunner]:
    """A runner on an empty ``schema`` (dropped and migrated; ``fresh=False``: as prepared by
    a parallel rebuild's parent). ``replaying``: with the projection's replay handlers
    (``Projection.replaying``), for the replay a rebuild ends with ``after_rebuild``."""
    pool = await asyncpg.create_pool(settings.database_url, min_size=1, max_size=2)
    runner = ProjectionRunner(pool, projection.replaying() if replaying else projection, schema)
    if fresh:
        async with pool.acquire() as conn:
            await conn.execute(f"DROP SCHEMA IF EXISTS {_quote_ident(schema)} CASCADE")
        await runner.setup()
    return pool, runner


async def rebuild_from_kafka(
    settings: ServiceSettings, projection: Projection, schema: str, batch: int = 5000
) -> RebuildStats:
    """Read every partition of the projection's topics from the beginning up to the end
    offsets seen at the start, applying batches as the live runner does (with the replay
    handlers), then the projection's ``after_rebuild`` step."""
    stats = await _replay_kafka(settings, projection, schema, batch)
    return await _finished(settings, projection, schema, stats)


async def _finished(
    settings: ServiceSettings, projection: Projection, schema: str, stats: RebuildStats
) -> RebuildStats:
    """A one-worker replay's stats once its ``after_rebuild`` step ran (timed with it)."""
    started = time.perf_counter()
    await _after_rebuild(settings, projection, schema)
    stats.seconds += time.perf_counter() - started
    return stats


async def _replay_kafka(
    settings: ServiceSettings,
    projection: Projection,
    schema: str,
    batch: int = 5000,
    *,
    segment: Segment = (0, 1),
    fresh: bool = True,
) -> RebuildStats:
    """The replay of ``rebuild_from_kafka`` without its last step (a parallel rebuild's worker:
    it does its share of that step once the parent says every share's rows exist). Worker k of
    n reads every n-th partition (a stream lives in one partition)."""
    pool, runner = await _fresh_runner(settings, projection, schema, fresh=fresh, replaying=True)
    stats = RebuildStats(projection.name, schema)
    consumer = _replay_consumer(settings)
    await consumer.start()
    try:
        partitions = await _segment_partitions(consumer, settings, projection, segment)
        if not partitions:
            return stats
        consumer.assign(partitions)
        await consumer.seek_to_beginning(*partitions)
        ends = await consumer.end_offsets(partitions)
        todo = {tp for tp in partitions if ends[tp] > 0}
        started = time.perf_counter()
        while todo:
            fetched = await consumer.getmany(*todo, timeout_ms=1000, max_records=batch)
            records = _before_the_end(fetched, ends, todo)
            await _apply(runner, records)
            stats.events += len(records)
            if segment[1] > 1 and projection.cross_stream:
                stats.cross_stream += _cross_stream(projection, (r.value for r in records))
        stats.seconds = time.perf_counter() - started
    finally:
        await consumer.stop()
        await pool.close()
    return stats


async def _apply(runner: ProjectionRunner, records: Sequence[Record], attempts: int = 8) -> None:
    """One replayed batch, tried again after a transient failure, as the live consumer does: a
    parallel rebuild's workers write into one schema at once, so a deadlock or a lost
    connection aborts one batch, and the batch (idempotent) passes on the next try."""
    for attempt in range(attempts):
        try:
            await runner.apply(records)
            return
        except Exception as exc:
            if not is_transient(exc) or attempt == attempts - 1:
                raise
            log.warning("rebuild.batch_retried", projection=runner.projection.name, error=type(exc).__name__)
            await asyncio.sleep(min(2.0, 0.05 * 2**attempt))


def _replay_consumer(settings: ServiceSettings, fetch_max_wait_ms: int = 500) -> AIOKafkaConsumer:
    """A consumer without a group (nothing committed, partitions assigned by hand) that fetches
    large batches: a replay reads everything once."""
    return AIOKafkaConsumer(
        bootstrap_servers=settings.kafka_bootstrap,
        enable_auto_commit=False,
        group_id=None,
        max_partition_fetch_bytes=8 * 1024 * 1024,
        fetch_max_bytes=64 * 1024 * 1024,
        fetch_max_wait_ms=fetch_max_wait_ms,
        **client_options(settings),
    )


async def _segment_partitions(
    consumer: AIOKafkaConsumer, settings: ServiceSettings, projection: Projection, segment: Segment
) -> list[TopicPartition]:
    """Worker k of n: every n-th partition of the projection's topics, in a fixed order."""
    return [
        TopicPartition(t, p)
        for t in (settings.source_topic(name) for name in projection.topics)
        for p in sorted(consumer.partitions_for_topic(t) or await _partitions(consumer, t))
    ][segment[0] :: segment[1]]


def _before_the_end(
    fetched: dict[TopicPartition, list[ConsumerRecord[bytes, bytes]]],
    ends: dict[TopicPartition, int],
    todo: set[TopicPartition],
) -> list[Record]:
    """The fetched records below the end offsets seen at the start; a partition that reached
    its end leaves ``todo``."""
    records: list[Record] = []
    for tp, msgs in fetched.items():
        records += [Record(m.topic, m.partition, m.offset, m.value or b"") for m in msgs if m.offset < ends[tp]]
        if msgs and msgs[-1].offset + 1 >= ends[tp]:
            todo.discard(tp)
    return records


async def _partitions(consumer: AIOKafkaConsumer, topic: str) -> set[int]:
    await consumer._client.force_metadata_update()
    return consumer.partitions_for_topic(topic) or set()


async def rebuild_from_store(
    settings: ServiceSettings, projection: Projection, schema: str, batch: int = 5000
) -> RebuildStats:
    """Replay the service's own event store (publish order) into a fresh schema, then the
    projection's ``after_rebuild`` step. Positions are recorded as offsets of a pseudo-topic
    ``store:<topic>`` (partition 0; a parallel rebuild's worker k uses partition k)."""
    pool, runner = await _fresh_runner(settings, projection, schema, replaying=True)
    stats = RebuildStats(projection.name, schema)
    store = PostgresEventStore(pool)
    topic = f"store:{settings.topic(settings.service)}"
    started = time.perf_counter()
    try:
        async for rows in _committed_batches(store, batch):
            await _apply(runner, [Record(topic, 0, r.position, r.envelope) for r in rows])
            stats.events += len(rows)
        stats.seconds = time.perf_counter() - started
    finally:
        await pool.close()
    return await _finished(settings, projection, schema, stats)


async def _committed_batches(store: PostgresEventStore, batch: int) -> AsyncIterator[list[CommittedRow]]:
    """Every committed event of the store in publish order, ``batch`` at a time. While committed
    events wait behind a transaction still in flight, it waits too: they come next."""
    after = (0, 0)
    while True:
        rows, held = await store.read_committed(after, batch)
        if not rows:
            if not held:
                return
            await asyncio.sleep(0.05)
            continue
        yield rows
        after = (rows[-1].xid, rows[-1].position)


async def rebuild_parallel(
    settings: ServiceSettings, projection: Projection, schema: str, *, source: str, workers: int
) -> RebuildStats:
    """Rebuild with ``workers`` processes, each applying its share of the streams into the
    same fresh schema. Only for ``stream_local`` projections: their handlers touch nothing
    outside the event's own stream, so shares never meet (one process is bound by the GIL; more
    use the other cores), except for the ``cross_stream`` types, which are applied once more
    here when every worker is done. From Kafka each worker reads every n-th partition; from the
    event store this process reads once, in publish order, and hands each worker its streams'
    events (each stream to one worker, in order). Then the projection's ``after_rebuild`` step,
    if it has one, split over the same workers (worker k does share k of n). The time runs from
    the first worker's start of applying to the end of those last passes (start-up and schema
    set-up excluded)."""
    if workers > 1 and not projection.stream_local:
        raise ValueError(f"{projection.name} is not stream-local; it can only be rebuilt by one worker")
    if workers <= 1:
        fn = rebuild_from_kafka if source == "kafka" else rebuild_from_store
        return await fn(settings, projection, schema)
    pool, _ = await _fresh_runner(settings, projection, schema)
    await pool.close()
    reports = await _run_workers(settings, projection, schema, source, workers)
    stats = RebuildStats(projection.name, schema, events=sum(events for events, _, _, _ in reports))
    stats.seconds = time.time() - min(start for _, start, _, _ in reports)
    return stats


# What a worker reports: (events, wall-clock start, wall-clock end, cross-stream envelopes), or its error.
Report: TypeAlias = tuple[int, float, float, list[bytes]]
Reports: TypeAlias = "multiprocessing.Queue[Report | str]"
# What the parent hands a store worker: (position, envelope) of its streams; None: the end.
Feed: TypeAlias = "multiprocessing.Queue[list[tuple[int, bytes]] | None]"
# The parent's word to a worker whose replay is done: True, do your share of the last step; False, exit.
Orders: TypeAlias = "multiprocessing.Queue[bool]"


async def _run_workers(
    settings: ServiceSettings, projection: Projection, schema: str, source: str, workers: int
) -> list[Report]:
    """Run the worker processes to the end: their replays; then, here, the cross-stream pass
    over the envelopes a store replay's distributor and each worker saw; then, if the
    projection has one, the workers' shares of its ``after_rebuild`` step at once. Returns the
    replays' reports; raises if any worker failed."""
    spawn = multiprocessing.get_context("spawn")  # a clean interpreter, no inherited event loop
    results: Reports = spawn.Queue()
    orders: list[Orders] = [spawn.Queue() for _ in range(workers)]
    feeds: list[Feed] = [spawn.Queue(maxsize=4) for _ in range(workers)] if source == "store" else []
    procs = [
        _start_worker(
            spawn, settings, projection, schema, source, (k, workers), feeds[k] if feeds else None, orders[k], results
        )
        for k in range(workers)
    ]
    loop = asyncio.get_running_loop()
    ordered = False
    try:
        collected = await _distribute(settings, projection, list(zip(feeds, procs, strict=True))) if feeds else []
        reports = _successful(await loop.run_in_executor(None, _collect, results, procs))
        cross_stream = collected + [raw for _, _, _, raws in reports for raw in raws]
        await _reapply_cross_stream(settings, projection, schema, cross_stream)
        last_step = projection.after_rebuild is not None
        for order in orders:
            order.put(last_step)
        ordered = True
        if last_step:
            _successful(await loop.run_in_executor(None, _collect, results, procs))
    finally:
        if not ordered:  # failed before the last step: let the workers go
            for order in orders:
                order.put(False)
        _reap(procs)
    return reports


def _successful(spans: list[Report | str]) -> list[Report]:
    """The workers' reports, or the first worker's error raised here (the parent fails with it)."""
    failed = [s for s in spans if isinstance(s, str)]
    if failed:
        raise RuntimeError(f"rebuild worker failed: {failed[0]}")
    return [s for s in spans if not isinstance(s, str)]


def _start_worker(
    spawn: multiprocessing.context.SpawnContext,
    settings: ServiceSettings,
    projection: Projection,
    schema: str,
    source: str,
    segment: Segment,
    feed: Feed | None,
    orders: Orders,
    results: Reports,
) -> BaseProcess:
    """Start worker ``segment`` (settings go as a dict: the child validates them again)."""
    args = (settings.model_dump(), projection, schema, source, segment, feed, orders, results)
    proc = spawn.Process(target=_segment_worker, args=args, daemon=True)
    proc.start()
    return proc


def _reap(procs: list[BaseProcess]) -> None:
    """Wait a little for every worker to exit, then kill what is left (no orphans on errors)."""
    for worker in procs:
        worker.join(timeout=5)
        if worker.is_alive():
            worker.kill()


async def _reapply_cross_stream(
    settings: ServiceSettings, projection: Projection, schema: str, collected: list[bytes]
) -> None:
    """Now every worker's rows exist: let the cross-stream handlers see them all, in record order."""
    envelopes = [e for e in map(Envelope.from_bytes, collected) if e.event_type in projection.cross_stream_types]
    if not envelopes:
        return
    pool, runner = await _fresh_runner(settings, projection, schema, fresh=False, replaying=True)
    try:
        await runner.reapply(sorted(envelopes, key=lambda e: (e.recorded_at, e.event_id)))
    finally:
        await pool.close()


async def _after_rebuild(
    settings: ServiceSettings, projection: Projection, schema: str, share: Segment = (0, 1)
) -> None:
    """The projection's own last step (``Projection.after_rebuild``), or share k of n of it, in
    one transaction on the rebuilt schema, after every replay (one worker or more) and before
    any catch-up or swap: whatever a projection folds across streams, or leaves out while
    replaying (its replay handlers), is derived here from all the replayed rows."""
    if projection.after_rebuild is None:
        return
    conn = await asyncpg.connect(settings.database_url)
    try:
        async with conn.transaction():
            await conn.execute(SET_SEARCH_PATH, search_path_of(schema))
            await projection.after_rebuild(conn, share)
    finally:
        await conn.close()


def _collect(results: Reports, procs: list[BaseProcess]) -> list[Report | str]:
    """Every worker's report; raises if a worker died without one (instead of waiting forever)."""
    out: list[Report | str] = []
    while len(out) < len(procs):
        try:
            out.append(results.get(timeout=1.0))
        except queue.Empty:
            if not any(p.is_alive() for p in procs):
                try:
                    out.append(results.get(timeout=1.0))
                except queue.Empty:
                    raise RuntimeError("a rebuild worker died without reporting") from None
    return out


def _hand_over(feed: Feed, item: list[tuple[int, bytes]] | None, proc: BaseProcess) -> None:
    """Put with back-pressure, but give up if the worker that should take it is gone."""
    while True:
        try:
            feed.put(item, timeout=1.0)
            return
        except queue.Full:
            if not proc.is_alive():
                raise RuntimeError("a rebuild worker died") from None


async def _distribute(
    settings: ServiceSettings,
    projection: Projection,
    feeds: list[tuple[Feed, BaseProcess]],
    batch: int = 5000,
) -> list[bytes]:
    """Read the event store once, in publish order, and hand each worker its streams' events;
    returns the projection's cross-stream events."""
    n = len(feeds)
    collected: list[bytes] = []
    loop = asyncio.get_running_loop()
    pool = await asyncpg.create_pool(settings.database_url, min_size=1, max_size=1)
    try:
        async for rows in _committed_batches(PostgresEventStore(pool), batch):
            shares: list[list[tuple[int, bytes]]] = [[] for _ in range(n)]
            for r in rows:
                shares[zlib.crc32(r.stream_id.encode()) % n].append((r.position, r.envelope))
            collected += _cross_stream(projection, (r.envelope for r in rows))
            for (feed, proc), share in zip(feeds, shares, strict=True):
                if share:
                    await loop.run_in_executor(None, _hand_over, feed, share, proc)
    finally:
        for feed, proc in feeds:
            await loop.run_in_executor(None, _hand_over, feed, None, proc)
        await pool.close()
    return collected


def _cross_stream(projection: Projection, values: Iterable[bytes]) -> list[bytes]:
    """The envelopes (stored bytes) of the projection's cross-stream types. Stored envelopes are
    compact JSON with sorted keys, so a byte search finds them without parsing every event; the
    caller parses the few found and checks the type for real."""
    markers = [f'"event_type":"{t}"'.encode() for t in projection.cross_stream_types]
    return [v for v in values if any(m in v for m in markers)]


def _segment_worker(
    settings: dict[str, object],
    proj: Projection,
    schema: str,
    source: str,
    segment: Segment,
    feed: Feed | None,
    orders: Orders,
    results: Reports,
) -> None:
    """One worker process: reports its replay (events, wall-clock start, wall-clock end,
    cross-stream envelopes it saw), then, when the parent says so, does its share of the
    projection's last step and reports that (no events, its span); or reports the error."""
    try:
        s = ServiceSettings(**settings)  # type: ignore[arg-type]
        if feed is None:
            stats = uvloop.run(_replay_kafka(s, proj, schema, segment=segment, fresh=False))
        else:
            stats = uvloop.run(_apply_feed(s, proj, schema, segment, feed))
        end = time.time()
        results.put((stats.events, end - stats.seconds, end, stats.cross_stream))
        if _ordered(orders):
            started = time.time()
            uvloop.run(_after_rebuild(s, proj, schema, segment))
            results.put((0, started, time.time(), []))
    except Exception as exc:  # the parent raises it
        results.put(repr(exc))


def _ordered(orders: Orders) -> bool:
    """The parent's word (False if the parent is gone: no orphan waits for ever)."""
    parent = multiprocessing.parent_process()
    while True:
        try:
            return orders.get(timeout=1.0)
        except queue.Empty:
            if parent is not None and not parent.is_alive():
                return False


async def _apply_feed(
    settings: ServiceSettings,
    projection: Projection,
    schema: str,
    segment: Segment,
    feed: Feed,
) -> RebuildStats:
    """Apply what the parent hands over; positions go to the pseudo-topic's partition k."""
    pool, runner = await _fresh_runner(settings, projection, schema, fresh=False, replaying=True)
    stats = RebuildStats(projection.name, schema)
    topic = f"store:{settings.topic(settings.service)}"
    loop = asyncio.get_running_loop()
    started: float | None = None
    try:
        while (share := await loop.run_in_executor(None, feed.get)) is not None:
            started = started if started is not None else time.perf_counter()
            await _apply(runner, [Record(topic, segment[0], position, envelope) for position, envelope in share])
            stats.events += len(share)
        stats.seconds = time.perf_counter() - started if started is not None else 0.0
    finally:
        await pool.close()
    return stats


async def compare(settings: ServiceSettings, projection: Projection, live: str, rebuilt: str) -> dict[str, int]:
    """Rows that differ between the live and the rebuilt copy of each projection table."""
    conn = await asyncpg.connect(settings.database_url)
    try:
        tables = await conn.fetch(
            "SELECT table_name FROM information_schema.tables WHERE table_schema = $1 AND table_name NOT IN"
            " ('schema_migrations', 'projection_offsets', 'projection_streams', 'projection_gaps', 'parked')",
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
    """Make the rebuilt schema the live one (stop the service's consumers first, or use
    ``rebuild_live``)."""
    conn = await asyncpg.connect(settings.database_url)
    try:
        async with conn.transaction():
            await _rename_and_drop(conn, live, rebuilt)
    finally:
        await conn.close()


async def _rename_and_drop(conn: asyncpg.Connection, live: str, rebuilt: str) -> None:
    """In the caller's transaction: the rebuilt schema takes the live one's name, and the old
    one is dropped at once. Dropped in the same transaction, not later: a plan cached before the
    rename still points at the old tables, and dropping them is what makes PostgreSQL plan such
    a statement again (by name, so on the new tables) before its next use."""
    old = f"{live}_old"
    await conn.execute(f"DROP SCHEMA IF EXISTS {_quote_ident(old)} CASCADE")
    await conn.execute(f"ALTER SCHEMA {_quote_ident(live)} RENAME TO {_quote_ident(old)}")
    await conn.execute(f"ALTER SCHEMA {_quote_ident(rebuilt)} RENAME TO {_quote_ident(live)}")
    await conn.execute(f"DROP SCHEMA {_quote_ident(old)} CASCADE")


Positions: TypeAlias = dict[tuple[str, int], int]
Ranges: TypeAlias = dict[TopicPartition, tuple[int, int]]  # [from, to) offsets per partition

_POSITIONS = "SELECT topic, partition, next_offset FROM {schema}.projection_offsets WHERE projection = $1"
_EXCLUSIVE = "SELECT pg_advisory_xact_lock(hashtextextended($1, 0))"
_LOCK_TIMEOUT = "SELECT set_config('lock_timeout', $1, true)"
# A swap that gave up on a lock (``lock_timeout``), or was chosen to break a deadlock with a
# transaction that holds the old tables and waits for the projection's lock: nothing was
# swapped, everything went on; try again.
_SWAP_AGAIN = (asyncpg.exceptions.LockNotAvailableError, asyncpg.exceptions.DeadlockDetectedError)


@dataclass
class LiveRebuild:
    """What a live rebuild did: the replay, the catch-up while the live schema served, and the
    swap (records applied and seconds spent holding the projection's lock)."""

    stats: RebuildStats
    caught_up: int = 0
    rounds: int = 0
    swap_attempts: int = 0
    applied_under_lock: int = 0
    locked_seconds: float = 0.0
    positions: Positions = field(default_factory=dict)


async def rebuild_live(
    settings: ServiceSettings,
    projection: Projection,
    *,
    workers: int = 1,
    close_enough: int = 50,
    max_rounds: int = 20,
    lock_timeout: float = 2.0,
    attempts: int = 10,
) -> LiveRebuild:
    """Rebuild a projection while its service runs: replay its topics into ``<schema>_rebuild``,
    catch up from Kafka to the live positions (rounds, until fewer than ``close_enough`` records
    are missing), then swap under the projection's lock (``swap_live``). A swap that waits
    longer than ``lock_timeout`` for a lock (a long read on the old tables: the reads queued
    behind the drop would wait with it) gives up, lets everything go on, and is tried again
    after another catch-up, ``attempts`` times at most. Kafka only: the rebuilt positions must
    be the live runner's (topic, partition, offset)."""
    if projection.side_effects:
        raise ValueError(f"{projection.name} is a policy (it appends events); it is never rebuilt")
    live = settings.schema_for(projection.name)
    fresh = f"{live}_rebuild"
    result = LiveRebuild(await rebuild_parallel(settings, projection, fresh, source="kafka", workers=workers))
    pool, runner = await _fresh_runner(settings, projection, fresh, fresh=False)
    # A fetch waiting at a partition's end would delay the swap's reads after a seek: short waits.
    consumer = _replay_consumer(settings, fetch_max_wait_ms=20)
    await consumer.start()
    try:
        consumer.assign(await _segment_partitions(consumer, settings, projection, (0, 1)))
        while True:
            result.swap_attempts += 1
            await _catch_up(pool, consumer, runner, live, result, close_enough, max_rounds)
            try:
                await swap_live(settings, projection, consumer, runner, result, lock_timeout=lock_timeout)
                return result
            except _SWAP_AGAIN as exc:
                if result.swap_attempts >= attempts:
                    raise
                log.warning(
                    "rebuild.swap_retried", projection=projection.name, attempt=result.swap_attempts,
                    error=type(exc).__name__,
                )  # fmt: skip
                await asyncio.sleep(lock_timeout / 4)
    finally:
        await consumer.stop()
        await pool.close()


async def _catch_up(
    pool: asyncpg.Pool,
    consumer: AIOKafkaConsumer,
    runner: ProjectionRunner,
    live: str,
    result: LiveRebuild,
    close_enough: int,
    max_rounds: int,
) -> None:
    """Apply what the live schema has and the rebuilt one lacks, in rounds (the live one moves
    on meanwhile), until fewer than ``close_enough`` records are missing."""
    for _ in range(max_rounds):
        missing = _behind(await _positions(pool, live, runner.projection), await runner.positions())
        if sum(to - start for start, to in missing.values()) < close_enough:
            return
        result.caught_up += await _apply_ranges(consumer, runner, missing)
        result.rounds += 1


async def swap_live(
    settings: ServiceSettings,
    projection: Projection,
    consumer: AIOKafkaConsumer,
    runner: ProjectionRunner,
    result: LiveRebuild,
    *,
    lock_timeout: float = 2.0,
) -> None:
    """One transaction, waiting at most ``lock_timeout`` seconds for each lock: take the
    projection's lock exclusive (every live batch takes it shared, so the batch in flight ends
    first and no other starts), apply the records the rebuilt schema still misses up to the live
    positions (none is lost; the live runner's duplicate check drops those it later receives
    below the new positions), rename, drop the old."""
    live, fresh = settings.schema_for(projection.name), runner.schema
    conn = await asyncpg.connect(settings.database_url)
    try:
        async with conn.transaction():
            await conn.execute(_LOCK_TIMEOUT, f"{round(lock_timeout * 1000)}ms")
            await conn.execute(_EXCLUSIVE, projection_lock(live, projection.name))
            started = time.perf_counter()
            live_at = await _positions(conn, live, projection)
            missing = _behind(live_at, await _positions(conn, fresh, projection))
            result.applied_under_lock = await _apply_ranges(consumer, runner, missing)
            result.positions = await _positions(conn, fresh, projection)
            if still := _behind(live_at, result.positions):
                raise RuntimeError(f"the rebuilt schema is still behind the live one: {still}")
            await _rename_and_drop(conn, live, fresh)
        result.locked_seconds = time.perf_counter() - started
    finally:
        await conn.close()


async def _positions(db: asyncpg.Pool | asyncpg.Connection, schema: str, projection: Projection) -> Positions:
    """The next offset per (topic, partition) stored in ``schema`` (committed batches only)."""
    rows = await db.fetch(_POSITIONS.format(schema=_quote_ident(schema)), projection.name)
    return {(r["topic"], r["partition"]): r["next_offset"] for r in rows}


def _behind(live: Positions, rebuilt: Positions) -> Ranges:
    """The offsets the rebuilt schema lacks to reach the live one. Where it is ahead (the replay
    read to the topics' ends while the live runner lagged), nothing is missing."""
    return {
        TopicPartition(topic, partition): (rebuilt.get((topic, partition), 0), to)
        for (topic, partition), to in live.items()
        if rebuilt.get((topic, partition), 0) < to
    }


async def _apply_ranges(consumer: AIOKafkaConsumer, runner: ProjectionRunner, ranges: Ranges, batch: int = 5000) -> int:
    """Read each partition's range [from, to) and apply it, as the live runner would: the records applied."""
    for tp, (start, _) in ranges.items():
        consumer.seek(tp, start)
    ends = {tp: to for tp, (_, to) in ranges.items()}
    todo = set(ends)
    applied = 0
    while todo:
        records = _before_the_end(await consumer.getmany(*todo, timeout_ms=1000, max_records=batch), ends, todo)
        await runner.apply(records)
        applied += len(records)
    return applied
