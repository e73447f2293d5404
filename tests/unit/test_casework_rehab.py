"""Rehabilitation as a workflow shared with DRV (issue 15 item 10): the domain's steps and how
the case reacts (a medical stay interrupts and resumes it, an LTA measure is an intervention),
the access rules, and the handlers' consent check on the in-memory unit of work."""

from __future__ import annotations

from datetime import timedelta
from uuid import UUID

import pytest

from services.casework import access
from services.casework import domain as cw
from services.casework.commands import (
    AddTeamMember,
    AnswerRehabRequest,
    AssignCaseManager,
    DecideRehabApplication,
    EndRehabMeasure,
    FileRehabApplication,
    ReceiveRehabApplication,
    RequestRehabInformation,
    StartRehabMeasure,
)
from shared.contracts.casework import (
    InterventionCompleted,
    InterventionPlanned,
    InterventionStarted,
    ParticipationInterrupted,
    ParticipationResumed,
    RehabApplicationDecided,
    RehabApplicationReceived,
    RehabInformationProvided,
    RehabInformationRequested,
    RehabMeasureEnded,
    RehabMeasureStarted,
)
from shared.contracts.common import InterventionCategory
from shared.domain import Forbidden, InvalidTransition, NotFound
from shared.envelope import new_id
from shared.principal import Principal
from shared.vocabulary import Role
from tests.unit.test_casework_handlers import CM, DRV, World, ctx
from tests.unit.test_casework_rules import D, Story

DRV_OTHER_ROLE = Principal("drv-ot", Role.OCCUPATIONAL_THERAPIST, "drv-westfalen")
MK_DRV = Principal("mk-drv", Role.DRV_ADVISER, "jc-mk")


def filed(kind: str = "medical") -> tuple[Story, UUID]:
    s = Story()
    app = new_id()
    s.do(cw.file_rehab_application, app, s.next_day(), "drv-westfalen", kind)
    return s, app


# ------------------------------------------------------------------ domain


def test_receipt_request_answer_then_decision_with_reason() -> None:
    s, app = filed()
    with pytest.raises(InvalidTransition):  # a request needs the receipt first
        s.do(cw.request_information, app, new_id(), s.next_day(), "drv-dora", "q")
    [received] = s.do(cw.receive, app, s.next_day(), "drv-dora")
    assert isinstance(received, RehabApplicationReceived)
    assert s.state.rehab_applications[app] == "received"
    with pytest.raises(InvalidTransition):  # received once
        s.do(cw.receive, app, s.next_day(), "drv-dora")
    rid = new_id()
    [asked] = s.do(cw.request_information, app, rid, s.next_day(), "drv-dora", "sealed:q")
    assert isinstance(asked, RehabInformationRequested)
    assert s.state.rehab[app].open_requests == {rid}
    with pytest.raises(NotFound) as unknown:
        s.do(cw.provide_information, app, new_id(), s.next_day(), "cm-1", "a")
    assert unknown.value.field == "request_id"
    [answered] = s.do(cw.provide_information, app, rid, s.next_day(), "cm-1", "sealed:a")
    assert isinstance(answered, RehabInformationProvided)
    assert s.state.rehab[app].open_requests == frozenset()
    [decided] = s.do(cw.decide_rehab_application, app, s.next_day(), False, "sealed:why", "drv-dora")
    assert isinstance(decided, RehabApplicationDecided)
    assert (decided.approved, decided.sealed_reason, decided.decided_by) == (False, "sealed:why", "drv-dora")
    with pytest.raises(InvalidTransition):  # a rejected application has no measure
        s.do(cw.start_measure, app, s.next_day(), new_id(), "", None)


def test_receipt_cannot_precede_the_filing() -> None:
    s, app = filed()
    with pytest.raises(Exception) as err:
        s.do(cw.receive, app, s.day - timedelta(days=1), "drv-dora")
    assert getattr(err.value, "field", None) == "received_on"


def test_a_medical_stay_interrupts_the_case_and_its_end_resumes_it() -> None:
    s, app = filed("medical")
    s.do(cw.decide_rehab_application, app, s.next_day(), True)
    start = s.next_day()
    started, interrupted = s.do(cw.start_measure, app, start, new_id(), "", None)
    assert isinstance(started, RehabMeasureStarted)
    assert started.measure == "medical-stay"
    assert started.intervention_id is None
    assert isinstance(interrupted, ParticipationInterrupted)
    assert interrupted.interrupted_on == start
    during = s.state
    assert during.status == "interrupted"
    end = s.next_day()
    ended, resumed = s.do(cw.end_measure, app, end, None)
    assert isinstance(ended, RehabMeasureEnded)
    assert isinstance(resumed, ParticipationResumed)
    assert resumed.resumed_on == end
    after = s.state
    assert after.status == "open"
    assert s.state.rehab_applications[app] == "completed"


def test_a_stay_is_refused_while_the_case_is_already_interrupted() -> None:
    s, app = filed("medical")
    s.do(cw.decide_rehab_application, app, s.next_day(), True)
    s.do(cw.interrupt, s.next_day(), "")
    with pytest.raises(InvalidTransition, match="interrupted"):
        s.do(cw.start_measure, app, s.next_day(), new_id(), "", None)


def test_an_lta_measure_is_a_rehabilitative_intervention() -> None:
    s, app = filed("vocational")
    s.do(cw.decide_rehab_application, app, s.next_day(), True)
    iv = new_id()
    started, planned, running = s.do(cw.start_measure, app, s.next_day(), iv, "sealed:BFW", 9000.0)
    assert isinstance(started, RehabMeasureStarted)
    assert started.measure == "lta"
    assert started.intervention_id == iv
    assert isinstance(planned, InterventionPlanned)
    assert planned.category is InterventionCategory.REHABILITATIVE
    assert planned.sealed_provider == "sealed:BFW"
    assert planned.cost_eur == 9000.0
    assert isinstance(running, InterventionStarted)
    assert s.state.status == "open"  # an LTA measure does not interrupt
    ended, completed = s.do(cw.end_measure, app, s.next_day(), 8500.0)
    assert isinstance(ended, RehabMeasureEnded)
    assert isinstance(completed, InterventionCompleted)
    assert completed.cost_eur == 8500.0
    assert s.state.interventions[iv].status == "completed"


def test_consent_is_needed_for_a_drv_carrier_only() -> None:
    with pytest.raises(InvalidTransition, match="drv-exchange") as err:
        cw.require_exchange_consent("drv-westfalen", set())
    assert err.value.field == "consent"
    cw.require_exchange_consent("drv-westfalen", {"drv-westfalen"})
    cw.require_exchange_consent("bg-etem", set())  # another carrier: no drv-exchange needed


def test_access_carrier_steps_are_the_drv_advisers_of_that_agency() -> None:
    s, app = filed()
    case = s.state
    access.require_carrier(DRV, case, app)
    for other in (DRV_OTHER_ROLE, MK_DRV, CM):
        with pytest.raises(Forbidden):
            access.require_carrier(other, case, app)
    with pytest.raises(Forbidden):
        access.require_drv_adviser(MK_DRV)  # a DRV adviser role outside a DRV agency
    with pytest.raises(Forbidden):  # a DRV carrier's decision is not the case's health roles'
        access.require_decider(CM, case, app)


# ------------------------------------------------------------------ handlers


async def _case_with_application(w: World, kind: str = "medical") -> tuple[UUID, UUID]:
    pid = await w.open_case()
    await w.bus.handle(AssignCaseManager(participant_id=pid, case_manager="cm-anna", assigned_on=D), ctx(CM))
    w.consents.exchange[pid] = {"drv-westfalen"}
    r = await w.bus.handle(
        FileRehabApplication(participant_id=pid, filed_on=D, carrier="drv-westfalen", kind=kind),
        ctx(CM),
    )
    return pid, UUID(r.body["application_id"])


async def test_filing_to_drv_without_drv_exchange_is_409_and_writes_nothing() -> None:
    w = World()
    pid = await w.open_case()
    await w.bus.handle(AssignCaseManager(participant_id=pid, case_manager="cm-anna", assigned_on=D), ctx(CM))
    before = w.events(pid)
    with pytest.raises(InvalidTransition, match="drv-exchange") as err:
        await w.bus.handle(
            FileRehabApplication(participant_id=pid, filed_on=D, carrier="drv-westfalen", kind="medical"), ctx(CM)
        )
    assert err.value.field == "consent"
    assert w.events(pid) == before


async def test_the_whole_workflow_through_the_bus() -> None:
    w = World()
    pid, app = await _case_with_application(w)
    on = {"participant_id": pid, "application_id": app}
    with pytest.raises(Forbidden):  # the case manager does not record the carrier's receipt
        await w.bus.handle(ReceiveRehabApplication(**on, received_on=D), ctx(CM))
    await w.bus.handle(ReceiveRehabApplication(**on, received_on=D), ctx(DRV))
    asked = await w.bus.handle(RequestRehabInformation(**on, requested_on=D, question="Befundbericht?"), ctx(DRV))
    rid = UUID(asked.body["request_id"])
    with pytest.raises(Forbidden):  # the answer is the case manager's
        await w.bus.handle(AnswerRehabRequest(**on, request_id=rid, answered_on=D, answer="x"), ctx(DRV))
    await w.bus.handle(AnswerRehabRequest(**on, request_id=rid, answered_on=D, answer="attached"), ctx(CM))
    decided = await w.bus.handle(DecideRehabApplication(**on, decided_on=D, approved=True, reason="ok"), ctx(DRV))
    assert decided.body["events"] == ["RehabApplicationDecided"]
    stored = w.store.streams[cw.stream_id(pid)][-1].payload
    assert stored["sealed_reason"] == "sealed:ok"
    assert stored["decided_by"] == "drv-dora"
    r = await w.bus.handle(StartRehabMeasure(**on, started_on=D + timedelta(days=7)), ctx(DRV))
    assert r.body["events"] == ["RehabMeasureStarted", "ParticipationInterrupted"]
    assert r.body["status"] == "interrupted"
    r = await w.bus.handle(EndRehabMeasure(**on, ended_on=D + timedelta(days=28)), ctx(DRV))
    assert r.body["events"] == ["RehabMeasureEnded", "ParticipationResumed"]
    assert r.body["status"] == "open"


async def test_without_the_consent_drv_is_told_so_and_nothing_is_written() -> None:
    w = World()
    pid, app = await _case_with_application(w)
    on = {"participant_id": pid, "application_id": app}
    await w.bus.handle(ReceiveRehabApplication(**on, received_on=D), ctx(DRV))
    asked = await w.bus.handle(RequestRehabInformation(**on, requested_on=D, question="Befund?"), ctx(DRV))
    w.consents.exchange[pid] = set()  # withdrawn
    before = w.events(pid)
    with pytest.raises(InvalidTransition, match="drv-exchange") as err:
        await w.bus.handle(DecideRehabApplication(**on, decided_on=D, approved=True), ctx(DRV))
    assert err.value.field == "consent"
    rid = UUID(asked.body["request_id"])
    with pytest.raises(InvalidTransition, match="drv-exchange"):  # nor does the case manager answer DRV
        await w.bus.handle(AnswerRehabRequest(**on, request_id=rid, answered_on=D, answer="x"), ctx(CM))
    assert w.events(pid) == before


async def test_a_drv_adviser_of_the_team_still_decides_another_carriers_application_as_health_role() -> None:
    w = World()
    pid = await w.open_case()
    await w.bus.handle(AssignCaseManager(participant_id=pid, case_manager="cm-anna", assigned_on=D), ctx(CM))
    r = await w.bus.handle(
        FileRehabApplication(participant_id=pid, filed_on=D, carrier="bg-etem", kind="vocational"), ctx(CM)
    )
    app = UUID(r.body["application_id"])
    w.consents.exchange[pid] = {"drv-westfalen"}
    await w.bus.handle(
        AddTeamMember(participant_id=pid, member="drv-dora", role=Role.DRV_ADVISER, agency="drv-westfalen", added_on=D),
        ctx(CM),
    )
    with pytest.raises(Forbidden):  # not DRV's application: no carrier step
        await w.bus.handle(ReceiveRehabApplication(participant_id=pid, application_id=app, received_on=D), ctx(DRV))
    decided = await w.bus.handle(
        DecideRehabApplication(participant_id=pid, application_id=app, decided_on=D, approved=False), ctx(CM)
    )
    assert decided.body["events"] == ["RehabApplicationDecided"]
