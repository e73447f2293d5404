"""The projection runner on real PostgreSQL: effectively once, duplicates skipped, gaps reported."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any, ClassVar

import asyncpg
import pytest

from shared import projections, recorded
from shared.contracts.base import DomainEvent, EventRegistry
from shared.db import Conn
from shared.envelope import GENESIS_HASH, Actor, Envelope, new_id
from shared.projections import Projection, ProjectionRunner, Record
from shared.recorded import Recorded


class Noted(DomainEvent):
    event_type: ClassVar[str] = "Noted"
    service: ClassVar[str] = "test"


class Broken(DomainEvent):
    event_type: ClassVar[str] = "Broken"
    service: ClassVar[str] = "test"


class Flagged(DomainEvent):
    event_type: ClassVar[str] = "Flagged"
    service: ClassVar[str] = "test"


@pytest.fixture(autouse=True)
def registry(monkeypatch: pytest.MonkeyPatch) -> None:
    """The throwaway contracts are known only to these tests."""
    local = EventRegistry()
    for model in (Noted, Broken, Flagged):
        local.register(model)
    monkeypatch.setattr(projections, "registry", local)
    monkeypatch.setattr(recorded, "registry", local)


@pytest.fixture
def projection(tmp_path: Path) -> Projection:
    sql = tmp_path / "001_seen.sql"
    sql.write_text("CREATE TABLE IF NOT EXISTS seen (stream_id text, version int, PRIMARY KEY (stream_id, version));")
    p = Projection(name="seen", sql=[sql], topics=["x"])

    @p.on(Noted)
    async def noted(conn: Conn, rec: Recorded[Noted]) -> None:
        await conn.execute("INSERT INTO seen VALUES ($1, $2)", rec.stream_id, rec.version)

    return p


# The hash of the latest envelope made per (stream, version): the next version links to it.
_HEADS: dict[tuple[str, int], str] = {}


def env(stream: str, version: int, event_type: str = "Noted") -> bytes:
    now = datetime.now(UTC)
    sealed = (
        Envelope(
            event_id=new_id(),
            event_type=event_type,
            schema_version=1,
            stream_id=stream,
            stream_type="note",
            version=version,
            occurred_at=now,
            recorded_at=now,
            agency="jc-en",
            project="pro-aktiv",
            actor=Actor(id="u", role="case-manager"),
            correlation_id=new_id(),
            causation_id=None,
            payload={},
            prev_hash=_HEADS.get((stream, version - 1), GENESIS_HASH) if version > 1 else GENESIS_HASH,
        )
    ).sealed()
    _HEADS[(stream, version)] = sealed.hash
    return sealed.to_bytes()


async def seen(pool: asyncpg.Pool) -> list[tuple[str, int]]:
    rows = await pool.fetch("SELECT stream_id, version FROM proj_seen.seen ORDER BY 1, 2")
    return [(r[0], r[1]) for r in rows]


async def test_redelivered_batch_changes_nothing(pool: asyncpg.Pool, projection: Projection) -> None:
    runner = ProjectionRunner(pool, projection, "proj_seen")
    await runner.setup()
    batch = [Record("x", 0, i, env("s1", i + 1)) for i in range(3)]
    first = await runner.apply(batch)
    again = await runner.apply(batch)
    assert (first.applied, again.applied, again.duplicates) == (3, 0, 3)
    assert await seen(pool) == [("s1", 1), ("s1", 2), ("s1", 3)]
    assert await runner.positions() == {("x", 0): 3}


async def test_same_event_at_another_offset_is_a_duplicate(pool: asyncpg.Pool, projection: Projection) -> None:
    """A relay that crashed after publishing re-publishes: same stream version, new offset."""
    runner = ProjectionRunner(pool, projection, "proj_seen")
    await runner.setup()
    first, second = env("s1", 1), env("s1", 2)
    await runner.apply([Record("x", 0, 0, first), Record("x", 0, 1, second)])
    result = await runner.apply([Record("x", 0, 2, second), Record("x", 0, 3, env("s1", 3))])
    assert (result.applied, result.duplicates) == (1, 1)
    assert await seen(pool) == [("s1", 1), ("s1", 2), ("s1", 3)]


async def test_gap_in_stream_versions_is_recorded(pool: asyncpg.Pool, projection: Projection) -> None:
    runner = ProjectionRunner(pool, projection, "proj_seen")
    await runner.setup()
    result = await runner.apply([Record("x", 1, 0, env("s1", 1)), Record("x", 1, 1, env("s1", 3))])
    assert result.gaps == 1
    gaps = await pool.fetch("SELECT stream_id, expected, received FROM proj_seen.projection_gaps")
    assert [(g[0], g[1], g[2]) for g in gaps] == [("s1", 2, 3)]


async def test_handler_failure_parks_the_event_and_applies_the_rest(pool: asyncpg.Pool, projection: Projection) -> None:
    """A handler that fails deterministically parks its event (and the later ones of its
    stream); the batch's other events are applied and the positions step past all of them."""
    runner = ProjectionRunner(pool, projection, "proj_seen")
    await runner.setup()

    @projection.on(Broken)
    async def broken(conn: Conn, rec: Recorded[Broken]) -> None:
        raise RuntimeError("handler bug")

    batch = [Record("x", 0, 0, env("s1", 1)), Record("x", 0, 1, env("s2", 1, "Broken")),
             Record("x", 0, 2, env("s2", 2)), Record("x", 0, 3, env("s3", 1))]  # fmt: skip
    result = await runner.apply(batch)
    assert [(p.reason, p.record.offset) for p in result.parked] == [("handler", 1), ("behind-parked", 2)]
    assert await seen(pool) == [("s1", 1), ("s3", 1)]
    assert await runner.positions() == {("x", 0): 4}
    rows = await pool.fetch('SELECT "offset", reason, state, stream_id FROM proj_seen.parked ORDER BY 1')
    assert [tuple(r) for r in rows] == [(1, "handler", "parked", "s2"), (2, "behind-parked", "parked", "s2")]
    # after the fix, a retry applies both, in order
    projection.on(Broken)(projection.handlers["Noted"])
    retried = await runner.retry()
    assert (retried.applied, retried.parked) == (2, [])
    assert await seen(pool) == [("s1", 1), ("s2", 1), ("s2", 2), ("s3", 1)]
    assert {r["state"] for r in await pool.fetch("SELECT state FROM proj_seen.parked")} == {"retried"}


async def test_poison_records_are_parked_and_every_other_stream_flows(
    pool: asyncpg.Pool, projection: Projection
) -> None:
    """Undecodable bytes, an altered event and a wrong prev_hash are parked; others apply."""
    runner = ProjectionRunner(pool, projection, "proj_seen")
    await runner.setup()
    altered = env("s2", 1).replace(b'"payload":{}', b'"payload":{"x":1}')
    forged = Envelope.from_bytes(env("s3", 2)).model_copy(update={"prev_hash": "f" * 64}).sealed().to_bytes()
    batch = [
        Record("x", 0, 0, b"not json", b"s0"), Record("x", 0, 1, env("s1", 1)), Record("x", 0, 2, altered),
        Record("x", 0, 3, env("s3", 1)), Record("x", 0, 4, forged), Record("x", 0, 5, env("s1", 2)),
    ]  # fmt: skip
    result = await runner.apply(batch)
    assert [(p.reason, p.record.offset) for p in result.parked] == [
        ("undecodable", 0), ("tampered", 2), ("tampered", 4)
    ]  # fmt: skip
    assert await seen(pool) == [("s1", 1), ("s1", 2), ("s3", 1)]
    later = await runner.apply([Record("x", 0, 6, env("s3", 3)), Record("x", 0, 7, env("s1", 3))])
    assert [(p.reason, p.stream_id) for p in later.parked] == [("behind-parked", "s3")]
    assert ("s1", 3) in await seen(pool)


async def test_unknown_types_are_ignored_and_records_below_the_position_never_parsed(
    pool: asyncpg.Pool, projection: Projection
) -> None:
    runner = ProjectionRunner(pool, projection, "proj_seen")
    await runner.setup()
    result = await runner.apply([Record("x", 0, 0, env("s1", 1, "NobodyKnowsThis")), Record("x", 0, 1, env("s1", 2))])
    assert (result.applied, result.ignored, result.parked) == (1, 1, [])
    # a poison record below the stored position (moved past by hand) is dropped unparsed
    again = await runner.apply([Record("x", 0, 0, b"not json"), Record("x", 0, 1, b"not json either")])
    assert (again.duplicates, again.parked) == (2, [])


async def test_transient_failures_raise_and_are_never_parked(pool: asyncpg.Pool, projection: Projection) -> None:
    runner = ProjectionRunner(pool, projection, "proj_seen")
    await runner.setup()

    async def unavailable(conn: Conn, rec: Recorded[Any]) -> None:
        raise ConnectionRefusedError("database went away")

    projection.handlers["Noted"] = unavailable
    with pytest.raises(ConnectionRefusedError):
        await runner.apply([Record("x", 0, 0, env("s1", 1))])
    assert await pool.fetchval("SELECT count(*) FROM proj_seen.parked") == 0
    assert await runner.positions() == {}


async def test_failing_batch_is_retried_until_it_applies(pool: asyncpg.Pool, projection: Projection) -> None:
    """The consumer never moves past a batch it could not apply (no silent skip)."""
    from unittest.mock import MagicMock

    from shared.consumer import ProjectionConsumer

    runner = ProjectionRunner(pool, projection, "proj_seen")
    await runner.setup()
    failures = {"left": 2}
    original = projection.handlers["Noted"]

    async def flaky(conn: Conn, rec: Recorded[Any]) -> None:
        if failures["left"]:
            failures["left"] -= 1
            raise ConnectionError("database went away")
        await original(conn, rec)

    projection.handlers["Noted"] = flaky
    consumer = ProjectionConsumer(MagicMock(), runner, ["x"], group_id="g")
    result = await consumer._apply_until_done([Record("x", 0, 0, env("s1", 1))])
    assert result is not None
    assert result.applied == 1
    assert failures["left"] == 0
    assert await seen(pool) == [("s1", 1)]


async def test_batch_handlers_keep_event_order_with_per_event_handlers(pool: asyncpg.Pool, tmp_path: Path) -> None:
    """Runs of batch-handled events are applied in one call each, in order with the others."""
    sql = tmp_path / "001_log.sql"
    sql.write_text("CREATE TABLE IF NOT EXISTS log (n bigint GENERATED ALWAYS AS IDENTITY, entry text);")
    p = Projection(name="log", sql=[sql], topics=["x"])
    calls: list[int] = []

    @p.on_batch(Noted)
    async def noted(conn: Conn, envs: list[Recorded[Noted]]) -> None:
        calls.append(len(envs))
        for e in envs:
            await conn.execute("INSERT INTO log (entry) VALUES ($1)", f"{e.stream_id}:{e.version}")

    @p.on(Flagged)
    async def flagged(conn: Conn, e: Recorded[Flagged]) -> None:
        await conn.execute("INSERT INTO log (entry) VALUES ($1)", f"flag {e.stream_id}:{e.version}")

    runner = ProjectionRunner(pool, p, "proj_log")
    await runner.setup()
    kinds = ["Noted", "Noted", "Flagged", "Noted", "Noted", "Noted"]
    batch = [Record("x", 0, i, env("s1", i + 1, k)) for i, k in enumerate(kinds)]
    result = await runner.apply(batch)
    again = await runner.apply(batch)
    rows = await pool.fetch("SELECT entry FROM proj_log.log ORDER BY n")
    assert [r["entry"] for r in rows] == ["s1:1", "s1:2", "flag s1:3", "s1:4", "s1:5", "s1:6"]
    assert calls == [2, 3]
    assert (result.applied, again.applied, again.duplicates) == (6, 0, 6)


async def test_overlapping_appliers_of_one_projection_apply_each_event_once(
    pool: asyncpg.Pool, projection: Projection
) -> None:
    """Two consumers holding the same partitions for a moment (a rebalance), from the very
    first batch on: they take turns, and the second skips what the first applied (the table's
    primary key would reject a second insert, failing the batch)."""
    import asyncio

    runners = [ProjectionRunner(pool, projection, "proj_seen") for _ in range(2)]
    await runners[0].setup()
    batch = [Record("x", p, i, env(f"s{p}", i + 1)) for p in range(2) for i in range(20)]
    results = await asyncio.gather(*(r.apply(batch) for r in runners))
    assert sorted(r.applied for r in results) == [0, 40]
    assert len(await seen(pool)) == 40
    assert await runners[1].positions() == {("x", 0): 20, ("x", 1): 20}
