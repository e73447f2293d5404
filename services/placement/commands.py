"""Placement's commands. ``<Thing>In`` is the HTTP body; the command adds the ids from the path.
Where there are no path ids the body is the command."""

from __future__ import annotations

from datetime import date
from typing import Literal
from uuid import UUID

from pydantic import BaseModel, ConfigDict, Field

from shared.bus import Command
from shared.contracts.common import EmploymentType
from shared.contracts.placement import CompanySize, ContactChannel, JobDemands, SubsidyInstrument

# --- employers -------------------------------------------------------------------------------


class ContactPerson(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str = Field(min_length=1, max_length=200)
    position: str = Field(default="", max_length=200)
    phone: str = Field(default="", max_length=50)
    email: str = Field(default="", max_length=200)


class AcquireEmployer(Command):
    company: str = Field(min_length=1, max_length=200, description="company name")
    sector: str = Field(min_length=1, max_length=100)
    size: CompanySize = Field(description="micro <10, small <50, medium <250, large 250+ employees")
    region: str = Field(min_length=1, max_length=100)
    contact_persons: list[ContactPerson] = Field(
        default_factory=list, max_length=20, description="sealed under the employer's own key"
    )
    offers_work_trials: bool = False
    offers_adapted_workplaces: bool = False
    acquired_on: date


class ContactIn(Command):
    contacted_on: date
    channel: ContactChannel
    topic: str = Field(min_length=1, max_length=200, description="what it was about, no personal data")
    notes: str = Field(default="", max_length=2000, description="sealed under the employer's key")
    next_contact_on: date | None = None


class LogContact(ContactIn):
    employer_id: UUID


class ErasureIn(Command):
    erased_on: date = Field(description="the day the contact data is erased")


class EraseContactData(ErasureIn):
    employer_id: UUID


# --- vacancies and production orders ---------------------------------------------------------


class RecordVacancy(Command):
    employer_id: UUID = Field(description="an employer of the caller's agency")
    title: str = Field(min_length=1, max_length=200)
    tasks: str = Field(default="", max_length=2000)
    hours_per_week: float = Field(gt=0, le=60)
    flexible_hours: bool = Field(default=False, description="fewer hours can be agreed")
    demands: JobDemands = Field(description="on the capacity profile's scales")
    possible_adaptations: list[str] = Field(default_factory=list, max_length=30)
    positions: int = Field(default=1, ge=1, le=100)
    recorded_on: date


class VacancyCloseIn(Command):
    closed_on: date
    reason: Literal["filled", "withdrawn-by-employer", "expired", "other"]


class CloseVacancy(VacancyCloseIn):
    vacancy_id: UUID


class AcceptOrder(Command):
    employer_id: UUID = Field(description="an employer of the caller's agency")
    description: str = Field(min_length=1, max_length=1000)
    quantity: int = Field(ge=1, le=1_000_000)
    accepted_on: date
    due_on: date | None = None


class OrderCompleteIn(Command):
    completed_on: date
    delivered_quantity: int = Field(ge=0, le=1_000_000)


class CompleteOrder(OrderCompleteIn):
    order_id: UUID


# --- candidate journey -----------------------------------------------------------------------


class ProposalIn(Command):
    vacancy_id: UUID = Field(description="an open vacancy of the caller's agency or a project partner")
    proposed_on: date


class ProposeCandidate(ProposalIn):
    participant_id: UUID


class DeclineIn(Command):
    declined_on: date
    by: Literal["employer", "participant"]
    reason: str = Field(min_length=1, max_length=500, description="non-medical reason")


class DeclineProposal(DeclineIn):
    participant_id: UUID
    proposal_id: UUID


class TrialIn(Command):
    employer_id: UUID
    vacancy_id: UUID | None = Field(default=None, description="one of this employer's vacancies, if any")
    started_on: date
    planned_end: date | None = None


class StartWorkTrial(TrialIn):
    participant_id: UUID


class TrialCompleteIn(Command):
    completed_on: date
    outcome: Literal["offer", "suitable", "not-suitable"]


class CompleteWorkTrial(TrialCompleteIn):
    participant_id: UUID
    trial_id: UUID


class TrialAbortIn(Command):
    aborted_on: date
    reason: str = Field(min_length=1, max_length=500, description="non-medical reason")


class AbortWorkTrial(TrialAbortIn):
    participant_id: UUID
    trial_id: UUID


class AdaptationIn(Command):
    employer_id: UUID
    adaptation: str = Field(min_length=1, max_length=300)
    requested_on: date
    funding: str | None = Field(default=None, max_length=200, description="e.g. LTA, Integrationsamt")


class RequestAdaptation(AdaptationIn):
    participant_id: UUID


class EmploymentIn(Command):
    employer_id: UUID | None = None
    started_on: date
    type: EmploymentType
    subsidised: bool = False
    fully_qualifying: bool = Field(default=False, description="vocational training: leads to a full qualification")
    hours_per_week: float = Field(gt=0, le=60)


class StartEmployment(EmploymentIn):
    participant_id: UUID


class EmploymentEndIn(Command):
    ended_on: date
    reason: str = Field(min_length=1, max_length=500)


class EndEmployment(EmploymentEndIn):
    participant_id: UUID
    employment_id: UUID


class SubsidyIn(Command):
    instrument: SubsidyInstrument = Field(description="§ 16e (up to 24 months) or § 16i SGB II (up to 60)")
    granted_on: date
    months: int = Field(ge=1, le=60)
    percent_first_year: int = Field(ge=1, le=100)


class GrantWageSubsidy(SubsidyIn):
    participant_id: UUID
    employment_id: UUID


class AftercareIn(Command):
    started_on: date


class StartAftercare(AftercareIn):
    participant_id: UUID
    employment_id: UUID


class AftercareEndIn(Command):
    ended_on: date


class EndAftercare(AftercareEndIn):
    participant_id: UUID
    employment_id: UUID


class FollowUpIn(Command):
    months_after_start: Literal[6, 12]
    verified_on: date = Field(description="accepted from 14 days before the follow-up is due")
    still_employed: bool


class RecordFollowUp(FollowUpIn):
    participant_id: UUID
    employment_id: UUID
