"""Events of the placement service (topic ``placement.events``), Betriebsakquise.

Placement never holds diagnoses; candidates are keyed by participant id and described only
by the capacity profile casework shared under consent. Contact persons of employers are
personal data: sealed per employer.
"""

from __future__ import annotations

from datetime import date
from typing import Any, ClassVar, Literal
from uuid import UUID

from pydantic import BaseModel, ConfigDict, Field

from shared.contracts.base import (
    AgencyCode,
    Code,
    DomainEvent,
    EmployerText,
    LegacyClearText,
    NonMedicalReason,
    ProjectCode,
    Sealed,
    event,
    registry,
)
from shared.contracts.common import CapacityProfile, EmploymentType, Level

CompanySize = Literal["micro", "small", "medium", "large"]  # <10, <50, <250, 250+ employees
ContactChannel = Literal["visit", "phone", "email", "job-fair", "other"]
WithdrawalReason = Literal[
    "profile-retracted", "consent-withdrawn", "consent-expired", "participant-exited", "data-erased"
]
SubsidyInstrument = Literal["16e", "16i"]  # § 16e / § 16i SGB II


class PlacementEvent(DomainEvent):
    service: ClassVar[str] = "placement"


class JobDemands(BaseModel):
    """What a vacancy asks of the worker, on the same scales as the capacity profile, so the
    match can be explained criterion by criterion."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    lifting: Level = Level.LIGHT
    standing: Level = Level.MODERATE
    mental_load: Level = Level.MODERATE
    shift_work: bool = False
    night_work: bool = False
    customer_contact: bool = False


# --- employers -------------------------------------------------------------------------------


@event
class EmployerAcquired(PlacementEvent):
    """A company won for the project. ``sealed_contacts`` (contact persons: names, phone,
    e-mail) is ciphertext under the employer's own key: erasable without touching history."""

    employer_id: UUID
    agency: AgencyCode
    company: EmployerText = Field(min_length=1, max_length=200)
    sector: EmployerText = Field(max_length=100)
    size: CompanySize
    region: EmployerText = Field(max_length=100)
    sealed_contacts: Sealed = ""
    offers_work_trials: bool = False
    offers_adapted_workplaces: bool = False
    acquired_on: date


@event
class EmployerContactLogged(PlacementEvent):
    """One contact with an employer; the notes may name people, so they are sealed."""

    employer_id: UUID
    contact_id: UUID
    contacted_on: date
    channel: ContactChannel
    topic: EmployerText = Field(max_length=200, description="what it was about, no personal data")
    sealed_notes: Sealed = ""
    next_contact_on: date | None = None


@event
class EmployerContactDataErased(PlacementEvent):
    """The employer's key was destroyed: contact persons and contact notes are unreadable."""

    employer_id: UUID
    erased_on: date


# --- vacancies and production orders ---------------------------------------------------------


@event
class VacancyRecorded(PlacementEvent):
    vacancy_id: UUID
    employer_id: UUID
    agency: AgencyCode
    title: EmployerText = Field(min_length=1, max_length=200)
    tasks: EmployerText = Field(default="", max_length=2000)
    hours_per_week: float = Field(gt=0, le=60)
    flexible_hours: bool = Field(default=False, description="fewer hours can be agreed")
    demands: JobDemands
    possible_adaptations: list[EmployerText] = Field(default_factory=list)
    positions: int = Field(default=1, ge=1, le=100)
    recorded_on: date


@event
class VacancyClosed(PlacementEvent):
    vacancy_id: UUID
    closed_on: date
    reason: Literal["filled", "withdrawn-by-employer", "expired", "other"]


@event
class ProductionOrderAccepted(PlacementEvent):
    """A real order taken on for the Produktionswerkstatt (the accompanied work trial in-house)."""

    order_id: UUID
    employer_id: UUID
    agency: AgencyCode
    description: EmployerText = Field(min_length=1, max_length=1000)
    quantity: int = Field(ge=1)
    accepted_on: date
    due_on: date | None = None


@event
class ProductionOrderCompleted(PlacementEvent):
    order_id: UUID
    completed_on: date
    delivered_quantity: int = Field(ge=0)


# --- candidate pool (built only from consented capacity profiles) -----------------------------


@event
class CandidateProfilePublished(PlacementEvent):
    """The participant is in the pool: casework shared the capacity profile under active
    employer-disclosure consent (again after each change of the profile)."""

    participant_id: UUID
    agency: AgencyCode
    project: ProjectCode
    profile: CapacityProfile
    published_on: date


@event
class CandidateProfileWithdrawn(PlacementEvent):
    """Out of the pool at once; the open proposals listed become unusable."""

    participant_id: UUID
    withdrawn_on: date
    reason: WithdrawalReason
    voided_proposals: list[UUID] = Field(default_factory=list)


@event
class CandidateProposed(PlacementEvent):
    proposal_id: UUID
    participant_id: UUID
    vacancy_id: UUID
    employer_id: UUID
    proposed_on: date
    match_score: int | None = Field(default=None, ge=0, le=100)


@event
class ProposalDeclined(PlacementEvent):
    proposal_id: UUID
    participant_id: UUID
    declined_on: date
    by: Literal["employer", "participant"]
    reason: NonMedicalReason = Field(max_length=500, description="non-medical reason")


@event
class WorkplaceAdaptationRequested(PlacementEvent):
    """v2: what the person needs at the workplace is sealed under placement's key for the
    participant (it tells of an impairment; erased with the person); v1 events keep it in clear."""

    schema_version: ClassVar[int] = 2

    request_id: UUID
    participant_id: UUID
    employer_id: UUID
    adaptation: LegacyClearText | None = None
    sealed_adaptation: Sealed = ""
    requested_on: date
    funding: Code | None = Field(default=None, max_length=200, description="e.g. LTA, Integrationsamt")


@registry.upcaster("WorkplaceAdaptationRequested", 1)
def _adaptation_v1(payload: dict[str, Any]) -> dict[str, Any]:
    return payload  # the v1 adaptation stays in ``adaptation``, in clear as recorded


@event
class WageSubsidyGranted(PlacementEvent):
    """§ 16e (Eingliederung von Langzeitarbeitslosen, up to 24 months) or § 16i SGB II
    (Teilhabe am Arbeitsmarkt, up to 60 months)."""

    subsidy_id: UUID
    participant_id: UUID
    employment_id: UUID
    instrument: SubsidyInstrument
    granted_on: date
    months: int = Field(ge=1, le=60)
    percent_first_year: int = Field(ge=1, le=100)


@event
class WorkTrialStarted(PlacementEvent):
    trial_id: UUID
    participant_id: UUID
    employer_id: UUID
    vacancy_id: UUID | None = None
    started_on: date
    planned_end: date | None = None


@event
class WorkTrialCompleted(PlacementEvent):
    trial_id: UUID
    participant_id: UUID
    completed_on: date
    outcome: Code = Field(description="e.g. offer, suitable, not-suitable")


@event
class WorkTrialAborted(PlacementEvent):
    trial_id: UUID
    participant_id: UUID
    aborted_on: date
    reason: NonMedicalReason = Field(max_length=500, description="non-medical reason")


@event
class EmploymentStarted(PlacementEvent):
    """Integration counts by the Jobcenter ratio K2 rules (see reporting)."""

    employment_id: UUID
    participant_id: UUID
    employer_id: UUID | None = None
    agency: AgencyCode
    project: ProjectCode
    started_on: date
    type: EmploymentType
    subsidised: bool = False
    fully_qualifying: bool = Field(default=False, description="vocational training: leads to a full qualification")
    hours_per_week: float = Field(gt=0, le=60)


@event
class EmploymentEnded(PlacementEvent):
    employment_id: UUID
    participant_id: UUID
    ended_on: date
    reason: Code = Field(max_length=500)


@event
class EmploymentStatusVerified(PlacementEvent):
    """Follow-up at 6 or 12 months after the start (sustainability)."""

    employment_id: UUID
    participant_id: UUID
    months_after_start: int = Field(description="6 or 12")
    verified_on: date
    still_employed: bool


@event
class AftercareStarted(PlacementEvent):
    participant_id: UUID
    employment_id: UUID
    started_on: date


@event
class AftercareEnded(PlacementEvent):
    participant_id: UUID
    employment_id: UUID
    ended_on: date


# --- the Produktionswerkstatt: participants on production orders ------------------------------

Attendance = Literal["present", "excused", "absent"]  # a record of the day, never a sanction


@event
class ProductionOrderParticipantAssigned(PlacementEvent):
    """An enrolled participant works on an in-house production order (stream of the order).
    No profile, no employer disclosure: the order stays in the workshop. ``agency``: the agency
    that runs the participant's case (a partner of the order's agency in the project)."""

    order_id: UUID
    participant_id: UUID
    agency: AgencyCode = Field(description="the agency that runs the participant's case")
    assigned_on: date


@event
class ProductionOrderAttendanceRecorded(PlacementEvent):
    """One day of a participant on an order: present (with the hours worked), excused or absent.
    Attendance is recorded, never sanctioned."""

    order_id: UUID
    participant_id: UUID
    worked_on: date
    attendance: Attendance
    hours: float = Field(ge=0, le=12, description="hours worked that day (0 unless present)")


@event
class ProductionOrderParticipantReleased(PlacementEvent):
    """The participant no longer works on the order (the order went on or was done)."""

    order_id: UUID
    participant_id: UUID
    released_on: date
