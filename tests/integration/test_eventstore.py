"""The event store on real PostgreSQL: appends, optimistic concurrency, immutability."""

from __future__ import annotations

import asyncio

import asyncpg
import pytest

from shared.db import Conn
from shared.envelope import GENESIS_HASH, verify_chain
from shared.eventstore import ConcurrencyConflict, PostgresEventStore
from tests.contracts.event_store import EventStoreContract
from tests.integration.fakes import Noted, ctx
from tests.support import eventually


class TestPostgresStore(EventStoreContract):
    """The shared contract on real PostgreSQL (``store`` comes from the integration conftest);
    the tests below it are PostgreSQL's own (transactions, xids, NOTIFY, the append-only trigger)."""


async def append(store: PostgresEventStore, stream: str, expected: int, *texts: str) -> None:
    async with store.pool.acquire() as conn, conn.transaction():
        await store.append(
            conn,
            stream_id=stream,
            stream_type="note",
            expected_version=expected,
            events=[Noted(text=t) for t in texts],
            context=ctx(),
        )


async def test_append_and_read_back_a_chained_stream(store: PostgresEventStore) -> None:
    await append(store, "s-1", 0, "a", "b")
    await append(store, "s-1", 2, "c")
    events = await store.read_stream("s-1")
    assert [e.version for e in events] == [1, 2, 3]
    assert [e.payload["text"] for e in events] == ["a", "b", "c"]
    assert verify_chain(events) == []
    assert {e.actor.id for e in events} == {"cm-1"}


async def test_stale_expected_version_conflicts_and_writes_nothing(store: PostgresEventStore) -> None:
    await append(store, "s-1", 0, "a")
    with pytest.raises(ConcurrencyConflict) as info:
        await append(store, "s-1", 0, "b", "c")
    assert info.value.actual == 1
    assert [e.payload["text"] for e in await store.read_stream("s-1")] == ["a"]


async def test_two_concurrent_writers_of_one_version_exactly_one_wins(store: PostgresEventStore) -> None:
    await append(store, "s-1", 0, "a")
    gate, first_appended = asyncio.Event(), asyncio.Event()

    async def writer(text: str) -> str:
        async with store.pool.acquire() as conn, conn.transaction():
            await store.append(
                conn, stream_id="s-1", stream_type="note", expected_version=1, events=[Noted(text=text)], context=ctx()
            )
            first_appended.set()
            await gate.wait()
        return text

    first = asyncio.create_task(writer("first"))
    await asyncio.wait_for(first_appended.wait(), timeout=60)  # the first holds version 2 uncommitted
    second = asyncio.create_task(writer("second"))
    await eventually(lambda: _lock_waits(store), bool)  # the second blocks on the unique key
    gate.set()
    results = await asyncio.gather(first, second, return_exceptions=True)
    assert results[0] == "first"
    assert isinstance(results[1], ConcurrencyConflict)
    assert [e.payload["text"] for e in await store.read_stream("s-1")] == ["a", "first"]


async def _lock_waits(store: PostgresEventStore) -> int:
    """Backends of this database waiting for a lock (another transaction's uncommitted row)."""
    return int(
        await store.pool.fetchval(
            "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() AND wait_event_type = 'Lock'"
        )
    )


async def test_a_newer_version_never_carries_an_older_transaction_id(store: PostgresEventStore) -> None:
    """A transaction that got its xid before version 1 committed may not append version 2:
    the relay orders by xid, so it would publish version 2 first. It is told to retry."""
    async with store.pool.acquire() as early, early.transaction():
        await early.fetchval("SELECT pg_current_xact_id()")  # take an xid now
        await append(store, "s-1", 0, "v1")  # a later transaction commits version 1
        with pytest.raises(ConcurrencyConflict):
            await store.append(
                early, stream_id="s-1", stream_type="note", expected_version=1, events=[Noted(text="v2")], context=ctx()
            )
    await append(store, "s-1", 1, "v2")  # a fresh transaction succeeds
    assert [e.version for e in await store.read_stream("s-1")] == [1, 2]


async def test_events_cannot_be_updated_or_deleted(store: PostgresEventStore) -> None:
    await append(store, "s-1", 0, "a")
    async with store.pool.acquire() as conn:
        with pytest.raises(asyncpg.RaiseError, match="append-only"):
            await conn.execute("UPDATE events SET event_type = 'Forged'")
        with pytest.raises(asyncpg.RaiseError, match="append-only"):
            await conn.execute("DELETE FROM events")


async def test_append_outside_a_transaction_needs_the_loaded_head(store: PostgresEventStore) -> None:
    """Without ``head_hash`` the append reads the head first, which needs a transaction."""
    async with store.pool.acquire() as conn:
        with pytest.raises(RuntimeError):
            await store.append(
                conn, stream_id="s", stream_type="note", expected_version=0, events=[Noted(text="x")], context=ctx()
            )


# --- appends that chain to the head the caller loaded (no head read: how the bus appends)


async def append_on(store: PostgresEventStore, stream: str, *texts: str, conn: Conn | None = None) -> None:
    """Load the stream, then append after what was loaded, passing its head hash."""
    loaded = await store.read_stream(stream)
    head = loaded[-1].hash if loaded else GENESIS_HASH

    async def go(c: Conn) -> None:
        await store.append(
            c,
            stream_id=stream,
            stream_type="note",
            expected_version=len(loaded),
            events=[Noted(text=t) for t in texts],
            context=ctx(),
            head_hash=head,
        )

    if conn is not None:
        await go(conn)
        return
    async with store.pool.acquire() as c, c.transaction():
        await go(c)


@pytest.mark.parametrize("texts", [("b",), ("b", "c")], ids=["one event", "two events"])
async def test_appending_on_a_loaded_head_chains_and_conflicts_when_stale(
    store: PostgresEventStore, texts: tuple[str, ...]
) -> None:
    await append_on(store, "s-1", "a")
    await append_on(store, "s-1", *texts)
    events = await store.read_stream("s-1")
    assert verify_chain(events) == []
    stale = events[-2]  # a writer that loaded one version less
    with pytest.raises(ConcurrencyConflict):
        async with store.pool.acquire() as conn, conn.transaction():
            await store.append(
                conn, stream_id="s-1", stream_type="note", expected_version=stale.version,
                events=[Noted(text=t) for t in texts], context=ctx(), head_hash=stale.hash,
            )  # fmt: skip
    assert [e.payload["text"] for e in await store.read_stream("s-1")] == ["a", *texts]


@pytest.mark.parametrize("texts", [("v2",), ("v2", "v3")], ids=["one event", "two events"])
async def test_a_loaded_head_keeps_the_transaction_id_rule(store: PostgresEventStore, texts: tuple[str, ...]) -> None:
    async with store.pool.acquire() as early, early.transaction():
        await early.fetchval("SELECT pg_current_xact_id()")  # take an xid now
        await append(store, "s-1", 0, "v1")  # a later transaction commits version 1
        with pytest.raises(ConcurrencyConflict):
            await append_on(store, "s-1", *texts, conn=early)
        assert await early.fetchval("SELECT count(*) FROM events WHERE stream_id = 's-1'") == 1  # still usable
    await append_on(store, "s-1", *texts)
    assert [e.version for e in await store.read_stream("s-1")] == list(range(1, len(texts) + 2))


@pytest.mark.parametrize("texts", [("b",), ("b", "c")], ids=["one event", "two events"])
async def test_an_autocommitted_append_on_a_loaded_head_is_all_or_nothing(
    store: PostgresEventStore, texts: tuple[str, ...]
) -> None:
    """Outside a transaction (commands without an idempotency key) the append is one
    statement: it chains, and a stale head writes nothing at all."""
    async with store.pool.acquire() as conn:
        await append_on(store, "s-1", "a", conn=conn)
        await append_on(store, "s-1", *texts, conn=conn)
        assert not conn.is_in_transaction()
        events = await store.read_stream("s-1")
        assert verify_chain(events) == []
        stale = events[0]
        with pytest.raises(ConcurrencyConflict):
            await store.append(
                conn, stream_id="s-1", stream_type="note", expected_version=stale.version,
                events=[Noted(text=f"late {t}") for t in texts], context=ctx(), head_hash=stale.hash,
            )  # fmt: skip
    assert [e.payload["text"] for e in await store.read_stream("s-1")] == ["a", *texts]


async def test_concurrent_autocommitted_appends_of_one_version_exactly_one_wins(store: PostgresEventStore) -> None:
    await append_on(store, "s-1", "a")
    head = (await store.read_stream("s-1"))[-1].hash

    async def writer(text: str) -> str:
        async with store.pool.acquire() as conn:
            await store.append(
                conn, stream_id="s-1", stream_type="note", expected_version=1,
                events=[Noted(text=text), Noted(text=text + "+")], context=ctx(), head_hash=head,
            )  # fmt: skip
        return text

    results = await asyncio.gather(*(writer(f"w{i}") for i in range(6)), return_exceptions=True)
    winners = [r for r in results if isinstance(r, str)]
    assert len(winners) == 1
    assert all(isinstance(r, ConcurrencyConflict) for r in results if not isinstance(r, str))
    events = await store.read_stream("s-1")
    assert [e.payload["text"] for e in events] == ["a", winners[0], winners[0] + "+"]
    assert verify_chain(events) == []


class FakeRelay:
    """This process's relay as the store sees it."""

    def __init__(self, leader: bool) -> None:
        self.is_leader = leader
        self.woken = 0

    def wake(self) -> None:
        self.woken += 1


@pytest.mark.parametrize(
    ("leader", "in_transaction", "notify", "woken"),
    [(True, False, False, 1), (False, False, True, 0), (True, True, True, 0)],
    ids=["own relay leads: woken in-process", "another replica leads: NOTIFY", "caller's transaction: NOTIFY"],
)
async def test_an_append_wakes_the_relay_that_will_publish_it(
    store: PostgresEventStore, leader: bool, in_transaction: bool, notify: bool, woken: int
) -> None:
    relay = FakeRelay(leader)
    store.local_relay = relay
    got: list[str] = []

    def on_notify(*args: object) -> None:
        got.append(str(args[2]))

    async with store.pool.acquire() as listener:
        await listener.add_listener("events_appended", on_notify)
        async with store.pool.acquire() as conn:
            tx = conn.transaction()
            if in_transaction:
                await tx.start()
            for texts in (["a"], ["b", "c"]):  # the one-event and the many-event statement
                loaded = await store.read_stream("s-1", conn=conn)
                await store.append(
                    conn, stream_id="s-1", stream_type="note", expected_version=len(loaded),
                    events=[Noted(text=t) for t in texts], context=ctx(),
                    head_hash=loaded[-1].hash if loaded else GENESIS_HASH,
                )  # fmt: skip
            if in_transaction:
                await tx.commit()
        if notify:
            await eventually(lambda: asyncio.sleep(0, len(got)), bool)
        else:
            await asyncio.sleep(0.3)  # a while for a NOTIFY that must not come
        await listener.remove_listener("events_appended", on_notify)
    assert bool(got) == notify
    assert relay.woken == 2 * woken
    assert len(await store.read_stream("s-1")) == 3
