"""Casework's commands, each declared once: its ids come from the path, the rest is the HTTP
body (``shared.web.command_route`` derives the body model). Free text fields are sealed with the
participant's casework key by the handler before they reach an event."""

from __future__ import annotations

from typing import Annotated, Literal
from uuid import UUID

from pydantic import BaseModel, ConfigDict, Field

from shared.bus import Command
from shared.contracts.casework import EmploymentEndReason
from shared.contracts.common import CapacityProfile, EmploymentType, ExitReason, InterventionCategory, Phase
from shared.contracts.placement import SubsidyInstrument
from shared.values import BusinessDate, Hours, Money, Name, PlanDate, Text
from shared.vocabulary import Role

ContactChannel = Literal["phone", "email", "letter", "visit", "video", "in-person"]
Counterpart = Literal["participant", "employer", "doctor", "clinic", "agency", "relative", "provider", "other"]


class OnCase(Command):
    """A command on one case (the case's id is its participant's id)."""

    participant_id: UUID = Field(description="the participant (and so the case)")


class OnGoal(OnCase):
    """A command on one goal of the case."""

    goal_id: UUID = Field(description="the goal (from the path)")


class OnIntervention(OnCase):
    """A command on one intervention of the case."""

    intervention_id: UUID = Field(description="the intervention (from the path)")


# ------------------------------------------------------------------ team


CapOverrideReason = Annotated[
    Text | None,
    Field(
        default=None,
        min_length=1,
        max_length=2000,
        description="the project lead's reason to go beyond the project's caseload cap (sealed, recorded on the event)",
    ),
]


class AssignCaseManager(OnCase):
    """Refused (409, naming the cap) when the guide already carries the project's caseload cap,
    unless the project lead gives ``cap_override_reason``."""

    case_manager: Name = Field(min_length=1, max_length=200, description="staff id")
    assigned_on: BusinessDate = Field(description="day of the assignment")
    cap_override_reason: CapOverrideReason = None


class HandOverCase(OnCase):
    """Hand-over between case managers (the note is sealed); the new case manager is held to the
    project's caseload cap like an assignment."""

    to_case_manager: Name = Field(min_length=1, max_length=200, description="staff id of the new case manager")
    handed_over_on: BusinessDate = Field(description="day of the hand-over")
    note: Text = Field(default="", max_length=4000, description="hand-over note (sealed)")
    cap_override_reason: CapOverrideReason = None


class AddTeamMember(OnCase):
    member: Name = Field(min_length=1, max_length=200, description="staff id")
    role: Role = Field(description="the member's role on the team")
    agency: Name | None = Field(default=None, max_length=60, description="the member's agency (default: the case's)")
    added_on: BusinessDate = Field(description="day the member joins")


class RemoveTeamMember(OnCase):
    member: Name = Field(max_length=200, description="staff id of the member (from the path)")
    removed_on: BusinessDate = Field(description="day the member leaves")


# ------------------------------------------------------------------ journey


class EnterPhase(OnCase):
    """Phase transition: next in order; skip or back one with a reason; Nachbetreuung after a job."""

    phase: Phase = Field(description="the phase to enter")
    entered_on: BusinessDate = Field(description="first day in the phase")
    reason: Text | None = Field(default=None, max_length=500, description="required to skip or go back")


class InterruptParticipation(OnCase):
    interrupted_on: BusinessDate = Field(description="first day of the interruption")
    reason: Text = Field(default="", max_length=2000, description="e.g. clinic stay (health data, sealed)")


class ResumeParticipation(OnCase):
    resumed_on: BusinessDate = Field(description="day participation resumes")


class ExitCase(OnCase):
    """Austritt with a reason; a shared capacity profile is retracted with it."""

    exited_on: BusinessDate = Field(description="day of the exit (Austritt)")
    reason: ExitReason = Field(description="why the participant leaves")


# ------------------------------------------------------------------ health records and profile


class CompleteAssessment(OnCase):
    kind: Name = Field(min_length=1, max_length=60, description="kind of assessment")
    completed_on: BusinessDate = Field(description="day it was completed")
    findings: Text = Field(default="", max_length=8000, description="findings (health data, sealed)")


class RecordCapacityProfile(OnCase):
    """What the person can do at work, no diagnoses. Goes to placement only under consent."""

    recorded_on: BusinessDate = Field(description="day of the profile")
    profile: CapacityProfile = Field(description="what the person can do at work (no diagnoses; sealed)")


class ReceiveMedicalReport(OnCase):
    received_on: BusinessDate = Field(description="day the report came in")
    consent_id: UUID | None = Field(default=None, description="medical-release consent it came under")
    source: Name = Field(min_length=1, max_length=300, description="doctor or clinic (sealed)")
    summary: Text = Field(default="", max_length=8000, description="summary (health data, sealed)")


# ------------------------------------------------------------------ goals and plan


class SetGoal(OnCase):
    set_on: BusinessDate = Field(description="day the goal is set")
    text: Text = Field(min_length=1, max_length=1000, description="the goal (sealed)")
    target_date: PlanDate | None = Field(default=None, description="when it should be reached")


class ReviseGoal(OnGoal):
    revised_on: BusinessDate = Field(description="day of the revision")
    text: Text = Field(min_length=1, max_length=1000, description="the revised goal (sealed)")
    target_date: PlanDate | None = Field(default=None, description="when it should be reached")


class AchieveGoal(OnGoal):
    achieved_on: BusinessDate = Field(description="day the goal was reached")


class DropGoal(OnGoal):
    dropped_on: BusinessDate = Field(description="day the goal was dropped")
    reason: Text = Field(default="", max_length=1000, description="why (sealed)")


class UpdateCooperationPlan(OnCase):
    """Kooperationsplan (§ 15 SGB II): agreed steps; not binding, no sanctions."""

    updated_on: BusinessDate = Field(description="day of this plan version")
    steps: list[Annotated[Text, Field(max_length=1000)]] = Field(
        min_length=1, max_length=50, description="agreed steps (sealed)"
    )
    review_on: PlanDate | None = Field(default=None, description="when to review the plan")
    participant_agreed: bool = Field(default=True, description="the participant agrees with it")


# ------------------------------------------------------------------ interventions and rehab


class PlanIntervention(OnCase):
    category: InterventionCategory = Field(description="employment promotion is teamwork; the rest is health data")
    provider: Name = Field(min_length=1, max_length=200, description="who provides it")
    planned_start: BusinessDate = Field(description="planned first day")
    planned_end: PlanDate | None = Field(default=None, description="planned last day")
    cost_eur: Money | None = Field(default=None, description="planned cost")
    details: Text = Field(default="", max_length=4000, description="details (sealed)")


class StartIntervention(OnIntervention):
    started_on: BusinessDate = Field(description="first day of the intervention")


class CompleteIntervention(OnIntervention):
    completed_on: BusinessDate = Field(description="last day of the intervention")
    cost_eur: Money | None = Field(default=None, description="actual cost")


class AbortIntervention(OnIntervention):
    aborted_on: BusinessDate = Field(description="day it was aborted")
    reason: Text = Field(default="", max_length=2000, description="why (sealed)")


class FileRehabApplication(OnCase):
    filed_on: BusinessDate = Field(description="day it was filed")
    carrier: Name = Field(min_length=1, max_length=60, description="rehabilitation carrier it went to")
    kind: Literal["medical", "vocational"] = Field(description="medical or vocational rehabilitation")


class OnRehabApplication(OnCase):
    """A command on one rehab application of the case."""

    application_id: UUID = Field(description="the application (from the path)")


class DecideRehabApplication(OnRehabApplication):
    """For an application to a DRV carrier, the DRV adviser of that carrier records it (under
    the participant's drv-exchange consent); for another carrier, the case's health roles."""

    decided_on: BusinessDate = Field(description="day of the carrier's decision")
    approved: bool = Field(description="approved or rejected")
    reason: Text = Field(default="", max_length=4000, description="the carrier's reason, e.g. for a rejection (sealed)")


class ReceiveRehabApplication(OnRehabApplication):
    """DRV's adviser records that the application reached the carrier."""

    received_on: BusinessDate = Field(description="day the carrier received it")


class RequestRehabInformation(OnRehabApplication):
    """DRV's adviser asks the case for more (a report, a form); the case manager answers."""

    requested_on: BusinessDate = Field(description="day of the request")
    question: Text = Field(min_length=1, max_length=4000, description="what the carrier asks for (sealed)")


class AnswerRehabRequest(OnRehabApplication):
    """The case manager's answer to one of the carrier's requests."""

    request_id: UUID = Field(description="the carrier's request (from the path)")
    answered_on: BusinessDate = Field(description="day of the answer")
    answer: Text = Field(min_length=1, max_length=8000, description="the answer (sealed)")


class StartRehabMeasure(OnRehabApplication):
    """An approved application's measure begins: a medical stay interrupts the participation,
    an LTA measure (vocational) is planned and started as a rehabilitative intervention."""

    started_on: BusinessDate = Field(description="first day of the measure")
    provider: Text = Field(default="", max_length=300, description="clinic or LTA provider (sealed)")
    cost_eur: Money | None = Field(default=None, description="planned cost of an LTA measure")


class EndRehabMeasure(OnRehabApplication):
    """The measure ends: the participation resumes after a stay, the LTA intervention completes."""

    ended_on: BusinessDate = Field(description="last day of the measure")
    cost_eur: Money | None = Field(default=None, description="actual cost of an LTA measure")


# ------------------------------------------------------------------ appointments, contacts, notes


class ScheduleAppointment(OnCase):
    scheduled_for: BusinessDate = Field(description="day of the appointment")
    with_member: Name = Field(min_length=1, max_length=200, description="staff id the participant meets")
    kind: Name = Field(min_length=1, max_length=60, description="kind of appointment")


class RecordAttendance(OnCase):
    """Attended or missed. A missed appointment is never a sanction."""

    appointment_id: UUID = Field(description="the appointment (from the path)")
    on: BusinessDate = Field(description="day of the appointment")
    attended: bool = Field(description="attended or missed (never a sanction)")
    excused: bool = Field(default=False, description="a missed appointment was excused")


class LogContact(OnCase):
    contacted_on: BusinessDate = Field(description="day of the contact")
    channel: ContactChannel = Field(description="how")
    counterpart: Counterpart = Field(description="with whom")
    summary: Text = Field(default="", max_length=4000, description="summary (sealed)")


class AddNote(OnCase):
    """A case note; confidential notes are readable only with health access."""

    written_on: BusinessDate = Field(description="day of the note")
    text: Text = Field(min_length=1, max_length=8000, description="the note (sealed)")
    confidential: bool = Field(default=False, description="readable only with health access")


# ------------------------------------------------------------------ employment found without placement


class RecordEmployment(OnCase):
    """A job the participant found without placement (the case manager of the running agency
    records it; counted by the K2 rules like placement's). No employer identity is asked: the
    figures need the kind of job, not who employs the person."""

    started_on: BusinessDate = Field(description="first day of the job")
    type: EmploymentType = Field(
        description="social-insurance (sozialversicherungspflichtig), mini-job, vocational-training, self-employment"
    )
    subsidy: SubsidyInstrument | None = Field(
        default=None, description="a § 16e or § 16i SGB II wage subsidy (social-insurance jobs only)"
    )
    fully_qualifying: bool = Field(default=False, description="vocational training leading to a full qualification")
    hours_per_week: Hours = Field(description="agreed hours a week")


class OnEmployment(OnCase):
    """A command on one self-found job of the case."""

    employment_id: UUID = Field(description="the self-found employment (from the path)")


class RecordEmploymentFollowUp(OnEmployment):
    """The 6- or 12-month follow-up: due and recordable from two weeks before, as placement's."""

    months_after_start: Literal[6, 12] = Field(description="6 or 12")
    verified_on: BusinessDate = Field(description="day of the follow-up")
    still_employed: bool = Field(description="still in this job")


class EndEmployment(OnEmployment):
    """A self-found job ended (a reason from a fixed list)."""

    ended_on: BusinessDate = Field(description="last day of the job")
    reason: EmploymentEndReason = Field(description="resigned, dismissed, fixed-term-ended, business-closed, other")


# ------------------------------------------------------------------ projects

Year = Annotated[int, Field(ge=2000, le=2100, description="calendar year")]
AgencyName = Annotated[Name, Field(max_length=60, description="an agency code")]


class BudgetItem(BaseModel):
    """One budget line: EUR granted for a year and a category."""

    model_config = ConfigDict(extra="forbid")

    year: Year
    category: Name = Field(max_length=60, description="budget category (see the casework README)")
    amount_eur: float = Field(ge=0, le=100_000_000, allow_inf_nan=False, description="EUR granted")


class ConfigureProject(Command):
    """A project's whole configuration, set by an administrator of its coordinating agency; it
    replaces the one before."""

    project: Name = Field(max_length=60, description="the project code (from the path)")
    coordinating_agency: Name = Field(max_length=60, description="the agency that runs the project")
    partner_agencies: list[AgencyName] = Field(
        default_factory=list, max_length=20, description="the other member agencies"
    )
    starts_on: PlanDate = Field(description="first day of the project")
    ends_on: PlanDate = Field(description="last day of the project")
    participant_target: int = Field(ge=1, le=1_000_000, description="participants to enrol over the project's run")
    budget: list[BudgetItem] = Field(default_factory=list, max_length=500, description="EUR per year and category")
    caseload_cap: int | None = Field(default=None, ge=1, le=1000, description="most active cases per guide")
    info_meeting_required: bool = Field(default=True, description="an information meeting before enrolment")
    configured_on: BusinessDate = Field(description="day of the configuration")


class ProjectAnswer(BaseModel):
    """What configuring a project answers."""

    project: str
    version: int = Field(description="the project stream's version")
    events: list[str] = Field(description="the types of the events written")


class CaseAnswer(BaseModel):
    """What a case command answers (some add fields, e.g. the new goal's id)."""

    model_config = ConfigDict(extra="allow")

    participant_id: UUID
    status: str = Field(description="the case's status after the command")
    phase: str | None = Field(description="the case's phase after the command")
    version: int | None = Field(description="the case stream's version (If-Match of the next command)")
    events: list[str] = Field(description="the types of the events written")


# ------------------------------------------------------------------ case transfer


class TransferCase(OnCase):
    """Transfer the case to another agency of its project (a move, a DRV case handed to a
    Jobcenter): only under an active drv-exchange consent naming the receiving agency; its
    case manager (known staff, within the caseload cap) runs the case from then on, the
    sending agency keeps read access to the history up to the transfer only."""

    to_agency: Name = Field(min_length=1, max_length=60, description="the receiving partner agency of the project")
    to_case_manager: Name = Field(
        min_length=1, max_length=200, description="staff id of the receiving agency's case manager"
    )
    transferred_on: BusinessDate = Field(description="from this day on the receiving agency runs the case")
    reason: Text = Field(min_length=1, max_length=4000, description="why the case moves (sealed)")
