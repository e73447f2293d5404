"""PostgreSQL event store: the only write path of a service.

``append`` inserts new events with optimistic concurrency on (stream id, version) and chains
their hashes; the table doubles as the outbox that ``relay`` publishes from.
"""

from __future__ import annotations

import time
from abc import ABC, abstractmethod
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol
from uuid import UUID

import asyncpg

from shared import metrics
from shared.contracts.base import DomainEvent
from shared.db import Conn
from shared.domain import DomainError
from shared.envelope import GENESIS_HASH, Actor, Envelope, new_id, utcnow
from shared.group_commit import INSERT_ONE, INSERT_ONE_QUIET, GroupCommitter, insert_columns
from shared.values import unstorable_at


class ConcurrencyConflict(Exception):
    """The stream moved on since the caller read it; nothing was written."""

    def __init__(self, stream_id: str, expected: int, actual: int | None = None) -> None:
        self.stream_id = stream_id
        self.expected = expected
        self.actual = actual
        if actual is None:
            detail = ""
        elif actual == expected:
            detail = ", but its head was written by a newer transaction (retry in a new one)"
        else:
            detail = f", it is at {actual}"
        super().__init__(f"stream {stream_id} expected at version {expected}{detail}")


@dataclass(frozen=True, slots=True)
class CommandContext:
    """Who asks, for which agency and project, and which request caused it."""

    actor: Actor
    agency: str
    project: str | None
    correlation_id: UUID
    causation_id: UUID | None = None


@dataclass(frozen=True, slots=True)
class CommittedRow:
    """One event as the relay reads it: its checkpoint coordinates and its stored bytes."""

    xid: int
    position: int
    envelope: bytes
    stream_id: str


# Several events in one statement; the relay's NOTIFY rides along. Runs under a savepoint, so a
# unique violation (a concurrent writer) leaves the caller's transaction usable.
_INSERT_MANY_CTE = """
WITH ins AS (
    INSERT INTO events (event_id, stream_id, stream_type, version, event_type, recorded_at, hash, envelope)
    SELECT * FROM unnest($1::uuid[], $2::text[], $3::text[], $4::int[], $5::text[], $6::timestamptz[],
                         $7::text[], $8::bytea[])
    WHERE NOT EXISTS (
        SELECT 1 FROM events WHERE stream_id = ($2::text[])[1] AND version = ($4::int[])[1] - 1
        AND xid > pg_current_xact_id()
    )
    RETURNING position
)
"""
_INSERT_MANY = _INSERT_MANY_CTE + "SELECT count(*) AS n, pg_notify('events_appended', '') FROM ins"

# Without the NOTIFY, for autocommitted appends while this process's own relay leads: it is woken
# in-process instead. NOTIFY serialises committing transactions on one server-wide queue lock
# (with 8 writers it cost a third of the append rate).
_INSERT_MANY_QUIET = _INSERT_MANY_CTE + "SELECT count(*) AS n FROM ins"


class LocalRelay(Protocol):
    """This process's outbox relay, as the store sees it."""

    @property
    def is_leader(self) -> bool: ...

    def wake(self) -> None: ...


# Last version, its hash, and whether it was written by a transaction newer than ours. The
# relay publishes in (xid, position) order, so a later version must never carry an older xid:
# if it would, the caller retries in a fresh transaction (which gets a newer xid).
_HEAD = """
SELECT version, hash, xid > pg_current_xact_id() AS newer_xid
FROM events WHERE stream_id = $1 ORDER BY version DESC LIMIT 1
"""


_READ_STREAM = "SELECT envelope FROM events WHERE stream_id = $1 ORDER BY version"
_READ_STREAM_UP_TO = "SELECT envelope FROM events WHERE stream_id = $1 AND recorded_at <= $2 ORDER BY version"


# The relay's read. xids are cluster-wide, so ``pg_snapshot_xmin`` alone would make every
# transaction on the server (other services' databases, their projections) hold this outbox
# back. The horizon is instead the oldest xid of the statement's snapshot that is still in
# progress and is not *positively known* to belong to a session in another database (its
# ``backend_xid`` in ``pg_stat_activity``): such a session cannot insert into this table, and
# an xid is never reused. Anything not identified that way (a session that ended meanwhile, a
# prepared transaction, stats hidden from an unprivileged role) still counts, so the rule can
# only err towards waiting; with no candidate left the horizon is the snapshot's xmax.
_READ_COMMITTED = """
WITH snap AS MATERIALIZED (SELECT pg_current_snapshot() AS s),
foreign_xids AS MATERIALIZED (
    SELECT backend_xid FROM pg_stat_activity WHERE datname <> current_database() AND backend_xid IS NOT NULL
),
horizon AS MATERIALIZED (
    SELECT coalesce(
        (SELECT min(x) FROM snap, pg_snapshot_xip(snap.s) AS x
         WHERE xid(x) NOT IN (SELECT backend_xid FROM foreign_xids)),
        (SELECT pg_snapshot_xmax(s) FROM snap)
    ) AS h
)
SELECT events.xid::text::bigint AS xid, position, envelope, stream_id, events.xid < (SELECT h FROM horizon) AS safe
FROM events
WHERE (events.xid, position) > ($1::text::xid8, $2)
ORDER BY events.xid, events.position
LIMIT $3
"""


@dataclass(frozen=True, slots=True)
class AppendBatch:
    """The arguments of one append of at least one event, as ``EventStore.append`` hands them
    to its backend."""

    stream_id: str
    stream_type: str
    expected_version: int
    events: Sequence[DomainEvent]
    context: CommandContext
    occurred_at: datetime | None
    head_hash: str | None

    def seal(self, head_hash: str) -> list[Envelope]:
        """The events in envelopes chained to ``head_hash``, the hash of the stream's head."""
        return seal(
            self.events, stream_id=self.stream_id, stream_type=self.stream_type,
            after_version=self.expected_version, head_hash=head_hash, context=self.context,
            occurred_at=self.occurred_at,
        )  # fmt: skip


class EventStore(ABC):
    """What every event store does (the contract ``tests/contracts/event_store.py`` checks on
    each backend): append after a known version or conflict, and read a stream back."""

    async def append(
        self,
        conn: Conn | None = None,
        *,
        stream_id: str,
        stream_type: str,
        expected_version: int,
        events: Sequence[DomainEvent],
        context: CommandContext,
        occurred_at: datetime | None = None,
        head_hash: str | None = None,
    ) -> list[Envelope]:
        """Append ``events`` after ``expected_version``; raise ``ConcurrencyConflict`` (writing
        nothing) if the stream is elsewhere. ``head_hash``: the hash of the event at
        ``expected_version`` as the caller read it (``GENESIS_HASH`` for a new stream); a store
        also conflicts if its head is another. Appending nothing writes nothing."""
        if not events:
            return []
        batch = AppendBatch(stream_id, stream_type, expected_version, events, context, occurred_at, head_hash)
        return await self._append(conn, batch)

    @abstractmethod
    async def _append(self, conn: Conn | None, batch: AppendBatch) -> list[Envelope]:
        """The backend's append of a batch of at least one event (see ``append``)."""

    @abstractmethod
    async def read_stream(
        self, stream_id: str, *, conn: Conn | None = None, up_to: datetime | None = None
    ) -> list[Envelope]:
        """All events of one stream in version order (only those recorded by ``up_to``)."""


class UnstorableEvent(DomainError):
    """An event no consumer could store (PostgreSQL refuses U+0000 and lone surrogates in text
    and JSON): refused before it is written, so it can never stall a projection."""


def refuse_unstorable(event: DomainEvent, payload: dict[str, object]) -> None:
    where = unstorable_at(payload)
    if where is not None:
        raise UnstorableEvent(
            f"{event.event_type} cannot be stored: U+0000 or a lone surrogate in {where}", field=where
        )


def seal(
    events: Sequence[DomainEvent],
    *,
    stream_id: str,
    stream_type: str,
    after_version: int,
    head_hash: str,
    context: CommandContext,
    occurred_at: datetime | None = None,
) -> list[Envelope]:
    """Wrap new events in envelopes that chain, by hash, to the stream's head; refuse any
    event whose payload a consumer could not store (``UnstorableEvent``)."""
    now = utcnow()
    sealed: list[Envelope] = []
    prev_hash = head_hash
    for offset, event in enumerate(events, start=1):
        payload = event.model_dump(mode="json")
        refuse_unstorable(event, payload)
        envelope = Envelope(
            event_id=new_id(),
            event_type=event.event_type,
            schema_version=event.schema_version,
            stream_id=stream_id,
            stream_type=stream_type,
            version=after_version + offset,
            occurred_at=occurred_at or now,
            recorded_at=now,
            agency=context.agency,
            project=context.project,
            actor=context.actor,
            correlation_id=context.correlation_id,
            causation_id=context.causation_id,
            payload=payload,
            prev_hash=prev_hash,
        ).sealed()
        prev_hash = envelope.hash
        sealed.append(envelope)
    return sealed


class PostgresEventStore(EventStore):
    """Appends to and reads from one service's ``events`` table (also the relay's outbox)."""

    def __init__(self, pool: asyncpg.Pool | None = None, *, group: GroupCommitter | None = None) -> None:
        self._pool = pool
        # With ``group``, autocommitted appends of concurrent commands share one statement and
        # one commit (``shared.group_commit``); appends in a caller's transaction never do.
        self.group = group
        # Set by the runtime: an autocommitted append wakes it directly (no NOTIFY) while it
        # leads; otherwise (another replica leads, or the caller's transaction commits later
        # on) the append NOTIFYs, which is delivered at commit.
        self.local_relay: LocalRelay | None = None

    @property
    def pool(self) -> asyncpg.Pool:
        if self._pool is None:
            raise RuntimeError("this EventStore was made for appends on a given connection only")
        return self._pool

    async def _append(self, conn: Conn | None, batch: AppendBatch) -> list[Envelope]:
        """check head -> seal -> insert -> wake relay: in the caller's transaction if it has one,
        else (only with ``head_hash``) as one autocommitted statement; without ``conn``, in a
        transaction of its own.

        With ``head_hash`` no head read is needed: events are immutable and versions gapless, so
        the insert of ``expected_version + 1`` succeeds only if that head is still the head; the
        xid rule is checked inside the insert.
        """
        if conn is None:
            async with self.pool.acquire() as own:
                if self.group is not None and batch.head_hash is not None:
                    return await self._append(own, batch)  # autocommitted: grouped
                async with own.transaction():
                    return await self._append(own, batch)
        head_hash = batch.head_hash
        if head_hash is None:
            head_hash = await self._check_head(conn, batch.stream_id, batch.expected_version)
        sealed = batch.seal(head_hash)
        relay = self.local_relay
        quiet = relay is not None and relay.is_leader and not conn.is_in_transaction()
        started = time.perf_counter()
        if self.group is not None and not conn.is_in_transaction():
            whole = await self.group.insert(conn, sealed, quiet=quiet)
            inserted = len(sealed) if whole else 0
        else:
            inserted = await self._insert(conn, sealed, quiet=quiet)
        metrics.APPEND_SECONDS.observe(time.perf_counter() - started)
        if inserted != len(sealed):  # a concurrent writer, or the xid guard held: nothing written
            raise ConcurrencyConflict(batch.stream_id, batch.expected_version)
        if quiet and relay is not None:
            relay.wake()  # committed: the statement was its own transaction
        return sealed

    @staticmethod
    async def _check_head(conn: Conn, stream_id: str, expected_version: int) -> str:
        """The head's hash, if the stream is at ``expected_version`` and its head was not
        written by a newer transaction; else ``ConcurrencyConflict``."""
        if not conn.is_in_transaction():
            raise RuntimeError("append without head_hash must run inside a transaction")
        head = await conn.fetchrow(_HEAD, stream_id)
        actual = head["version"] if head else 0
        if actual != expected_version or (head is not None and head["newer_xid"]):
            raise ConcurrencyConflict(stream_id, expected_version, actual)
        return head["hash"] if head else GENESIS_HASH

    @staticmethod
    async def _insert(conn: Conn, sealed: list[Envelope], *, quiet: bool) -> int:
        """Insert the sealed events in one statement; returns how many went in (all or none)."""
        if len(sealed) == 1:
            e = sealed[0]
            ids = await conn.fetchval(
                INSERT_ONE_QUIET if quiet else INSERT_ONE, e.event_id, e.stream_id, e.stream_type, e.version,
                e.event_type, e.recorded_at, e.hash, e.to_bytes(),
            )  # fmt: skip
            return len(ids) if ids else 0
        try:
            if conn.is_in_transaction():
                async with conn.transaction():  # savepoint: a conflict leaves the caller's txn usable
                    row = await conn.fetchrow(_INSERT_MANY, *insert_columns(sealed))
            else:  # autocommit: the one statement is its own transaction
                row = await conn.fetchrow(_INSERT_MANY_QUIET if quiet else _INSERT_MANY, *insert_columns(sealed))
        except asyncpg.UniqueViolationError:
            return 0
        return int(row["n"]) if row else 0

    async def read_stream(
        self, stream_id: str, *, conn: Conn | None = None, up_to: datetime | None = None
    ) -> list[Envelope]:
        """All events of one stream in version order (optionally only those recorded by ``up_to``)."""
        runner = conn or self.pool
        if up_to is None:
            rows = await runner.fetch(_READ_STREAM, stream_id)
        else:
            rows = await runner.fetch(_READ_STREAM_UP_TO, stream_id, up_to)
        return [Envelope.from_bytes(r["envelope"]) for r in rows]

    async def read_committed(
        self, after: tuple[int, int] = (0, 0), limit: int = 1000, *, conn: Conn | None = None
    ) -> tuple[list[CommittedRow], bool]:
        """Committed events after the checkpoint ``(xid, position)``, in publish order.

        Only rows below the oldest transaction still in flight *that could write here* are
        returned, so nothing that commits later can ever sort before what was already returned.
        The flag says whether visible rows are being held back by such a transaction (retry soon).
        See ``_READ_COMMITTED`` for which in-flight transactions count.
        """
        runner = conn or self.pool
        rows = await runner.fetch(_READ_COMMITTED, str(after[0]), after[1], limit)
        out = [CommittedRow(r["xid"], r["position"], r["envelope"], r["stream_id"]) for r in rows if r["safe"]]
        return out, len(out) < len(rows)
