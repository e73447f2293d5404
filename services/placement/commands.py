"""Placement's commands, each declared once: its ids come from the path, the rest is the HTTP
body (``shared.web.command_route`` derives the body model); where there are no path ids the
body is the command. A command's docstring is its route's description."""

from __future__ import annotations

from typing import Annotated, Literal
from uuid import UUID

from pydantic import BaseModel, ConfigDict, Field

from shared.bus import Command
from shared.contracts.common import EmploymentType
from shared.contracts.placement import Attendance, CompanySize, ContactChannel, JobDemands, SubsidyInstrument
from shared.values import BusinessDate, Hours, Name, PlanDate, Text

# --- employers -------------------------------------------------------------------------------


class ContactPerson(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    name: Name = Field(min_length=1, max_length=200)
    position: Name = Field(default="", max_length=200)
    phone: Name = Field(default="", max_length=50)
    email: Name = Field(default="", max_length=200)


class AcquireEmployer(Command):
    """Record a company won for the project; contact persons are sealed under its own key."""

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


class LogContact(Command):
    """Log a contact with an employer of the caller's agency; notes are sealed."""

    employer_id: UUID
    contacted_on: BusinessDate
    channel: ContactChannel
    topic: Name = Field(min_length=1, max_length=200, description="what it was about, no personal data")
    notes: Text = Field(default="", max_length=2000, description="sealed under the employer's key")
    next_contact_on: PlanDate | None = None


class EraseContactData(Command):
    """Destroy the employer's key: contact persons and contact notes become unreadable for good."""

    employer_id: UUID
    erased_on: BusinessDate = Field(description="the day the contact data is erased")


# --- vacancies and production orders ---------------------------------------------------------


class RecordVacancy(Command):
    """Record a vacancy of an employer of the caller's agency."""

    employer_id: UUID = Field(description="an employer of the caller's agency")
    title: Name = Field(min_length=1, max_length=200)
    tasks: Text = Field(default="", max_length=2000)
    hours_per_week: Hours
    flexible_hours: bool = Field(default=False, description="fewer hours can be agreed")
    demands: JobDemands = Field(description="on the capacity profile's scales")
    possible_adaptations: list[Annotated[Name, Field(max_length=300)]] = Field(default_factory=list, max_length=30)
    positions: int = Field(default=1, ge=1, le=100)
    recorded_on: BusinessDate


class CloseVacancy(Command):
    """Close a vacancy of the caller's agency."""

    vacancy_id: UUID
    closed_on: BusinessDate
    reason: Literal["filled", "withdrawn-by-employer", "expired", "other"]


class AcceptOrder(Command):
    """An order taken on for the Produktionswerkstatt."""

    employer_id: UUID = Field(description="an employer of the caller's agency")
    description: Text = Field(min_length=1, max_length=1000)
    quantity: int = Field(ge=1, le=1_000_000)
    accepted_on: BusinessDate
    due_on: PlanDate | None = None


class CompleteOrder(Command):
    """Complete a production order."""

    order_id: UUID
    completed_on: BusinessDate
    delivered_quantity: int = Field(ge=0, le=1_000_000)


# --- the Produktionswerkstatt: participants on production orders -----------------------------


class OnOrderParticipant(Command):
    """A command on one participant of a production order (both from the path)."""

    order_id: UUID = Field(description="the production order (from the path)")
    participant_id: UUID = Field(description="the participant (from the path)")


class AssignToOrder(Command):
    """An enrolled participant of the order's project joins the order (no profile and no
    employer disclosure needed: the order is worked on in-house)."""

    order_id: UUID = Field(description="the production order (from the path)")
    participant_id: UUID = Field(description="an enrolled participant of the order's project (from the path)")
    assigned_on: BusinessDate = Field(description="first day on the order")


class RecordOrderAttendance(OnOrderParticipant):
    """One day on the order: present with the hours worked, excused or absent. A record of the
    day, never a sanction."""

    worked_on: BusinessDate = Field(description="the day")
    attendance: Attendance = Field(description="present, excused or absent")
    hours: float = Field(default=0, ge=0, le=12, allow_inf_nan=False, description="hours worked (0 unless present)")


class ReleaseFromOrder(OnOrderParticipant):
    """The participant no longer works on the order."""

    released_on: BusinessDate = Field(description="last day on the order")


# --- candidate journey -----------------------------------------------------------------------


class OnCandidate(Command):
    """A command on one participant's placement journey."""

    participant_id: UUID


class OnTrial(OnCandidate):
    """A command on one work trial of the participant."""

    trial_id: UUID


class OnEmployment(OnCandidate):
    """A command on one employment of the participant."""

    employment_id: UUID


class ProposeCandidate(OnCandidate):
    """Propose a candidate in the pool to an employer for an open vacancy."""

    vacancy_id: UUID = Field(description="an open vacancy of the caller's agency or a project partner")
    proposed_on: BusinessDate


class DeclineProposal(OnCandidate):
    """The employer or the participant declined a proposal."""

    proposal_id: UUID
    declined_on: BusinessDate
    by: Literal["employer", "participant"]
    reason: Text = Field(min_length=1, max_length=500, description="non-medical reason")


class StartWorkTrial(OnCandidate):
    """Start a work trial (candidates in the pool only)."""

    employer_id: UUID
    vacancy_id: UUID | None = Field(default=None, description="one of this employer's vacancies, if any")
    started_on: BusinessDate
    planned_end: PlanDate | None = None


class CompleteWorkTrial(OnTrial):
    """A work trial ended as planned, with its outcome."""

    completed_on: BusinessDate
    outcome: Literal["offer", "suitable", "not-suitable"]


class AbortWorkTrial(OnTrial):
    """A work trial was broken off."""

    aborted_on: BusinessDate
    reason: Text = Field(min_length=1, max_length=500, description="non-medical reason")


class RequestAdaptation(OnCandidate):
    """A workplace adaptation requested from an employer (candidates in the pool only)."""

    employer_id: UUID
    adaptation: Name = Field(min_length=1, max_length=300)
    requested_on: BusinessDate
    funding: Name | None = Field(default=None, max_length=200, description="e.g. LTA, Integrationsamt")


class StartEmployment(OnCandidate):
    """A job started (casework sees it; reporting counts K2 integrations from it)."""

    employer_id: UUID | None = None
    started_on: BusinessDate
    type: EmploymentType
    subsidised: bool = False
    fully_qualifying: bool = Field(default=False, description="vocational training: leads to a full qualification")
    hours_per_week: Hours


class EndEmployment(OnEmployment):
    """An employment ended."""

    ended_on: BusinessDate
    reason: Text = Field(min_length=1, max_length=500)


class GrantWageSubsidy(OnEmployment):
    """A wage subsidy (§ 16e / § 16i SGB II) granted for an employment."""

    instrument: SubsidyInstrument = Field(description="§ 16e (up to 24 months) or § 16i SGB II (up to 60)")
    granted_on: BusinessDate
    months: int = Field(ge=1, le=60)
    percent_first_year: int = Field(ge=1, le=100)


class StartAftercare(OnEmployment):
    """Aftercare started for an employment."""

    started_on: BusinessDate


class EndAftercare(OnEmployment):
    """Aftercare ended."""

    ended_on: BusinessDate


class RecordFollowUp(OnEmployment):
    """The 6- or 12-month follow-up: still employed or not (sustainability)."""

    months_after_start: Literal[6, 12]
    verified_on: BusinessDate = Field(description="accepted from 14 days before the follow-up is due")
    still_employed: bool


class PlacementAnswer(BaseModel):
    """What a placement command answers: the stream's new version, plus the ids it made."""

    model_config = ConfigDict(extra="allow")

    version: int | None = Field(description="the stream's version (If-Match of the next command)")
