"""casework's command handlers on the in-memory unit of work: the bus, the handler table and
fake ports (keys, consents), no PostgreSQL."""

from __future__ import annotations

from datetime import date
from typing import Any
from uuid import UUID

import pytest

from services.casework import domain
from services.casework.commands import (
    AddTeamMember,
    AssignCaseManager,
    CompleteAssessment,
    EnterPhase,
    ReceiveMedicalReport,
    SetGoal,
)
from services.casework.handlers import HANDLERS
from shared.bus import Context
from shared.contracts.casework import CaseManagerAssigned, GoalSet, TeamMemberAdded
from shared.contracts.common import Phase
from shared.contracts.intake import ParticipantEnrolled
from shared.domain import DomainError, Forbidden, InvalidTransition, NotFound
from shared.envelope import Actor, new_id
from shared.eventstore import CommandContext, ConcurrencyConflict
from shared.principal import Principal
from shared.unit_of_work import UnitOfWork
from shared.vocabulary import Role
from tests.unit.memory_bus import MemoryService

D = date(2026, 3, 2)
CM = Principal("cm-anna", Role.CASE_MANAGER, "jc-en")
PSY = Principal("psy-paula", Role.PSYCHOLOGIST, "jc-en")
FIN = Principal("fin-frank", Role.FINANCIAL_ADVISER, "jc-en")
DRV = Principal("drv-dora", Role.DRV_ADVISER, "drv-westfalen")


class FakeKeys:
    """Seals by wrapping; remembers whose key was made."""

    def __init__(self) -> None:
        self.subjects: list[UUID] = []

    async def seal(self, uow: UnitOfWork, participant_id: UUID, *values: Any) -> list[str]:
        self.subjects.append(participant_id)
        return [f"sealed:{v}" for v in values]


class FakeConsents:
    def __init__(self) -> None:
        self.exchange: dict[UUID, set[str]] = {}
        self.releases: dict[UUID, list[domain.Release]] = {}

    async def exchange_agencies(self, uow: UnitOfWork, participant_id: UUID, day: date) -> set[str]:
        return self.exchange.get(participant_id, set())

    async def medical_releases(self, uow: UnitOfWork, participant_id: UUID, day: date) -> list[domain.Release]:
        return self.releases.get(participant_id, [])


class FakeCaseloads:
    """Active cases per (project, guide), as the ``cases`` projection would count them."""

    def __init__(self) -> None:
        self.active: dict[tuple[str, str], int] = {}

    async def active_cases(self, uow: UnitOfWork, project: str, case_manager: str) -> int:
        return self.active.get((project, case_manager), 0)


class World(MemoryService):
    def __init__(self) -> None:
        self.keys = FakeKeys()
        self.consents = FakeConsents()
        self.caseloads = FakeCaseloads()
        super().__init__(HANDLERS, keys=self.keys, consents=self.consents, caseloads=self.caseloads)

    async def open_case(self, agency: str = "jc-en") -> UUID:
        """What the enrolments policy writes for a new participant (of ``agency``)."""
        pid = new_id()
        enrolled = ParticipantEnrolled(
            participant_id=pid, project="pro-aktiv", agency=agency, start_date=D, age_band="25-34", sex="female"
        )
        context = CommandContext(Actor(id="casework", role="service"), agency, "pro-aktiv", new_id())
        await self.store.append(
            stream_id=domain.stream_id(pid),
            stream_type=domain.case.stream_type,
            expected_version=0,
            events=domain.open_case(domain.case.initial(), enrolled),
            context=context,
        )
        return pid

    def events(self, pid: UUID) -> list[str]:
        return [e.event_type for e in self.store.streams.get(domain.stream_id(pid), [])]


def ctx(principal: Principal, **kw: Any) -> Context:
    return Context(principal=principal, today=D, **kw)


async def test_team_goal_and_sealed_text() -> None:
    w = World()
    pid = await w.open_case()
    r = await w.bus.handle(AssignCaseManager(participant_id=pid, case_manager="cm-anna", assigned_on=D), ctx(CM))
    assert r.body["events"] == [CaseManagerAssigned.event_type]
    assert r.body["version"] == 3
    await w.bus.handle(
        AddTeamMember(participant_id=pid, member="psy-paula", role=Role.PSYCHOLOGIST, added_on=D), ctx(CM)
    )
    goal = await w.bus.handle(SetGoal(participant_id=pid, set_on=D, text="back to work"), ctx(PSY))
    assert goal.body["status"] == "open"
    assert goal.body["phase"] == "einstieg"
    stored = w.store.streams[domain.stream_id(pid)]
    assert stored[-1].payload["sealed_text"] == "sealed:back to work"
    assert stored[-1].payload["goal_id"] == goal.body["goal_id"]
    assert stored[-2].event_type == TeamMemberAdded.event_type
    assert stored[-2].agency == "jc-en"


async def test_domain_refusal_writes_nothing() -> None:
    w = World()
    pid = await w.open_case()
    with pytest.raises(DomainError) as err:
        await w.bus.handle(EnterPhase(participant_id=pid, phase=Phase.STABILISIERUNG, entered_on=D), ctx(CM))
    assert err.value.field == "reason"
    assert len(w.events(pid)) == 2


async def test_health_record_needs_health_access_and_makes_no_key_when_refused() -> None:
    w = World()
    pid = await w.open_case()
    with pytest.raises(Forbidden):
        await w.bus.handle(CompleteAssessment(participant_id=pid, kind="clearing", completed_on=D), ctx(FIN))
    assert w.keys.subjects == []
    assert len(w.events(pid)) == 2


async def test_other_agency_sees_the_case_only_under_drv_exchange_consent() -> None:
    w = World()
    pid = await w.open_case()
    with pytest.raises(NotFound):  # another agency's case, not opened to it: "no such case"
        await w.bus.handle(SetGoal(participant_id=pid, set_on=D, text="x"), ctx(DRV))
    w.consents.exchange[pid] = {"drv-westfalen"}
    with pytest.raises(Forbidden, match="case team"):  # visible now, but not on the team
        await w.bus.handle(SetGoal(participant_id=pid, set_on=D, text="x"), ctx(DRV))


async def test_medical_report_needs_an_active_release_consent() -> None:
    w = World()
    pid = await w.open_case()
    await w.bus.handle(AssignCaseManager(participant_id=pid, case_manager="cm-anna", assigned_on=D), ctx(CM))
    consent = new_id()
    report = ReceiveMedicalReport(participant_id=pid, received_on=D, consent_id=consent, source="Dr. A")
    with pytest.raises(DomainError) as err:
        await w.bus.handle(report, ctx(CM))
    assert err.value.field == "consent_id"
    w.consents.releases[pid] = [domain.Release(consent, "Dr. B, Hagen", active=True)]
    with pytest.raises(InvalidTransition) as conflict:  # the release names another doctor
        await w.bus.handle(report, ctx(CM))
    assert conflict.value.field == "consent"
    w.consents.releases[pid] = [domain.Release(consent, "Dr. A, Witten", active=False)]
    with pytest.raises(InvalidTransition, match="active"):  # not on the report's day
        await w.bus.handle(report, ctx(CM))
    with pytest.raises(InvalidTransition):  # none named and none active: still 409
        await w.bus.handle(report.model_copy(update={"consent_id": None}), ctx(CM))
    w.consents.releases[pid] = [domain.Release(consent, "Dr. A, Witten", active=True)]
    r = await w.bus.handle(report.model_copy(update={"consent_id": None}), ctx(CM))
    assert "report_id" in r.body
    assert w.store.streams[domain.stream_id(pid)][-1].payload["consent_id"] == str(consent)  # by the doctor's name


async def test_idempotent_retry_acts_once_and_answers_the_same() -> None:
    w = World()
    pid = await w.open_case()
    cmd = SetGoal(participant_id=pid, set_on=D, text="a job")
    await w.bus.handle(AssignCaseManager(participant_id=pid, case_manager="cm-anna", assigned_on=D), ctx(CM))
    first = await w.bus.handle(cmd, ctx(CM, idempotency_key="goal-1"))
    again = await w.bus.handle(cmd, ctx(CM, idempotency_key="goal-1"))
    assert again.replayed
    assert again.body == first.body
    assert w.events(pid).count(GoalSet.event_type) == 1


async def test_stale_if_match_is_a_conflict_and_unknown_case_not_found() -> None:
    w = World()
    pid = await w.open_case()
    with pytest.raises(ConcurrencyConflict):
        await w.bus.handle(
            AssignCaseManager(participant_id=pid, case_manager="cm-anna", assigned_on=D), ctx(CM, expected_version=1)
        )
    with pytest.raises(NotFound):
        await w.bus.handle(AssignCaseManager(participant_id=new_id(), case_manager="x", assigned_on=D), ctx(CM))
