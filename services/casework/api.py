"""casework over HTTP: thin routes. A command route is one ``command_route`` declaration: the
command from path and body, handed to the bus (every POST takes ``Idempotency-Key`` and
``If-Match``, the expected case version: a stale one is 409); a read route calls views. No SQL
and no rules here."""

from __future__ import annotations

from functools import partial
from typing import Annotated, Any
from uuid import UUID

from fastapi import APIRouter, Depends, HTTPException, Path, Query, Request

from services.casework import commands as casework
from services.casework import views
from services.casework.commands import CaseAnswer, ProjectAnswer
from services.casework.views import projects
from shared import http
from shared.contracts.common import Phase
from shared.http import QueryCtx
from shared.runtime import Runtime
from shared.values import Moment, Name
from shared.web import access, command_route


async def _reader(rt: Annotated[Runtime, Depends(http.current_runtime)]) -> views.Reader:
    return views.Reader(rt)


Reads = Annotated[views.Reader, Depends(_reader)]

# ------------------------------------------------------------------ commands

commands = APIRouter(prefix="/cases/{participant_id}", tags=["casework commands"])
command = partial(command_route, commands, answer=CaseAnswer)

# The access decisions (shared.web.access; the README's access table is made of them). Every
# route on one case first judges whether the caller may see it at all (require_see: 403 for a
# role without case data, 404 for a case of an agency the caller may not see), then its rule.
MANAGE = access("case", "require_see & require_manage")
TEAM = access("case", "require_see & require_team")
HEALTH = access("health item", "require_see & require_health")
ON_INTERVENTION = access("case", "require_see & require_on_intervention")

command("/case-manager", casework.AssignCaseManager, **MANAGE)
command("/handover", casework.HandOverCase, **MANAGE)
command("/transfer", casework.TransferCase, **MANAGE)
command("/team", casework.AddTeamMember, status_code=201, **MANAGE)
command("/team/{member}/removal", casework.RemoveTeamMember, **MANAGE)
command("/phase", casework.EnterPhase, **MANAGE)
command("/interruption", casework.InterruptParticipation, **MANAGE)
command("/resumption", casework.ResumeParticipation, **MANAGE)
command("/exit", casework.ExitCase, **MANAGE)
command("/assessments", casework.CompleteAssessment, status_code=201, **HEALTH)
command("/capacity-profile", casework.RecordCapacityProfile, status_code=201, **HEALTH)
command("/medical-reports", casework.ReceiveMedicalReport, status_code=201, **HEALTH)
command("/goals", casework.SetGoal, status_code=201, **TEAM)
command("/goals/{goal_id}/revision", casework.ReviseGoal, **TEAM)
command("/goals/{goal_id}/achievement", casework.AchieveGoal, **TEAM)
command("/goals/{goal_id}/drop", casework.DropGoal, **TEAM)
command("/cooperation-plan", casework.UpdateCooperationPlan, **TEAM)
command(
    "/interventions", casework.PlanIntervention, status_code=201, **access("case", "require_see & require_intervention")
)
command("/interventions/{intervention_id}/start", casework.StartIntervention, **ON_INTERVENTION)
command("/interventions/{intervention_id}/completion", casework.CompleteIntervention, **ON_INTERVENTION)
command("/interventions/{intervention_id}/abortion", casework.AbortIntervention, **ON_INTERVENTION)
command("/rehab-applications", casework.FileRehabApplication, status_code=201, **HEALTH)
command(
    "/rehab-applications/{application_id}/decision",
    casework.DecideRehabApplication,
    **access("health item", "require_see & require_decider"),
)
# the carrier's steps (DRV's adviser of the agency the application went to, under drv-exchange)
CARRIER = access("health item", "require_see & require_carrier")
command("/rehab-applications/{application_id}/receipt", casework.ReceiveRehabApplication, **CARRIER)
command("/rehab-applications/{application_id}/requests", casework.RequestRehabInformation, status_code=201, **CARRIER)
command(
    "/rehab-applications/{application_id}/requests/{request_id}/answer",
    casework.AnswerRehabRequest,
    **access("health item", "require_see & require_rehab_answerer"),
)
command("/rehab-applications/{application_id}/measure-start", casework.StartRehabMeasure, **CARRIER)
command("/rehab-applications/{application_id}/measure-end", casework.EndRehabMeasure, **CARRIER)
command("/appointments", casework.ScheduleAppointment, status_code=201, **TEAM)
command("/appointments/{appointment_id}/outcome", casework.RecordAttendance, **TEAM)
command("/contacts", casework.LogContact, status_code=201, **TEAM)
command("/notes", casework.AddNote, status_code=201, **access("case", "require_see & require_note"))
CASE_MANAGER = access("case", "require_see & require_case_manager")
command("/employment", casework.RecordEmployment, status_code=201, **CASE_MANAGER)
command("/employment/{employment_id}/follow-ups", casework.RecordEmploymentFollowUp, status_code=201, **CASE_MANAGER)
command("/employment/{employment_id}/end", casework.EndEmployment, **CASE_MANAGER)

project_commands = APIRouter(prefix="/projects/{project}", tags=["casework commands"])
command_route(
    project_commands,
    "/configuration",
    casework.ConfigureProject,
    answer=ProjectAnswer,
    **access("project", "require_configure"),
)


# ------------------------------------------------------------------ queries

queries = APIRouter(tags=["casework queries"])

AsOf = Annotated[
    Moment | None,
    Query(description="reconstruct the case as it stood at this moment (ISO 8601, e.g. 2026-05-01T00:00:00Z)"),
]


@queries.get("/cases", **access("case", "require_reader"))
async def list_cases(
    ctx: QueryCtx,
    db: Reads,
    phase: Annotated[Phase | None, Query()] = None,
    status: str | None = Query(default=None, pattern="^(open|interrupted|exited)$"),
) -> list[dict[str, Any]]:
    """Cases of my agency and those a drv-exchange consent opens to my agency."""
    return await views.list_cases(db, ctx, phase, status)


@queries.get("/cases/{participant_id}", **access("case", "require_see"))
async def get_case(participant_id: UUID, ctx: QueryCtx, db: Reads, as_of: AsOf = None) -> dict[str, Any]:
    """The case at a glance: phase, team, goals, capacity profile; no diagnoses."""
    return await views.get_case(db, ctx, participant_id, as_of)


@queries.get(
    "/cases/{participant_id}/person",
    **access("identity", "require_see & intake.require_role(IDENTITY_ROLES) & intake.require_reader"),
)
async def person(participant_id: UUID, request: Request, ctx: QueryCtx, db: Reads) -> dict[str, Any]:
    """Name, birth date and contact, asked from intake with the caller's own token."""
    try:
        return await views.person(
            db, ctx, participant_id, http.intake_client(request), request.headers.get("authorization", "")
        )
    except views.IntakeUnavailable as exc:
        raise HTTPException(502, str(exc)) from None


@queries.get("/cases/{participant_id}/timeline", **access("case", "require_see"))
async def timeline(participant_id: UUID, ctx: QueryCtx, db: Reads, as_of: AsOf = None) -> dict[str, Any]:
    """Every event of the case (up to ``as_of``); health records redacted without health access."""
    return await views.timeline(db, ctx, participant_id, as_of)


@queries.get("/cases/{participant_id}/employment", **access("case", "require_see"))
async def self_found_employment(participant_id: UUID, ctx: QueryCtx, db: Reads) -> dict[str, Any]:
    """The jobs the participant found without placement, with their 6- and 12-month follow-ups."""
    return await views.employments(db, ctx, participant_id)


@queries.get("/cases/{participant_id}/health", **HEALTH)
async def health_records(participant_id: UUID, ctx: QueryCtx, db: Reads) -> dict[str, Any]:
    """Health records, for the case manager and the team's health roles; audited."""
    return await views.health_records(db, ctx, participant_id)


@queries.get("/cases/{participant_id}/subject-access", **access("case", "require_subject_access"))
async def subject_access(participant_id: UUID, ctx: QueryCtx, db: Reads) -> dict[str, Any]:
    """Everything casework holds about the person (GDPR Art. 15): the case agency's DPO; audited."""
    return await views.subject_access(db, ctx, participant_id)


@queries.get("/caseload", **access("case", "require_reader"))
async def caseload(ctx: QueryCtx, db: Reads) -> dict[str, Any]:
    """My active cases, with phase, days in phase and next appointment."""
    return await views.caseload(db, ctx)


@queries.get("/tasks", **access("case", "require_reader"))
async def open_tasks(ctx: QueryCtx, db: Reads, within_days: int = Query(default=14, ge=0, le=365)) -> dict[str, Any]:
    """Due appointments, consents expiring soon, "enter Nachbetreuung"."""
    return await views.open_tasks(db, ctx, within_days)


@queries.get("/rehab-queue", **access("health item", "require_drv_adviser"))
async def rehab_queue(ctx: QueryCtx, db: Reads) -> dict[str, Any]:
    """My DRV agency's open rehab applications (filed or received, not decided) under an active
    drv-exchange consent: waiting days, the capacity profile and the medical reports the
    participant's objections let pass; audited."""
    return await views.rehab_queue(db, ctx)


@queries.get("/audit/health-reads", **access("read log", "require_auditor"))
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


ProjectPath = Annotated[Name, Path(max_length=60, description="the project code")]


@queries.get("/projects/{project}", **access("project", "require_project_member"))
async def project_configuration(project: ProjectPath, ctx: QueryCtx, db: Reads) -> dict[str, Any]:
    """The project's configuration (coordinating and partner agencies, run, target, budget, cap)."""
    return await projects.get_project(db, ctx, project)


@queries.get("/projects/{project}/caseloads", **access("caseload", "caseload_agencies"))
async def team_caseloads(
    project: ProjectPath,
    ctx: QueryCtx,
    db: Reads,
    agency: Annotated[Name | None, Query(max_length=60, description="only this member agency")] = None,
) -> dict[str, Any]:
    """Each guide's active cases in the project against its caseload cap, per agency."""
    return await projects.team_caseloads(db, ctx, project, agency)
