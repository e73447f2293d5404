"""The case aggregate: opened on enrolment, then team, phases, health records, goals, plan,
interventions, rehab applications, appointments, contacts, notes, employment and exit.

Pure: commands are plain functions ``(state, ...) -> events`` that refuse with a DomainError.
Free text arrives here already sealed (the API seals it with the participant's casework key).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from datetime import date
from types import MappingProxyType
from typing import Literal, TypeVar
from uuid import UUID

from shared.contracts.base import DomainEvent
from shared.contracts.casework import (
    AppointmentAttended,
    AppointmentMissed,
    AppointmentScheduled,
    AssessmentCompleted,
    CapacityProfileRecorded,
    CapacityProfileRetracted,
    CapacityProfileShared,
    CaseDataErased,
    CaseEmploymentEndRecorded,
    CaseEmploymentRecorded,
    CaseHandedOver,
    CaseManagerAssigned,
    CaseNoteAdded,
    CaseOpened,
    ContactLogged,
    CooperationPlanUpdated,
    GoalAchieved,
    GoalDropped,
    GoalRevised,
    GoalSet,
    InterventionAborted,
    InterventionCompleted,
    InterventionPlanned,
    InterventionStarted,
    MedicalReportReceived,
    ParticipantExited,
    ParticipationInterrupted,
    ParticipationResumed,
    PhaseCompleted,
    PhaseEntered,
    RehabApplicationDecided,
    RehabApplicationFiled,
    TeamMemberAdded,
    TeamMemberRemoved,
)
from shared.contracts.common import PHASE_ORDER, CapacityProfile, ExitReason, InterventionCategory, Phase
from shared.contracts.intake import ParticipantEnrolled
from shared.domain import Decider, DomainError, InvalidTransition, NotFound
from shared.vocabulary import Role

Status = Literal["none", "open", "interrupted", "exited", "erased"]
K = TypeVar("K")
V = TypeVar("V")

# Roles a team member can have (the case manager is assigned, not added).
TEAM_ROLES = frozenset(
    {
        Role.OCCUPATIONAL_THERAPIST,
        Role.PSYCHOLOGIST,
        Role.FINANCIAL_ADVISER,
        Role.EMPLOYER_ACQUISITION,
        Role.DRV_ADVISER,
        Role.CASE_MANAGER,
    }
)


@dataclass(frozen=True)
class Member:
    role: str
    agency: str


@dataclass(frozen=True)
class Intervention:
    category: InterventionCategory
    status: Literal["planned", "started", "completed", "aborted"]


@dataclass(frozen=True)
class Case:
    case_id: UUID | None = None
    participant_id: UUID | None = None
    agency: str = ""
    project: str = ""
    status: Status = "none"
    opened_on: date | None = None
    phase: Phase | None = None
    phase_since: date | None = None
    interrupted_on: date | None = None
    case_manager: str | None = None
    team: Mapping[str, Member] = field(default_factory=lambda: MappingProxyType({}))
    profile_version: int = 0
    shared_version: int = 0  # profile version placement currently has; 0 = nothing shared
    goals: Mapping[UUID, str] = field(default_factory=lambda: MappingProxyType({}))
    plan_version: int = 0
    interventions: Mapping[UUID, Intervention] = field(default_factory=lambda: MappingProxyType({}))
    rehab_applications: Mapping[UUID, str] = field(default_factory=lambda: MappingProxyType({}))
    appointments: Mapping[UUID, str] = field(default_factory=lambda: MappingProxyType({}))
    employment_id: UUID | None = None
    employed_since: date | None = None
    exited_on: date | None = None
    exit_reason: ExitReason | None = None

    @property
    def expected_next_phase(self) -> Phase | None:
        """With a job started, Nachbetreuung is the next step; otherwise the next in order."""
        if self.phase is None or self.status not in ("open", "interrupted"):
            return None
        if self.employment_id is not None and self.phase is not Phase.NACHBETREUUNG:
            return Phase.NACHBETREUUNG
        i = PHASE_ORDER.index(self.phase)
        if i + 1 < len(PHASE_ORDER) and PHASE_ORDER[i + 1] is not Phase.NACHBETREUUNG:
            return PHASE_ORDER[i + 1]
        return None


def _put(m: Mapping[K, V], key: K, value: V) -> Mapping[K, V]:
    return MappingProxyType({**m, key: value})


def evolve(state: Case, event: DomainEvent) -> Case:
    match event:
        case CaseOpened():
            return replace(
                state,
                case_id=event.case_id,
                participant_id=event.participant_id,
                agency=event.agency,
                project=event.project,
                status="open",
                opened_on=event.opened_on,
            )
        case CaseManagerAssigned():
            return replace(state, case_manager=event.case_manager)
        case CaseHandedOver():
            return replace(state, case_manager=event.to_case_manager)
        case TeamMemberAdded():
            return replace(state, team=_put(state.team, event.member, Member(event.role, event.agency)))
        case TeamMemberRemoved():
            return replace(state, team=MappingProxyType({k: v for k, v in state.team.items() if k != event.member}))
        case PhaseEntered():
            return replace(state, phase=event.phase, phase_since=event.entered_on)
        case ParticipationInterrupted():
            return replace(state, status="interrupted", interrupted_on=event.interrupted_on)
        case ParticipationResumed():
            return replace(state, status="open", interrupted_on=None)
        case CapacityProfileRecorded():
            return replace(state, profile_version=state.profile_version + 1)
        case CapacityProfileShared():
            return replace(state, shared_version=state.profile_version)
        case CapacityProfileRetracted():
            return replace(state, shared_version=0)
        case GoalSet():
            return replace(state, goals=_put(state.goals, event.goal_id, "open"))
        case GoalAchieved():
            return replace(state, goals=_put(state.goals, event.goal_id, "achieved"))
        case GoalDropped():
            return replace(state, goals=_put(state.goals, event.goal_id, "dropped"))
        case CooperationPlanUpdated():
            return replace(state, plan_version=event.plan_version)
        case InterventionPlanned():
            return replace(
                state,
                interventions=_put(state.interventions, event.intervention_id, Intervention(event.category, "planned")),
            )
        case InterventionStarted() | InterventionCompleted() | InterventionAborted():
            status = {"InterventionStarted": "started", "InterventionCompleted": "completed"}.get(
                event.event_type, "aborted"
            )
            old = state.interventions[event.intervention_id]
            return replace(
                state,
                interventions=_put(state.interventions, event.intervention_id, replace(old, status=status)),  # type: ignore[arg-type]
            )
        case RehabApplicationFiled():
            return replace(state, rehab_applications=_put(state.rehab_applications, event.application_id, "filed"))
        case RehabApplicationDecided():
            verdict = "approved" if event.approved else "rejected"
            return replace(state, rehab_applications=_put(state.rehab_applications, event.application_id, verdict))
        case AppointmentScheduled():
            return replace(state, appointments=_put(state.appointments, event.appointment_id, "scheduled"))
        case AppointmentAttended():
            return replace(state, appointments=_put(state.appointments, event.appointment_id, "attended"))
        case AppointmentMissed():
            return replace(state, appointments=_put(state.appointments, event.appointment_id, "missed"))
        case CaseEmploymentRecorded():
            return replace(state, employment_id=event.employment_id, employed_since=event.started_on)
        case CaseEmploymentEndRecorded():
            if state.employment_id == event.employment_id:
                return replace(state, employment_id=None, employed_since=None)
            return state
        case ParticipantExited():
            return replace(state, status="exited", exited_on=event.exited_on, exit_reason=event.reason)
        case CaseDataErased():
            return replace(state, status="erased")
    return state


case = Decider[Case](stream_type="case", initial=Case, evolve=evolve)


def stream_id(participant_id: UUID) -> str:
    """One case per participant and project: the stream is keyed by the participant id."""
    return f"case-{participant_id}"


# ---------------------------------------------------------------- guards


def _known(state: Case) -> UUID:
    if state.status == "none" or state.case_id is None:
        raise NotFound("no such case", field="participant_id")
    if state.status == "erased":
        raise NotFound("the participant's data was erased", field="participant_id")
    return state.case_id


def _active(state: Case) -> UUID:
    """Open or interrupted: records can still be added."""
    cid = _known(state)
    if state.status == "exited":
        raise InvalidTransition("the participant has exited; the case is closed", field="status")
    return cid


def _open(state: Case, what: str) -> UUID:
    cid = _active(state)
    if state.status == "interrupted":
        raise InvalidTransition(f"participation is interrupted: resume it before you {what}", field="status")
    return cid


def _not_before(day: date, since: date | None, field_name: str, what: str) -> None:
    if since is not None and day < since:
        raise DomainError(f"{field_name} cannot be before {what} ({since.isoformat()})", field=field_name)


# ---------------------------------------------------------------- opening, team


def open_case(state: Case, enrolled: ParticipantEnrolled) -> list[DomainEvent]:
    """A case opens on enrolment and enters Einstieg on the start date."""
    if state.status != "none":
        raise InvalidTransition("a case is already open for this participant")
    return [
        CaseOpened(
            case_id=enrolled.participant_id,
            participant_id=enrolled.participant_id,
            agency=enrolled.agency,
            project=enrolled.project,
            opened_on=enrolled.start_date,
        ),
        PhaseEntered(case_id=enrolled.participant_id, phase=Phase.EINSTIEG, entered_on=enrolled.start_date),
    ]


def assign_case_manager(state: Case, member: str, on: date) -> list[DomainEvent]:
    cid = _active(state)
    if state.case_manager is not None:
        raise InvalidTransition(f"{state.case_manager} manages this case: hand it over instead", field="case_manager")
    return [CaseManagerAssigned(case_id=cid, case_manager=member, assigned_on=on)]


def hand_over(state: Case, to: str, on: date, sealed_note: str) -> list[DomainEvent]:
    cid = _active(state)
    if state.case_manager is None:
        raise InvalidTransition("no case manager to hand over from: assign one", field="to_case_manager")
    if state.case_manager == to:
        raise InvalidTransition(f"{to} already manages this case", field="to_case_manager")
    return [
        CaseHandedOver(
            case_id=cid,
            from_case_manager=state.case_manager,
            to_case_manager=to,
            handed_over_on=on,
            sealed_note=sealed_note,
        ),
        CaseManagerAssigned(case_id=cid, case_manager=to, assigned_on=on),
    ]


def add_team_member(state: Case, member: str, role: Role, agency: str, on: date) -> list[DomainEvent]:
    cid = _active(state)
    if role not in TEAM_ROLES:
        raise DomainError(f"{role} is not a case-team role", field="role")
    if member in state.team:
        raise InvalidTransition(f"{member} is already on the team", field="member")
    return [TeamMemberAdded(case_id=cid, member=member, role=role.value, agency=agency, added_on=on)]


def remove_team_member(state: Case, member: str, on: date) -> list[DomainEvent]:
    cid = _known(state)
    if member not in state.team:
        raise NotFound(f"{member} is not on the team", field="member")
    return [TeamMemberRemoved(case_id=cid, member=member, removed_on=on)]


# ---------------------------------------------------------------- phases


def enter_phase(state: Case, target: Phase, on: date, reason: str | None) -> list[DomainEvent]:
    """The phase state machine. Forward by one is the rule; skipping ahead or going back
    one phase needs a reason; Nachbetreuung needs a job start (and then no reason)."""
    cid = _open(state, "change the phase")
    current = state.phase
    assert current is not None
    if target is current:
        raise InvalidTransition(f"the case is already in {current}", field="phase")
    _not_before(on, state.phase_since, "entered_on", f"the start of {current}")
    here, there = PHASE_ORDER.index(current), PHASE_ORDER.index(target)
    if target is Phase.NACHBETREUUNG and there > here:
        if state.employment_id is None:
            raise InvalidTransition(
                "Nachbetreuung is aftercare after a job start; placement has reported no employment", field="phase"
            )
    elif there > here + 1 and not reason:
        skipped = ", ".join(p.value for p in PHASE_ORDER[here + 1 : there])
        raise DomainError(f"skipping {skipped} needs a reason", field="reason")
    elif there < here:
        if there != here - 1:
            raise InvalidTransition(
                f"a case may go back one phase only (from {current} to {PHASE_ORDER[here - 1]})", field="phase"
            )
        if not reason:
            raise DomainError("going back a phase needs a reason", field="reason")
    events: list[DomainEvent] = []
    if there > here:
        events.append(PhaseCompleted(case_id=cid, phase=current, completed_on=on))
    events.append(PhaseEntered(case_id=cid, phase=target, entered_on=on, previous=current, reason=reason or None))
    return events


def interrupt(state: Case, on: date, sealed_reason: str) -> list[DomainEvent]:
    cid = _open(state, "interrupt it again")
    _not_before(on, state.phase_since, "interrupted_on", "the current phase")
    return [ParticipationInterrupted(case_id=cid, interrupted_on=on, sealed_reason=sealed_reason)]


def resume(state: Case, on: date) -> list[DomainEvent]:
    cid = _active(state)
    if state.status != "interrupted":
        raise InvalidTransition("participation is not interrupted", field="status")
    _not_before(on, state.interrupted_on, "resumed_on", "the interruption")
    return [ParticipationResumed(case_id=cid, resumed_on=on)]


def exit_case(state: Case, on: date, reason: ExitReason) -> list[DomainEvent]:
    """Austritt: also retracts a shared capacity profile at once."""
    cid = _active(state)
    assert state.participant_id is not None
    _not_before(on, state.opened_on, "exited_on", "the case opening")
    events: list[DomainEvent] = [
        ParticipantExited(
            case_id=cid, participant_id=state.participant_id, exited_on=on, reason=reason, last_phase=state.phase
        )
    ]
    if state.shared_version:
        events.append(
            CapacityProfileRetracted(case_id=cid, participant_id=state.participant_id, retracted_on=on, reason="exit")
        )
    return events


# ---------------------------------------------------------------- health records, profile


def complete_assessment(
    state: Case, assessment_id: UUID, kind: str, on: date, by: str, sealed_findings: str
) -> list[DomainEvent]:
    cid = _active(state)
    return [
        AssessmentCompleted(
            case_id=cid,
            assessment_id=assessment_id,
            kind=kind,
            completed_on=on,
            assessed_by=by,
            sealed_findings=sealed_findings,
        )
    ]


def record_capacity_profile(state: Case, on: date, by: str, sealed_profile: str) -> list[DomainEvent]:
    cid = _active(state)
    return [CapacityProfileRecorded(case_id=cid, recorded_on=on, recorded_by=by, sealed_profile=sealed_profile)]


def receive_medical_report(
    state: Case, report_id: UUID, on: date, consent_id: UUID | None, sealed_source: str, sealed_summary: str
) -> list[DomainEvent]:
    cid = _active(state)
    return [
        MedicalReportReceived(
            case_id=cid,
            report_id=report_id,
            received_on=on,
            consent_id=consent_id,
            sealed_source=sealed_source,
            sealed_summary=sealed_summary,
        )
    ]


def reconcile_sharing(
    state: Case, *, consent_active: bool, profile: CapacityProfile | None, on: date, reason: str
) -> list[DomainEvent]:
    """What placement should have: the latest profile while employer-disclosure consent is
    active and the case runs; nothing otherwise. Idempotent (state-based), so policies can
    call it on every relevant event and redelivery changes nothing."""
    if state.case_id is None or state.participant_id is None:
        return []
    wanted = consent_active and state.status in ("open", "interrupted") and state.profile_version > 0
    if wanted and profile is not None and state.shared_version != state.profile_version:
        return [
            CapacityProfileShared(
                case_id=state.case_id,
                participant_id=state.participant_id,
                agency=state.agency,
                project=state.project,
                profile=profile,
                shared_on=on,
            )
        ]
    if not wanted and state.shared_version:
        return [
            CapacityProfileRetracted(
                case_id=state.case_id, participant_id=state.participant_id, retracted_on=on, reason=reason
            )
        ]
    return []


# ---------------------------------------------------------------- goals and plan


def set_goal(state: Case, goal_id: UUID, on: date, target_date: date | None, sealed_text: str) -> list[DomainEvent]:
    cid = _active(state)
    if target_date is not None and target_date < on:
        raise DomainError("the target date cannot be before the goal is set", field="target_date")
    return [GoalSet(case_id=cid, goal_id=goal_id, set_on=on, target_date=target_date, sealed_text=sealed_text)]


def _open_goal(state: Case, goal_id: UUID) -> UUID:
    cid = _active(state)
    status = state.goals.get(goal_id)
    if status is None:
        raise NotFound("no such goal", field="goal_id")
    if status != "open":
        raise InvalidTransition(f"the goal is {status}", field="goal_id")
    return cid


def revise_goal(state: Case, goal_id: UUID, on: date, target_date: date | None, sealed_text: str) -> list[DomainEvent]:
    cid = _open_goal(state, goal_id)
    return [GoalRevised(case_id=cid, goal_id=goal_id, revised_on=on, target_date=target_date, sealed_text=sealed_text)]


def achieve_goal(state: Case, goal_id: UUID, on: date) -> list[DomainEvent]:
    return [GoalAchieved(case_id=_open_goal(state, goal_id), goal_id=goal_id, achieved_on=on)]


def drop_goal(state: Case, goal_id: UUID, on: date, sealed_reason: str) -> list[DomainEvent]:
    return [
        GoalDropped(case_id=_open_goal(state, goal_id), goal_id=goal_id, dropped_on=on, sealed_reason=sealed_reason)
    ]


def update_plan(
    state: Case, on: date, review_on: date | None, participant_agreed: bool, sealed_steps: str
) -> list[DomainEvent]:
    """Kooperationsplan: a new version each time; not binding, so nothing else follows from it."""
    cid = _active(state)
    if review_on is not None and review_on < on:
        raise DomainError("the review cannot be before the update", field="review_on")
    return [
        CooperationPlanUpdated(
            case_id=cid,
            updated_on=on,
            plan_version=state.plan_version + 1,
            review_on=review_on,
            participant_agreed=participant_agreed,
            sealed_steps=sealed_steps,
        )
    ]


# ---------------------------------------------------------------- interventions, rehab


def plan_intervention(
    state: Case,
    intervention_id: UUID,
    category: InterventionCategory,
    provider: str,
    planned_start: date,
    planned_end: date | None,
    cost_eur: float | None,
    sealed_details: str,
) -> list[DomainEvent]:
    cid = _active(state)
    if planned_end is not None and planned_end < planned_start:
        raise DomainError("the end cannot be before the start", field="planned_end")
    return [
        InterventionPlanned(
            case_id=cid,
            intervention_id=intervention_id,
            category=category,
            provider=provider,
            planned_start=planned_start,
            planned_end=planned_end,
            cost_eur=cost_eur,
            sealed_details=sealed_details,
        )
    ]


def _intervention(state: Case, intervention_id: UUID, *allowed: str) -> tuple[UUID, Intervention]:
    cid = _active(state)
    iv = state.interventions.get(intervention_id)
    if iv is None:
        raise NotFound("no such intervention", field="intervention_id")
    if iv.status not in allowed:
        raise InvalidTransition(f"the intervention is {iv.status}", field="intervention_id")
    return cid, iv


def start_intervention(state: Case, intervention_id: UUID, on: date) -> list[DomainEvent]:
    cid, iv = _intervention(state, intervention_id, "planned")
    return [InterventionStarted(case_id=cid, intervention_id=intervention_id, category=iv.category, started_on=on)]


def complete_intervention(state: Case, intervention_id: UUID, on: date, cost_eur: float | None) -> list[DomainEvent]:
    cid, iv = _intervention(state, intervention_id, "started")
    return [
        InterventionCompleted(
            case_id=cid, intervention_id=intervention_id, category=iv.category, completed_on=on, cost_eur=cost_eur
        )
    ]


def abort_intervention(state: Case, intervention_id: UUID, on: date, sealed_reason: str) -> list[DomainEvent]:
    cid, iv = _intervention(state, intervention_id, "planned", "started")
    return [
        InterventionAborted(
            case_id=cid,
            intervention_id=intervention_id,
            category=iv.category,
            aborted_on=on,
            sealed_reason=sealed_reason,
        )
    ]


def file_rehab_application(state: Case, application_id: UUID, on: date, carrier: str, kind: str) -> list[DomainEvent]:
    cid = _active(state)
    return [RehabApplicationFiled(case_id=cid, application_id=application_id, filed_on=on, carrier=carrier, kind=kind)]


def decide_rehab_application(state: Case, application_id: UUID, on: date, approved: bool) -> list[DomainEvent]:
    cid = _active(state)
    status = state.rehab_applications.get(application_id)
    if status is None:
        raise NotFound("no such rehab application", field="application_id")
    if status != "filed":
        raise InvalidTransition(f"the application was already {status}", field="application_id")
    return [RehabApplicationDecided(case_id=cid, application_id=application_id, decided_on=on, approved=approved)]


# ---------------------------------------------------------------- appointments, contacts, notes


def schedule_appointment(state: Case, appointment_id: UUID, on: date, with_member: str, kind: str) -> list[DomainEvent]:
    cid = _active(state)
    return [
        AppointmentScheduled(
            case_id=cid, appointment_id=appointment_id, scheduled_for=on, with_member=with_member, kind=kind
        )
    ]


def _scheduled(state: Case, appointment_id: UUID) -> UUID:
    cid = _active(state)
    status = state.appointments.get(appointment_id)
    if status is None:
        raise NotFound("no such appointment", field="appointment_id")
    if status != "scheduled":
        raise InvalidTransition(f"the appointment was already recorded as {status}", field="appointment_id")
    return cid


def record_attendance(state: Case, appointment_id: UUID, on: date, attended: bool, excused: bool) -> list[DomainEvent]:
    """Attended or missed; a missed appointment is never a sanction."""
    cid = _scheduled(state, appointment_id)
    if attended:
        return [AppointmentAttended(case_id=cid, appointment_id=appointment_id, attended_on=on)]
    return [AppointmentMissed(case_id=cid, appointment_id=appointment_id, missed_on=on, excused=excused)]


def log_contact(
    state: Case, contact_id: UUID, on: date, channel: str, counterpart: str, sealed_summary: str
) -> list[DomainEvent]:
    cid = _active(state)
    return [
        ContactLogged(
            case_id=cid,
            contact_id=contact_id,
            contacted_on=on,
            channel=channel,
            counterpart=counterpart,
            sealed_summary=sealed_summary,
        )
    ]


def add_note(
    state: Case, note_id: UUID, on: date, author: str, confidential: bool, sealed_text: str
) -> list[DomainEvent]:
    cid = _active(state)
    return [
        CaseNoteAdded(
            case_id=cid,
            note_id=note_id,
            written_on=on,
            author=author,
            confidential=confidential,
            sealed_text=sealed_text,
        )
    ]


# ---------------------------------------------------------------- employment (from placement), erasure


def record_employment(state: Case, employment_id: UUID, started_on: date, employment_type: str) -> list[DomainEvent]:
    """A job start reported by placement. Nachbetreuung becomes the expected next phase; the
    case manager enters it (no automatic phase change: the case may be interrupted, or the
    start may be a mini-job that the team does not treat as the end of the job search)."""
    if state.status not in ("open", "interrupted") or state.case_id is None or state.employment_id == employment_id:
        return []
    return [
        CaseEmploymentRecorded(
            case_id=state.case_id, employment_id=employment_id, started_on=started_on, employment_type=employment_type
        )
    ]


def record_employment_end(state: Case, employment_id: UUID, ended_on: date) -> list[DomainEvent]:
    if state.case_id is None or state.status == "erased" or state.employment_id != employment_id:
        return []
    return [CaseEmploymentEndRecorded(case_id=state.case_id, employment_id=employment_id, ended_on=ended_on)]


def erase_case(state: Case, on: date) -> list[DomainEvent]:
    """After intake's ParticipantDataErased: retract what placement has, then forget."""
    if state.case_id is None or state.participant_id is None or state.status == "erased":
        return []
    events: list[DomainEvent] = []
    if state.shared_version:
        events.append(
            CapacityProfileRetracted(
                case_id=state.case_id, participant_id=state.participant_id, retracted_on=on, reason="erasure"
            )
        )
    events.append(CaseDataErased(case_id=state.case_id, participant_id=state.participant_id, erased_on=on))
    return events
