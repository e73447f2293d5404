"""Casework's rules, in memory: the phase state machine, interruption, exit, sharing the
capacity profile, employment, erasure, and who may see and do what."""

from __future__ import annotations

from datetime import date, timedelta

import pytest

from services.casework import access
from services.casework import domain as cw
from shared.contracts.base import DomainEvent
from shared.contracts.casework import CapacityProfileRetracted, CapacityProfileShared, CaseDataErased
from shared.contracts.common import CapacityProfile, ExitReason, InterventionCategory, Level, Phase
from shared.contracts.intake import ParticipantEnrolled
from shared.domain import DomainError, Forbidden, InvalidTransition, NotFound
from shared.envelope import new_id
from shared.principal import Principal
from shared.vocabulary import Role

D = date(2026, 3, 2)
PROFILE = CapacityProfile(max_hours_per_week=20, lifting=Level.LIGHT, mental_load=Level.MODERATE)


class Story:
    """Applies commands to a case and keeps its events."""

    def __init__(self, agency: str = "jc-en") -> None:
        pid = new_id()
        enrolled = ParticipantEnrolled(
            participant_id=pid, project="pro-aktiv", agency=agency, start_date=D, age_band="25-34", sex="male"
        )
        self.events: list[DomainEvent] = list(cw.open_case(cw.case.initial(), enrolled))
        self.day = D

    @property
    def state(self) -> cw.Case:
        return cw.case.fold(self.events)

    def do(self, command: object, *args: object, **kwargs: object) -> list[DomainEvent]:
        new = command(self.state, *args, **kwargs)  # type: ignore[operator]
        self.events += new
        return new  # type: ignore[no-any-return]

    def next_day(self) -> date:
        self.day += timedelta(days=7)
        return self.day


def test_forward_one_phase_completes_the_previous() -> None:
    s = Story()
    completed, entered = s.do(cw.enter_phase, Phase.CLEARING, s.next_day(), None)
    assert completed.phase == Phase.EINSTIEG  # type: ignore[attr-defined]
    assert entered.previous == Phase.EINSTIEG  # type: ignore[attr-defined]
    assert s.state.phase is Phase.CLEARING


def test_skip_needs_a_reason_and_back_only_one() -> None:
    s = Story()
    with pytest.raises(DomainError) as err:
        s.do(cw.enter_phase, Phase.STABILISIERUNG, s.next_day(), None)
    assert err.value.field == "reason"
    s.do(cw.enter_phase, Phase.PRODUKTIONSWERKSTATT, s.next_day(), "stable already, clearing done elsewhere")
    with pytest.raises(InvalidTransition):
        s.do(cw.enter_phase, Phase.CLEARING, s.next_day(), "too far")
    with pytest.raises(DomainError) as err:
        s.do(cw.enter_phase, Phase.STABILISIERUNG, s.next_day(), None)
    assert err.value.field == "reason"
    back = s.do(cw.enter_phase, Phase.STABILISIERUNG, s.next_day(), "relapse")
    assert len(back) == 1  # going back completes nothing


def test_same_phase_earlier_date_and_interruption_are_refused() -> None:
    s = Story()
    with pytest.raises(InvalidTransition):
        s.do(cw.enter_phase, Phase.EINSTIEG, s.next_day(), None)
    with pytest.raises(DomainError) as err:
        s.do(cw.enter_phase, Phase.CLEARING, D - timedelta(days=1), None)
    assert err.value.field == "entered_on"
    s.do(cw.interrupt, s.next_day(), "sealed")
    with pytest.raises(InvalidTransition):
        s.do(cw.enter_phase, Phase.CLEARING, s.next_day(), None)
    with pytest.raises(InvalidTransition):
        s.do(cw.interrupt, s.next_day(), "sealed")
    s.do(cw.resume, s.next_day())
    s.do(cw.enter_phase, Phase.CLEARING, s.next_day(), None)


def test_nachbetreuung_only_after_a_job_start() -> None:
    s = Story()
    s.do(cw.enter_phase, Phase.STELLENSUCHE, s.next_day(), "ready for the labour market")
    with pytest.raises(InvalidTransition):
        s.do(cw.enter_phase, Phase.NACHBETREUUNG, s.next_day(), None)
    job = new_id()
    s.do(cw.record_employment, job, s.next_day(), "social-insurance")
    assert s.do(cw.record_employment, job, s.day, "social-insurance") == []  # redelivery
    assert s.state.expected_next_phase is Phase.NACHBETREUUNG
    s.do(cw.enter_phase, Phase.NACHBETREUUNG, s.next_day(), None)
    s.do(cw.record_employment_end, job, s.next_day())
    assert s.state.employment_id is None
    s.do(cw.enter_phase, Phase.STELLENSUCHE, s.next_day(), "job ended in probation")


def test_sharing_follows_consent_and_exit_retracts() -> None:
    s = Story()
    assert s.do(cw.reconcile_sharing, consent_active=True, profile=None, on=D, reason="x") == []  # no profile yet
    s.do(cw.record_capacity_profile, s.next_day(), "ot-1", "sealed")
    assert s.do(cw.reconcile_sharing, consent_active=False, profile=PROFILE, on=D, reason="x") == []
    [shared] = s.do(cw.reconcile_sharing, consent_active=True, profile=PROFILE, on=D, reason="x")
    assert isinstance(shared, CapacityProfileShared)
    assert s.do(cw.reconcile_sharing, consent_active=True, profile=PROFILE, on=D, reason="x") == []  # idempotent
    s.do(cw.record_capacity_profile, s.next_day(), "ot-1", "sealed-v2")
    assert len(s.do(cw.reconcile_sharing, consent_active=True, profile=PROFILE, on=D, reason="x")) == 1  # new version
    exited, retracted = s.do(cw.exit_case, s.next_day(), ExitReason.INTEGRATED)
    assert exited.event_type == "ParticipantExited"
    assert isinstance(retracted, CapacityProfileRetracted)
    assert retracted.reason == "exit"
    assert s.do(cw.reconcile_sharing, consent_active=True, profile=PROFILE, on=D, reason="x") == []
    with pytest.raises(InvalidTransition):
        s.do(cw.add_note, new_id(), s.next_day(), "cm", False, "late")


def test_erasure_retracts_and_forgets() -> None:
    s = Story()
    s.do(cw.record_capacity_profile, s.next_day(), "ot-1", "sealed")
    s.do(cw.reconcile_sharing, consent_active=True, profile=PROFILE, on=D, reason="x")
    retracted, erased = s.do(cw.erase_case, s.next_day())
    assert isinstance(retracted, CapacityProfileRetracted)
    assert isinstance(erased, CaseDataErased)
    assert s.state.status == "erased"
    assert s.do(cw.erase_case, s.next_day()) == []


def test_goals_appointments_interventions_follow_their_lifecycles() -> None:
    s = Story()
    goal = new_id()
    s.do(cw.set_goal, goal, s.next_day(), None, "t")
    s.do(cw.achieve_goal, goal, s.next_day())
    with pytest.raises(InvalidTransition):
        s.do(cw.drop_goal, goal, s.next_day(), "")
    appt = new_id()
    s.do(cw.schedule_appointment, appt, s.next_day(), "cm-1", "consultation")
    [missed] = s.do(cw.record_attendance, appt, s.day, False, True)
    assert missed.event_type == "AppointmentMissed"
    with pytest.raises(InvalidTransition):
        s.do(cw.record_attendance, appt, s.day, True, False)
    iv = new_id()
    s.do(cw.plan_intervention, iv, InterventionCategory.DEBT_COUNSELLING, "Caritas", s.next_day(), None, 300.0, "")
    with pytest.raises(InvalidTransition):
        s.do(cw.complete_intervention, iv, s.next_day(), None)
    s.do(cw.start_intervention, iv, s.next_day())
    s.do(cw.complete_intervention, iv, s.next_day(), 280.0)
    assert s.state.interventions[iv].status == "completed"
    app = new_id()
    s.do(cw.file_rehab_application, app, s.next_day(), "drv-westfalen", "vocational")
    s.do(cw.decide_rehab_application, app, s.next_day(), False)
    with pytest.raises(InvalidTransition):
        s.do(cw.decide_rehab_application, app, s.next_day(), True)


def test_hand_over_and_team() -> None:
    s = Story()
    with pytest.raises(InvalidTransition):
        s.do(cw.hand_over, "cm-2", s.next_day(), "")
    s.do(cw.assign_case_manager, "cm-1", s.next_day())
    with pytest.raises(InvalidTransition):
        s.do(cw.assign_case_manager, "cm-2", s.next_day())
    s.do(cw.hand_over, "cm-2", s.next_day(), "note")
    assert s.state.case_manager == "cm-2"
    with pytest.raises(DomainError) as err:
        s.do(cw.add_team_member, "x", Role.AUDITOR, "jc-en", s.next_day())
    assert err.value.field == "role"
    s.do(cw.add_team_member, "psy-1", Role.PSYCHOLOGIST, "jc-en", s.next_day())
    with pytest.raises(InvalidTransition):
        s.do(cw.add_team_member, "psy-1", Role.PSYCHOLOGIST, "jc-en", s.next_day())


# ------------------------------------------------------------------ access rules, per role


def staffed() -> cw.Case:
    s = Story()
    s.do(cw.assign_case_manager, "cm-1", s.next_day())
    s.do(cw.add_team_member, "psy-1", Role.PSYCHOLOGIST, "jc-en", s.next_day())
    s.do(cw.add_team_member, "fin-1", Role.FINANCIAL_ADVISER, "jc-en", s.next_day())
    s.do(cw.add_team_member, "drv-1", Role.DRV_ADVISER, "drv-westfalen", s.next_day())
    return s.state


@pytest.mark.parametrize(
    ("role", "agency", "subject", "exchange", "see", "health", "manage", "team"),
    [
        (Role.CASE_MANAGER, "jc-en", "cm-1", (), True, True, True, True),
        (Role.CASE_MANAGER, "jc-en", "cm-9", (), True, False, False, False),
        (Role.PSYCHOLOGIST, "jc-en", "psy-1", (), True, True, False, True),
        (Role.PSYCHOLOGIST, "jc-en", "psy-9", (), True, False, False, False),
        (Role.FINANCIAL_ADVISER, "jc-en", "fin-1", (), True, False, False, True),
        (Role.EMPLOYER_ACQUISITION, "jc-en", "eao-9", (), True, False, False, False),
        (Role.PROJECT_LEAD, "jc-en", "lead", (), True, False, True, False),
        (Role.AUDITOR, "jc-en", "aud", (), True, False, False, False),
        (Role.DATA_PROTECTION_OFFICER, "jc-en", "dpo", (), True, False, False, False),
        (Role.ADMINISTRATOR, "jc-en", "admin", (), False, False, False, False),
        (Role.DRV_ADVISER, "drv-westfalen", "drv-1", ("drv-westfalen",), True, True, False, True),
        (Role.DRV_ADVISER, "drv-westfalen", "drv-1", (), False, True, False, True),  # seeing needs the consent
        (Role.CASE_MANAGER, "jc-mk", "cm-1", (), False, False, False, False),  # same id, other agency
        (Role.PROJECT_LEAD, "jc-mk", "lead", (), False, False, False, False),
        (Role.CASE_MANAGER, "jc-unna", "cm-u", ("drv-westfalen",), False, False, False, False),
    ],
)
def test_access_matrix(
    role: Role,
    agency: str,
    subject: str,
    exchange: tuple[str, ...],
    see: bool,
    health: bool,
    manage: bool,
    team: bool,
) -> None:
    case = staffed()
    p = Principal(subject=subject, role=role, agency=agency)
    assert access.can_see(p, case, exchange) is see
    if see:
        access.require_see(p, case, exchange)
    else:  # a role that reads no cases: 403; another agency: "no such case" (existence is confidential)
        with pytest.raises(Forbidden if role not in access.CASE_READERS else NotFound):
            access.require_see(p, case, exchange)
    assert access.has_health_access(p, case) is health

    def allowed(check: access.Authorize) -> bool:
        try:
            check(p, case)
        except Forbidden:
            return False
        return True

    assert allowed(access.require_manage) is manage
    assert allowed(access.require_team) is team


def test_any_case_manager_of_the_agency_may_take_an_unassigned_case() -> None:
    case = Story().state
    access.require_manage(Principal("cm-7", Role.CASE_MANAGER, "jc-en"), case)
    with pytest.raises(Forbidden):
        access.require_manage(Principal("cm-7", Role.CASE_MANAGER, "jc-mk"), case)


def test_a_scope_names_a_doctor_by_whole_words() -> None:
    from shared.consent import names

    assert names("Dr. Weber, Hagen", "Dr. Weber")
    assert names("Dr. Weber, Hagen", "dr weber")
    assert not names("Dr. Webermann, Hagen", "Dr. Weber")
    assert not names("Klinik Hagen", "Dr. Weber")
    assert not names("Dr. Weber", "")
    assert not names(None, "Dr. Weber")
