"""Case transfer between the agencies of a project (issue 15, item 8): the handler on the
in-memory unit of work and the pure rules (consent, partner agency, staff, cap, access after)."""

from __future__ import annotations

from datetime import timedelta
from typing import Any
from uuid import UUID

import pytest

from services.casework import access, domain
from services.casework.commands import AddTeamMember, AssignCaseManager, SetGoal, TransferCase
from services.casework.handlers import HANDLERS
from shared.contracts.casework import CaseTransferred, GoalSet
from shared.contracts.common import ExitReason
from shared.contracts.intake import ParticipantEnrolled
from shared.domain import DomainError, Forbidden, InvalidTransition, NotFound
from shared.envelope import new_id
from shared.principal import Principal
from shared.staff import StaffRecord
from shared.unit_of_work import UnitOfWork, fold
from shared.vocabulary import Role
from tests.unit.memory_bus import MemoryService
from tests.unit.test_casework_handlers import D, World, ctx
from tests.unit.test_casework_projects import ADMIN_EN, configuration

CM_MK = Principal("cm-mara", Role.CASE_MANAGER, "jc-mk")
PSY_MK = Principal("psy-mo", Role.PSYCHOLOGIST, "jc-mk")
LEAD_MK = Principal("lead-mk", Role.PROJECT_LEAD, "jc-mk")
AUDITOR_MK = Principal("aud-mk", Role.AUDITOR, "jc-mk")
CM_EN = Principal("cm-erik", Role.CASE_MANAGER, "jc-en")
DRV = Principal("drv-dora", Role.DRV_ADVISER, "drv-westfalen")
MK_STAFF = (("cm-mara", "case-manager"), ("psy-mo", "psychologist"))


class FakeStaff:
    """A staff directory holding only the members given."""

    required = True

    def __init__(self, *members: StaffRecord) -> None:
        self.members = {(m.agency, m.subject): m for m in members}

    async def member(self, uow: UnitOfWork, agency: str, subject: str) -> StaffRecord | None:
        return self.members.get((agency, subject))


class TransferWorld(World):
    def __init__(self, staff: FakeStaff | None = None) -> None:
        super().__init__()
        if staff is not None:  # the same ports, and a staff directory
            ports = {"keys": self.keys, "consents": self.consents, "caseloads": self.caseloads, "staff": staff}
            MemoryService.__init__(self, HANDLERS, **ports)

    async def open_mk_case(self) -> UUID:
        """An MK case with MK's case manager, an MK psychologist and a DRV adviser on the team."""
        pid = await self.open_case("jc-mk")
        await self.bus.handle(AssignCaseManager(participant_id=pid, case_manager="cm-mara", assigned_on=D), ctx(CM_MK))
        for member, role, agency in (("psy-mo", Role.PSYCHOLOGIST, None), ("drv-dora", Role.DRV_ADVISER, DRV.agency)):
            add = AddTeamMember(participant_id=pid, member=member, role=role, agency=agency, added_on=D)
            await self.bus.handle(add, ctx(CM_MK))
        return pid

    def agencies(self, pid: UUID) -> list[tuple[str, str]]:
        return [(e.event_type, e.agency) for e in self.store.streams[domain.stream_id(pid)]]


def transfer(pid: UUID, **changes: Any) -> TransferCase:
    body: dict[str, Any] = {
        "participant_id": pid,
        "to_agency": "jc-en",
        "to_case_manager": "cm-erik",
        "transferred_on": D,
        "reason": "moved to Hagen",
    }
    return TransferCase(**(body | changes))


async def test_the_receiving_agency_runs_the_case_from_the_transfer_on() -> None:
    w = TransferWorld()
    pid = await w.open_mk_case()
    w.consents.exchange[pid] = {"jc-en", "drv-westfalen"}
    r = await w.bus.handle(transfer(pid), ctx(CM_MK))
    assert r.body["events"] == [CaseTransferred.event_type]
    stored = w.store.streams[domain.stream_id(pid)][-1]
    assert stored.agency == "jc-mk"  # the sender decided it
    assert stored.payload["sealed_reason"] == "sealed:moved to Hagen"
    assert (stored.payload["from_agency"], stored.payload["to_agency"]) == ("jc-mk", "jc-en")
    assert stored.payload["from_case_manager"] == "cm-mara"

    goal = await w.bus.handle(SetGoal(participant_id=pid, set_on=D, text="a job near Hagen"), ctx(CM_EN))
    assert goal.body["events"] == [GoalSet.event_type]
    assert w.agencies(pid)[-1] == (GoalSet.event_type, "jc-en")  # every later event: the new agency
    state = fold(domain.case, domain.stream_id(pid), w.store.streams[domain.stream_id(pid)]).state
    assert (state.agency, state.case_manager) == ("jc-en", "cm-erik")
    assert set(state.team) == {"drv-dora"}  # MK's psychologist left with the case; DRV stays
    assert state.transfers == (domain.Transfer("jc-mk", "jc-en", D),)


async def test_the_sending_agency_gets_403_on_every_new_action() -> None:
    w = TransferWorld()
    pid = await w.open_mk_case()
    w.consents.exchange[pid] = {"jc-en"}
    await w.bus.handle(transfer(pid), ctx(CM_MK))
    before = len(w.events(pid))
    for who in (CM_MK, PSY_MK, LEAD_MK):
        with pytest.raises(Forbidden, match="transferred to jc-en") as refused:
            await w.bus.handle(SetGoal(participant_id=pid, set_on=D, text="x"), ctx(who))
        assert refused.value.field == "participant_id"
    with pytest.raises(Forbidden, match="transferred to jc-en"):
        await w.bus.handle(transfer(pid, to_agency="jc-mk", to_case_manager="cm-mara"), ctx(CM_MK))
    assert len(w.events(pid)) == before


async def test_a_transfer_needs_a_drv_exchange_consent_naming_the_receiving_agency() -> None:
    w = TransferWorld()
    pid = await w.open_mk_case()
    made = len(w.keys.subjects)
    w.consents.exchange[pid] = {"drv-westfalen"}  # covers DRV, not EN
    with pytest.raises(InvalidTransition, match="drv-exchange consent") as refused:
        await w.bus.handle(transfer(pid), ctx(CM_MK))
    assert refused.value.field == "consent"
    assert CaseTransferred.event_type not in w.events(pid)
    assert len(w.keys.subjects) == made  # nothing sealed for a refused transfer


async def test_only_to_another_agency_of_the_project() -> None:
    w = TransferWorld()
    pid = await w.open_mk_case()
    w.consents.exchange[pid] = {"jc-en", "jc-unna"}
    with pytest.raises(DomainError, match="not an agency of the project pro-aktiv") as outside:
        await w.bus.handle(transfer(pid, to_agency="jc-unna"), ctx(CM_MK))
    assert outside.value.field == "to_agency"
    with pytest.raises(DomainError, match="already runs at jc-mk") as same:
        await w.bus.handle(transfer(pid, to_agency="jc-mk"), ctx(CM_MK))
    assert same.value.field == "to_agency"


async def test_only_the_case_manager_or_a_project_lead_of_the_sending_agency_transfers() -> None:
    w = TransferWorld()
    pid = await w.open_mk_case()
    with pytest.raises(NotFound):  # without a consent naming it, EN does not see the case at all
        await w.bus.handle(transfer(pid), ctx(CM_EN))
    w.consents.exchange[pid] = {"jc-en"}
    with pytest.raises(Forbidden, match="case manager or a project lead"):  # it sees, but cannot pull it
        await w.bus.handle(transfer(pid), ctx(CM_EN))
    with pytest.raises(Forbidden, match="case manager or a project lead"):
        await w.bus.handle(transfer(pid), ctx(PSY_MK))
    r = await w.bus.handle(transfer(pid), ctx(LEAD_MK))
    assert r.body["events"] == [CaseTransferred.event_type]


async def test_the_dates_run_from_the_opening_up_to_today() -> None:
    w = TransferWorld()
    pid = await w.open_mk_case()
    w.consents.exchange[pid] = {"jc-en"}
    for day in (D - timedelta(days=1), D + timedelta(days=1)):
        with pytest.raises(DomainError) as refused:
            await w.bus.handle(transfer(pid, transferred_on=day), ctx(CM_MK))
        assert refused.value.field == "transferred_on"


async def test_the_receiving_case_manager_is_known_staff_there_and_within_the_cap() -> None:
    on_team = [StaffRecord("jc-mk", s, frozenset({r}), frozenset({"pro-aktiv"})) for s, r in MK_STAFF]
    dora = StaffRecord("drv-westfalen", "drv-dora", frozenset({"drv-adviser"}), frozenset({"pro-aktiv"}))
    erik = StaffRecord("jc-en", "cm-erik", frozenset({"case-manager"}), frozenset({"pro-aktiv"}))
    mara_at_en = StaffRecord("jc-en", "cm-mara", frozenset({"psychologist"}), frozenset({"pro-aktiv"}))
    w = TransferWorld(FakeStaff(*on_team, dora, erik, mara_at_en))
    pid = await w.open_mk_case()
    w.consents.exchange[pid] = {"jc-en"}
    with pytest.raises(DomainError, match="not known staff of jc-en") as unknown:
        await w.bus.handle(transfer(pid, to_case_manager="cm-nobody"), ctx(CM_MK))
    assert unknown.value.field == "to_case_manager"
    with pytest.raises(DomainError, match="does not hold the role case-manager"):
        await w.bus.handle(transfer(pid, to_case_manager="cm-mara"), ctx(CM_MK))
    await w.bus.handle(configuration(caseload_cap=2), ctx(ADMIN_EN))
    w.caseloads.active[("pro-aktiv", "cm-erik")] = 2
    with pytest.raises(InvalidTransition, match="caseload cap is 2") as capped:
        await w.bus.handle(transfer(pid), ctx(CM_MK))
    assert capped.value.field == "case_manager"
    assert CaseTransferred.event_type not in w.events(pid)


def test_the_sending_agency_reads_only_the_history_and_has_no_health_access() -> None:
    state = domain.case.fold([])
    opened = domain.open_case(
        state,
        ParticipantEnrolled(
            participant_id=new_id(), project="pro-aktiv", agency="jc-mk", start_date=D, age_band="25-34", sex="male"
        ),
    )
    for e in opened:
        state = domain.evolve(state, e)
    for e in domain.assign_case_manager(state, "cm-mara", D):
        state = domain.evolve(state, e)
    project = domain.project.fold([])
    (moved,) = domain.transfer(state, project, domain.Move("jc-en", "cm-erik", D), {"jc-en"}, D)
    after = domain.evolve(state, moved)
    assert access.gave_away(CM_MK, after)
    assert access.gave_away(AUDITOR_MK, after)
    assert not access.can_see(CM_MK, after, set())
    assert not access.has_health_access(CM_MK, after)
    assert access.can_see(CM_EN, after, set())
    assert access.has_health_access(CM_EN, after)
    # and back again: MK runs it once more, EN gave it away
    (back,) = domain.transfer(after, project, domain.Move("jc-mk", "cm-mara", D), {"jc-mk"}, D)
    again = domain.evolve(after, back)
    assert again.former_agencies == {"jc-en"}
    assert not access.gave_away(CM_MK, again)
    assert access.gave_away(CM_EN, again)


def test_an_exited_case_is_not_transferred() -> None:
    state = domain.case.fold([])
    enrolled = ParticipantEnrolled(
        participant_id=new_id(), project="pro-aktiv", agency="jc-mk", start_date=D, age_band="25-34", sex="male"
    )
    for e in domain.open_case(state, enrolled):
        state = domain.evolve(state, e)
    for e in domain.exit_case(state, D, ExitReason.MOVED_AWAY):
        state = domain.evolve(state, e)
    with pytest.raises(InvalidTransition) as refused:
        domain.transfer(state, domain.project.fold([]), domain.Move("jc-en", "cm-erik", D), {"jc-en"}, D)
    assert refused.value.field == "status"
