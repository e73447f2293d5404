"""The unit of work a command handler runs in: load streams, append to them, all or nothing.

Two implementations with one behaviour: ``PostgresUnitOfWork`` (one connection; a transaction
when the command has an idempotency key, else each append is one autocommitted statement) and
``MemoryUnitOfWork`` (unit tests: the in-memory store, rolled back on error).
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Sequence
from contextlib import AsyncExitStack
from dataclasses import dataclass
from datetime import datetime
from types import TracebackType
from typing import Any, Generic, Self, TypeVar

import asyncpg
import orjson

from shared import metrics
from shared.contracts.base import DomainEvent, registry
from shared.db import Conn
from shared.domain import Decider
from shared.envelope import GENESIS_HASH, Envelope
from shared.eventstore import CommandContext, ConcurrencyConflict, EventStore, PostgresEventStore, seal
from shared.memory import MemoryEventStore

S = TypeVar("S")


@dataclass
class Loaded(Generic[S]):
    """A stream folded into its aggregate's state, with what the next append needs."""

    stream_id: str
    stream_type: str
    state: S
    version: int
    events: list[Envelope]

    @classmethod
    def new(cls, decider: Decider[S], stream_id: str) -> Loaded[S]:
        """A stream that does not exist yet (a freshly generated id): nothing to read. Should
        the id exist after all, the append conflicts and the bus's retry reads it."""
        return cls(stream_id, decider.stream_type, decider.fold([]), 0, [])

    @property
    def head_hash(self) -> str:
        """Hash of the last event (what the next one chains to)."""
        return self.events[-1].hash if self.events else GENESIS_HASH

    @property
    def exists(self) -> bool:
        return self.version > 0


def fold(decider: Decider[S], stream_id: str, envelopes: list[Envelope]) -> Loaded[S]:
    """Decode (and upcast) a stream's events and fold them into state."""
    domain = [registry.load(e.event_type, e.schema_version, e.payload) for e in envelopes]
    return Loaded(stream_id, decider.stream_type, decider.fold(domain), len(envelopes), envelopes)


@dataclass(frozen=True)
class StoredResponse:
    fingerprint: str
    body: dict[str, Any]


class UnitOfWork(ABC):
    """One command's access to the event store. Enter it, load, append; leaving it without
    an error commits, with one rolls back (nothing half-written)."""

    store: EventStore

    def __init__(self, *, transactional: bool) -> None:
        self.transactional = transactional
        self.appended: list[Envelope] = []

    @abstractmethod
    async def __aenter__(self) -> Self: ...

    @abstractmethod
    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None: ...

    @abstractmethod
    async def read(self, stream_id: str, *, up_to: datetime | None = None) -> list[Envelope]: ...

    @abstractmethod
    async def _append(
        self, loaded: Loaded[Any], events: Sequence[DomainEvent], context: CommandContext
    ) -> list[Envelope]: ...

    @abstractmethod
    async def recall(self, key: str) -> StoredResponse | None:
        """The response stored under an idempotency key, if any."""

    @abstractmethod
    async def remember(self, key: str, fingerprint: str, body: dict[str, Any]) -> bool:
        """Store a response under a key; False if a concurrent twin stored one first."""

    async def load(self, decider: Decider[S], stream_id: str, *, up_to: datetime | None = None) -> Loaded[S]:
        """The stream's current state (with ``up_to``: as it stood then, for audit views)."""
        return fold(decider, stream_id, await self.read(stream_id, up_to=up_to))

    async def append(
        self,
        loaded: Loaded[Any],
        events: Sequence[DomainEvent],
        context: CommandContext,
        *,
        expected_version: int | None = None,
    ) -> list[Envelope]:
        """Append after the loaded head. ``expected_version`` (the client's If-Match) must be
        the loaded version, else nothing is written and the conflict goes back to the client."""
        if expected_version is not None and expected_version != loaded.version:
            metrics.CONFLICTS.labels(loaded.stream_type).inc()
            raise ConcurrencyConflict(loaded.stream_id, expected_version, loaded.version)
        if not events:
            return []
        try:
            sealed = await self._append(loaded, events, context)
        except ConcurrencyConflict:
            metrics.CONFLICTS.labels(loaded.stream_type).inc()
            raise
        self.appended.extend(sealed)
        return sealed


class PostgresUnitOfWork(UnitOfWork):
    def __init__(self, store: PostgresEventStore, *, transactional: bool) -> None:
        super().__init__(transactional=transactional)
        self.store: PostgresEventStore = store
        self._stack = AsyncExitStack()
        self._conn: Conn | None = None

    @property
    def conn(self) -> Conn:
        """The connection this unit of work runs on (for a service's own side tables)."""
        if self._conn is None:
            raise RuntimeError("enter the unit of work first")
        return self._conn

    async def __aenter__(self) -> Self:
        conn: Conn = await self._stack.enter_async_context(self.store.pool.acquire())
        if self.transactional:
            await self._stack.enter_async_context(conn.transaction())
        self._conn = conn
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self._stack.__aexit__(exc_type, exc, tb)
        self._conn = None
        if exc is None:
            for sealed in self.appended:
                metrics.EVENTS_APPENDED.labels(sealed.event_type).inc()

    async def read(self, stream_id: str, *, up_to: datetime | None = None) -> list[Envelope]:
        return await self.store.read_stream(stream_id, conn=self.conn, up_to=up_to)

    async def _append(
        self, loaded: Loaded[Any], events: Sequence[DomainEvent], context: CommandContext
    ) -> list[Envelope]:
        # Outside a transaction the append is one autocommitted statement: reading the stream
        # outside one was safe, because the insert of the next version fails if it moved on.
        return await self.store.append(
            self.conn, stream_id=loaded.stream_id, stream_type=loaded.stream_type,
            expected_version=loaded.version, events=events, context=context, head_hash=loaded.head_hash,
        )  # fmt: skip

    async def recall(self, key: str) -> StoredResponse | None:
        row = await self.conn.fetchrow(_RECALL, key)
        return None if row is None else StoredResponse(row["request_hash"], orjson.loads(row["response"]))

    async def remember(self, key: str, fingerprint: str, body: dict[str, Any]) -> bool:
        return await self.conn.fetchval(_REMEMBER, key, fingerprint, orjson.dumps(body, default=str)) is not None


_RECALL = "SELECT request_hash, response FROM idempotency_keys WHERE key = $1"
_REMEMBER = (
    "INSERT INTO idempotency_keys (key, request_hash, status_code, response) VALUES ($1, $2, 0, $3)"
    " ON CONFLICT (key) DO NOTHING RETURNING 1"
)


class MemoryUnitOfWork(UnitOfWork):
    """The unit tests' unit of work: appends and stored responses are held until the unit of
    work ends without an error, then written at once (so racing units of work behave as
    transactions do: the later one conflicts, and an error writes nothing)."""

    def __init__(self, store: MemoryEventStore | None = None, *, transactional: bool = True) -> None:
        super().__init__(transactional=transactional)
        self.store: MemoryEventStore = store if store is not None else MemoryEventStore()
        self.responses: dict[str, StoredResponse] = {}
        self._pending: list[tuple[int, list[Envelope]]] = []
        self._pending_responses: dict[str, StoredResponse] = {}

    async def __aenter__(self) -> Self:
        self.appended, self._pending, self._pending_responses = [], [], {}
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        if exc is not None:
            return
        for expected, sealed in self._pending:  # no await in between: atomic, like a commit
            self.store.insert(sealed, expected_version=expected)
        self.responses.update(self._pending_responses)

    async def read(self, stream_id: str, *, up_to: datetime | None = None) -> list[Envelope]:
        return await self.store.read_stream(stream_id, up_to=up_to)

    async def _append(
        self, loaded: Loaded[Any], events: Sequence[DomainEvent], context: CommandContext
    ) -> list[Envelope]:
        sealed = seal(
            events, stream_id=loaded.stream_id, stream_type=loaded.stream_type, after_version=loaded.version,
            head_hash=loaded.head_hash, context=context,
        )  # fmt: skip
        self.store.check_head(loaded.stream_id, loaded.version, loaded.head_hash)
        self._pending.append((loaded.version, sealed))
        return sealed

    async def recall(self, key: str) -> StoredResponse | None:
        return self.responses.get(key)

    async def remember(self, key: str, fingerprint: str, body: dict[str, Any]) -> bool:
        if key in self.responses or key in self._pending_responses:
            return False
        self._pending_responses[key] = StoredResponse(fingerprint, orjson.loads(orjson.dumps(body, default=str)))
        return True


def connection_of(uow: UnitOfWork, pool: asyncpg.Pool) -> Conn | asyncpg.Pool:
    """Where a port called inside a command runs its SQL: the unit of work's own connection on
    PostgreSQL, else the pool. A port must never take a second pooled connection while the
    command holds one: N concurrent commands each holding one and waiting for another would
    exhaust the pool and wait forever."""
    return uow.conn if isinstance(uow, PostgresUnitOfWork) else pool
