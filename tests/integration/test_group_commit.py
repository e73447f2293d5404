"""Group commit on real PostgreSQL: concurrent autocommitted appends share one statement and one
commit, each keeping its own optimistic concurrency and its own error (``shared.group_commit``)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable

import asyncpg
import pytest

from shared.bus import Context, MessageBus
from shared.db import Conn
from shared.envelope import GENESIS_HASH, Envelope, verify_chain
from shared.eventstore import ConcurrencyConflict, PostgresEventStore, seal
from shared.group_commit import GroupCommitter, group_committer
from shared.settings import ServiceSettings
from shared.unit_of_work import PostgresUnitOfWork, UnitOfWork
from tests.contracts.bus import CM, HANDLERS, AddNotes, BusContract
from tests.contracts.event_store import EventStoreContract
from tests.integration.fakes import Noted, ctx

WRITERS = 6  # of the pool fixture's 8 connections: two stay free for reads


def committer() -> GroupCommitter:
    # a wide window: groups here close when full or when nothing else is in flight, never on time
    return GroupCommitter(max_wait_s=0.05, max_size=64)


@pytest.fixture
def store(pool: asyncpg.Pool) -> PostgresEventStore:
    return PostgresEventStore(pool, group=committer())


class TestGroupCommittedStore(EventStoreContract):
    """The event store contract with group commit on (appends on a loaded head are grouped)."""


class TestGroupCommittedBus(BusContract):
    """The bus contract with group commit on (commands without a key append grouped)."""

    @pytest.fixture
    def make_uow(self, store: PostgresEventStore) -> Callable[[bool], UnitOfWork]:
        return lambda transactional: PostgresUnitOfWork(store, transactional=transactional)


@pytest.fixture
async def conns(pool: asyncpg.Pool) -> AsyncIterator[list[Conn]]:
    """One connection per concurrent command, as each unit of work holds one."""
    held = [await pool.acquire() for _ in range(WRITERS)]
    yield list[Conn](held)
    for c in held:
        await pool.release(c)


def group_of(store: PostgresEventStore) -> GroupCommitter:
    assert store.group is not None
    return store.group


def new_stream(stream: str, text: str) -> list[Envelope]:
    return seal([Noted(text=text)], stream_id=stream, stream_type="note", after_version=0,
                head_hash=GENESIS_HASH, context=ctx())  # fmt: skip


async def append_on(
    store: PostgresEventStore, conn: Conn, stream: str, after: Envelope | None, *texts: str
) -> list[Envelope]:
    return await store.append(
        conn, stream_id=stream, stream_type="note", expected_version=after.version if after else 0,
        events=[Noted(text=t) for t in texts], context=ctx(), head_hash=after.hash if after else GENESIS_HASH,
    )  # fmt: skip


async def test_concurrent_appends_to_different_streams_share_one_statement(
    store: PostgresEventStore, conns: list[Conn]
) -> None:
    results = await asyncio.gather(*(append_on(store, c, f"s-{i}", None, f"t{i}") for i, c in enumerate(conns)))
    assert group_of(store).statements == 1
    assert group_of(store).appends == WRITERS
    for i, sealed in enumerate(results):
        assert (
            [e.payload["text"] for e in await store.read_stream(f"s-{i}")]
            == [f"t{i}"]
            == [e.payload["text"] for e in sealed]
        )


async def test_below_the_minimum_concurrency_each_append_goes_alone(pool: asyncpg.Pool, conns: list[Conn]) -> None:
    """Few concurrent appends are not grouped (PostgreSQL runs them side by side); from the
    minimum on, the appends arriving meanwhile share statements again."""
    store = PostgresEventStore(pool, group=GroupCommitter(max_wait_s=0.05, max_size=64, min_concurrency=4))
    await asyncio.gather(*(append_on(store, c, f"few-{i}", None, "t") for i, c in enumerate(conns[:3])))
    assert (group_of(store).statements, group_of(store).appends) == (3, 3)
    await asyncio.gather(*(append_on(store, c, f"many-{i}", None, "t") for i, c in enumerate(conns)))
    assert group_of(store).appends == 3 + WRITERS
    assert group_of(store).statements < 3 + WRITERS
    for i in range(WRITERS):
        assert len(await store.read_stream(f"many-{i}")) == 1


async def test_many_concurrent_commands_commit_in_fewer_transactions(store: PostgresEventStore) -> None:
    """Through the bus (no idempotency key: autocommitted appends), more commands than the
    pool has connections: fewer statements than appends, every command's events in."""
    bus = MessageBus(HANDLERS, lambda tx: PostgresUnitOfWork(store, transactional=tx))
    commands = [AddNotes(stream=f"n-{i}", texts=[f"a{i}"], new_stream=True) for i in range(40)]
    results = await asyncio.gather(*(bus.handle(c, Context(principal=CM)) for c in commands))
    assert [r.version for r in results] == [1] * 40
    assert group_of(store).appends == 40
    assert group_of(store).statements < 40
    for i in range(40):
        assert [e.payload["text"] for e in await store.read_stream(f"n-{i}")] == [f"a{i}"]


async def test_appends_to_one_stream_in_one_group_have_exactly_one_winner(
    store: PostgresEventStore, conns: list[Conn]
) -> None:
    (head,) = await append_on(store, conns[0], "s-1", None, "a")
    results = await asyncio.gather(
        *(append_on(store, c, "s-1", head, f"w{i}", f"w{i}+") for i, c in enumerate(conns)), return_exceptions=True
    )
    winners = [r for r in results if isinstance(r, list)]
    assert len(winners) == 1
    assert all(isinstance(r, ConcurrencyConflict) for r in results if not isinstance(r, list))
    events = await store.read_stream("s-1")
    assert [e.event_id for e in events[1:]] == [e.event_id for e in winners[0]]
    assert verify_chain(events) == []


async def test_racing_writers_of_one_stream_get_one_winner_per_version(store: PostgresEventStore) -> None:
    """Writers that retry on the fresh head, as the bus does: every version has exactly one
    event, the chain holds, and every writer's events got in exactly once."""

    async def writer(name: str) -> None:
        for n in range(3):
            while True:
                async with store.pool.acquire() as conn:
                    events = await store.read_stream("s-1", conn=conn)
                    try:
                        await append_on(store, conn, "s-1", events[-1] if events else None, f"{name}.{n}")
                        break
                    except ConcurrencyConflict:
                        continue

    await asyncio.gather(*(writer(f"w{i}") for i in range(6)))
    events = await store.read_stream("s-1")
    assert [e.version for e in events] == list(range(1, 19))
    assert sorted(e.payload["text"] for e in events) == sorted(f"w{i}.{n}" for i in range(6) for n in range(3))
    assert verify_chain(events) == []


async def test_a_stale_append_fails_alone_and_its_group_commits(store: PostgresEventStore, conns: list[Conn]) -> None:
    (first,) = await append_on(store, conns[0], "s-stale", None, "a")
    await append_on(store, conns[0], "s-stale", first, "b")
    results = await asyncio.gather(
        append_on(store, conns[0], "s-0", None, "x"),
        append_on(store, conns[1], "s-stale", first, "late"),  # its stream moved on
        append_on(store, conns[2], "s-2", None, "y"),
        return_exceptions=True,
    )
    assert group_of(store).statements == 3  # the two setup appends and the group
    assert isinstance(results[1], ConcurrencyConflict)
    assert [e.payload["text"] for e in await store.read_stream("s-0")] == ["x"]
    assert [e.payload["text"] for e in await store.read_stream("s-2")] == ["y"]
    assert [e.payload["text"] for e in await store.read_stream("s-stale")] == ["a", "b"]


async def test_an_append_partly_in_is_rolled_back_and_the_others_retried(
    store: PostgresEventStore, conns: list[Conn]
) -> None:
    """A stale append of two events after version 0 of a stream at version 1: its first row
    conflicts, its second would go in. Nothing of it is written; the others commit."""
    await append_on(store, conns[0], "s-1", None, "a")
    results = await asyncio.gather(
        append_on(store, conns[0], "s-0", None, "x", "x+"),
        append_on(store, conns[1], "s-1", None, "late", "late+"),
        append_on(store, conns[2], "s-2", None, "y"),
        return_exceptions=True,
    )
    assert isinstance(results[1], ConcurrencyConflict)
    assert group_of(store).retries == 1
    assert [e.payload["text"] for e in await store.read_stream("s-1")] == ["a"]
    assert [e.payload["text"] for e in await store.read_stream("s-0")] == ["x", "x+"]
    assert [e.payload["text"] for e in await store.read_stream("s-2")] == ["y"]


async def test_an_append_whose_insert_fails_gets_its_own_error(conns: list[Conn]) -> None:
    """A statement error that is not a conflict (here: an event id that exists) sends the
    group's appends on one by one: only the faulty one fails."""
    group = committer()
    store = PostgresEventStore(group=group)
    (taken,) = await append_on(store, conns[0], "s-1", None, "a")
    faulty = [new_stream("s-9", "dup")[0].model_copy(update={"event_id": taken.event_id})]
    good = [new_stream(f"g-{i}", f"g{i}") for i in range(2)]
    results = await asyncio.gather(
        group.insert(conns[1], good[0], quiet=False),
        group.insert(conns[2], faulty, quiet=False),
        group.insert(conns[3], good[1], quiet=False),
        return_exceptions=True,
    )
    assert results[0] is True
    assert results[2] is True
    assert isinstance(results[1], asyncpg.UniqueViolationError)
    assert group.fallbacks == 1
    for i in range(2):
        assert [e.payload["text"] for e in await store.read_stream(f"g-{i}", conn=conns[0])] == [f"g{i}"]
    assert await store.read_stream("s-9", conn=conns[0]) == []


async def test_a_cancelled_leader_still_commits_its_group(store: PostgresEventStore, conns: list[Conn]) -> None:
    """The group's statement runs on its leader's connection: cancelling the leader's command
    never leaves the others hanging or the connection busy."""
    leader = asyncio.ensure_future(append_on(store, conns[0], "s-0", None, "lead"))
    await asyncio.sleep(0)  # it leads the group
    others = [asyncio.ensure_future(append_on(store, c, f"s-{i}", None, f"t{i}")) for i, c in enumerate(conns[1:], 1)]
    leader.cancel()
    results = await asyncio.gather(*others)
    assert all(len(r) == 1 for r in results)
    with pytest.raises(asyncio.CancelledError):
        await leader
    assert not conns[0].is_in_transaction()
    assert await conns[0].fetchval("SELECT count(*) FROM events") == WRITERS


def test_group_commit_is_configured_and_can_be_turned_off() -> None:
    on = group_committer(
        ServiceSettings(append_group_max_wait_us=250, append_group_max_size=16, append_group_min_concurrency=4)
    )
    assert on is not None
    assert (on.max_wait_s, on.max_size, on.min_concurrency) == (0.00025, 16, 4)
    assert group_committer(ServiceSettings(append_group_max_wait_us=0)) is None
    assert group_committer(ServiceSettings(append_group_max_size=1)) is None
