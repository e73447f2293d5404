"""casework over HTTP: thin routes. A command route builds the command from path and body and
hands it to the bus (every POST takes ``Idempotency-Key`` and ``If-Match``, the expected case
version: a stale one is 409); a read route calls views. No SQL and no rules here."""

from __future__ import annotations

from typing import Annotated, Any
from uuid import UUID

from fastapi import APIRouter, Depends, HTTPException, Path, Query, Request
from fastapi.responses import JSONResponse

from services.casework import views
from services.casework.commands import (
    AbortIntervention,
    AchieveGoal,
    AddNote,
    AddTeamMember,
    AppointmentIn,
    AppointmentOutcomeIn,
    AssessmentIn,
    AssignCaseManager,
    CapacityProfileIn,
    CaseAnswer,
    CaseManagerIn,
    CompleteAssessment,
    CompleteIntervention,
    ContactIn,
    CooperationPlanIn,
    DecideRehabApplication,
    DropGoal,
    EnterPhase,
    ExitCase,
    ExitIn,
    FileRehabApplication,
    GoalAchievementIn,
    GoalDropIn,
    GoalIn,
    GoalRevisionIn,
    HandOverCase,
    HandOverIn,
    InterruptionIn,
    InterruptParticipation,
    InterventionAbortionIn,
    InterventionCompletionIn,
    InterventionIn,
    InterventionStartIn,
    LogContact,
    MedicalReportIn,
    NoteIn,
    PhaseIn,
    PlanIntervention,
    ReceiveMedicalReport,
    RecordAttendance,
    RecordCapacityProfile,
    RehabApplicationIn,
    RehabDecisionIn,
    RemoveTeamMember,
    ResumeParticipation,
    ResumptionIn,
    ReviseGoal,
    ScheduleAppointment,
    SetGoal,
    StartIntervention,
    TeamMemberIn,
    TeamMemberRemovalIn,
    UpdateCooperationPlan,
)
from shared import http
from shared.contracts.common import Phase
from shared.http import Bus, CommandCtx, QueryCtx, respond
from shared.runtime import Runtime
from shared.values import Moment, Name


def _reader(rt: Annotated[Runtime, Depends(http.runtime)]) -> views.Reader:
    return views.Reader(rt)


Reads = Annotated[views.Reader, Depends(_reader)]

# ------------------------------------------------------------------ commands

commands = APIRouter(prefix="/cases/{participant_id}", tags=["casework commands"])


@commands.post("/case-manager", response_model=CaseAnswer)
async def assign_case_manager(participant_id: UUID, body: CaseManagerIn, ctx: CommandCtx, bus: Bus) -> JSONResponse:
    return respond(await bus.handle(AssignCaseManager(participant_id=participant_id, **body.model_dump()), ctx))


@commands.post("/handover", response_model=CaseAnswer)
async def hand_over(participant_id: UUID, body: HandOverIn, ctx: CommandCtx, bus: Bus) -> JSONResponse:
    """Hand-over between case managers (the note is sealed)."""
    return respond(await bus.handle(HandOverCase(participant_id=participant_id, **body.model_dump()), ctx))


@commands.post("/team", status_code=201, response_model=CaseAnswer)
async def add_team_member(participant_id: UUID, body: TeamMemberIn, ctx: CommandCtx, bus: Bus) -> JSONResponse:
    return respond(await bus.handle(AddTeamMember(participant_id=participant_id, **body.model_dump()), ctx), 201)


@commands.post("/team/{member}/removal", response_model=CaseAnswer)
async def remove_team_member(
    participant_id: UUID,
    member: Annotated[Name, Path(max_length=200)],
    body: TeamMemberRemovalIn,
    ctx: CommandCtx,
    bus: Bus,
) -> JSONResponse:
    cmd = RemoveTeamMember(participant_id=participant_id, member=member, **body.model_dump())
    return respond(await bus.handle(cmd, ctx))


@commands.post("/phase", response_model=CaseAnswer)
async def enter_phase(participant_id: UUID, body: PhaseIn, ctx: CommandCtx, bus: Bus) -> JSONResponse:
    """Phase transition: next in order; skip or back one with a reason; Nachbetreuung after a job."""
    return respond(await bus.handle(EnterPhase(participant_id=participant_id, **body.model_dump()), ctx))


@commands.post("/interruption", response_model=CaseAnswer)
async def interrupt(participant_id: UUID, body: InterruptionIn, ctx: CommandCtx, bus: Bus) -> JSONResponse:
    cmd = InterruptParticipation(participant_id=participant_id, **body.model_dump())
    return respond(await bus.handle(cmd, ctx))


@commands.post("/resumption", response_model=CaseAnswer)
async def resume(participant_id: UUID, body: ResumptionIn, ctx: CommandCtx, bus: Bus) -> JSONResponse:
    return respond(await bus.handle(ResumeParticipation(participant_id=participant_id, **body.model_dump()), ctx))


@commands.post("/exit", response_model=CaseAnswer)
async def exit_case(participant_id: UUID, body: ExitIn, ctx: CommandCtx, bus: Bus) -> JSONResponse:
    """Austritt with a reason; a shared capacity profile is retracted with it."""
    return respond(await bus.handle(ExitCase(participant_id=participant_id, **body.model_dump()), ctx))


@commands.post("/assessments", status_code=201, response_model=CaseAnswer)
async def complete_assessment(participant_id: UUID, body: AssessmentIn, ctx: CommandCtx, bus: Bus) -> JSONResponse:
    cmd = CompleteAssessment(participant_id=participant_id, **body.model_dump())
    return respond(await bus.handle(cmd, ctx), 201)


@commands.post("/capacity-profile", status_code=201, response_model=CaseAnswer)
async def record_capacity_profile(
    participant_id: UUID, body: CapacityProfileIn, ctx: CommandCtx, bus: Bus
) -> JSONResponse:
    """What the person can do at work, no diagnoses. Goes to placement only under consent."""
    cmd = RecordCapacityProfile(participant_id=participant_id, **body.model_dump())
    return respond(await bus.handle(cmd, ctx), 201)


@commands.post("/medical-reports", status_code=201, response_model=CaseAnswer)
async def receive_medical_report(
    participant_id: UUID, body: MedicalReportIn, ctx: CommandCtx, bus: Bus
) -> JSONResponse:
    cmd = ReceiveMedicalReport(participant_id=participant_id, **body.model_dump())
    return respond(await bus.handle(cmd, ctx), 201)


@commands.post("/goals", status_code=201, response_model=CaseAnswer)
async def set_goal(participant_id: UUID, body: GoalIn, ctx: CommandCtx, bus: Bus) -> JSONResponse:
    return respond(await bus.handle(SetGoal(participant_id=participant_id, **body.model_dump()), ctx), 201)


@commands.post("/goals/{goal_id}/revision", response_model=CaseAnswer)
async def revise_goal(
    participant_id: UUID, goal_id: UUID, body: GoalRevisionIn, ctx: CommandCtx, bus: Bus
) -> JSONResponse:
    cmd = ReviseGoal(participant_id=participant_id, goal_id=goal_id, **body.model_dump())
    return respond(await bus.handle(cmd, ctx))


@commands.post("/goals/{goal_id}/achievement", response_model=CaseAnswer)
async def achieve_goal(
    participant_id: UUID, goal_id: UUID, body: GoalAchievementIn, ctx: CommandCtx, bus: Bus
) -> JSONResponse:
    cmd = AchieveGoal(participant_id=participant_id, goal_id=goal_id, **body.model_dump())
    return respond(await bus.handle(cmd, ctx))


@commands.post("/goals/{goal_id}/drop", response_model=CaseAnswer)
async def drop_goal(participant_id: UUID, goal_id: UUID, body: GoalDropIn, ctx: CommandCtx, bus: Bus) -> JSONResponse:
    cmd = DropGoal(participant_id=participant_id, goal_id=goal_id, **body.model_dump())
    return respond(await bus.handle(cmd, ctx))


@commands.post("/cooperation-plan", response_model=CaseAnswer)
async def update_plan(participant_id: UUID, body: CooperationPlanIn, ctx: CommandCtx, bus: Bus) -> JSONResponse:
    """Kooperationsplan (§ 15 SGB II): agreed steps; not binding, no sanctions."""
    cmd = UpdateCooperationPlan(participant_id=participant_id, **body.model_dump())
    return respond(await bus.handle(cmd, ctx))


@commands.post("/interventions", status_code=201, response_model=CaseAnswer)
async def plan_intervention(participant_id: UUID, body: InterventionIn, ctx: CommandCtx, bus: Bus) -> JSONResponse:
    cmd = PlanIntervention(participant_id=participant_id, **body.model_dump())
    return respond(await bus.handle(cmd, ctx), 201)


@commands.post("/interventions/{intervention_id}/start", response_model=CaseAnswer)
async def start_intervention(
    participant_id: UUID, intervention_id: UUID, body: InterventionStartIn, ctx: CommandCtx, bus: Bus
) -> JSONResponse:
    cmd = StartIntervention(participant_id=participant_id, intervention_id=intervention_id, **body.model_dump())
    return respond(await bus.handle(cmd, ctx))


@commands.post("/interventions/{intervention_id}/completion", response_model=CaseAnswer)
async def complete_intervention(
    participant_id: UUID, intervention_id: UUID, body: InterventionCompletionIn, ctx: CommandCtx, bus: Bus
) -> JSONResponse:
    cmd = CompleteIntervention(participant_id=participant_id, intervention_id=intervention_id, **body.model_dump())
    return respond(await bus.handle(cmd, ctx))


@commands.post("/interventions/{intervention_id}/abortion", response_model=CaseAnswer)
async def abort_intervention(
    participant_id: UUID, intervention_id: UUID, body: InterventionAbortionIn, ctx: CommandCtx, bus: Bus
) -> JSONResponse:
    cmd = AbortIntervention(participant_id=participant_id, intervention_id=intervention_id, **body.model_dump())
    return respond(await bus.handle(cmd, ctx))


@commands.post("/rehab-applications", status_code=201, response_model=CaseAnswer)
async def file_rehab_application(
    participant_id: UUID, body: RehabApplicationIn, ctx: CommandCtx, bus: Bus
) -> JSONResponse:
    cmd = FileRehabApplication(participant_id=participant_id, **body.model_dump())
    return respond(await bus.handle(cmd, ctx), 201)


@commands.post("/rehab-applications/{application_id}/decision", response_model=CaseAnswer)
async def decide_rehab_application(
    participant_id: UUID, application_id: UUID, body: RehabDecisionIn, ctx: CommandCtx, bus: Bus
) -> JSONResponse:
    cmd = DecideRehabApplication(participant_id=participant_id, application_id=application_id, **body.model_dump())
    return respond(await bus.handle(cmd, ctx))


@commands.post("/appointments", status_code=201, response_model=CaseAnswer)
async def schedule_appointment(participant_id: UUID, body: AppointmentIn, ctx: CommandCtx, bus: Bus) -> JSONResponse:
    cmd = ScheduleAppointment(participant_id=participant_id, **body.model_dump())
    return respond(await bus.handle(cmd, ctx), 201)


@commands.post("/appointments/{appointment_id}/outcome", response_model=CaseAnswer)
async def record_attendance(
    participant_id: UUID, appointment_id: UUID, body: AppointmentOutcomeIn, ctx: CommandCtx, bus: Bus
) -> JSONResponse:
    """Attended or missed. A missed appointment is never a sanction."""
    cmd = RecordAttendance(participant_id=participant_id, appointment_id=appointment_id, **body.model_dump())
    return respond(await bus.handle(cmd, ctx))


@commands.post("/contacts", status_code=201, response_model=CaseAnswer)
async def log_contact(participant_id: UUID, body: ContactIn, ctx: CommandCtx, bus: Bus) -> JSONResponse:
    return respond(await bus.handle(LogContact(participant_id=participant_id, **body.model_dump()), ctx), 201)


@commands.post("/notes", status_code=201, response_model=CaseAnswer)
async def add_note(participant_id: UUID, body: NoteIn, ctx: CommandCtx, bus: Bus) -> JSONResponse:
    """A case note; confidential notes are readable only with health access."""
    return respond(await bus.handle(AddNote(participant_id=participant_id, **body.model_dump()), ctx), 201)


# ------------------------------------------------------------------ queries

queries = APIRouter(tags=["casework queries"])

AsOf = Annotated[
    Moment | None,
    Query(description="reconstruct the case as it stood at this moment (ISO 8601, e.g. 2026-05-01T00:00:00Z)"),
]


@queries.get("/cases")
async def list_cases(
    ctx: QueryCtx,
    db: Reads,
    phase: Annotated[Phase | None, Query()] = None,
    status: str | None = Query(default=None, pattern="^(open|interrupted|exited)$"),
) -> list[dict[str, Any]]:
    """Cases of my agency and those a drv-exchange consent opens to my agency."""
    return await views.list_cases(db, ctx, phase, status)


@queries.get("/cases/{participant_id}")
async def get_case(participant_id: UUID, ctx: QueryCtx, db: Reads, as_of: AsOf = None) -> dict[str, Any]:
    """The case at a glance: phase, team, goals, capacity profile; no diagnoses."""
    return await views.get_case(db, ctx, participant_id, as_of)


@queries.get("/cases/{participant_id}/person")
async def person(participant_id: UUID, request: Request, ctx: QueryCtx, db: Reads) -> dict[str, Any]:
    """Name, birth date and contact, asked from intake with the caller's own token."""
    try:
        return await views.person(
            db, ctx, participant_id, http.intake_client(request), request.headers.get("authorization", "")
        )
    except views.IntakeUnavailable as exc:
        raise HTTPException(502, str(exc)) from None


@queries.get("/cases/{participant_id}/timeline")
async def timeline(participant_id: UUID, ctx: QueryCtx, db: Reads, as_of: AsOf = None) -> dict[str, Any]:
    """Every event of the case (up to ``as_of``); health records redacted without health access."""
    return await views.timeline(db, ctx, participant_id, as_of)


@queries.get("/cases/{participant_id}/health")
async def health_records(participant_id: UUID, ctx: QueryCtx, db: Reads) -> dict[str, Any]:
    """Health records, for the case manager and the team's health roles; audited."""
    return await views.health_records(db, ctx, participant_id)


@queries.get("/caseload")
async def caseload(ctx: QueryCtx, db: Reads) -> dict[str, Any]:
    """My active cases, with phase, days in phase and next appointment."""
    return await views.caseload(db, ctx)


@queries.get("/tasks")
async def open_tasks(ctx: QueryCtx, db: Reads, within_days: int = Query(default=14, ge=0, le=365)) -> dict[str, Any]:
    """Due appointments, consents expiring soon, "enter Nachbetreuung"."""
    return await views.open_tasks(db, ctx, within_days)


@queries.get("/audit/health-reads")
async def health_reads(
    ctx: QueryCtx,
    db: Reads,
    participant_id: Annotated[UUID | None, Query()] = None,
    subject: Annotated[Name | None, Query(max_length=200)] = None,
    since: Annotated[Moment | None, Query()] = None,
    limit: int = Query(default=500, ge=1, le=5000),
) -> dict[str, Any]:
    """Who read health data of which case and when (auditors and data-protection officers)."""
    return await views.health_reads(db, ctx, participant_id=participant_id, subject=subject, since=since, limit=limit)
