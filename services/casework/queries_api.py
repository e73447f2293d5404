"""Casework queries: cases visible to me, one case, its timeline, its health records (audited),
my caseload, my open tasks, and the health-data read log for auditors."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import Annotated, Any
from uuid import UUID

from fastapi import APIRouter, HTTPException, Query, Request

from services.casework import access
from services.casework.web_support import (
    FROM_DOCTORS,
    audit_health_read,
    open_sealed,
    pool,
    today,
    visible_case,
    withheld_from,
)
from shared import http
from shared.auth import CurrentPrincipal, Principal
from shared.contracts.base import registry
from shared.contracts.common import ExitReason, InterventionCategory, Phase
from shared.domain import Forbidden, NotFound
from shared.envelope import Envelope

router = APIRouter(tags=["casework queries"])

HEALTH_SECTIONS = {
    "AssessmentCompleted": "assessments",
    "MedicalReportReceived": "medical_reports",
    "InterventionPlanned": "interventions",
    "InterventionStarted": "interventions",
    "InterventionCompleted": "interventions",
    "InterventionAborted": "interventions",
    "RehabApplicationFiled": "rehab_applications",
    "RehabApplicationDecided": "rehab_applications",
    "ParticipationInterrupted": "interruptions",
    "CaseNoteAdded": "confidential_notes",
    "ParticipantExited": "exit",
}


def is_health(env: Envelope) -> bool:
    """Health content in the sense of the access rules (not only the contract flag)."""
    p = env.payload
    if env.event_type.startswith("Intervention"):
        return p.get("category") != InterventionCategory.EMPLOYMENT_PROMOTION.value
    if env.event_type == "CaseNoteAdded":
        return bool(p.get("confidential"))
    if env.event_type == "ParticipantExited":
        return p.get("reason") == ExitReason.DISABILITY_PENSION.value
    return registry.knows(env.event_type) and registry.model(env.event_type).health_data


async def render(conn: Any, participant_id: UUID, env: Envelope) -> dict[str, Any]:
    """The event's payload with sealed fields opened (``sealed_x`` → ``x``)."""
    data: dict[str, Any] = {}
    for key, value in env.payload.items():
        if key in ("case_id",):
            continue
        if key.startswith("sealed_"):
            data[key.removeprefix("sealed_")] = await open_sealed(conn, participant_id, value)
        else:
            data[key] = value
    return {
        "version": env.version,
        "event_type": env.event_type,
        "occurred_at": env.occurred_at,
        "actor": env.actor.model_dump(),
        "data": data,
    }


def _redacted(env: Envelope) -> dict[str, Any]:
    return {"version": env.version, "event_type": "health-record", "occurred_at": env.occurred_at, "redacted": True}


def _days(since: date | None, day: date) -> int | None:
    return (day - since).days if since else None


AsOf = Annotated[
    datetime | None,
    Query(description="reconstruct the case as it stood at this moment (ISO 8601, e.g. 2026-05-01T00:00:00Z)"),
]


@router.get("/cases")
async def list_cases(
    request: Request,
    principal: CurrentPrincipal,
    phase: Annotated[Phase | None, Query()] = None,
    status: str | None = Query(default=None, pattern="^(open|interrupted|exited)$"),
) -> list[dict[str, Any]]:
    """Cases of my agency and those a drv-exchange consent opens to my agency."""
    if principal.role not in access.CASE_READERS:
        raise Forbidden(f"role {principal.role} sees no case data")
    day = today(request)
    rows = await pool(request).fetch(
        """
        SELECT case_id, participant_id, agency, project, opened_on, status, phase, phase_since, case_manager,
               employed_since, exited_on
        FROM cases
        WHERE (agency = $1 OR participant_id IN (
                 SELECT participant_id FROM consents WHERE purpose = 'drv-exchange' AND scope = $1 AND granted_on <= $2
                 AND (ended_on IS NULL OR ended_on > $2) AND (expires_on IS NULL OR expires_on > $2)))
          AND ($3::text IS NULL OR phase = $3) AND ($4::text IS NULL OR status = $4)
        ORDER BY opened_on, case_id
        """,
        principal.agency,
        day,
        phase.value if phase else None,
        status,
    )
    return [dict(r) | {"days_in_phase": _days(r["phase_since"], day)} for r in rows]


@router.get("/cases/{participant_id}")
async def get_case(
    participant_id: UUID, request: Request, principal: CurrentPrincipal, as_of: AsOf = None
) -> dict[str, Any]:
    """The case at a glance: phase, team, goals, capacity profile; no diagnoses."""
    current = await visible_case(request, principal, participant_id, as_of)
    s = current.state
    day = today(request)
    health = access.has_health_access(principal, s)
    profile: Any = None
    goals: dict[str, dict[str, Any]] = {}
    async with pool(request).acquire() as conn:
        for env in current.events:
            if env.event_type == "CapacityProfileRecorded":
                profile = await open_sealed(conn, participant_id, env.payload["sealed_profile"])
            elif env.event_type in ("GoalSet", "GoalRevised"):
                g = goals.setdefault(env.payload["goal_id"], {"goal_id": env.payload["goal_id"]})
                g["text"] = await open_sealed(conn, participant_id, env.payload["sealed_text"])
                g["target_date"] = env.payload.get("target_date")
    for gid, g in goals.items():
        g["status"] = s.goals.get(UUID(gid), "open")
    exit_reason: str | None = s.exit_reason.value if s.exit_reason else None
    if s.exit_reason is ExitReason.DISABILITY_PENSION and not health:
        exit_reason = "redacted"
    return {
        "case_id": str(s.case_id),
        "participant_id": str(s.participant_id),
        "agency": s.agency,
        "project": s.project,
        "status": s.status,
        "opened_on": s.opened_on,
        "phase": s.phase.value if s.phase else None,
        "phase_since": s.phase_since,
        "days_in_phase": _days(s.phase_since, day),
        "expected_next_phase": s.expected_next_phase.value if s.expected_next_phase else None,
        "case_manager": s.case_manager,
        "team": [{"member": m, "role": v.role, "agency": v.agency} for m, v in s.team.items()],
        "employment": {"employment_id": str(s.employment_id), "since": s.employed_since} if s.employment_id else None,
        "capacity_profile": profile,
        "capacity_profile_shared": bool(s.shared_version),
        "goals": list(goals.values()),
        "cooperation_plan_version": s.plan_version,
        "exited_on": s.exited_on,
        "exit_reason": exit_reason,
        "health_access": health,
        "version": current.version,
    }


@router.get("/cases/{participant_id}/person")
async def person(participant_id: UUID, request: Request, principal: CurrentPrincipal) -> dict[str, Any]:
    """Name, birth date and contact of the case's participant. Casework holds no identity: it
    asks intake with the caller's own token, so intake's rules (agency, drv-exchange consent)
    decide, and intake's answer is passed on, not stored."""
    await visible_case(request, principal, participant_id)
    async with http.intake_client(request) as client:
        r = await client.get(
            f"/participants/{participant_id}",
            headers={
                "Authorization": request.headers.get("authorization", ""),
                "X-Correlation-ID": str(request.state.correlation_id),
            },
        )
    if r.status_code in (403, 404):
        detail = r.json().get("error", "intake refused") if r.content else "intake refused"
        raise (Forbidden if r.status_code == 403 else NotFound)(f"intake: {detail}")
    if r.status_code != 200:
        raise HTTPException(502, f"intake answered {r.status_code}")
    return {"participant_id": str(participant_id), "identity": r.json().get("identity")}


@router.get("/cases/{participant_id}/timeline")
async def timeline(
    participant_id: UUID, request: Request, principal: CurrentPrincipal, as_of: AsOf = None
) -> dict[str, Any]:
    """Every event of the case (up to ``as_of``); health records are redacted unless I have
    health access (then this read is audited)."""
    current = await visible_case(request, principal, participant_id, as_of)
    health = access.has_health_access(principal, current.state)
    withhold = await withheld_from(request, principal, current.state, participant_id)
    items: list[dict[str, Any]] = []
    shown_health = False
    async with pool(request).acquire() as conn:
        for env in current.events:
            if (is_health(env) and not health) or (withhold and env.event_type in FROM_DOCTORS):
                items.append(_redacted(env))
                continue
            shown_health = shown_health or is_health(env)
            items.append(await render(conn, participant_id, env))
    if shown_health:
        await audit_health_read(request, principal, current.state, "timeline")
    return {"participant_id": str(participant_id), "version": current.version, "events": items}


@router.get("/cases/{participant_id}/health")
async def health_records(participant_id: UUID, request: Request, principal: CurrentPrincipal) -> dict[str, Any]:
    """Assessments, medical reports, interventions, rehab applications, interruptions and
    confidential notes. Only for the case manager and the team's health roles; audited."""
    current = await visible_case(request, principal, participant_id)
    access.require_health(principal, current.state)
    sections: dict[str, list[dict[str, Any]]] = {k: [] for k in sorted(set(HEALTH_SECTIONS.values()))}
    withhold = await withheld_from(request, principal, current.state, participant_id)
    withheld = 0
    async with pool(request).acquire() as conn:
        for env in current.events:
            section = HEALTH_SECTIONS.get(env.event_type)
            if section is None or (env.event_type in ("CaseNoteAdded", "ParticipantExited") and not is_health(env)):
                continue
            if withhold and env.event_type in FROM_DOCTORS:
                withheld += 1
                continue
            sections[section].append(await render(conn, participant_id, env))
    await audit_health_read(request, principal, current.state, "health-records")
    return {
        "participant_id": str(participant_id),
        "version": current.version,
        "withheld_under_objection": withheld,
        **sections,
    }


async def _my_cases(request: Request, principal: Principal) -> list[dict[str, Any]]:
    rows = await pool(request).fetch(
        """
        SELECT c.case_id, c.participant_id, c.agency, c.project, c.status, c.phase, c.phase_since,
               c.employment_id, c.employed_since,
               CASE WHEN c.case_manager = $1 THEN 'case-manager' ELSE t.role END AS my_role,
               (SELECT min(a.scheduled_for) FROM case_appointments a
                 WHERE a.case_id = c.case_id AND a.status = 'scheduled' AND a.scheduled_for >= $3) AS next_appointment
        FROM cases c
        LEFT JOIN case_team t ON t.case_id = c.case_id AND t.member = $1 AND t.agency = $2
        WHERE c.status <> 'exited'
          AND ((c.case_manager = $1 AND c.agency = $2 AND $4) OR t.member IS NOT NULL)
        ORDER BY c.phase_since NULLS LAST, c.case_id
        """,
        principal.subject,
        principal.agency,
        today(request),
        principal.role.value == "case-manager",
    )
    return [dict(r) for r in rows]


@router.get("/caseload")
async def caseload(request: Request, principal: CurrentPrincipal) -> dict[str, Any]:
    """My active cases, with phase, days in phase and next appointment."""
    if principal.role not in access.CASE_READERS:
        raise Forbidden(f"role {principal.role} has no caseload")
    day = today(request)
    cases = await _my_cases(request, principal)
    for c in cases:
        c["days_in_phase"] = _days(c.pop("phase_since"), day)
        c["employed"] = c.pop("employment_id") is not None
    return {"member": principal.subject, "count": len(cases), "cases": cases}


@router.get("/tasks")
async def open_tasks(
    request: Request, principal: CurrentPrincipal, within_days: int = Query(default=14, ge=0, le=365)
) -> dict[str, Any]:
    """Due appointments (and past ones without an outcome), consents expiring soon, and cases
    where a job started and Nachbetreuung is the expected next step."""
    if principal.role not in access.CASE_READERS:
        raise Forbidden(f"role {principal.role} has no tasks")
    day = today(request)
    horizon = day + timedelta(days=within_days)
    cases = await _my_cases(request, principal)
    ids = [c["case_id"] for c in cases]
    tasks: list[dict[str, Any]] = []
    for row in await pool(request).fetch(
        "SELECT appointment_id, case_id, scheduled_for, with_member, kind FROM case_appointments"
        " WHERE case_id = ANY($1::uuid[]) AND status = 'scheduled' AND scheduled_for <= $2",
        ids,
        horizon,
    ):
        overdue = row["scheduled_for"] < day
        tasks.append(
            {
                "kind": "record-appointment-outcome" if overdue else "appointment-due",
                "participant_id": str(row["case_id"]),
                "due": row["scheduled_for"],
                "appointment_id": str(row["appointment_id"]),
                "with_member": row["with_member"],
                "appointment_kind": row["kind"],
            }
        )
    for row in await pool(request).fetch(
        "SELECT consent_id, participant_id, purpose, scope, expires_on FROM consents"
        " WHERE participant_id = ANY($1::uuid[]) AND status = 'active' AND expires_on IS NOT NULL"
        " AND expires_on <= $2",
        ids,
        horizon,
    ):
        tasks.append(
            {
                "kind": "consent-expiring",
                "participant_id": str(row["participant_id"]),
                "due": row["expires_on"],
                "consent_id": str(row["consent_id"]),
                "purpose": row["purpose"],
                "scope": row["scope"],
            }
        )
    for c in cases:
        if c["employment_id"] is not None and c["phase"] != Phase.NACHBETREUUNG.value:
            tasks.append(
                {
                    "kind": "enter-nachbetreuung",
                    "participant_id": str(c["participant_id"]),
                    "due": c["employed_since"],
                    "phase": c["phase"],
                }
            )
    tasks.sort(key=lambda t: (t["due"] or day, t["kind"]))
    return {"member": principal.subject, "today": day, "count": len(tasks), "tasks": tasks}


@router.get("/audit/health-reads")
async def health_reads(
    request: Request,
    principal: CurrentPrincipal,
    participant_id: Annotated[UUID | None, Query()] = None,
    subject: str | None = Query(default=None, max_length=200),
    since: Annotated[datetime | None, Query()] = None,
    limit: int = Query(default=500, ge=1, le=5000),
) -> dict[str, Any]:
    """Who read health data of which case and when (auditors and data-protection officers of
    the case's agency or of the reader's agency)."""
    if principal.role not in access.AUDIT_ROLES:
        raise Forbidden("the health-data read log is for auditors and data-protection officers")
    rows = await pool(request).fetch(
        """
        SELECT read_at, subject, role, agency, case_id AS participant_id, case_agency, what, correlation_id
        FROM health_data_reads
        WHERE (case_agency = $1 OR agency = $1)
          AND ($2::uuid IS NULL OR case_id = $2) AND ($3::text IS NULL OR subject = $3)
          AND ($4::timestamptz IS NULL OR read_at >= $4)
        ORDER BY read_at DESC, id DESC LIMIT $5
        """,
        principal.agency,
        participant_id,
        subject,
        since,
        limit,
    )
    return {"count": len(rows), "reads": [dict(r) for r in rows]}
