"""The journeys the facts projection maintains (read by KPI requests of the present) on real
PostgreSQL: every document built from them equals the one built by folding every fact (the
reporting scenario, every quarter, every viewer, the range, the filters), after an erasure too,
and a rebuild whose workers applied the streams apart ends with the same journeys."""

from __future__ import annotations

import asyncio
import sys
from collections.abc import AsyncIterator
from datetime import UTC, date, datetime, timedelta
from typing import Any, cast

import asyncpg
import orjson
import pytest

from bench.kpi_reads import OpenReads, Pooled
from services.reporting import projections
from services.reporting.domain import journey
from services.reporting.domain.periods import Quarter
from services.reporting.projections import facts, plans
from services.reporting.views import Ask, Reads, reports
from services.reporting.views.reports import report_document
from shared.bus import Context
from shared.contracts.base import DomainEvent
from shared.contracts.casework import PhaseEntered
from shared.contracts.common import Phase
from shared.contracts.intake import ParticipantDataErased, ReferralWithdrawn
from shared.envelope import GENESIS_HASH, Actor, Envelope, new_id
from shared.principal import Principal
from shared.projections import ProjectionRunner, Record
from shared.recorded import Recorded
from shared.runtime import Runtime
from shared.vocabulary import Role
from tests import reporting_scenario as sc
from tests.integration.fakes import CountingConnection

T0 = datetime(2025, 1, 1, tzinfo=UTC)
TODAY = date(2026, 1, 15)
LATER = datetime(2026, 1, 15, tzinfo=UTC)  # after every fact's recording: as_of folds them all
VIEWERS = ("jc-en", "jc-mk", "drv-westfalen", "jc-unna")
ASKS = [
    *(Ask(period=f"2025-Q{q}") for q in range(1, 5)),
    Ask(period="2025"),
    Ask(period="2025-Q2..2026-Q1"),
    Ask(),
    Ask(period="2025", project="pro-aktiv"),
]
# an agency filter each viewer may ask for: its own; for the DRV carrier a joint project's member
OWN_FILTER = {"drv-westfalen": "jc-en"}


class History:
    """Envelopes of the scenario's steps as the three topics carry them (chained per stream,
    one recording second apart)."""

    def __init__(self) -> None:
        self.heads: dict[str, tuple[int, str]] = {}
        self.offsets: dict[str, int] = {}
        self.n = 0

    def record(self, service: str, stream: str, agency: str, project: str, event: DomainEvent) -> Record:
        version, prev = self.heads.get(stream, (0, GENESIS_HASH))
        stamp = T0 + timedelta(seconds=self.n)
        self.n += 1
        env = Envelope(
            event_id=new_id(), event_type=event.event_type, schema_version=1, stream_id=stream, stream_type="x",
            version=version + 1, occurred_at=stamp, recorded_at=stamp, agency=agency, project=project,
            actor=Actor(id="t", role="service"), correlation_id=new_id(), causation_id=None,
            payload=event.model_dump(mode="json"), prev_hash=prev,
        ).sealed()  # fmt: skip
        self.heads[stream] = (version + 1, env.hash)
        topic = f"{service}.events"
        offset = self.offsets.get(topic, 0)
        self.offsets[topic] = offset + 1
        return Record(topic, 0, offset, env.to_bytes())

    def scenario(self) -> list[Record]:
        return [self.record(s.service, s.stream_id, s.agency, s.project, s.event) for s in sc.STEPS]

    def erasure(self, p: str) -> list[Record]:
        """``p`` erased, then a phase of their case arriving after the erasure."""
        pid = sc.uid(p)
        erased = ParticipantDataErased(participant_id=pid, erased_on=date(2025, 12, 1), legal_basis="Art. 17 GDPR")
        late = PhaseEntered(case_id=pid, phase=Phase.STABILISIERUNG, entered_on=date(2025, 12, 2))
        return [
            self.record("intake", f"participant-{pid}", "jc-en", "pro-aktiv", erased),
            self.record("casework", f"case-{pid}", "jc-en", "pro-aktiv", late),
        ]


@pytest.fixture
async def history(pool: asyncpg.Pool) -> tuple[History, ProjectionRunner]:
    await ProjectionRunner(pool, plans, "proj_plans").setup()
    runner = ProjectionRunner(pool, facts, "proj_facts")
    await runner.setup()
    return History(), runner


@pytest.fixture
async def reads(pg_url: str, history: tuple[History, ProjectionRunner]) -> AsyncIterator[Reads]:
    """The KPI views' reads on the facts projection's schema."""
    pool = await asyncpg.create_pool(
        pg_url, min_size=1, max_size=4, server_settings={"search_path": "proj_facts, proj_plans, public"}
    )
    yield OpenReads(cast("Runtime", Pooled(pool)))
    await pool.close()


async def _documents(reads: Reads, as_of: datetime | None) -> list[Any]:
    """Every document the KPI views answer for the scenario's viewers and asks."""
    out: list[Any] = []
    for viewer in VIEWERS:
        ctx = Context(principal=Principal(f"lead-{viewer}", Role.PROJECT_LEAD, viewer), today=TODAY)
        for ask in [*ASKS, Ask(period="2025", agency=OWN_FILTER.get(viewer, viewer))]:
            got = await reports(reads, ctx, Ask(ask.period, ask.agency, ask.project, as_of), whole=True)
            out.append((viewer, ask, got.quarters, got.available, got.docs, got.range))
        for q in range(1, 5):
            doc = orjson.loads(await report_document(reads, ctx, Quarter(2025, q), as_of))
            doc.pop("as_of", None)
            out.append((viewer, q, doc))
    return out


async def _assert_journeys_equal_the_fold(reads: Reads) -> None:
    folded = journey.build_participants(await reads.facts())
    maintained = await reads.journeys()
    assert list(maintained.items()) == list(folded.items())  # the same journeys, in the same order
    assert await _documents(reads, None) == await _documents(reads, LATER)


async def test_documents_from_the_maintained_journeys_equal_the_fold_of_every_fact(
    history: tuple[History, ProjectionRunner], reads: Reads
) -> None:
    events, runner = history
    scenario = events.scenario()
    for start in range(0, len(scenario), 25):  # batches: journeys folded again across them
        await runner.apply(scenario[start : start + 25])
    assert len(await reads.journeys()) == 10
    await _assert_journeys_equal_the_fold(reads)


async def test_an_erasure_moves_the_journey_to_the_pseudonym(
    pool: asyncpg.Pool, history: tuple[History, ProjectionRunner], reads: Reads
) -> None:
    events, runner = history
    await runner.apply(events.scenario())
    erasure, late = events.erasure("P1")
    await runner.apply([erasure])
    await runner.apply([late])  # arrives after the erasure: folded into the pseudonym's journey
    maintained = await reads.journeys()
    assert str(sc.uid("P1")) not in maintained
    assert len(maintained) == 10
    assert sum(j.erased for j in maintained.values()) == 1
    linked = await pool.fetchval("SELECT count(*) FROM proj_facts.journeys WHERE participant_id = $1", sc.uid("P1"))
    assert linked == 0
    await _assert_journeys_equal_the_fold(reads)


async def test_the_close_and_the_export_take_the_journeys_when_they_are_the_fold_asked_for(
    history: tuple[History, ProjectionRunner], reads: Reads, monkeypatch: pytest.MonkeyPatch
) -> None:
    """``Reads.standing`` (a quarter's close, the monitoring export): all facts, or those
    recorded by a cutoff after the last one, come from the maintained journeys without a fact
    decoded; a cutoff before the last fact folds the facts recorded by then. Both as the fold."""
    events, runner = history
    await _apply_in_batches(runner, events.scenario(), 25)
    every = await reads.facts()
    middle = sorted(f.recorded_at for f in every)[len(every) // 2]
    then = journey.build_participants(every, cutoff=middle)
    assert 0 < len(then) <= 10

    def undecodable(row: Any) -> Any:
        raise AssertionError("a fact was read and decoded")

    monkeypatch.setattr(sys.modules[Reads.__module__], "decode_fact", undecodable)
    for cutoff in (None, LATER):
        journeys, count = await reads.standing(cutoff)
        assert count == len(every)
        assert list(journeys.items()) == list(journey.build_participants(every).items())
    monkeypatch.undo()
    journeys, count = await reads.standing(middle)
    assert count == sum(f.recorded_at <= middle for f in every)
    assert list(journeys.items()) == list(then.items())


async def test_a_run_without_an_erasure_takes_four_statements(
    pool: asyncpg.Pool, history: tuple[History, ProjectionRunner], reads: Reads
) -> None:
    """The facts batch handler for a run of events of known people, none erased: their locks,
    the erased among them, the insert with every fact of theirs read back, their journeys
    written. The journeys still equal the fold of every fact."""
    events, runner = history
    scenario = events.scenario()
    await runner.apply(scenario[:-6])
    run = [Recorded.decode(Envelope.from_bytes(r.value)) for r in scenario[-6:]]
    kept = [r for r in run if facts.batch_handlers.get(r.event_type) is projections.record]
    assert kept
    async with pool.acquire() as conn, conn.transaction():
        await conn.execute("SET LOCAL search_path = proj_facts, public")
        counted = CountingConnection(conn)
        await projections.record(cast("asyncpg.Connection", counted), kept)
    assert counted.sent == 4
    await _assert_journeys_equal_the_fold(reads)


def _by_stream(records: list[Record], workers: int) -> list[list[Record]]:
    """Each worker's share: whole streams, as a parallel rebuild splits them, worker k's on
    partition k (as a store rebuild's pseudo-topic: positions apart)."""
    shares: list[list[Record]] = [[] for _ in range(workers)]
    for r in records:
        k = sum(Envelope.from_bytes(r.value).stream_id.encode()) % workers
        shares[k].append(Record(r.topic, k, r.offset, r.value))
    return shares


async def _apply_in_batches(runner: ProjectionRunner, records: list[Record], size: int = 7) -> None:
    for start in range(0, len(records), size):
        await runner.apply(records[start : start + size])


_LIVE, _REBUILT = "proj_facts.journeys", "proj_facts_rebuild.journeys"
_DIFF = (
    f"SELECT (SELECT count(*) FROM (SELECT * FROM {_LIVE} EXCEPT ALL SELECT * FROM {_REBUILT}) a)"
    f" + (SELECT count(*) FROM (SELECT * FROM {_REBUILT} EXCEPT ALL SELECT * FROM {_LIVE}) b)"
)


async def test_a_rebuild_with_the_streams_split_over_workers_ends_with_the_same_journeys(
    pool: asyncpg.Pool, history: tuple[History, ProjectionRunner]
) -> None:
    """Two appliers of the same schema at once, each with its share of the streams (a parallel
    rebuild's workers), then the projection's ``after_rebuild`` step: the journeys equal the
    live ones, and that step alone re-derives them (even from none)."""
    events, live = history
    records = [*events.scenario(), *events.erasure("P4")]
    await live.apply(records)
    rebuilt = ProjectionRunner(pool, facts, "proj_facts_rebuild")
    await rebuilt.setup()
    await asyncio.gather(*(_apply_in_batches(rebuilt, share) for share in _by_stream(records, 2)))
    assert await pool.fetchval(_DIFF) == 0
    assert facts.after_rebuild is not None
    await pool.execute("DELETE FROM proj_facts_rebuild.journeys")
    step = facts.after_rebuild

    async def share(k: int, n: int) -> None:
        async with pool.acquire() as conn, conn.transaction():
            await conn.execute("SET LOCAL search_path = proj_facts_rebuild, public")
            await step(conn, (k, n))

    await share(0, 2)  # one share alone folds only its people
    assert 0 < await pool.fetchval("SELECT count(*) FROM proj_facts_rebuild.journeys") < 10
    await asyncio.gather(share(0, 2), share(1, 2))  # both at once, as two workers: the rest, none twice
    assert await pool.fetchval("SELECT count(*) FROM proj_facts_rebuild.journeys") == 10
    assert await pool.fetchval(_DIFF) == 0


async def test_a_replay_stores_the_facts_only_and_its_last_step_folds_the_journeys(
    pool: asyncpg.Pool, history: tuple[History, ProjectionRunner]
) -> None:
    """A rebuild's replay applies the facts projection with its replay handlers
    (``facts.replaying()``): the same facts as the live batches, erasure included, and no
    journey folded per batch; the ``after_rebuild`` step then folds the live journeys."""
    events, live = history
    records = [*events.scenario(), *events.erasure("P4")]
    await _apply_in_batches(live, records)
    replay = ProjectionRunner(pool, facts.replaying(), "proj_facts_rebuild")
    await replay.setup()
    await asyncio.gather(*(_apply_in_batches(replay, share) for share in _by_stream(records, 2)))
    erasures = [e for r in records if (e := Envelope.from_bytes(r.value)).event_type == "ParticipantDataErased"]
    await replay.reapply(erasures)  # the cross-stream pass of a parallel rebuild
    assert await pool.fetchval("SELECT count(*) FROM proj_facts_rebuild.journeys") == 0
    facts_diff = _DIFF.replace(_LIVE, "proj_facts.facts").replace(_REBUILT, "proj_facts_rebuild.facts")
    assert await pool.fetchval(facts_diff) == 0
    assert facts.after_rebuild is not None
    async with pool.acquire() as conn, conn.transaction():
        await conn.execute("SET LOCAL search_path = proj_facts_rebuild, public")
        await facts.after_rebuild(conn, (0, 1))
    assert await pool.fetchval("SELECT count(*) FROM proj_facts_rebuild.journeys") == 10
    assert await pool.fetchval(_DIFF) == 0


async def test_an_upgraded_schema_reads_the_facts_until_its_backlog_is_folded(
    pool: asyncpg.Pool, history: tuple[History, ProjectionRunner], reads: Reads, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A schema that had facts before the journeys: the migration lists their participants as
    pending; requests fold the facts (the same documents) until the next batches have folded
    every pending journey, a few per batch."""
    events, runner = history
    scenario = events.scenario()
    await runner.apply(scenario[:-1])
    async with pool.acquire() as conn:  # what 004_journeys.sql finds and leaves on an upgrade
        await conn.execute("DELETE FROM proj_facts.journeys")
        migration = next(p for p in facts.sql if p.name == "004_journeys.sql").read_text()
        await conn.execute("SET search_path = proj_facts, public")
        await conn.execute(migration)
        await conn.execute("RESET search_path")
    assert await pool.fetchval("SELECT count(*) FROM proj_facts.journeys_pending") == 10
    assert not await reads.journeys_complete()
    before = await _documents(reads, None)
    assert before == await _documents(reads, LATER)  # the facts path, both
    known = await reads.facts()
    standing, count = await reads.standing()  # a close's read folds the facts too
    assert list(standing.items()) == list(journey.build_participants(known).items())
    assert count == len(known)

    monkeypatch.setattr(projections, "PENDING_PER_BATCH", 4)
    await runner.apply(scenario[-1:])  # its participant and four more
    assert await pool.fetchval("SELECT count(*) FROM proj_facts.journeys_pending") == 5
    assert not await reads.journeys_complete()
    for name in ("X1", "X2"):  # two more batches (of someone else) fold the rest
        withdrawn = ReferralWithdrawn(participant_id=sc.uid(name), withdrawn_on=date(2025, 3, 1), reason="moved away")
        await runner.apply([events.record("intake", f"participant-{sc.uid(name)}", "jc-en", "pro-aktiv", withdrawn)])
    assert await reads.journeys_complete()
    folded = journey.build_participants(await reads.facts())
    assert list((await reads.journeys()).items()) == list(folded.items())
