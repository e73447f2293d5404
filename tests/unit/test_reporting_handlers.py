"""reporting's command handlers through the bus on the in-memory unit of work (no PostgreSQL,
no Kafka, no intake): closing a quarter and producing a monitoring export."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest

from services.reporting.commands import CloseQuarter, ProduceMonitoringExport
from services.reporting.domain import journey, kpis, periods
from services.reporting.domain.journey import Fact
from services.reporting.domain.periods import DateRange
from services.reporting.handlers import HANDLERS, IntakeRefused
from shared.bus import Context, IdempotencyMismatch, MessageBus, inject
from shared.contracts.reporting import KpiSnapshotComputed, MonitoringExportProduced
from shared.domain import DomainError, Forbidden, InvalidTransition
from shared.memory import MemoryEventStore
from shared.principal import Principal
from shared.unit_of_work import MemoryUnitOfWork, UnitOfWork
from shared.vocabulary import Role, memberships
from tests import reporting_scenario as sc
from tests.unit.test_reporting_kpis import FACTS

LEAD = Principal("lead-jc-en", Role.PROJECT_LEAD, "jc-en")
AUDITOR = Principal("auditor-jc-en", Role.AUDITOR, "jc-en")
CUTOFF = datetime(2026, 6, 1, tzinfo=UTC)


class FakeFacts:
    def __init__(self, facts: list[Fact], lag: int = 0) -> None:
        self.all, self.behind = facts, lag

    async def standing(self, recorded_by: datetime | None = None) -> tuple[dict[str, journey.Journey], int]:
        known = [f for f in self.all if recorded_by is None or f.recorded_at <= recorded_by]
        return journey.build_participants(known), len(known)

    async def lag(self) -> int:
        return self.behind

    async def memberships(self) -> dict[str, tuple[str, ...]]:
        return memberships({})  # no project configured: the closed list's


class FakeIntake:
    """Releases the identities of the participants it knows; or refuses, like a down intake."""

    def __init__(self, known: Mapping[str, Mapping[str, Any]], status: int = 200) -> None:
        self.known, self.status = known, status
        self.asked: list[list[str]] = []

    async def identities(self, ids: Sequence[str], period: DateRange, ctx: Context) -> list[Mapping[str, Any]]:
        self.asked.append(list(ids))
        if self.status != 200:
            raise IntakeRefused(self.status)
        return [{"participant_id": i, **self.known[i]} for i in ids if i in self.known]


P1, P4 = str(sc.uid("P1")), str(sc.uid("P4"))


@pytest.fixture
def store() -> MemoryEventStore:
    return MemoryEventStore()


def make_bus(store: MemoryEventStore, facts: FakeFacts | None = None, intake: FakeIntake | None = None) -> MessageBus:
    responses = MemoryUnitOfWork(store).responses  # one table of stored responses, like one database

    def unit_of_work(transactional: bool) -> UnitOfWork:
        uow = MemoryUnitOfWork(store, transactional=transactional)
        uow.responses = responses
        return uow

    ports = {"facts": facts or FakeFacts(FACTS), "identities": intake or FakeIntake({P4: {"age": 54}})}
    return MessageBus(inject(HANDLERS, now=lambda: CUTOFF, **ports), unit_of_work)


def ctx(principal: Principal = LEAD, today: date = date(2025, 7, 1), key: str | None = None) -> Context:
    return Context(principal=principal, today=today, idempotency_key=key)


async def test_closing_a_quarter_freezes_the_report_of_the_facts_known_then(store: MemoryEventStore) -> None:
    result = await make_bus(store).handle(CloseQuarter(quarter="2025-Q2"), ctx())
    assert (result.stream_id, result.version, result.body) == ("period-jc-en-2025-Q2", 2, {"version": 2})
    closed, snapshot = await store.read_stream("period-jc-en-2025-Q2")
    assert (closed.event_type, closed.agency, closed.actor.id) == ("ReportingPeriodClosed", "jc-en", "lead-jc-en")
    snap = KpiSnapshotComputed.model_validate(snapshot.payload)
    assert snap.cutoff == CUTOFF
    assert snap.figures["total"] == sc.JC_EN_Q2
    assert snap.figures == kpis.report(journey.build_participants(FACTS), periods.Quarter(2025, 2), "jc-en")
    assert snap.facts == len(FACTS)


async def test_closing_twice_too_early_or_while_catching_up_is_refused(store: MemoryEventStore) -> None:
    bus = make_bus(store)
    await bus.handle(CloseQuarter(quarter="2025-Q2"), ctx())
    with pytest.raises(InvalidTransition) as twice:
        await bus.handle(CloseQuarter(quarter="2025-Q2"), ctx())
    assert twice.value.field == "quarter"
    with pytest.raises(InvalidTransition):
        await bus.handle(CloseQuarter(quarter="2025-Q3"), ctx(today=date(2025, 9, 30)))
    with pytest.raises(InvalidTransition, match="catching up"):
        await make_bus(store, FakeFacts(FACTS, lag=3)).handle(CloseQuarter(quarter="2025-Q1"), ctx())
    with pytest.raises(DomainError) as bad:
        await bus.handle(CloseQuarter(quarter="2025-Q7"), ctx())
    assert bad.value.field == "quarter"
    assert len(await store.read_stream("period-jc-en-2025-Q2")) == 2
    assert await store.read_stream("period-jc-en-2025-Q3") == []


async def test_only_project_leads_close_and_export(store: MemoryEventStore) -> None:
    bus = make_bus(store)
    with pytest.raises(Forbidden):
        await bus.handle(CloseQuarter(quarter="2025-Q2"), ctx(AUDITOR))
    with pytest.raises(Forbidden):
        await bus.handle(ProduceMonitoringExport(half_year="2025-H1"), ctx(AUDITOR))
    assert await store.read_stream("period-jc-en-2025-Q2") == []


async def test_a_retried_close_with_the_same_key_acts_once(store: MemoryEventStore) -> None:
    bus = make_bus(store)
    first = await bus.handle(CloseQuarter(quarter="2025-Q2"), ctx(key="k1"))
    again = await bus.handle(CloseQuarter(quarter="2025-Q2"), ctx(key="k1"))
    assert (again.replayed, again.body, again.version) == (True, first.body, first.version)
    assert len(await store.read_stream("period-jc-en-2025-Q2")) == 2
    with pytest.raises(IdempotencyMismatch):
        await bus.handle(CloseQuarter(quarter="2025-Q1"), ctx(key="k1"))


async def test_an_export_merges_released_identities_and_records_counts_only(store: MemoryEventStore) -> None:
    intake = FakeIntake({P4: {"age": 54, "insurance_number": "X"}})
    result = await make_bus(store, intake=intake).handle(
        ProduceMonitoringExport(half_year="2025-H1", format="json"), ctx(today=date(2026, 1, 1))
    )
    assert intake.asked == [sorted([P1, P4])]  # active monitoring consent: P1 and P4
    assert [(r["insurance_number"], r["age"], r["exit_date"]) for r in result.body["rows"]] == [("X", 54, "2025-06-30")]
    [recorded] = await store.read_stream(result.stream_id)
    produced = MonitoringExportProduced.model_validate(recorded.payload)
    assert (produced.half_year, produced.rows, produced.withheld, produced.format) == ("2025-H1", 1, 1, "json")
    assert str(produced.export_id) == result.body["export_id"]
    assert P4 not in str(recorded.payload)


async def test_an_export_is_not_replayable_and_a_refusing_intake_writes_nothing(store: MemoryEventStore) -> None:
    refusing = FakeIntake({}, status=403)
    bus = make_bus(store, intake=refusing)
    with pytest.raises(DomainError) as keyed:
        await bus.handle(ProduceMonitoringExport(half_year="2025-H1"), ctx(key="k"))
    assert keyed.value.field == "Idempotency-Key"
    with pytest.raises(IntakeRefused):
        await bus.handle(ProduceMonitoringExport(half_year="2025-H1"), ctx(today=date(2026, 1, 1)))
    assert refusing.asked  # it was asked, and nothing was recorded
    assert store.log == []
    with pytest.raises(DomainError) as bad:
        await bus.handle(ProduceMonitoringExport(half_year="2025-H3"), ctx())
    assert bad.value.field == "half_year"


async def test_a_quarter_closes_with_an_explicit_cutoff_not_after_now(store: MemoryEventStore) -> None:
    """Issue 15: the cutoff was the server's clock. An explicit one freezes the facts recorded
    by then; one after now, or inside the quarter, is refused naming ``cutoff``."""
    bus = make_bus(store)
    early = FACTS[len(FACTS) // 2].recorded_at
    for bad in (CUTOFF + timedelta(seconds=1), datetime(2025, 6, 30, 23, 0, tzinfo=UTC)):
        with pytest.raises(DomainError) as err:
            await bus.handle(CloseQuarter(quarter="2025-Q2", cutoff=bad), ctx())
        assert err.value.field == "cutoff"
    assert await store.read_stream("period-jc-en-2025-Q2") == []
    await bus.handle(CloseQuarter(quarter="2025-Q1", cutoff=early), ctx())
    _, snapshot = await store.read_stream("period-jc-en-2025-Q1")
    snap = KpiSnapshotComputed.model_validate(snapshot.payload)
    known = [f for f in FACTS if f.recorded_at <= early]
    assert (snap.cutoff, snap.facts) == (early, len(known))
    assert snap.figures == kpis.report(journey.build_participants(known), periods.Quarter(2025, 1), "jc-en")
    assert snap.figures != kpis.report(journey.build_participants(FACTS), periods.Quarter(2025, 1), "jc-en")
