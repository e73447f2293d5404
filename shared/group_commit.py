"""Group commit for autocommitted appends: the appends that concurrent commands of one process
make at about the same time go into the events table as one statement and one commit.

The first append to arrive leads a group: it waits (bounded by ``max_wait_s`` and ``max_size``)
while another group's statement is in flight, collecting the appends that arrive meanwhile, then
runs one multi-row insert for all of them on its own connection (the one its unit of work holds,
so a group never needs a second pooled connection). Each append keeps its own optimistic
concurrency: the insert skips every row whose (stream id, version) exists or whose predecessor
was written by a newer transaction (the xid rule of ``shared.eventstore``), and an append is in
only if all its rows are. One that is not gets its own ``ConcurrencyConflict``; the others commit.
Should an append with several events be partly in, the group's transaction is rolled back and
the appends that were fully in are retried in a new one (nothing half-written). An error of the
statement itself (not a conflict) sends each append of the group on alone, so it is that
append's error only.

Grouping pays only under concurrency: while fewer than ``min_concurrency`` appends (this one
counted) are in progress in the process and no group is collecting, an append goes alone, at once, in the
single-row statement. With few writers PostgreSQL runs their statements side by side and shares
their WAL flushes itself; one group in flight at a time would serialise them (measured with the
peer workload: 8 writers 2,792 appends/s alone against 1,834 grouped, 64 writers 1,726 against
2,005; docs/PERFORMANCE.md).

Only autocommitted appends (a command without an idempotency key) are grouped: an append in a
caller's transaction must commit with that transaction's other writes, on its connection.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from dataclasses import dataclass, field

import asyncpg

from shared import metrics
from shared.db import Conn
from shared.envelope import Envelope
from shared.settings import ServiceSettings

# The rows of every append of a group in one statement (see the module docstring); returns the
# ids that went in. The relay's NOTIFY rides along (once), unless it is woken in-process.
_INSERT_GROUP_CTE = """
WITH ins AS (
    INSERT INTO events (event_id, stream_id, stream_type, version, event_type, recorded_at, hash, envelope)
    SELECT u.* FROM unnest($1::uuid[], $2::text[], $3::text[], $4::int[], $5::text[], $6::timestamptz[],
                           $7::text[], $8::bytea[])
        AS u(event_id, stream_id, stream_type, version, event_type, recorded_at, hash, envelope)
    WHERE NOT EXISTS (
        SELECT 1 FROM events e WHERE e.stream_id = u.stream_id AND e.version = u.version - 1
        AND e.xid > pg_current_xact_id()
    )
    ON CONFLICT (stream_id, version) DO NOTHING
    RETURNING event_id
)
"""
# One event (the common case, and a group of one) in one round trip, for the event store too: a
# conflict on (stream id, version) inserts nothing and returns no id instead of raising, so no
# savepoint is needed to keep a caller's transaction usable; the relay's NOTIFY rides along. The
# NOT EXISTS guard is the head check's xid rule (shared.eventstore ``_HEAD``) for callers that
# pass the head they loaded. Under 8 concurrent writers it took 0.1 ms in PostgreSQL against
# 0.45-0.52 ms for the group's unnest form with one row (pg_stat_statements, peer workload).
INSERT_ONE_CTE = """
WITH ins AS (
    INSERT INTO events (event_id, stream_id, stream_type, version, event_type, recorded_at, hash, envelope)
    SELECT $1, $2, $3, $4, $5, $6, $7, $8
    WHERE NOT EXISTS (
        SELECT 1 FROM events WHERE stream_id = $2 AND version = $4 - 1 AND xid > pg_current_xact_id()
    )
    ON CONFLICT (stream_id, version) DO NOTHING
    RETURNING event_id
)
"""
INSERT_ONE = INSERT_ONE_CTE + "SELECT array_agg(event_id) AS ids, pg_notify('events_appended', '') FROM ins"
INSERT_ONE_QUIET = INSERT_ONE_CTE + "SELECT array_agg(event_id) AS ids FROM ins"
_INSERT_GROUP = _INSERT_GROUP_CTE + "SELECT array_agg(event_id) AS ids, pg_notify('events_appended', '') FROM ins"
_INSERT_GROUP_QUIET = _INSERT_GROUP_CTE + "SELECT array_agg(event_id) AS ids FROM ins"


@dataclass(eq=False)
class _Member:
    """One append waiting for its group: its sealed events and whether they all went in."""

    sealed: list[Envelope]
    quiet: bool
    done: asyncio.Future[bool]


@dataclass(eq=False)
class _Group:
    members: list[_Member]
    ready: asyncio.Event = field(default_factory=asyncio.Event)


class _Rollback(Exception):
    """Some append of the group is partly in: undo the group's transaction and retry the rest."""


class GroupCommitter:
    """Collects concurrent autocommitted appends into groups (one per event loop, one per store).

    ``statements``, ``appends``, ``retries`` and ``fallbacks`` count what it did (the tests and
    the bench read them; Prometheus has ``append_groups_total`` and ``append_group_size``)."""

    def __init__(self, *, max_wait_s: float = 0.0005, max_size: int = 64, min_concurrency: int = 1) -> None:
        if max_wait_s < 0 or max_size < 1 or min_concurrency < 1:
            raise ValueError("a group commit needs max_wait_s >= 0, max_size >= 1 and min_concurrency >= 1")
        self.max_wait_s = max_wait_s
        self.max_size = max_size
        self.min_concurrency = min_concurrency
        self._active = 0
        self.statements = 0
        self.appends = 0
        self.retries = 0
        self.fallbacks = 0
        self._open: _Group | None = None
        self._in_flight = 0

    async def insert(self, conn: Conn, sealed: list[Envelope], *, quiet: bool) -> bool:
        """Insert ``sealed`` (one append, chained to its stream's head) with whatever else is
        being appended now; True if all of it went in, False (nothing of it written) if its
        stream moved on. ``conn`` must not be in a transaction."""
        member = _Member(sealed, quiet, asyncio.get_running_loop().create_future())
        group = self._open
        if group is None and self._active + 1 < self.min_concurrency:  # too few to be worth a group
            self._active += 1
            try:
                await self._execute(conn, [member])
            finally:
                self._active -= 1
            return await member.done
        self._active += 1
        try:
            return await self._grouped(conn, member)
        finally:
            self._active -= 1

    async def _grouped(self, conn: Conn, member: _Member) -> bool:
        group = self._open
        if group is not None:
            group.members.append(member)
            if len(group.members) >= self.max_size:
                self._close(group)
            return await member.done
        group = _Group([member])
        self._open = group
        run = asyncio.ensure_future(self._run(conn, group))
        try:
            await asyncio.shield(run)
        except asyncio.CancelledError:
            await _outlast(run)  # the group's statement runs on this caller's connection
            raise
        return await member.done

    def _close(self, group: _Group) -> None:
        """No more appends join ``group``; its leader goes."""
        if self._open is group:
            self._open = None
        group.ready.set()

    async def _run(self, conn: Conn, group: _Group) -> None:
        try:
            await self._collect(group)
        finally:
            self._close(group)
        self._in_flight += 1
        try:
            await self._execute(conn, group.members)
        except BaseException as exc:  # the connection broke, or the loop is shutting down
            for m in group.members:
                if not m.done.done():
                    m.done.set_exception(exc)
            if not isinstance(exc, Exception):
                raise
        finally:
            self._in_flight -= 1
            if self._in_flight == 0 and self._open is not None:
                self._open.ready.set()  # nothing in flight: the group collecting meanwhile goes

    async def _collect(self, group: _Group) -> None:
        """Let the appends of this moment join; while another group's statement is in flight,
        also those arriving until it ends, the group is full, or ``max_wait_s`` passed."""
        await asyncio.sleep(0)
        if self._in_flight == 0 or group.ready.is_set():
            return
        timer = asyncio.get_running_loop().call_later(self.max_wait_s, group.ready.set)
        try:
            await group.ready.wait()
        finally:
            timer.cancel()

    async def _execute(self, conn: Conn, members: list[_Member]) -> None:
        """Insert the group; conflicted appends resolve False, the rest True (see the module)."""
        pending = _without_twins(members)
        metrics.APPEND_GROUP_SIZE.observe(len(members))
        while pending:
            try:
                inserted = await self._statement(conn, pending)
            except _Rollback as partial:
                self.retries += 1
                pending = partial.args[0]
                continue
            except asyncpg.PostgresError:
                if len(pending) == 1:
                    raise
                await self._one_by_one(conn, pending)
                return
            whole = [m for m in pending if _all_in(m, inserted)]
            self.appends += len(whole)
            for m in pending:
                _resolve(m, m in whole)
            return

    async def _statement(self, conn: Conn, members: list[_Member]) -> set[object]:
        """One insert of every member's rows; the ids that went in. With an append of several
        events it runs in a transaction, rolled back (``_Rollback`` with the members that were
        fully in) if one of them is partly in."""
        rows = sorted((e for m in members for e in m.sealed), key=lambda e: (e.stream_id, e.version))
        self.statements += 1
        metrics.APPEND_GROUPS.inc()
        if len(rows) == 1:
            e = rows[0]
            solo = INSERT_ONE_QUIET if members[0].quiet else INSERT_ONE
            return set(await conn.fetchval(
                solo, e.event_id, e.stream_id, e.stream_type, e.version, e.event_type, e.recorded_at, e.hash,
                e.to_bytes(),
            ) or ())  # fmt: skip
        query = _INSERT_GROUP_QUIET if all(m.quiet for m in members) else _INSERT_GROUP
        if all(len(m.sealed) == 1 for m in members):  # all or none per append by construction
            return set(await conn.fetchval(query, *insert_columns(rows)) or ())
        async with conn.transaction():
            inserted = set(await conn.fetchval(query, *insert_columns(rows)) or ())
            whole = [m for m in members if _all_in(m, inserted)]
            if any(e.event_id in inserted for m in members if m not in whole for e in m.sealed):
                for m in members:
                    if m not in whole:
                        _resolve(m, False)
                raise _Rollback(whole)
        return inserted

    async def _one_by_one(self, conn: Conn, members: list[_Member]) -> None:
        """Each append in its own statement, so a failing one fails alone."""
        self.fallbacks += 1
        for m in members:
            try:
                await self._execute(conn, [m])
            except Exception as exc:  # it is this append's own error
                if not m.done.done():
                    m.done.set_exception(exc)


def group_committer(settings: ServiceSettings) -> GroupCommitter | None:
    """The configured group commit of a service's request path (None: off)."""
    if settings.append_group_max_wait_us == 0 or settings.append_group_max_size == 1:
        return None
    return GroupCommitter(
        max_wait_s=settings.append_group_max_wait_us / 1e6,
        max_size=settings.append_group_max_size,
        min_concurrency=settings.append_group_min_concurrency,
    )


def _without_twins(members: list[_Member]) -> list[_Member]:
    """Two appends of a group after the same version of a stream: the later one conflicts at once."""
    taken: set[tuple[str, int]] = set()
    kept: list[_Member] = []
    for m in members:
        keys = {(e.stream_id, e.version) for e in m.sealed}
        if keys & taken:
            _resolve(m, False)
            continue
        taken |= keys
        kept.append(m)
    return kept


def _all_in(member: _Member, inserted: set[object]) -> bool:
    return all(e.event_id in inserted for e in member.sealed)


def _resolve(member: _Member, whole: bool) -> None:
    """Answer an append (unless its caller stopped waiting: cancelled)."""
    if not member.done.done():
        member.done.set_result(whole)


def insert_columns(sealed: Sequence[Envelope]) -> tuple[list[object], ...]:
    """The insert's arrays, one per column (the store's single and multi-row inserts use them too)."""
    return (
        [e.event_id for e in sealed],
        [e.stream_id for e in sealed],
        [e.stream_type for e in sealed],
        [e.version for e in sealed],
        [e.event_type for e in sealed],
        [e.recorded_at for e in sealed],
        [e.hash for e in sealed],
        [e.to_bytes() for e in sealed],
    )


async def _outlast(task: asyncio.Future[None]) -> None:
    """Wait for ``task`` even if the waiter is cancelled again meanwhile."""
    while not task.done():
        try:
            await asyncio.wait([task])
        except asyncio.CancelledError:
            continue
