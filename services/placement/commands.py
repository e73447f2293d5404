"""Placement's commands. ``<Thing>In`` is the HTTP body; the command adds the ids from the path.
Where there are no path ids the body is the command."""

from __future__ import annotations

from typing import Annotated, Literal
from uuid import UUID

from pydantic import BaseModel, ConfigDict, Field

from shared.bus import Command
from shared.contracts.common import EmploymentType
from shared.contracts.placement import CompanySize, ContactChannel, JobDemands, SubsidyInstrument
from shared.values import BusinessDate, Hours, Name, PlanDate, Text

# --- employers -------------------------------------------------------------------------------


class ContactPerson(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    name: Name = Field(min_length=1, max_length=200)
    position: Name = Field(default="", max_length=200)
    phone: Name = Field(default="", max_length=50)
    email: Name = Field(default="", max_length=200)


class AcquireEmployer(Command):
    company: Name = Field(min_length=1, max_length=200, description="company name")
    sector: Name = Field(min_length=1, max_length=100)
    size: CompanySize = Field(description="micro <10, small <50, medium <250, large 250+ employees")
    region: Name = Field(min_length=1, max_length=100)
    contact_persons: list[ContactPerson] = Field(
        default_factory=list, max_length=20, description="sealed under the employer's own key"
    )
    offers_work_trials: bool = False
    offers_adapted_workplaces: bool = False
    acquired_on: BusinessDate


class ContactIn(Command):
    contacted_on: BusinessDate
    channel: ContactChannel
    topic: Name = Field(min_length=1, max_length=200, description="what it was about, no personal data")
    notes: Text = Field(default="", max_length=2000, description="sealed under the employer's key")
    next_contact_on: PlanDate | None = None


class LogContact(ContactIn):
    employer_id: UUID


class ErasureIn(Command):
    erased_on: BusinessDate = Field(description="the day the contact data is erased")


class EraseContactData(ErasureIn):
    employer_id: UUID


# --- vacancies and production orders ---------------------------------------------------------


class RecordVacancy(Command):
    employer_id: UUID = Field(description="an employer of the caller's agency")
    title: Name = Field(min_length=1, max_length=200)
    tasks: Text = Field(default="", max_length=2000)
    hours_per_week: Hours
    flexible_hours: bool = Field(default=False, description="fewer hours can be agreed")
    demands: JobDemands = Field(description="on the capacity profile's scales")
    possible_adaptations: list[Annotated[Name, Field(max_length=300)]] = Field(default_factory=list, max_length=30)
    positions: int = Field(default=1, ge=1, le=100)
    recorded_on: BusinessDate


class VacancyCloseIn(Command):
    closed_on: BusinessDate
    reason: Literal["filled", "withdrawn-by-employer", "expired", "other"]


class CloseVacancy(VacancyCloseIn):
    vacancy_id: UUID


class AcceptOrder(Command):
    employer_id: UUID = Field(description="an employer of the caller's agency")
    description: Text = Field(min_length=1, max_length=1000)
    quantity: int = Field(ge=1, le=1_000_000)
    accepted_on: BusinessDate
    due_on: PlanDate | None = None


class OrderCompleteIn(Command):
    completed_on: BusinessDate
    delivered_quantity: int = Field(ge=0, le=1_000_000)


class CompleteOrder(OrderCompleteIn):
    order_id: UUID


# --- candidate journey -----------------------------------------------------------------------


class ProposalIn(Command):
    vacancy_id: UUID = Field(description="an open vacancy of the caller's agency or a project partner")
    proposed_on: BusinessDate


class ProposeCandidate(ProposalIn):
    participant_id: UUID


class DeclineIn(Command):
    declined_on: BusinessDate
    by: Literal["employer", "participant"]
    reason: Text = Field(min_length=1, max_length=500, description="non-medical reason")


class DeclineProposal(DeclineIn):
    participant_id: UUID
    proposal_id: UUID


class TrialIn(Command):
    employer_id: UUID
    vacancy_id: UUID | None = Field(default=None, description="one of this employer's vacancies, if any")
    started_on: BusinessDate
    planned_end: PlanDate | None = None


class StartWorkTrial(TrialIn):
    participant_id: UUID


class TrialCompleteIn(Command):
    completed_on: BusinessDate
    outcome: Literal["offer", "suitable", "not-suitable"]


class CompleteWorkTrial(TrialCompleteIn):
    participant_id: UUID
    trial_id: UUID


class TrialAbortIn(Command):
    aborted_on: BusinessDate
    reason: Text = Field(min_length=1, max_length=500, description="non-medical reason")


class AbortWorkTrial(TrialAbortIn):
    participant_id: UUID
    trial_id: UUID


class AdaptationIn(Command):
    employer_id: UUID
    adaptation: Name = Field(min_length=1, max_length=300)
    requested_on: BusinessDate
    funding: Name | None = Field(default=None, max_length=200, description="e.g. LTA, Integrationsamt")


class RequestAdaptation(AdaptationIn):
    participant_id: UUID


class EmploymentIn(Command):
    employer_id: UUID | None = None
    started_on: BusinessDate
    type: EmploymentType
    subsidised: bool = False
    fully_qualifying: bool = Field(default=False, description="vocational training: leads to a full qualification")
    hours_per_week: Hours


class StartEmployment(EmploymentIn):
    participant_id: UUID


class EmploymentEndIn(Command):
    ended_on: BusinessDate
    reason: Text = Field(min_length=1, max_length=500)


class EndEmployment(EmploymentEndIn):
    participant_id: UUID
    employment_id: UUID


class SubsidyIn(Command):
    instrument: SubsidyInstrument = Field(description="§ 16e (up to 24 months) or § 16i SGB II (up to 60)")
    granted_on: BusinessDate
    months: int = Field(ge=1, le=60)
    percent_first_year: int = Field(ge=1, le=100)


class GrantWageSubsidy(SubsidyIn):
    participant_id: UUID
    employment_id: UUID


class AftercareIn(Command):
    started_on: BusinessDate


class StartAftercare(AftercareIn):
    participant_id: UUID
    employment_id: UUID


class AftercareEndIn(Command):
    ended_on: BusinessDate


class EndAftercare(AftercareEndIn):
    participant_id: UUID
    employment_id: UUID


class FollowUpIn(Command):
    months_after_start: Literal[6, 12]
    verified_on: BusinessDate = Field(description="accepted from 14 days before the follow-up is due")
    still_employed: bool


class RecordFollowUp(FollowUpIn):
    participant_id: UUID
    employment_id: UUID


class PlacementAnswer(BaseModel):
    """What a placement command answers: the stream's new version, plus the ids it made."""

    model_config = ConfigDict(extra="allow")

    version: int | None = Field(description="the stream's version (If-Match of the next command)")
