"""Casework's commands. Each ``<Thing>In`` is the HTTP body (what the client sends); the
command ``<Verb><Thing>`` adds the ids from the path. Free text fields are sealed with the
participant's casework key by the handler before they reach an event."""

from __future__ import annotations

from datetime import date
from typing import Literal
from uuid import UUID

from pydantic import Field

from shared.bus import Command
from shared.contracts.common import CapacityProfile, ExitReason, InterventionCategory, Phase
from shared.vocabulary import Role

ContactChannel = Literal["phone", "email", "letter", "visit", "video", "in-person"]
Counterpart = Literal["participant", "employer", "doctor", "clinic", "agency", "relative", "provider", "other"]


class OnCase(Command):
    """A command on one case (the case's id is its participant's id)."""

    participant_id: UUID = Field(description="the participant (and so the case)")


# ------------------------------------------------------------------ team


class CaseManagerIn(Command):
    case_manager: str = Field(min_length=1, max_length=200, description="staff id")
    assigned_on: date = Field(description="day of the assignment")


class AssignCaseManager(CaseManagerIn, OnCase):
    pass


class HandOverIn(Command):
    to_case_manager: str = Field(min_length=1, max_length=200, description="staff id of the new case manager")
    handed_over_on: date = Field(description="day of the hand-over")
    note: str = Field(default="", max_length=4000, description="hand-over note (sealed)")


class HandOverCase(HandOverIn, OnCase):
    pass


class TeamMemberIn(Command):
    member: str = Field(min_length=1, max_length=200, description="staff id")
    role: Role = Field(description="the member's role on the team")
    agency: str | None = Field(default=None, description="the member's agency (default: the case's)")
    added_on: date = Field(description="day the member joins")


class AddTeamMember(TeamMemberIn, OnCase):
    pass


class TeamMemberRemovalIn(Command):
    removed_on: date = Field(description="day the member leaves")


class RemoveTeamMember(TeamMemberRemovalIn, OnCase):
    member: str = Field(description="staff id of the member (from the path)")


# ------------------------------------------------------------------ journey


class PhaseIn(Command):
    phase: Phase = Field(description="the phase to enter")
    entered_on: date = Field(description="first day in the phase")
    reason: str | None = Field(default=None, max_length=500, description="required to skip or go back")


class EnterPhase(PhaseIn, OnCase):
    pass


class InterruptionIn(Command):
    interrupted_on: date = Field(description="first day of the interruption")
    reason: str = Field(default="", max_length=2000, description="e.g. clinic stay (health data, sealed)")


class InterruptParticipation(InterruptionIn, OnCase):
    pass


class ResumptionIn(Command):
    resumed_on: date = Field(description="day participation resumes")


class ResumeParticipation(ResumptionIn, OnCase):
    pass


class ExitIn(Command):
    exited_on: date = Field(description="day of the exit (Austritt)")
    reason: ExitReason = Field(description="why the participant leaves")


class ExitCase(ExitIn, OnCase):
    pass


# ------------------------------------------------------------------ health records and profile


class AssessmentIn(Command):
    kind: str = Field(min_length=1, max_length=60, description="kind of assessment")
    completed_on: date = Field(description="day it was completed")
    findings: str = Field(default="", max_length=8000, description="findings (health data, sealed)")


class CompleteAssessment(AssessmentIn, OnCase):
    pass


class CapacityProfileIn(Command):
    recorded_on: date = Field(description="day of the profile")
    profile: CapacityProfile = Field(description="what the person can do at work (no diagnoses; sealed)")


class RecordCapacityProfile(CapacityProfileIn, OnCase):
    pass


class MedicalReportIn(Command):
    received_on: date = Field(description="day the report came in")
    consent_id: UUID | None = Field(default=None, description="medical-release consent it came under")
    source: str = Field(min_length=1, max_length=300, description="doctor or clinic (sealed)")
    summary: str = Field(default="", max_length=8000, description="summary (health data, sealed)")


class ReceiveMedicalReport(MedicalReportIn, OnCase):
    pass


# ------------------------------------------------------------------ goals and plan


class GoalIn(Command):
    set_on: date = Field(description="day the goal is set")
    text: str = Field(min_length=1, max_length=1000, description="the goal (sealed)")
    target_date: date | None = Field(default=None, description="when it should be reached")


class SetGoal(GoalIn, OnCase):
    pass


class GoalRevisionIn(Command):
    revised_on: date = Field(description="day of the revision")
    text: str = Field(min_length=1, max_length=1000, description="the revised goal (sealed)")
    target_date: date | None = Field(default=None, description="when it should be reached")


class ReviseGoal(GoalRevisionIn, OnCase):
    goal_id: UUID = Field(description="the goal (from the path)")


class GoalAchievementIn(Command):
    achieved_on: date = Field(description="day the goal was reached")


class AchieveGoal(GoalAchievementIn, OnCase):
    goal_id: UUID = Field(description="the goal (from the path)")


class GoalDropIn(Command):
    dropped_on: date = Field(description="day the goal was dropped")
    reason: str = Field(default="", max_length=1000, description="why (sealed)")


class DropGoal(GoalDropIn, OnCase):
    goal_id: UUID = Field(description="the goal (from the path)")


class CooperationPlanIn(Command):
    updated_on: date = Field(description="day of this plan version")
    steps: list[str] = Field(min_length=1, max_length=50, description="agreed steps (sealed)")
    review_on: date | None = Field(default=None, description="when to review the plan")
    participant_agreed: bool = Field(default=True, description="the participant agrees with it")


class UpdateCooperationPlan(CooperationPlanIn, OnCase):
    pass


# ------------------------------------------------------------------ interventions and rehab


class InterventionIn(Command):
    category: InterventionCategory = Field(description="employment promotion is teamwork; the rest is health data")
    provider: str = Field(min_length=1, max_length=200, description="who provides it")
    planned_start: date = Field(description="planned first day")
    planned_end: date | None = Field(default=None, description="planned last day")
    cost_eur: float | None = Field(default=None, ge=0, description="planned cost")
    details: str = Field(default="", max_length=4000, description="details (sealed)")


class PlanIntervention(InterventionIn, OnCase):
    pass


class InterventionStartIn(Command):
    started_on: date = Field(description="first day of the intervention")


class StartIntervention(InterventionStartIn, OnCase):
    intervention_id: UUID = Field(description="the intervention (from the path)")


class InterventionCompletionIn(Command):
    completed_on: date = Field(description="last day of the intervention")
    cost_eur: float | None = Field(default=None, ge=0, description="actual cost")


class CompleteIntervention(InterventionCompletionIn, OnCase):
    intervention_id: UUID = Field(description="the intervention (from the path)")


class InterventionAbortionIn(Command):
    aborted_on: date = Field(description="day it was aborted")
    reason: str = Field(default="", max_length=2000, description="why (sealed)")


class AbortIntervention(InterventionAbortionIn, OnCase):
    intervention_id: UUID = Field(description="the intervention (from the path)")


class RehabApplicationIn(Command):
    filed_on: date = Field(description="day it was filed")
    carrier: str = Field(min_length=1, max_length=60, description="rehabilitation carrier it went to")
    kind: Literal["medical", "vocational"] = Field(description="medical or vocational rehabilitation")


class FileRehabApplication(RehabApplicationIn, OnCase):
    pass


class RehabDecisionIn(Command):
    decided_on: date = Field(description="day of the carrier's decision")
    approved: bool = Field(description="approved or rejected")


class DecideRehabApplication(RehabDecisionIn, OnCase):
    application_id: UUID = Field(description="the application (from the path)")


# ------------------------------------------------------------------ appointments, contacts, notes


class AppointmentIn(Command):
    scheduled_for: date = Field(description="day of the appointment")
    with_member: str = Field(min_length=1, max_length=200, description="staff id the participant meets")
    kind: str = Field(min_length=1, max_length=60, description="kind of appointment")


class ScheduleAppointment(AppointmentIn, OnCase):
    pass


class AppointmentOutcomeIn(Command):
    on: date = Field(description="day of the appointment")
    attended: bool = Field(description="attended or missed (never a sanction)")
    excused: bool = Field(default=False, description="a missed appointment was excused")


class RecordAttendance(AppointmentOutcomeIn, OnCase):
    appointment_id: UUID = Field(description="the appointment (from the path)")


class ContactIn(Command):
    contacted_on: date = Field(description="day of the contact")
    channel: ContactChannel = Field(description="how")
    counterpart: Counterpart = Field(description="with whom")
    summary: str = Field(default="", max_length=4000, description="summary (sealed)")


class LogContact(ContactIn, OnCase):
    pass


class NoteIn(Command):
    written_on: date = Field(description="day of the note")
    text: str = Field(min_length=1, max_length=8000, description="the note (sealed)")
    confidential: bool = Field(default=False, description="readable only with health access")


class AddNote(NoteIn, OnCase):
    pass
