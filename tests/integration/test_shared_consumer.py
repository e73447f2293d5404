"""One consumer per service on real PostgreSQL: a batch is decoded once and applied to every
projection of the service in one transaction, each in its own schema with its own positions;
one projection's bad record or failing handler parks there only, a transient failure rolls the
whole batch back (and the retry applies it once)."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any, ClassVar, cast

import asyncpg
import pytest
from aiokafka import TopicPartition

from shared import projections, recorded
from shared.consumer import lowest
from shared.contracts.base import DomainEvent, EventRegistry
from shared.db import Conn
from shared.projections import (
    CONTRACT,
    HANDLER,
    Parked,
    PartFailed,
    Projection,
    ProjectionRunner,
    Record,
    Share,
    apply_shared,
)
from shared.recorded import Recorded
from tests.integration.fakes import Counting
from tests.integration.test_projection_runner import Noted, env


class Counted(DomainEvent):
    """A contract with a required field: the test envelopes (empty payload) fail it."""

    event_type: ClassVar[str] = "Counted"
    service: ClassVar[str] = "test"
    n: int


@pytest.fixture(autouse=True)
def registry(monkeypatch: pytest.MonkeyPatch) -> None:
    local = EventRegistry()
    for model in (Noted, Counted):
        local.register(model)
    monkeypatch.setattr(projections, "registry", local)
    monkeypatch.setattr(recorded, "registry", local)


def logging_projection(tmp_path: Path, name: str, topics: Sequence[str]) -> Projection:
    """Rows of (stream, version, the applying transaction's id)."""
    sql = tmp_path / f"001_{name}.sql"
    sql.write_text(
        "CREATE TABLE IF NOT EXISTS log (stream_id text, version int, xid bigint, PRIMARY KEY (stream_id, version));"
    )
    p = Projection(name=name, sql=[sql], topics=list(topics))

    @p.on(Noted)
    async def noted(conn: Conn, rec: Recorded[Noted]) -> None:
        await conn.execute("INSERT INTO log VALUES ($1, $2, txid_current())", rec.stream_id, rec.version)

    return p


class Sink:
    """A dead-letter topic in memory."""

    def __init__(self) -> None:
        self.parked: list[Parked] = []

    async def __call__(self, parked: Sequence[Parked]) -> None:
        self.parked += parked


async def runner(pool: asyncpg.Pool, projection: Projection) -> ProjectionRunner:
    r = ProjectionRunner(pool, projection, f"proj_{projection.name}")
    await r.setup()
    r.dead_letters = Sink()
    return r


async def log_of(pool: asyncpg.Pool, name: str) -> list[tuple[str, int, int]]:
    rows = await pool.fetch(f"SELECT stream_id, version, xid FROM proj_{name}.log ORDER BY 1, 2")
    return [(r[0], r[1], r[2]) for r in rows]


def sink(r: ProjectionRunner) -> Sink:
    assert isinstance(r.dead_letters, Sink)
    return r.dead_letters


async def test_a_batch_is_applied_to_every_projection_in_one_transaction(pool: asyncpg.Pool, tmp_path: Path) -> None:
    a = await runner(pool, logging_projection(tmp_path, "a", ["x"]))
    b = await runner(pool, logging_projection(tmp_path, "b", ["x"]))
    batch = [Record("x", 0, i, env("s1", i + 1)) for i in range(3)]
    results = await apply_shared(pool, [Share(a, frozenset({"x"})), Share(b, frozenset({"x"}))], batch)
    assert [r.applied for r in results] == [3, 3]
    rows_a, rows_b = await log_of(pool, "a"), await log_of(pool, "b")
    assert [(s, v) for s, v, _ in rows_a] == [(s, v) for s, v, _ in rows_b] == [("s1", 1), ("s1", 2), ("s1", 3)]
    assert len({x for *_, x in rows_a + rows_b}) == 1, "one transaction for both projections"
    assert await a.positions() == await b.positions() == {("x", 0): 3}


async def test_records_are_routed_by_topic(pool: asyncpg.Pool, tmp_path: Path) -> None:
    a = await runner(pool, logging_projection(tmp_path, "a", ["x"]))
    b = await runner(pool, logging_projection(tmp_path, "b", ["x", "y"]))
    batch = [Record("x", 0, 0, env("sx", 1)), Record("y", 0, 0, env("sy", 1))]
    await apply_shared(pool, [Share(a, frozenset({"x"})), Share(b, frozenset({"x", "y"}))], batch)
    assert [s for s, *_ in await log_of(pool, "a")] == ["sx"]
    assert [s for s, *_ in await log_of(pool, "b")] == ["sx", "sy"]
    assert await a.positions() == {("x", 0): 1}
    assert await b.positions() == {("x", 0): 1, ("y", 0): 1}


async def test_a_projection_ahead_skips_what_it_holds_the_one_behind_catches_up(
    pool: asyncpg.Pool, tmp_path: Path
) -> None:
    """After a rebuild (or a new projection) the group reads from the lowest stored position:
    the projection already there drops the records it has, the other applies them."""
    a = await runner(pool, logging_projection(tmp_path, "a", ["x"]))
    b = await runner(pool, logging_projection(tmp_path, "b", ["x"]))
    batch = [Record("x", 0, i, env("s1", i + 1)) for i in range(4)]
    await a.apply(batch[:2])
    shares = [Share(a, frozenset({"x"})), Share(b, frozenset({"x"}))]
    stored = [({"x"}, await a.positions()), ({"x"}, await b.positions())]
    assert lowest(TopicPartition("x", 0), stored) is None  # b has nothing: from the beginning
    results = await apply_shared(pool, shares, batch)
    assert [(r.applied, r.duplicates) for r in results] == [(2, 2), (4, 0)]
    assert len(await log_of(pool, "a")) == len(await log_of(pool, "b")) == 4
    stored = [({"x"}, {("x", 0): 9}), ({"x", "y"}, {("x", 0): 4, ("y", 0): 1})]
    assert lowest(TopicPartition("x", 0), stored) == 4


async def test_poison_for_one_projection_is_parked_by_that_one_only(pool: asyncpg.Pool, tmp_path: Path) -> None:
    """A contract failure of a type only ``a`` handles: ``a`` parks it (table and dead-letter
    topic), ``b`` passes it by, and every other record flows in both."""
    pa = logging_projection(tmp_path, "a", ["x"])

    @pa.on(Counted)
    async def counted(conn: Conn, rec: Recorded[Counted]) -> None:
        raise AssertionError("never decoded")

    a = await runner(pool, pa)
    b = await runner(pool, logging_projection(tmp_path, "b", ["x"]))
    batch = [Record("x", 0, 0, env("bad", 1, "Counted")), Record("x", 0, 1, env("good", 1))]
    results = await apply_shared(pool, [Share(a, frozenset({"x"})), Share(b, frozenset({"x"}))], batch)
    assert [p.reason for p in results[0].parked] == [CONTRACT]
    assert results[1].parked == []
    assert [p.record.offset for p in sink(a).parked] == [0]
    assert sink(b).parked == []
    assert await pool.fetchval("SELECT count(*) FROM proj_a.parked") == 1
    assert await pool.fetchval("SELECT count(*) FROM proj_b.parked") == 0
    assert [s for s, *_ in await log_of(pool, "a")] == [s for s, *_ in await log_of(pool, "b")] == ["good"]
    assert await a.positions() == await b.positions() == {("x", 0): 2}


async def test_a_failing_handler_parks_in_its_projection_and_the_others_apply_once(
    pool: asyncpg.Pool, tmp_path: Path
) -> None:
    """The failure aborts the shared transaction; the batch runs again with that projection
    isolating event by event. The other projection's rows and positions are written once, in
    the same (second) transaction."""
    pa = logging_projection(tmp_path, "a", ["x"])
    original = pa.handlers["Noted"]

    async def fails_on_bad(conn: Conn, rec: Recorded[Any]) -> None:
        if rec.stream_id == "bad":
            await conn.execute("SELECT 1/0")
        await original(conn, rec)

    pa.handlers["Noted"] = fails_on_bad
    a = await runner(pool, pa)
    b = await runner(pool, logging_projection(tmp_path, "b", ["x"]))
    batch = [
        Record("x", 0, 0, env("good", 1)),
        Record("x", 0, 1, env("bad", 1)),
        Record("x", 0, 2, env("bad", 2)),
        Record("x", 0, 3, env("good", 2)),
    ]
    results = await apply_shared(pool, [Share(a, frozenset({"x"})), Share(b, frozenset({"x"}))], batch)
    assert [(p.record.offset, p.reason) for p in results[0].parked] == [(1, HANDLER), (2, "behind-parked")]
    assert (results[1].applied, results[1].parked) == (4, [])
    assert [(s, v) for s, v, _ in await log_of(pool, "a")] == [("good", 1), ("good", 2)]
    rows_b = await log_of(pool, "b")
    assert [(s, v) for s, v, _ in rows_b] == [("bad", 1), ("bad", 2), ("good", 1), ("good", 2)]
    assert len({x for *_, x in rows_b + await log_of(pool, "a")}) == 1
    assert sink(b).parked == []
    assert len(sink(a).parked) == 2, "dead letters sent once, by the parking projection"
    assert await a.positions() == await b.positions() == {("x", 0): 4}


async def test_a_transient_failure_of_one_part_rolls_back_every_part(pool: asyncpg.Pool, tmp_path: Path) -> None:
    """Nothing of the batch is stored for anyone; the error names the part; the retry applies
    the batch once to each."""
    a = await runner(pool, logging_projection(tmp_path, "a", ["x"]))
    pb = logging_projection(tmp_path, "b", ["x"])
    original = pb.handlers["Noted"]
    down = {"left": 1}

    async def flaky(conn: Conn, rec: Recorded[Any]) -> None:
        if down["left"]:
            down["left"] -= 1
            raise ConnectionError("database went away")
        await original(conn, rec)

    pb.handlers["Noted"] = flaky
    b = await runner(pool, pb)
    shares = [Share(a, frozenset({"x"})), Share(b, frozenset({"x"}))]
    batch = [Record("x", 0, i, env("s1", i + 1)) for i in range(2)]
    with pytest.raises(PartFailed) as failed:
        await apply_shared(pool, shares, batch)
    assert failed.value.projection == "b"
    assert await log_of(pool, "a") == []
    assert await a.positions() == await b.positions() == {}
    results = await apply_shared(pool, shares, batch)
    assert [r.applied for r in results] == [2, 2]
    assert len(await log_of(pool, "a")) == len(await log_of(pool, "b")) == 2


async def test_the_shared_transaction_does_not_replan_the_runners_statements(pg_url: str, tmp_path: Path) -> None:
    """A shared batch sets each projection's search_path in turn on one connection, and
    PostgreSQL re-plans a prepared statement run under another search_path than its plan's.
    The runners' own statements (lock, positions read and write) are therefore one text per
    schema: over 30 batches each is planned a handful of times (custom plans, then the generic
    one), not once per call, as the one shared text was. Read from pg_stat_statements, which
    the local stack preloads."""
    pool = await asyncpg.create_pool(pg_url, min_size=1, max_size=1)  # one connection: one plan cache
    try:
        await pool.execute("CREATE EXTENSION IF NOT EXISTS pg_stat_statements")
        dbid = await pool.fetchval("SELECT oid FROM pg_database WHERE datname = current_database()")
        a = await runner(pool, logging_projection(tmp_path, "a", ["x"]))
        b = await runner(pool, logging_projection(tmp_path, "b", ["x"]))
        await pool.execute("SELECT pg_stat_statements_reset(0, $1, 0)", dbid)
        shares = [Share(a, frozenset({"x"})), Share(b, frozenset({"x"}))]
        for i in range(30):
            await apply_shared(pool, shares, [Record("x", 0, i, env("s1", i + 1))])
        rows = await pool.fetch(
            "SELECT query, calls, plans FROM pg_stat_statements"
            " WHERE dbid = $1 AND query ~ 'projection_offsets|pg_advisory_xact_lock'",
            dbid,
        )
        assert len(await log_of(pool, "a")) == len(await log_of(pool, "b")) == 30
    finally:
        await pool.close()
    # the lock, the positions read and the positions write (with one text per schema, the two
    # locks still share an entry: no table, so one query id)
    assert len(rows) >= 3, rows
    for row in rows:
        assert row["calls"] in (30, 60), row["query"]
        assert row["plans"] * 4 <= row["calls"], (
            f"planned {row['plans']} times in {row['calls']} calls: {row['query'][:80]}"
        )


async def test_a_shared_batch_takes_one_statement_each_for_locks_positions_read_and_write(
    pool: asyncpg.Pool, tmp_path: Path
) -> None:
    """Three parts: the locks, one positions read for all (it sets the first handling part's
    search_path), each handling part's handler (the search_path set again only for the second
    and third), one positions write for all: 3 + 3 + 2 statements when all three handle the
    event; 3 + 1 when only the first does. Each part's rows land in its own schema."""
    parts = [await runner(pool, logging_projection(tmp_path, name, ["x"])) for name in ("a", "b", "c")]
    shares = [Share(r, frozenset({"x"})) for r in parts]
    counting = Counting(pool)
    results = await apply_shared(cast("asyncpg.Pool", counting), shares, [Record("x", 0, 0, env("s1", 1))])
    assert [r.applied for r in results] == [1, 1, 1]
    assert counting.sent == 3 + 3 + 2
    for name in ("a", "b", "c"):
        assert [(s, v) for s, v, _ in await log_of(pool, name)] == [("s1", 1)]
        assert await pool.fetchval(f"SELECT count(*) FROM proj_{name}.projection_streams") == 1

    only_a = parts[0].projection
    others = [await runner(pool, Projection(name=n, sql=[], topics=["x"])) for n in ("d", "e")]  # handle nothing
    counting = Counting(pool)
    shares = [Share(r, frozenset({"x"})) for r in (parts[0], *others)]
    await apply_shared(cast("asyncpg.Pool", counting), shares, [Record("x", 0, 1, env("s2", 1))])
    assert counting.sent == 3 + 1
    assert [(s, v) for s, v, _ in await log_of(pool, only_a.name)] == [("s1", 1), ("s2", 1)]
    for other in others:
        assert await other.positions() == {("x", 0): 2}
        assert await pool.fetchval(f"SELECT version FROM proj_{other.projection.name}.projection_streams") == 1


async def test_a_part_whose_records_were_all_applied_leaves_the_next_part_on_its_own_schema(
    pool: asyncpg.Pool, tmp_path: Path
) -> None:
    """A redelivery that only the positions read shows (a runner without a floor, as after a
    restart) is dropped for ``a``; ``b``, after it, still writes into its own schema."""
    a = await runner(pool, logging_projection(tmp_path, "a", ["x"]))
    b = await runner(pool, logging_projection(tmp_path, "b", ["x"]))
    batch = [Record("x", 0, i, env("s1", i + 1)) for i in range(2)]
    await a.apply(batch)
    restarted = await runner(pool, a.projection)  # no floor: the stored positions decide
    results = await apply_shared(pool, [Share(restarted, frozenset({"x"})), Share(b, frozenset({"x"}))], batch)
    assert [(r.applied, r.duplicates) for r in results] == [(0, 2), (2, 0)]
    assert len(await log_of(pool, "a")) == len(await log_of(pool, "b")) == 2
    assert await b.positions() == {("x", 0): 2}


async def test_a_batch_every_part_already_holds_takes_no_statement(pool: asyncpg.Pool, tmp_path: Path) -> None:
    """A redelivery below every part's known position (a rebalance fetching a batch again): no
    part is left with a record, so no transaction is even begun, and each part counts the
    records as duplicates."""
    a = await runner(pool, logging_projection(tmp_path, "a", ["x"]))
    b = await runner(pool, logging_projection(tmp_path, "b", ["x"]))
    shares = [Share(a, frozenset({"x"})), Share(b, frozenset({"x"}))]
    batch = [Record("x", 0, i, env("s1", i + 1)) for i in range(2)]
    await apply_shared(pool, shares, batch)
    counting = Counting(pool)
    results = await apply_shared(cast("asyncpg.Pool", counting), shares, batch)
    assert [(r.applied, r.duplicates) for r in results] == [(0, 2), (0, 2)]
    assert counting.acquired == 0
    assert len(await log_of(pool, "a")) == len(await log_of(pool, "b")) == 2
