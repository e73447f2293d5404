"""The case aggregate's state, how its events fold into it, and the guards its commands share.

One case per participant: a case's id *is* its participant's id. The contracts keep their
``case_id`` field (recorded events are never edited), but it always equals ``participant_id``,
and code treats the case's id as the participant id (the stream is ``case-<participant_id>``).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from datetime import date
from types import MappingProxyType
from typing import Literal, TypeVar
from uuid import UUID

from shared import guards
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
    CaseTransferred,
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
    RehabApplicationReceived,
    RehabInformationProvided,
    RehabInformationRequested,
    RehabMeasureEnded,
    RehabMeasureStarted,
    SelfFoundEmploymentEnded,
    SelfFoundEmploymentRecorded,
    SelfFoundEmploymentVerified,
    TeamMemberAdded,
    TeamMemberRemoved,
)
from shared.contracts.common import PHASE_ORDER, ExitReason, InterventionCategory, Phase
from shared.domain import Decider, InvalidTransition
from shared.evolvers import Evolver
from shared.guards import found, require_existing
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
class RehabFile:
    """What the case knows of one rehab application beyond its status: where it went, which
    kind, since when, the carrier's open requests and the measure it led to."""

    carrier: str
    kind: str
    filed_on: date
    open_requests: frozenset[UUID] = frozenset()
    measure: str | None = None
    intervention_id: UUID | None = None


@dataclass(frozen=True)
class Transfer:
    """The case moved from one agency of its project to another on ``on``."""

    from_agency: str
    to_agency: str
    on: date


@dataclass(frozen=True)
class OwnJob:
    """A job the participant found without placement (recorded on the case)."""

    started_on: date
    ended_on: date | None = None
    verified: frozenset[int] = frozenset()


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
    rehab: Mapping[UUID, RehabFile] = field(default_factory=lambda: MappingProxyType({}))
    appointments: Mapping[UUID, str] = field(default_factory=lambda: MappingProxyType({}))
    employment_id: UUID | None = None
    employed_since: date | None = None
    own_jobs: Mapping[UUID, OwnJob] = field(default_factory=lambda: MappingProxyType({}))
    exited_on: date | None = None
    exit_reason: ExitReason | None = None
    transfers: tuple[Transfer, ...] = ()

    @property
    def former_agencies(self) -> frozenset[str]:
        """Agencies that ran the case before and gave it away (the one running it excluded)."""
        return frozenset(t.from_agency for t in self.transfers) - {self.agency}

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


evolve = Evolver[Case]()
"""How a case takes each of its events (one small function per event class)."""

# Events that only move one goal, appointment or intervention to a status.
GOAL_STATUS: Mapping[type[DomainEvent], str] = {GoalSet: "open", GoalAchieved: "achieved", GoalDropped: "dropped"}
APPOINTMENT_STATUS: Mapping[type[DomainEvent], str] = {
    AppointmentScheduled: "scheduled",
    AppointmentAttended: "attended",
    AppointmentMissed: "missed",
}
INTERVENTION_STATUS: Mapping[type[DomainEvent], InterventionStatus] = {
    InterventionStarted: "started",
    InterventionCompleted: "completed",
    InterventionAborted: "aborted",
}

evolve.takes(CaseOpened, "case_id", "participant_id", "agency", "project", "opened_on", status="open")
evolve.takes(CaseManagerAssigned, "case_manager")
evolve.takes(CooperationPlanUpdated, "plan_version")
evolve.sets(ParticipationResumed, status="open", interrupted_on=None)
evolve.sets(CapacityProfileRetracted, shared_version=0)
evolve.sets(CaseDataErased, status="erased")


@evolve.on(CaseHandedOver)
def _handed_over(state: Case, e: CaseHandedOver) -> Case:
    return replace(state, case_manager=e.to_case_manager)


@evolve.on(CaseTransferred)
def _transferred(state: Case, e: CaseTransferred) -> Case:
    """The receiving agency runs the case; the sending agency's team members leave with it."""
    team = MappingProxyType({k: v for k, v in state.team.items() if v.agency != e.from_agency})
    moved = Transfer(e.from_agency, e.to_agency, e.transferred_on)
    return replace(
        state, agency=e.to_agency, case_manager=e.to_case_manager, team=team, transfers=(*state.transfers, moved)
    )


@evolve.on(TeamMemberAdded)
def _member_added(state: Case, e: TeamMemberAdded) -> Case:
    return replace(state, team=_put(state.team, e.member, Member(e.role, e.agency)))


@evolve.on(TeamMemberRemoved)
def _member_removed(state: Case, e: TeamMemberRemoved) -> Case:
    return replace(state, team=MappingProxyType({k: v for k, v in state.team.items() if k != e.member}))


@evolve.on(PhaseEntered)
def _phase_entered(state: Case, e: PhaseEntered) -> Case:
    return replace(state, phase=e.phase, phase_since=e.entered_on)


@evolve.on(ParticipationInterrupted)
def _interrupted(state: Case, e: ParticipationInterrupted) -> Case:
    return replace(state, status="interrupted", interrupted_on=e.interrupted_on)


@evolve.on(CapacityProfileRecorded)
def _profile_recorded(state: Case, e: CapacityProfileRecorded) -> Case:
    return replace(state, profile_version=state.profile_version + 1)


@evolve.on(CapacityProfileShared)
def _profile_shared(state: Case, e: CapacityProfileShared) -> Case:
    return replace(state, shared_version=state.profile_version)


@evolve.on(*GOAL_STATUS)
def _goal(state: Case, e: GoalSet | GoalAchieved | GoalDropped) -> Case:
    return replace(state, goals=_put(state.goals, e.goal_id, GOAL_STATUS[type(e)]))


@evolve.on(InterventionPlanned)
def _intervention_planned(state: Case, e: InterventionPlanned) -> Case:
    planned = Intervention(e.category, "planned")
    return replace(state, interventions=_put(state.interventions, e.intervention_id, planned))


@evolve.on(*INTERVENTION_STATUS)
def _intervention(state: Case, e: InterventionStarted | InterventionCompleted | InterventionAborted) -> Case:
    now = replace(state.interventions[e.intervention_id], status=INTERVENTION_STATUS[type(e)])
    return replace(state, interventions=_put(state.interventions, e.intervention_id, now))


@evolve.on(RehabApplicationFiled)
def _rehab_filed(state: Case, e: RehabApplicationFiled) -> Case:
    filed = RehabFile(carrier=e.carrier, kind=e.kind, filed_on=e.filed_on)
    return replace(
        state,
        rehab_applications=_put(state.rehab_applications, e.application_id, "filed"),
        rehab=_put(state.rehab, e.application_id, filed),
    )


def _rehab_status(state: Case, application_id: UUID, status: str) -> Case:
    return replace(state, rehab_applications=_put(state.rehab_applications, application_id, status))


def _rehab_file(state: Case, application_id: UUID, **changes: object) -> Case:
    """The file with ``changes`` (a v1 application decided without one stays without)."""
    current = state.rehab.get(application_id)
    if current is None:
        return state
    return replace(state, rehab=_put(state.rehab, application_id, replace(current, **changes)))  # type: ignore[arg-type]


@evolve.on(RehabApplicationDecided)
def _rehab_decided(state: Case, e: RehabApplicationDecided) -> Case:
    return _rehab_status(state, e.application_id, "approved" if e.approved else "rejected")


@evolve.on(RehabApplicationReceived)
def _rehab_received(state: Case, e: RehabApplicationReceived) -> Case:
    return _rehab_status(state, e.application_id, "received")


@evolve.on(RehabInformationRequested, RehabInformationProvided)
def _rehab_request(state: Case, e: RehabInformationRequested | RehabInformationProvided) -> Case:
    current = state.rehab.get(e.application_id)
    if current is None:
        return state
    asked = isinstance(e, RehabInformationRequested)
    requests = current.open_requests | {e.request_id} if asked else current.open_requests - {e.request_id}
    return _rehab_file(state, e.application_id, open_requests=requests)


@evolve.on(RehabMeasureStarted)
def _rehab_measure_started(state: Case, e: RehabMeasureStarted) -> Case:
    state = _rehab_status(state, e.application_id, "in-measure")
    return _rehab_file(state, e.application_id, measure=e.measure, intervention_id=e.intervention_id)


@evolve.on(RehabMeasureEnded)
def _rehab_measure_ended(state: Case, e: RehabMeasureEnded) -> Case:
    return _rehab_status(state, e.application_id, "completed")


@evolve.on(*APPOINTMENT_STATUS)
def _appointment(state: Case, e: AppointmentScheduled | AppointmentAttended | AppointmentMissed) -> Case:
    return replace(state, appointments=_put(state.appointments, e.appointment_id, APPOINTMENT_STATUS[type(e)]))


@evolve.on(CaseEmploymentRecorded)
def _employment_recorded(state: Case, e: CaseEmploymentRecorded) -> Case:
    return replace(state, employment_id=e.employment_id, employed_since=e.started_on)


@evolve.on(CaseEmploymentEndRecorded)
def _employment_ended(state: Case, e: CaseEmploymentEndRecorded) -> Case:
    """Only the job the case knows ends (an end reported for an older one changes nothing)."""
    if state.employment_id != e.employment_id:
        return state
    return replace(state, employment_id=None, employed_since=None)


@evolve.on(SelfFoundEmploymentRecorded)
def _own_job_recorded(state: Case, e: SelfFoundEmploymentRecorded) -> Case:
    """Like a job placement reports: Nachbetreuung becomes the expected next phase."""
    job = OwnJob(e.started_on)
    return replace(
        state,
        own_jobs=_put(state.own_jobs, e.employment_id, job),
        employment_id=e.employment_id,
        employed_since=e.started_on,
    )


@evolve.on(SelfFoundEmploymentVerified)
def _own_job_verified(state: Case, e: SelfFoundEmploymentVerified) -> Case:
    job = state.own_jobs[e.employment_id]
    checked = replace(job, verified=job.verified | {e.months_after_start})
    return replace(state, own_jobs=_put(state.own_jobs, e.employment_id, checked))


@evolve.on(SelfFoundEmploymentEnded)
def _own_job_ended(state: Case, e: SelfFoundEmploymentEnded) -> Case:
    ended = _put(state.own_jobs, e.employment_id, replace(state.own_jobs[e.employment_id], ended_on=e.ended_on))
    if state.employment_id != e.employment_id:
        return replace(state, own_jobs=ended)
    return replace(state, own_jobs=ended, employment_id=None, employed_since=None)


@evolve.on(ParticipantExited)
def _exited(state: Case, e: ParticipantExited) -> Case:
    return replace(state, status="exited", exited_on=e.exited_on, exit_reason=e.reason)


case = Decider[Case](stream_type="case", initial=Case, evolve=evolve)


def stream_id(participant_id: UUID) -> str:
    """One case per participant: the stream is keyed by the participant id (= the case id)."""
    return f"case-{participant_id}"


# ---------------------------------------------------------------- guards


def require_known(state: Case) -> UUID:
    return require_existing(state.case_id, state.status, what="case", field="participant_id")


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


@dataclass(frozen=True)
class RecordKind:
    """A kind of record a case keeps by id with a status (an appointment, a goal, a rehab
    application), and how a command naming one that is missing or past that step is refused."""

    what: str
    field: str
    refusal: str  # why not, with ``{}`` for the record's status
    statuses: Callable[[Case], Mapping[UUID, str]]

    def require(self, state: Case, record_id: UUID, status: str) -> UUID:
        """The case's id, if the case is active and the record exists in ``status``."""
        cid = require_active(state)
        current = found(self.statuses(state), record_id, what=self.what, field=self.field)
        if current != status:
            raise InvalidTransition(self.refusal.format(current), field=self.field)
        return cid


APPOINTMENTS = RecordKind(
    "appointment", "appointment_id", "the appointment was already recorded as {}", lambda c: c.appointments
)
GOALS = RecordKind("goal", "goal_id", "the goal is {}", lambda c: c.goals)
REHAB_APPLICATIONS = RecordKind(
    "rehab application", "application_id", "the application was already {}", lambda c: c.rehab_applications
)


def not_before(day: date, since: date | None, field_name: str, what: str) -> None:
    """The case's dates run forward; the message names the date it may not precede."""
    guards.not_before(day, since, f"{field_name} cannot be before {what} ({since})", field=field_name)
