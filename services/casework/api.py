"""casework over HTTP: thin routes. A command route is one ``command_route`` declaration: the
command from path and body, handed to the bus (every POST takes ``Idempotency-Key`` and
``If-Match``, the expected case version: a stale one is 409); a read route calls views. No SQL
and no rules here."""

from __future__ import annotations

from functools import partial
from typing import Annotated, Any
from uuid import UUID

from fastapi import APIRouter, Depends, HTTPException, Query, Request

from services.casework import commands as casework
from services.casework import views
from services.casework.commands import CaseAnswer
from shared import http
from shared.contracts.common import Phase
from shared.http import QueryCtx
from shared.runtime import Runtime
from shared.values import Moment, Name
from shared.web import command_route


async def _reader(rt: Annotated[Runtime, Depends(http.current_runtime)]) -> views.Reader:
    return views.Reader(rt)


Reads = Annotated[views.Reader, Depends(_reader)]

# ------------------------------------------------------------------ commands

commands = APIRouter(prefix="/cases/{participant_id}", tags=["casework commands"])
command = partial(command_route, commands, answer=CaseAnswer)

command("/case-manager", casework.AssignCaseManager)
command("/handover", casework.HandOverCase)
command("/team", casework.AddTeamMember, status_code=201)
command("/team/{member}/removal", casework.RemoveTeamMember)
command("/phase", casework.EnterPhase)
command("/interruption", casework.InterruptParticipation)
command("/resumption", casework.ResumeParticipation)
command("/exit", casework.ExitCase)
command("/assessments", casework.CompleteAssessment, status_code=201)
command("/capacity-profile", casework.RecordCapacityProfile, status_code=201)
command("/medical-reports", casework.ReceiveMedicalReport, status_code=201)
command("/goals", casework.SetGoal, status_code=201)
command("/goals/{goal_id}/revision", casework.ReviseGoal)
command("/goals/{goal_id}/achievement", casework.AchieveGoal)
command("/goals/{goal_id}/drop", casework.DropGoal)
command("/cooperation-plan", casework.UpdateCooperationPlan)
command("/interventions", casework.PlanIntervention, status_code=201)
command("/interventions/{intervention_id}/start", casework.StartIntervention)
command("/interventions/{intervention_id}/completion", casework.CompleteIntervention)
command("/interventions/{intervention_id}/abortion", casework.AbortIntervention)
command("/rehab-applications", casework.FileRehabApplication, status_code=201)
command("/rehab-applications/{application_id}/decision", casework.DecideRehabApplication)
command("/appointments", casework.ScheduleAppointment, status_code=201)
command("/appointments/{appointment_id}/outcome", casework.RecordAttendance)
command("/contacts", casework.LogContact, status_code=201)
command("/notes", casework.AddNote, status_code=201)


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


@queries.get("/cases/{participant_id}/subject-access")
async def subject_access(participant_id: UUID, ctx: QueryCtx, db: Reads) -> dict[str, Any]:
    """Everything casework holds about the person (GDPR Art. 15): the case agency's DPO; audited."""
    return await views.subject_access(db, ctx, participant_id)


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
