"""Deterministic race tests: transactions that commit out of order never lose an event."""

from __future__ import annotations

from typing import Any

import asyncpg
import pytest

from shared.db import Conn
from shared.eventstore import PostgresEventStore
from shared.relay import OutboxRelay
from tests import support
from tests.integration.fakes import CapturingProducer, Noted, ctx


async def begin_xid(pool: asyncpg.Pool) -> Any:
    """Open a transaction that takes its xid at once, and leave it uncommitted."""
    conn = await pool.acquire()
    tx = conn.transaction()
    await tx.start()
    await conn.fetchval("SELECT pg_current_xact_id()")
    return conn, tx


async def begin_append(pool: asyncpg.Pool, store: PostgresEventStore, stream: str, text: str) -> Any:
    """Open a transaction, append, and leave it uncommitted."""
    conn = await pool.acquire()
    tx = conn.transaction()
    await tx.start()
    await do_append(store, conn, stream, text)
    return conn, tx


async def do_append(store: PostgresEventStore, conn: Conn, stream: str, text: str) -> None:
    await store.append(
        conn, stream_id=stream, stream_type="note", expected_version=0, events=[Noted(text=text)], context=ctx()
    )


async def drain(relay: OutboxRelay, conn: Conn, timeout: float = 60.0) -> int:
    """Publish until nothing is left or held back (a session in this database, or one whose
    database cannot be told, may hold the relay back for a moment)."""
    import asyncio
    import time

    total, deadline = 0, time.monotonic() + timeout
    while time.monotonic() < deadline:
        published, held = await relay.publish_once(conn)
        total += published
        if not published and not held:
            return total
        if not published:
            await asyncio.sleep(0.01)
    raise AssertionError(f"relay still held back after {timeout}s ({total} published)")


async def committed(pool: asyncpg.Pool, store: PostgresEventStore, stream: str, text: str) -> None:
    """Append in a transaction of its own, committed at once."""
    async with pool.acquire() as conn, conn.transaction():
        await do_append(store, conn, stream, text)


async def end(pool: asyncpg.Pool, conn: Any, tx: Any, *, commit: bool) -> None:
    """Commit or roll back a transaction from ``begin_append`` and give its connection back."""
    await (tx.commit() if commit else tx.rollback())
    await pool.release(conn)


def published_texts(producer: CapturingProducer) -> list[str]:
    return [e.payload["text"] for e in producer.envelopes()]


@pytest.fixture
def producer() -> CapturingProducer:
    return CapturingProducer()


@pytest.fixture
def relay(store: PostgresEventStore, producer: CapturingProducer) -> OutboxRelay:
    """A relay on the test's store, publishing into ``producer``."""
    return OutboxRelay(store, producer, "test.events")


async def test_late_commit_with_lower_position_is_not_skipped(
    pool: asyncpg.Pool, store: PostgresEventStore, producer: CapturingProducer, relay: OutboxRelay
) -> None:
    # T1 inserts first (lower position) but stays open.
    c1, t1 = await begin_append(pool, store, "a", "early")
    # T2 inserts later (higher position) and commits.
    await committed(pool, store, "b", "late")
    async with pool.acquire() as rc:
        published, held = await relay.publish_once(rc)
        assert (published, held) == (0, True), "T2 must wait behind the in-flight T1"
        await end(pool, c1, t1, commit=True)
        assert await drain(relay, rc) == 2
    assert published_texts(producer) == ["early", "late"]


async def test_transaction_with_older_xid_but_higher_position_is_not_skipped(
    pool: asyncpg.Pool, store: PostgresEventStore, producer: CapturingProducer, relay: OutboxRelay
) -> None:
    """The case a position-only watermark loses: T1 takes its xid first, T2 commits a lower
    position, then T1 inserts a higher position and commits."""
    c1, t1 = await begin_xid(pool)
    await committed(pool, store, "b", "new-xid-low-position")
    async with pool.acquire() as rc:
        assert await relay.publish_once(rc) == (0, True)
        await do_append(store, c1, "a", "old-xid-high-position")
        await end(pool, c1, t1, commit=True)
        assert await drain(relay, rc) == 2
    texts = published_texts(producer)
    assert sorted(texts) == ["new-xid-low-position", "old-xid-high-position"]
    assert len(texts) == 2


async def test_rolled_back_transaction_does_not_block_or_leak(
    pool: asyncpg.Pool, store: PostgresEventStore, producer: CapturingProducer, relay: OutboxRelay
) -> None:
    c1, t1 = await begin_append(pool, store, "a", "doomed")
    await committed(pool, store, "b", "kept")
    await end(pool, c1, t1, commit=False)
    async with pool.acquire() as rc:
        assert await drain(relay, rc) == 1
    assert published_texts(producer) == ["kept"]


async def test_many_interleaved_writers_publish_every_event_once_in_stream_order(
    pool: asyncpg.Pool, store: PostgresEventStore, producer: CapturingProducer, relay: OutboxRelay
) -> None:
    """Writers on 5 streams commit in a scrambled order while the relay keeps publishing."""
    import asyncio
    import random

    rng = random.Random(7)

    async def writer(stream: str) -> None:
        for v in range(20):
            async with pool.acquire() as conn, conn.transaction():
                await store.append(
                    conn,
                    stream_id=stream,
                    stream_type="note",
                    expected_version=v,
                    events=[Noted(text=f"{stream}:{v + 1}")],
                    context=ctx(),
                )
                await asyncio.sleep(rng.random() / 200)

    async def relay_loop(stop: asyncio.Event) -> None:
        async with pool.acquire() as rc:
            while not stop.is_set():
                await relay.publish_once(rc)
                await asyncio.sleep(0.001)
            await drain(relay, rc)

    stop = asyncio.Event()
    loop_task = asyncio.create_task(relay_loop(stop))
    await asyncio.gather(*(writer(f"s{i}") for i in range(5)))
    stop.set()
    await loop_task
    published = producer.envelopes()
    assert len(published) == 100
    assert len({e.event_id for e in published}) == 100
    for i in range(5):
        versions = [e.version for e in published if e.stream_id == f"s{i}"]
        assert versions == list(range(1, 21))


_CHECKPOINT = "SELECT last_position FROM relay_checkpoint WHERE topic = $1"


async def test_relay_survives_losing_its_database_connection(pool: asyncpg.Pool, store: PostgresEventStore) -> None:
    """The relay's session (holding the leader lock) is killed; it reconnects, takes the lock
    again and publishes what was appended meanwhile, without losing or repeating anything."""
    import asyncio

    from tests.support import eventually

    producer = CapturingProducer()
    relay = OutboxRelay(store, producer, "test.events", poll_interval=0.05)
    task = asyncio.create_task(relay.run())
    try:
        await committed(pool, store, "a", "before")
        await eventually(lambda: asyncio.sleep(0, len(producer.sent)), lambda n: n == 1)
        # the kill must come after the relay stored how far it got: a kill between produce and
        # that commit republishes "before" (at least once, as designed), not what this test is about
        await eventually(lambda: pool.fetchval(_CHECKPOINT, "test.events"), lambda p: p is not None)
        killed = await pool.fetchval(
            "SELECT count(pg_terminate_backend(pid)) FROM pg_locks WHERE locktype = 'advisory' AND granted"
            " AND database = (SELECT oid FROM pg_database WHERE datname = current_database())"
        )
        assert killed == 1
        await committed(pool, store, "b", "after")
        await eventually(lambda: asyncio.sleep(0, len(producer.sent)), lambda n: n == 2)
        await eventually(lambda: asyncio.sleep(0, relay.is_leader), bool)
    finally:
        relay.stop()
        await asyncio.wait_for(task, timeout=10)
    assert published_texts(producer) == ["before", "after"]


async def test_a_transaction_in_another_database_does_not_hold_this_outbox_back(
    pool: asyncpg.Pool, store: PostgresEventStore, producer: CapturingProducer, relay: OutboxRelay
) -> None:
    """xids are cluster-wide, but a session in another database cannot write here: its older
    in-flight xid must not delay publishing (other services' projections would otherwise
    hold every relay on the server back). One in this database still does (tests above)."""
    from tests import support

    other = await asyncpg.connect(support.PG_ADMIN)  # the server's "postgres" database
    try:
        async with other.transaction():
            await other.fetchval("SELECT pg_current_xact_id()")  # an older xid, in flight
            await committed(pool, store, "a", "not held")
            async with pool.acquire() as rc:
                published, held = await relay.publish_once(rc)
                # other tests may run sessions in this database's neighbours, never in it
                assert (published, held) == (1, False)
    finally:
        await other.close()
    assert published_texts(producer) == ["not held"]


async def test_a_session_here_with_an_older_xid_still_holds_the_outbox_back(
    pool: asyncpg.Pool, store: PostgresEventStore, producer: CapturingProducer, relay: OutboxRelay
) -> None:
    """Even without having written to ``events`` yet: it may still do so."""
    c1, t1 = await begin_xid(pool)
    await committed(pool, store, "b", "newer")
    async with pool.acquire() as rc:
        assert await relay.publish_once(rc) == (0, True)
        await end(pool, c1, t1, commit=False)
        assert await drain(relay, rc) == 1


async def test_an_append_committed_during_a_publish_is_published_without_waiting_for_the_poll(
    pool: asyncpg.Pool, store: PostgresEventStore
) -> None:
    """The relay is woken by the append's NOTIFY while it is still publishing the previous
    batch; that wake must start the next round (the poll here is a minute away)."""
    import asyncio

    gate, publishing = asyncio.Event(), asyncio.Event()

    class GatedProducer(CapturingProducer):
        async def send(self, topic: str, value: bytes, key: bytes) -> asyncio.Future[None]:
            publishing.set()
            await gate.wait()  # the first batch is held in "publishing" until the gate opens
            return await super().send(topic, value, key)

    producer = GatedProducer()
    relay = OutboxRelay(store, producer, "test.events", poll_interval=60.0)
    task = asyncio.create_task(relay.run())
    try:
        await committed(pool, store, "a", "first")
        await asyncio.wait_for(publishing.wait(), timeout=60)  # the relay read "first" and waits on the gate
        async with pool.acquire() as c, c.transaction():
            await do_append(store, c, "b", "during")  # NOTIFY arrives mid-publish
        await asyncio.sleep(0.1)
        gate.set()
        await support.eventually(lambda: asyncio.sleep(0, len(producer.sent)), lambda n: n == 2)
    finally:
        relay.stop()
        await asyncio.wait_for(task, timeout=30)
    assert published_texts(producer) == ["first", "during"]


async def test_relay_leader_gauge_follows_the_lock(store: PostgresEventStore) -> None:
    """``relay_leader`` (the chart's RehaproNoRelayLeader alert) is 0 from the start, 1 while
    this process leads, 0 again once it stops."""
    import asyncio

    from shared import metrics
    from tests.support import eventually

    def gauge() -> float:
        return float(metrics.RELAY_LEADER.labels("leader-gauge.events")._value.get())

    relay = OutboxRelay(store, CapturingProducer(), "leader-gauge.events", poll_interval=0.05)
    assert gauge() == 0
    task = asyncio.create_task(relay.run())
    try:
        await eventually(lambda: asyncio.sleep(0, gauge()), lambda v: v == 1)
    finally:
        relay.stop()
        await asyncio.wait_for(task, timeout=10)
    assert gauge() == 0
