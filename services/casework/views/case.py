"""One case: at a glance, the person (asked from intake), its timeline (optionally as it stood
then) and its health records (audited)."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any
from uuid import UUID

import httpx

from services.casework import access
from services.casework.domain import Case
from services.casework.views.common import Reader, audit_health_read, open_sealed, visible_case, withheld_from
from shared.bus import Context
from shared.consent import marks_cover
from shared.contracts.base import DomainEvent
from shared.contracts.casework import (
    AssessmentCompleted,
    CapacityProfileRecorded,
    CaseNoteAdded,
    GoalRevised,
    GoalSet,
    InterventionAborted,
    InterventionCompleted,
    InterventionPlanned,
    InterventionStarted,
    MedicalReportReceived,
    ParticipantExited,
    ParticipationInterrupted,
    RehabApplicationDecided,
    RehabApplicationFiled,
    RehabApplicationReceived,
    RehabInformationProvided,
    RehabInformationRequested,
    RehabMeasureEnded,
    RehabMeasureStarted,
)
from shared.contracts.common import ExitReason, InterventionCategory
from shared.db import Conn
from shared.domain import Forbidden, NotFound
from shared.principal import Principal
from shared.recorded import Recorded

HEALTH_SECTIONS: dict[type[DomainEvent], str] = {
    AssessmentCompleted: "assessments",
    MedicalReportReceived: "medical_reports",
    InterventionPlanned: "interventions",
    InterventionStarted: "interventions",
    InterventionCompleted: "interventions",
    InterventionAborted: "interventions",
    RehabApplicationFiled: "rehab_applications",
    RehabApplicationDecided: "rehab_applications",
    RehabApplicationReceived: "rehab_applications",
    RehabInformationRequested: "rehab_applications",
    RehabInformationProvided: "rehab_applications",
    RehabMeasureStarted: "rehab_applications",
    RehabMeasureEnded: "rehab_applications",
    ParticipationInterrupted: "interruptions",
    CaseNoteAdded: "confidential_notes",
    ParticipantExited: "exit",
}

# Events whose content came from doctors: § 76 SGB X lets the participant object to passing it on.
FROM_DOCTORS: frozenset[type[DomainEvent]] = frozenset({MedicalReportReceived})


class IntakeUnavailable(Exception):
    """Intake answered something other than the person, a refusal or "not found"."""

    def __init__(self, status_code: int) -> None:
        super().__init__(f"intake answered {status_code}")
        self.status_code = status_code


def is_health(event: DomainEvent) -> bool:
    """Health content in the sense of the access rules (not only the contract flag)."""
    match event:
        case InterventionPlanned() | InterventionStarted() | InterventionCompleted() | InterventionAborted():
            return event.category is not InterventionCategory.EMPLOYMENT_PROMOTION
        case CaseNoteAdded():
            return event.confidential
        case ParticipantExited():
            return event.reason is ExitReason.DISABILITY_PENSION
    return type(event).health_data


async def render(
    conn: Conn, participant_id: UUID, rec: Recorded[DomainEvent], reader: Principal, case: Case
) -> dict[str, Any]:
    """The event's payload with sealed fields opened (``sealed_x`` → ``x``) where the reader
    may see them (``access.sees_field``); the others are ``None`` and listed in ``withheld``."""
    data: dict[str, Any] = {}
    withheld: list[str] = []
    for key, value in rec.payload.model_dump(mode="json").items():
        if key == "case_id":
            continue
        name = key.removeprefix("sealed_")
        if not key.startswith("sealed_"):
            data[key] = value
        elif access.sees_field(reader, case, rec.payload, key):
            opened = await open_sealed(conn, participant_id, value)
            if opened is not None or name not in data:  # a v1 event: keep its clear field
                data[name] = opened
        else:
            data[name] = None  # a v1 event's clear field is withheld the same way
            withheld.append(name)
    rendered = {
        "version": rec.version,
        "event_type": rec.event_type,
        "occurred_at": rec.occurred_at,
        "actor": rec.actor.model_dump(),
        "data": data,
    }
    return rendered | ({"withheld": withheld} if withheld else {})


async def objected(conn: Conn, participant_id: UUID, rec: Recorded[DomainEvent], scopes: list[list[str]]) -> bool:
    """True if a § 76 objection in ``scopes`` covers this event's doctor (exactly its scope)."""
    if not scopes or type(rec.payload) not in FROM_DOCTORS:
        return False
    assert isinstance(rec.payload, MedicalReportReceived)
    source = await open_sealed(conn, participant_id, rec.payload.sealed_source)
    if not source:
        return True  # an unreadable source: withheld rather than guessed
    return any(marks_cover(scope, str(source or "")) for scope in scopes)


def _redacted(rec: Recorded[DomainEvent]) -> dict[str, Any]:
    return {"version": rec.version, "event_type": "health-record", "occurred_at": rec.occurred_at, "redacted": True}


def days_between(since: date | None, day: date) -> int | None:
    return (day - since).days if since else None


async def get_case(db: Reader, ctx: Context, participant_id: UUID, as_of: datetime | None) -> dict[str, Any]:
    """The case at a glance: phase, team, goals, capacity profile; no diagnoses."""
    view = await visible_case(db, ctx, participant_id, as_of)
    current, s = view.shown, view.shown.state
    health = access.has_health_access(ctx.principal, view.now.state)
    profile: Any = None
    goals: dict[UUID, dict[str, Any]] = {}
    async with db.pool.acquire() as conn:
        for rec in map(Recorded.decode, current.events):
            e = rec.payload
            if isinstance(e, CapacityProfileRecorded):
                profile = await open_sealed(conn, participant_id, e.sealed_profile)
            elif isinstance(e, GoalSet | GoalRevised):
                g = goals.setdefault(e.goal_id, {"goal_id": str(e.goal_id)})
                g["text"] = await open_sealed(conn, participant_id, e.sealed_text)
                g["target_date"] = e.target_date
    for gid, g in goals.items():
        g["status"] = s.goals.get(gid, "open")
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
        "days_in_phase": days_between(s.phase_since, ctx.today),
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


async def person(
    db: Reader, ctx: Context, participant_id: UUID, intake: httpx.AsyncClient, authorization: str
) -> dict[str, Any]:
    """Name, birth date and contact of the case's participant. Casework holds no identity: it
    asks intake with the caller's own token, so intake's rules (agency, drv-exchange consent)
    decide, and intake's answer is passed on, not stored."""
    await visible_case(db, ctx, participant_id)
    async with intake as client:
        r = await client.get(
            f"/participants/{participant_id}",
            headers={"Authorization": authorization, "X-Correlation-ID": str(ctx.correlation_id)},
        )
    if r.status_code in (403, 404):
        detail = r.json().get("error", "intake refused") if r.content else "intake refused"
        raise (Forbidden if r.status_code == 403 else NotFound)(f"intake: {detail}")
    if r.status_code != 200:
        raise IntakeUnavailable(r.status_code)
    return {"participant_id": str(participant_id), "identity": r.json().get("identity")}


async def timeline(db: Reader, ctx: Context, participant_id: UUID, as_of: datetime | None) -> dict[str, Any]:
    """Every event of the case (up to ``as_of``); health records are redacted unless I have
    health access (then this read is audited)."""
    view = await visible_case(db, ctx, participant_id, as_of)
    current = view.shown
    health = access.has_health_access(ctx.principal, view.now.state)  # today's case, never the past's
    withhold = await withheld_from(db, ctx, view.now.state, participant_id)
    items: list[dict[str, Any]] = []
    shown_health = False
    async with db.pool.acquire() as conn:
        for rec in map(Recorded.decode, current.events):
            sensitive = is_health(rec.payload)
            if (sensitive and not health) or await objected(conn, participant_id, rec, withhold):
                items.append(_redacted(rec))
                continue
            shown_health = shown_health or sensitive
            items.append(await render(conn, participant_id, rec, ctx.principal, view.now.state))
    if shown_health:
        await audit_health_read(db, ctx, current.state, "timeline")
    return {"participant_id": str(participant_id), "version": current.version, "events": items}


async def health_records(db: Reader, ctx: Context, participant_id: UUID) -> dict[str, Any]:
    """Assessments, medical reports, interventions, rehab applications, interruptions and
    confidential notes. Only for the case manager and the team's health roles; audited."""
    current = (await visible_case(db, ctx, participant_id)).now
    access.require_health(ctx.principal, current.state)
    sections: dict[str, list[dict[str, Any]]] = {k: [] for k in sorted(set(HEALTH_SECTIONS.values()))}
    withhold = await withheld_from(db, ctx, current.state, participant_id)
    withheld = 0
    async with db.pool.acquire() as conn:
        for rec in map(Recorded.decode, current.events):
            section = HEALTH_SECTIONS.get(type(rec.payload))
            if section is None or (
                isinstance(rec.payload, CaseNoteAdded | ParticipantExited) and not is_health(rec.payload)
            ):
                continue
            if await objected(conn, participant_id, rec, withhold):
                withheld += 1
                continue
            sections[section].append(await render(conn, participant_id, rec, ctx.principal, current.state))
    await audit_health_read(db, ctx, current.state, "health-records")
    return {
        "participant_id": str(participant_id),
        "version": current.version,
        "withheld_under_objection": withheld,
        **sections,
    }
