"""Casework's commands. Each ``<Thing>In`` is the HTTP body (what the client sends); the
command ``<Verb><Thing>`` adds the ids from the path. Free text fields are sealed with the
participant's casework key by the handler before they reach an event."""

from __future__ import annotations

from typing import Annotated, Literal
from uuid import UUID

from pydantic import BaseModel, ConfigDict, Field

from shared.bus import Command
from shared.contracts.common import CapacityProfile, ExitReason, InterventionCategory, Phase
from shared.values import BusinessDate, Money, Name, PlanDate, Text
from shared.vocabulary import Role

ContactChannel = Literal["phone", "email", "letter", "visit", "video", "in-person"]
Counterpart = Literal["participant", "employer", "doctor", "clinic", "agency", "relative", "provider", "other"]


class OnCase(Command):
    """A command on one case (the case's id is its participant's id)."""

    participant_id: UUID = Field(description="the participant (and so the case)")


# ------------------------------------------------------------------ team


class CaseManagerIn(Command):
    case_manager: Name = Field(min_length=1, max_length=200, description="staff id")
    assigned_on: BusinessDate = Field(description="day of the assignment")


class AssignCaseManager(CaseManagerIn, OnCase):
    pass


class HandOverIn(Command):
    to_case_manager: Name = Field(min_length=1, max_length=200, description="staff id of the new case manager")
    handed_over_on: BusinessDate = Field(description="day of the hand-over")
    note: Text = Field(default="", max_length=4000, description="hand-over note (sealed)")


class HandOverCase(HandOverIn, OnCase):
    pass


class TeamMemberIn(Command):
    member: Name = Field(min_length=1, max_length=200, description="staff id")
    role: Role = Field(description="the member's role on the team")
    agency: Name | None = Field(default=None, max_length=60, description="the member's agency (default: the case's)")
    added_on: BusinessDate = Field(description="day the member joins")


class AddTeamMember(TeamMemberIn, OnCase):
    pass


class TeamMemberRemovalIn(Command):
    removed_on: BusinessDate = Field(description="day the member leaves")


class RemoveTeamMember(TeamMemberRemovalIn, OnCase):
    member: Name = Field(max_length=200, description="staff id of the member (from the path)")


# ------------------------------------------------------------------ journey


class PhaseIn(Command):
    phase: Phase = Field(description="the phase to enter")
    entered_on: BusinessDate = Field(description="first day in the phase")
    reason: Text | None = Field(default=None, max_length=500, description="required to skip or go back")


class EnterPhase(PhaseIn, OnCase):
    pass


class InterruptionIn(Command):
    interrupted_on: BusinessDate = Field(description="first day of the interruption")
    reason: Text = Field(default="", max_length=2000, description="e.g. clinic stay (health data, sealed)")


class InterruptParticipation(InterruptionIn, OnCase):
    pass


class ResumptionIn(Command):
    resumed_on: BusinessDate = Field(description="day participation resumes")


class ResumeParticipation(ResumptionIn, OnCase):
    pass


class ExitIn(Command):
    exited_on: BusinessDate = Field(description="day of the exit (Austritt)")
    reason: ExitReason = Field(description="why the participant leaves")


class ExitCase(ExitIn, OnCase):
    pass


# ------------------------------------------------------------------ health records and profile


class AssessmentIn(Command):
    kind: Name = Field(min_length=1, max_length=60, description="kind of assessment")
    completed_on: BusinessDate = Field(description="day it was completed")
    findings: Text = Field(default="", max_length=8000, description="findings (health data, sealed)")


class CompleteAssessment(AssessmentIn, OnCase):
    pass


class CapacityProfileIn(Command):
    recorded_on: BusinessDate = Field(description="day of the profile")
    profile: CapacityProfile = Field(description="what the person can do at work (no diagnoses; sealed)")


class RecordCapacityProfile(CapacityProfileIn, OnCase):
    pass


class MedicalReportIn(Command):
    received_on: BusinessDate = Field(description="day the report came in")
    consent_id: UUID | None = Field(default=None, description="medical-release consent it came under")
    source: Name = Field(min_length=1, max_length=300, description="doctor or clinic (sealed)")
    summary: Text = Field(default="", max_length=8000, description="summary (health data, sealed)")


class ReceiveMedicalReport(MedicalReportIn, OnCase):
    pass


# ------------------------------------------------------------------ goals and plan


class GoalIn(Command):
    set_on: BusinessDate = Field(description="day the goal is set")
    text: Text = Field(min_length=1, max_length=1000, description="the goal (sealed)")
    target_date: PlanDate | None = Field(default=None, description="when it should be reached")


class SetGoal(GoalIn, OnCase):
    pass


class GoalRevisionIn(Command):
    revised_on: BusinessDate = Field(description="day of the revision")
    text: Text = Field(min_length=1, max_length=1000, description="the revised goal (sealed)")
    target_date: PlanDate | None = Field(default=None, description="when it should be reached")


class ReviseGoal(GoalRevisionIn, OnCase):
    goal_id: UUID = Field(description="the goal (from the path)")


class GoalAchievementIn(Command):
    achieved_on: BusinessDate = Field(description="day the goal was reached")


class AchieveGoal(GoalAchievementIn, OnCase):
    goal_id: UUID = Field(description="the goal (from the path)")


class GoalDropIn(Command):
    dropped_on: BusinessDate = Field(description="day the goal was dropped")
    reason: Text = Field(default="", max_length=1000, description="why (sealed)")


class DropGoal(GoalDropIn, OnCase):
    goal_id: UUID = Field(description="the goal (from the path)")


class CooperationPlanIn(Command):
    updated_on: BusinessDate = Field(description="day of this plan version")
    steps: list[Annotated[Text, Field(max_length=1000)]] = Field(
        min_length=1, max_length=50, description="agreed steps (sealed)"
    )
    review_on: PlanDate | None = Field(default=None, description="when to review the plan")
    participant_agreed: bool = Field(default=True, description="the participant agrees with it")


class UpdateCooperationPlan(CooperationPlanIn, OnCase):
    pass


# ------------------------------------------------------------------ interventions and rehab


class InterventionIn(Command):
    category: InterventionCategory = Field(description="employment promotion is teamwork; the rest is health data")
    provider: Name = Field(min_length=1, max_length=200, description="who provides it")
    planned_start: BusinessDate = Field(description="planned first day")
    planned_end: PlanDate | None = Field(default=None, description="planned last day")
    cost_eur: Money | None = Field(default=None, description="planned cost")
    details: Text = Field(default="", max_length=4000, description="details (sealed)")


class PlanIntervention(InterventionIn, OnCase):
    pass


class InterventionStartIn(Command):
    started_on: BusinessDate = Field(description="first day of the intervention")


class StartIntervention(InterventionStartIn, OnCase):
    intervention_id: UUID = Field(description="the intervention (from the path)")


class InterventionCompletionIn(Command):
    completed_on: BusinessDate = Field(description="last day of the intervention")
    cost_eur: Money | None = Field(default=None, description="actual cost")


class CompleteIntervention(InterventionCompletionIn, OnCase):
    intervention_id: UUID = Field(description="the intervention (from the path)")


class InterventionAbortionIn(Command):
    aborted_on: BusinessDate = Field(description="day it was aborted")
    reason: Text = Field(default="", max_length=2000, description="why (sealed)")


class AbortIntervention(InterventionAbortionIn, OnCase):
    intervention_id: UUID = Field(description="the intervention (from the path)")


class RehabApplicationIn(Command):
    filed_on: BusinessDate = Field(description="day it was filed")
    carrier: Name = Field(min_length=1, max_length=60, description="rehabilitation carrier it went to")
    kind: Literal["medical", "vocational"] = Field(description="medical or vocational rehabilitation")


class FileRehabApplication(RehabApplicationIn, OnCase):
    pass


class RehabDecisionIn(Command):
    decided_on: BusinessDate = Field(description="day of the carrier's decision")
    approved: bool = Field(description="approved or rejected")


class DecideRehabApplication(RehabDecisionIn, OnCase):
    application_id: UUID = Field(description="the application (from the path)")


# ------------------------------------------------------------------ appointments, contacts, notes


class AppointmentIn(Command):
    scheduled_for: BusinessDate = Field(description="day of the appointment")
    with_member: Name = Field(min_length=1, max_length=200, description="staff id the participant meets")
    kind: Name = Field(min_length=1, max_length=60, description="kind of appointment")


class ScheduleAppointment(AppointmentIn, OnCase):
    pass


class AppointmentOutcomeIn(Command):
    on: BusinessDate = Field(description="day of the appointment")
    attended: bool = Field(description="attended or missed (never a sanction)")
    excused: bool = Field(default=False, description="a missed appointment was excused")


class RecordAttendance(AppointmentOutcomeIn, OnCase):
    appointment_id: UUID = Field(description="the appointment (from the path)")


class ContactIn(Command):
    contacted_on: BusinessDate = Field(description="day of the contact")
    channel: ContactChannel = Field(description="how")
    counterpart: Counterpart = Field(description="with whom")
    summary: Text = Field(default="", max_length=4000, description="summary (sealed)")


class LogContact(ContactIn, OnCase):
    pass


class NoteIn(Command):
    written_on: BusinessDate = Field(description="day of the note")
    text: Text = Field(min_length=1, max_length=8000, description="the note (sealed)")
    confidential: bool = Field(default=False, description="readable only with health access")


class AddNote(NoteIn, OnCase):
    pass


class CaseAnswer(BaseModel):
    """What a case command answers (some add fields, e.g. the new goal's id)."""

    model_config = ConfigDict(extra="allow")

    participant_id: UUID
    status: str = Field(description="the case's status after the command")
    phase: str | None = Field(description="the case's phase after the command")
    version: int | None = Field(description="the case stream's version (If-Match of the next command)")
    events: list[str] = Field(description="the types of the events written")
