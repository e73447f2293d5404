"""The service-layer path of every command: load, decide, append (with idempotency keys).

With an idempotency key, one transaction covers reading the stream, appending the new events
and storing the idempotency record, so a retried request never acts twice and nothing is
half-written. Without one, the append is a single statement and needs no transaction of its own.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Generic, TypeVar

import orjson

from shared import metrics
from shared.bus import IdempotencyMismatch
from shared.contracts.base import DomainEvent, registry
from shared.db import Conn
from shared.domain import Decider
from shared.envelope import GENESIS_HASH, Envelope
from shared.eventstore import CommandContext, ConcurrencyConflict, PostgresEventStore

S = TypeVar("S")


@dataclass(frozen=True)
class Outcome:
    """What a command returns to its HTTP caller."""

    status_code: int
    body: dict[str, Any]
    replayed: bool = False


def request_fingerprint(payload: Any) -> str:
    return hashlib.sha256(orjson.dumps(payload, option=orjson.OPT_SORT_KEYS, default=str)).hexdigest()


@dataclass
class Loaded(Generic[S]):
    state: S
    version: int
    events: list[Envelope]

    @classmethod
    def new(cls, decider: Decider[S]) -> Loaded[S]:
        """A stream that does not exist yet (a freshly generated id): nothing to read. Safe as
        ``preloaded``: should the id exist after all, the append conflicts and the retry reads it."""
        return cls(decider.fold([]), 0, [])

    @property
    def head_hash(self) -> str:
        """Hash of the last event (what the next one chains to)."""
        return self.events[-1].hash if self.events else GENESIS_HASH


async def load(
    store: PostgresEventStore,
    decider: Decider[S],
    stream_id: str,
    conn: Conn | None = None,
    *,
    up_to: datetime | None = None,
) -> Loaded[S]:
    """Fold a stream into its state; with ``up_to``, as it stood at that moment (audit)."""
    envelopes = await store.read_stream(stream_id, conn=conn, up_to=up_to)
    domain = [registry.load(e.event_type, e.schema_version, e.payload) for e in envelopes]
    return Loaded(decider.fold(domain), len(envelopes), envelopes)


async def execute(
    store: PostgresEventStore,
    decider: Decider[S],
    *,
    stream_id: str,
    context: CommandContext,
    decide: Callable[[S, int], Sequence[DomainEvent]],
    respond: Callable[[S, list[Envelope]], dict[str, Any]],
    expected_version: int | None = None,
    idempotency_key: str | None = None,
    fingerprint: str = "",
    status_code: int = 200,
    retries: int = 3,
    preloaded: Loaded[S] | None = None,
) -> Outcome:
    """Run one command against one stream.

    ``decide(state, version)`` returns the new events (or raises a DomainError). If the client
    named ``expected_version`` a stale one is a 409; otherwise a lost race is retried with the
    fresh state, up to ``retries`` times.

    ``preloaded`` is the stream as the caller just loaded it (to authorise): the first attempt
    decides on it instead of reading the stream again. That is safe because the append of the
    next version fails if the stream moved on meanwhile (then the retry loads it afresh).
    """
    attempt = 0
    if preloaded is not None and expected_version not in (None, preloaded.version):
        preloaded = None  # let the fresh read judge the client's version
    while True:
        attempt += 1
        try:
            async with store.pool.acquire() as conn:
                if idempotency_key:
                    # The key's record must commit with the events (or not at all).
                    async with conn.transaction():
                        return await _attempt(
                            store, decider, conn, stream_id, context, decide, respond, expected_version,
                            idempotency_key, fingerprint, status_code, preloaded,
                        )  # fmt: skip
                # Nothing else to write: the append is one statement, atomic on its own, so no
                # BEGIN/COMMIT round trips. Reading outside a transaction is safe because the
                # insert of the next version fails if the stream moved on since the read.
                return await _attempt(
                    store, decider, conn, stream_id, context, decide, respond, expected_version,
                    None, "", status_code, preloaded,
                )  # fmt: skip
        except ConcurrencyConflict:
            if expected_version is not None or attempt > retries:
                raise
        except _Retry:
            pass
        preloaded = None


async def _attempt(
    store: PostgresEventStore,
    decider: Decider[S],
    conn: Conn,
    stream_id: str,
    context: CommandContext,
    decide: Callable[[S, int], Sequence[DomainEvent]],
    respond: Callable[[S, list[Envelope]], dict[str, Any]],
    expected_version: int | None,
    idempotency_key: str | None,
    fingerprint: str,
    status_code: int,
    preloaded: Loaded[S] | None,
) -> Outcome:
    """One try of a command on ``conn`` (inside a transaction when there is an idempotency key)."""
    if idempotency_key:
        row = await conn.fetchrow(
            "SELECT request_hash, status_code, response FROM idempotency_keys WHERE key = $1", idempotency_key
        )
        if row is not None:
            if row["request_hash"] != fingerprint:
                raise IdempotencyMismatch(
                    "Idempotency-Key was used before for a different request", field="Idempotency-Key"
                )
            return Outcome(row["status_code"], orjson.loads(row["response"]), replayed=True)
    loaded = preloaded if preloaded is not None else await load(store, decider, stream_id, conn)
    if expected_version is not None and expected_version != loaded.version:
        metrics.CONFLICTS.labels(decider.stream_type).inc()
        raise ConcurrencyConflict(stream_id, expected_version, loaded.version)
    new_events = list(decide(loaded.state, loaded.version))
    try:
        appended = await store.append(
            conn,
            stream_id=stream_id,
            stream_type=decider.stream_type,
            expected_version=loaded.version,
            events=new_events,
            context=context,
            head_hash=loaded.head_hash,
        )
    except ConcurrencyConflict:
        metrics.CONFLICTS.labels(decider.stream_type).inc()
        raise
    state = loaded.state
    for e in new_events:
        state = decider.evolve(state, e)
    body = respond(state, appended)
    if idempotency_key:
        inserted = await conn.fetchval(
            "INSERT INTO idempotency_keys (key, request_hash, status_code, response)"
            " VALUES ($1, $2, $3, $4) ON CONFLICT (key) DO NOTHING RETURNING 1",
            idempotency_key,
            fingerprint,
            status_code,
            orjson.dumps(body, default=str),
        )
        if inserted is None:  # a concurrent twin won; roll back and answer with its result
            raise _Retry()
    for sealed in appended:
        metrics.EVENTS_APPENDED.labels(sealed.event_type).inc()
    return Outcome(status_code, body)


class _Retry(Exception):
    pass
