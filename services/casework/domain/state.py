"""The case aggregate's state, how its events fold into it, and the guards its commands share.

One case per participant: a case's id *is* its participant's id. The contracts keep their
``case_id`` field (recorded events are never edited), but it always equals ``participant_id``,
and code treats the case's id as the participant id (the stream is ``case-<participant_id>``).
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
    CapacityProfileRecorded,
    CapacityProfileRetracted,
    CapacityProfileShared,
    CaseDataErased,
    CaseEmploymentEndRecorded,
    CaseEmploymentRecorded,
    CaseHandedOver,
    CaseManagerAssigned,
    CaseOpened,
    CooperationPlanUpdated,
    GoalAchieved,
    GoalDropped,
    GoalSet,
    InterventionAborted,
    InterventionCompleted,
    InterventionPlanned,
    InterventionStarted,
    ParticipantExited,
    ParticipationInterrupted,
    ParticipationResumed,
    PhaseEntered,
    RehabApplicationDecided,
    RehabApplicationFiled,
    TeamMemberAdded,
    TeamMemberRemoved,
)
from shared.contracts.common import PHASE_ORDER, ExitReason, InterventionCategory, Phase
from shared.domain import Decider, DomainError, InvalidTransition, NotFound
from shared.vocabulary import Role

Status = Literal["none", "open", "interrupted", "exited", "erased"]
InterventionStatus = Literal["planned", "started", "completed", "aborted"]
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
    status: InterventionStatus


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


def _intervention_now(state: Case, intervention_id: UUID, status: InterventionStatus) -> Case:
    old = state.interventions[intervention_id]
    return replace(state, interventions=_put(state.interventions, intervention_id, replace(old, status=status)))


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
        case InterventionStarted():
            return _intervention_now(state, event.intervention_id, "started")
        case InterventionCompleted():
            return _intervention_now(state, event.intervention_id, "completed")
        case InterventionAborted():
            return _intervention_now(state, event.intervention_id, "aborted")
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
    """One case per participant: the stream is keyed by the participant id (= the case id)."""
    return f"case-{participant_id}"


# ---------------------------------------------------------------- guards


def require_known(state: Case) -> UUID:
    if state.status == "none" or state.case_id is None:
        raise NotFound("no such case", field="participant_id")
    if state.status == "erased":
        raise NotFound("the participant's data was erased", field="participant_id")
    return state.case_id


def require_active(state: Case) -> UUID:
    """Open or interrupted: records can still be added."""
    cid = require_known(state)
    if state.status == "exited" and state.exit_reason is ExitReason.CONSENT_WITHDRAWN:
        raise InvalidTransition("participation consent was withdrawn: the case takes no new content", field="consent")
    if state.status == "exited":
        raise InvalidTransition("the participant has exited; the case is closed", field="status")
    return cid


def require_open(state: Case, what: str) -> UUID:
    cid = require_active(state)
    if state.status == "interrupted":
        raise InvalidTransition(f"participation is interrupted: resume it before you {what}", field="status")
    return cid


def not_before(day: date, since: date | None, field_name: str, what: str) -> None:
    if since is not None and day < since:
        raise DomainError(f"{field_name} cannot be before {what} ({since.isoformat()})", field=field_name)
