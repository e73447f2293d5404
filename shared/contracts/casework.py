"""Events of the casework service (topic ``casework.events``).

Health data stays in casework: diagnoses, findings, report and therapy content and note text
are ``sealed_*`` fields (ciphertext under the participant's casework key). What is in clear
on the topic are codes needed for KPIs (phase, category, exit reason) and the capacity
profile, which is shared only through ``CapacityProfileShared`` under employer-disclosure
consent. Contracts with ``health_data = True`` reveal health information even in their codes:
reporting shows them only as suppressed aggregates.
"""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any, ClassVar, Literal
from uuid import UUID

from pydantic import BaseModel, Field

from shared.contracts.base import (
    AgencyCode,
    Code,
    DomainEvent,
    LegacyClearText,
    Plain,
    ProjectCode,
    Sealed,
    StaffId,
    event,
    registry,
)
from shared.contracts.common import CapacityProfile, EmploymentType, ExitReason, InterventionCategory, Phase
from shared.contracts.placement import SubsidyInstrument


class CaseworkEvent(DomainEvent):
    service: ClassVar[str] = "casework"


@event
class CaseOpened(CaseworkEvent):
    case_id: UUID
    participant_id: UUID
    agency: AgencyCode
    project: ProjectCode
    opened_on: date


@event
class CaseManagerAssigned(CaseworkEvent):
    case_id: UUID
    case_manager: StaffId = Field(description="staff id")
    assigned_on: date
    caseload_cap: int | None = Field(
        default=None, ge=1, description="set only on an override: the project's cap the assignment went beyond"
    )
    caseload: int | None = Field(
        default=None, ge=0, description="set only on an override: the guide's active cases in the project before"
    )
    overridden_by: StaffId | None = Field(default=None, description="set only on an override: the project lead")
    sealed_override_reason: Sealed = Field(default="", description="why the cap was overridden (sealed)")


@event
class TeamMemberAdded(CaseworkEvent):
    case_id: UUID
    member: StaffId
    role: Code
    agency: AgencyCode
    added_on: date


@event
class TeamMemberRemoved(CaseworkEvent):
    case_id: UUID
    member: StaffId
    removed_on: date


@event
class PhaseEntered(CaseworkEvent):
    """A reason is required when a phase is skipped or the case goes back. v2: the reason is
    sealed (it may tell why, e.g. a relapse); v1 events keep theirs in clear in ``reason``."""

    schema_version: ClassVar[int] = 2

    case_id: UUID
    phase: Phase
    entered_on: date
    previous: Phase | None = None
    reason: LegacyClearText | None = Field(default=None, max_length=500)
    sealed_reason: Sealed = ""


@registry.upcaster("PhaseEntered", 1)
def _phase_entered_v1(payload: dict[str, Any]) -> dict[str, Any]:
    return payload  # the v1 reason stays where it was (history is not rewritten); nothing sealed


@event
class PhaseCompleted(CaseworkEvent):
    case_id: UUID
    phase: Phase
    completed_on: date


@event
class ParticipationInterrupted(CaseworkEvent):
    health_data: ClassVar[bool] = True  # e.g. a clinic stay

    case_id: UUID
    interrupted_on: date
    sealed_reason: Sealed = ""


@event
class ParticipationResumed(CaseworkEvent):
    case_id: UUID
    resumed_on: date


@event
class CapacityProfileShared(CaseworkEvent):
    """The capacity profile made available to placement: emitted only while the participant's
    employer-disclosure consent is active, again after every change of the profile."""

    case_id: UUID
    participant_id: UUID
    agency: AgencyCode
    project: ProjectCode
    profile: CapacityProfile
    shared_on: date


@event
class CapacityProfileRetracted(CaseworkEvent):
    """Placement must drop the candidate everywhere (consent withdrawn/expired, exit, erasure)."""

    case_id: UUID
    participant_id: UUID
    retracted_on: date
    reason: Code


@event
class InterventionPlanned(CaseworkEvent):
    """v2: the provider is sealed (a "Suchtberatung" names the condition); v1 events keep
    theirs in clear in ``provider``."""

    health_data: ClassVar[bool] = True
    schema_version: ClassVar[int] = 2

    case_id: UUID
    intervention_id: UUID
    category: InterventionCategory
    provider: LegacyClearText | None = None
    sealed_provider: Sealed = ""
    planned_start: date
    planned_end: date | None = None
    cost_eur: float | None = Field(default=None, ge=0)
    sealed_details: Sealed = ""


@registry.upcaster("InterventionPlanned", 1)
def _intervention_planned_v1(payload: dict[str, Any]) -> dict[str, Any]:
    return payload  # the v1 provider stays in ``provider`` (in clear, as it was recorded)


@event
class InterventionStarted(CaseworkEvent):
    health_data: ClassVar[bool] = True

    case_id: UUID
    intervention_id: UUID
    category: InterventionCategory
    started_on: date


@event
class InterventionCompleted(CaseworkEvent):
    health_data: ClassVar[bool] = True

    case_id: UUID
    intervention_id: UUID
    category: InterventionCategory
    completed_on: date
    cost_eur: float | None = Field(default=None, ge=0)


@event
class InterventionAborted(CaseworkEvent):
    health_data: ClassVar[bool] = True

    case_id: UUID
    intervention_id: UUID
    category: InterventionCategory
    aborted_on: date
    sealed_reason: Sealed = ""


@event
class RehabApplicationFiled(CaseworkEvent):
    health_data: ClassVar[bool] = True

    case_id: UUID
    application_id: UUID
    filed_on: date
    carrier: AgencyCode = Field(description="e.g. drv-westfalen")
    kind: Code = Field(description="medical or vocational (LTA) rehabilitation")


@event
class RehabApplicationDecided(CaseworkEvent):
    health_data: ClassVar[bool] = True

    case_id: UUID
    application_id: UUID
    decided_on: date
    approved: bool
    sealed_reason: Sealed = Field(default="", description="the carrier's reason, e.g. for a rejection (sealed)")
    decided_by: StaffId | None = Field(default=None, description="the DRV adviser who recorded it (DRV carriers)")


@event
class ParticipantExited(CaseworkEvent):
    """Austritt. A disability-pension exit is health data: reporting shows aggregates only."""

    case_id: UUID
    participant_id: UUID
    exited_on: date
    reason: ExitReason
    last_phase: Phase | None = None


@event
class CaseHandedOver(CaseworkEvent):
    """The case moves from one case manager to another; the note travels sealed."""

    case_id: UUID
    from_case_manager: StaffId
    to_case_manager: StaffId
    handed_over_on: date
    sealed_note: Sealed = ""


@event
class AssessmentCompleted(CaseworkEvent):
    """Clearing / Potenzialanalyse. The findings are sealed; ``kind`` is a code."""

    health_data: ClassVar[bool] = True

    case_id: UUID
    assessment_id: UUID
    kind: Code = Field(max_length=60, description="e.g. clearing, potenzialanalyse, psychological, occupational")
    completed_on: date
    assessed_by: StaffId = Field(description="staff id")
    sealed_findings: Sealed = ""


@event
class CapacityProfileRecorded(CaseworkEvent):
    """A new version of the capacity profile (``shared.contracts.common.CapacityProfile``), sealed:
    it leaves casework only as ``CapacityProfileShared`` under employer-disclosure consent."""

    case_id: UUID
    recorded_on: date
    recorded_by: StaffId
    sealed_profile: Sealed


@event
class MedicalReportReceived(CaseworkEvent):
    """A report from a doctor or clinic, received under a medical-release consent."""

    health_data: ClassVar[bool] = True

    case_id: UUID
    report_id: UUID
    received_on: date
    consent_id: UUID | None = Field(default=None, description="the medical-release consent it came under")
    sealed_source: Sealed = ""
    sealed_summary: Sealed = ""


@event
class GoalSet(CaseworkEvent):
    case_id: UUID
    goal_id: UUID
    set_on: date
    target_date: date | None = None
    sealed_text: Sealed = ""


@event
class GoalRevised(CaseworkEvent):
    case_id: UUID
    goal_id: UUID
    revised_on: date
    target_date: date | None = None
    sealed_text: Sealed = ""


@event
class GoalAchieved(CaseworkEvent):
    case_id: UUID
    goal_id: UUID
    achieved_on: date


@event
class GoalDropped(CaseworkEvent):
    case_id: UUID
    goal_id: UUID
    dropped_on: date
    sealed_reason: Sealed = ""


@event
class CooperationPlanUpdated(CaseworkEvent):
    """Kooperationsplan (§ 15 SGB II): agreed steps, not binding, no sanctions attached."""

    case_id: UUID
    updated_on: date
    plan_version: int = Field(ge=1)
    review_on: date | None = None
    participant_agreed: bool = True
    sealed_steps: Sealed = ""


@event
class AppointmentScheduled(CaseworkEvent):
    case_id: UUID
    appointment_id: UUID
    scheduled_for: date
    with_member: StaffId = Field(description="staff id of the team member")
    kind: Annotated[str, Plain("appointment kind from the UI's list, no health details (contract)")] = Field(
        max_length=60, description="e.g. consultation, group, workshop; no health details"
    )


@event
class AppointmentAttended(CaseworkEvent):
    case_id: UUID
    appointment_id: UUID
    attended_on: date


@event
class AppointmentMissed(CaseworkEvent):
    """A missed appointment is recorded to follow up, never as a sanction."""

    case_id: UUID
    appointment_id: UUID
    missed_on: date
    excused: bool = False


@event
class ContactLogged(CaseworkEvent):
    case_id: UUID
    contact_id: UUID
    contacted_on: date
    channel: Code = Field(max_length=30, description="phone, email, letter, visit, video")
    counterpart: Code = Field(max_length=60, description="participant, employer, doctor, agency, relative, other")
    sealed_summary: Sealed = ""


@event
class CaseNoteAdded(CaseworkEvent):
    """A note; ``confidential`` ones are readable only with health access to the case."""

    case_id: UUID
    note_id: UUID
    written_on: date
    author: StaffId
    confidential: bool = False
    sealed_text: Sealed = ""


@event
class CaseEmploymentRecorded(CaseworkEvent):
    """Placement reported a job start: Nachbetreuung becomes the expected next phase."""

    case_id: UUID
    employment_id: UUID
    started_on: date
    employment_type: Code


@event
class CaseEmploymentEndRecorded(CaseworkEvent):
    case_id: UUID
    employment_id: UUID
    ended_on: date


@event
class CaseDataErased(CaseworkEvent):
    """The participant was erased (intake's ParticipantDataErased): casework destroyed its key;
    every projection forgets the person."""

    case_id: UUID
    participant_id: UUID
    erased_on: date


# ------------------------------------------------------------------ rehabilitation with DRV (issue 15 item 10)


@event
class RehabApplicationReceived(CaseworkEvent):
    """The carrier's adviser confirms the application reached them: it leaves the "filed" state."""

    health_data: ClassVar[bool] = True

    case_id: UUID
    application_id: UUID
    received_on: date
    received_by: StaffId = Field(description="the carrier's adviser")


@event
class RehabInformationRequested(CaseworkEvent):
    """The carrier asks the case for more (a report, a form); the case manager answers it."""

    health_data: ClassVar[bool] = True

    case_id: UUID
    application_id: UUID
    request_id: UUID
    requested_on: date
    requested_by: StaffId = Field(description="the carrier's adviser")
    sealed_question: Sealed = Field(default="", description="what the carrier asks for (sealed)")


@event
class RehabInformationProvided(CaseworkEvent):
    """The case manager's answer to one request of the carrier."""

    health_data: ClassVar[bool] = True

    case_id: UUID
    application_id: UUID
    request_id: UUID
    provided_on: date
    provided_by: StaffId = Field(description="the case manager")
    sealed_answer: Sealed = Field(default="", description="the answer (sealed)")


@event
class RehabMeasureStarted(CaseworkEvent):
    """An approved application's measure begins: a medical rehabilitation stay interrupts the
    participation (``ParticipationInterrupted`` in the same append); an LTA measure (vocational)
    runs as a rehabilitative intervention (``intervention_id``, planned and started with it)."""

    health_data: ClassVar[bool] = True

    case_id: UUID
    application_id: UUID
    measure: Code = Field(description="medical-stay or lta")
    started_on: date
    intervention_id: UUID | None = Field(default=None, description="the LTA measure's intervention")


@event
class RehabMeasureEnded(CaseworkEvent):
    """The measure ends: after a stay the participation resumes, an LTA intervention completes."""

    health_data: ClassVar[bool] = True

    case_id: UUID
    application_id: UUID
    ended_on: date


# ------------------------------------------------------------------ projects


class BudgetLine(BaseModel):
    """One line of a project's budget: a year, a category and the amount granted for it."""

    year: int = Field(ge=2000, le=2100, description="calendar year")
    category: Code = Field(description="budget category (casework.domain.projects.BUDGET_CATEGORIES)")
    amount_eur: float = Field(ge=0, le=100_000_000, allow_inf_nan=False, description="EUR granted")


@event
class ProjectConfigured(CaseworkEvent):
    """The whole configuration of a project as its coordinating agency's administrator set it;
    each event replaces the one before (stream ``project-<code>``)."""

    project: ProjectCode
    coordinating_agency: AgencyCode = Field(description="the agency that runs the project and configures it")
    partner_agencies: list[AgencyCode] = Field(description="the other member agencies")
    starts_on: date
    ends_on: date
    participant_target: int = Field(ge=1, description="participants the project plans to enrol over its run")
    budget: list[BudgetLine] = Field(description="EUR per year and category")
    caseload_cap: int | None = Field(default=None, ge=1, description="most active cases per guide; none: no cap")
    info_meeting_required: bool = Field(default=True, description="an information meeting before enrolment")
    configured_on: date


# ------------------------------------------------------------------ case transfer (issue 15, item 8)


@event
class CaseTransferred(CaseworkEvent):
    """The case moves to another agency of its project (a move, a DRV case handed to a
    Jobcenter), with its history: from this event on the case's events carry ``to_agency`` as
    their envelope's agency, and ``to_case_manager`` (staff of ``to_agency``) runs it. Team
    members of ``from_agency`` leave the team with it; an active drv-exchange consent naming
    ``to_agency`` allowed it. The transfer itself is recorded under the
    sending agency (its envelope's agency is ``from_agency``: the sender decided it)."""

    case_id: UUID
    from_agency: AgencyCode = Field(description="the agency that ran the case until the transfer")
    to_agency: AgencyCode = Field(description="the partner agency of the project that runs it from then on")
    project: ProjectCode
    transferred_on: date = Field(description="from this day on the receiving agency runs the case (and counts it)")
    from_case_manager: StaffId | None = Field(default=None, description="the sending agency's case manager, if any")
    to_case_manager: StaffId = Field(description="the receiving agency's case manager (staff id)")
    sealed_reason: Sealed = Field(default="", description="why the case moved (sealed: it may name a move or health)")


# ------------------------------------------------------------------ employment found without placement

EmploymentEndReason = Literal["resigned", "dismissed", "fixed-term-ended", "business-closed", "other"]


@event
class SelfFoundEmploymentRecorded(CaseworkEvent):
    """A job the participant found without placement, recorded by the case manager: counted by
    the same K2 rules as placement's EmploymentStarted (reporting: placement's record wins for
    the same job). No employer identity: who employs the person is not needed to count it.
    ``subsidy``: a § 16e / § 16i SGB II wage subsidy for it (employment subject to social
    insurance only)."""

    case_id: UUID
    participant_id: UUID
    employment_id: UUID
    agency: AgencyCode = Field(description="the agency that runs the case")
    project: ProjectCode
    started_on: date
    type: EmploymentType
    subsidy: SubsidyInstrument | None = Field(default=None, description="§ 16e / § 16i SGB II, if subsidised")
    fully_qualifying: bool = Field(default=False, description="vocational training: leads to a full qualification")
    hours_per_week: float = Field(gt=0, le=60)

    @property
    def subsidised(self) -> bool:
        return self.subsidy is not None


@event
class SelfFoundEmploymentVerified(CaseworkEvent):
    """The 6- or 12-month follow-up of a self-found job (sustainability), by the shared rule
    (``shared.followups``) that placement's EmploymentStatusVerified follows."""

    case_id: UUID
    participant_id: UUID
    employment_id: UUID
    months_after_start: int = Field(description="6 or 12")
    verified_on: date
    still_employed: bool


@event
class SelfFoundEmploymentEnded(CaseworkEvent):
    """A self-found job ended (a reason from a fixed list: no free text that could tell why)."""

    case_id: UUID
    participant_id: UUID
    employment_id: UUID
    ended_on: date
    reason: EmploymentEndReason
