"""Casework commands over HTTP. Every POST takes ``Idempotency-Key`` and ``If-Match``
(expected case version: a stale one is 409). Free text is sealed with the participant's key."""

from __future__ import annotations

from datetime import date
from typing import Literal
from uuid import UUID

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field

from services.casework import access, domain
from services.casework.web_support import command, medical_release_active, pool, visible_case
from shared import http
from shared.auth import CurrentPrincipal, Principal
from shared.contracts.common import CapacityProfile, ExitReason, InterventionCategory, Phase
from shared.domain import DomainError
from shared.envelope import new_id
from shared.vocabulary import AGENCIES, Role

router = APIRouter(prefix="/cases/{participant_id}", tags=["casework commands"])

Key = http.IdempotencyKey
Version = http.IfMatch


class In(BaseModel):
    model_config = ConfigDict(extra="forbid")


class AssignIn(In):
    case_manager: str = Field(min_length=1, max_length=200, description="staff id")
    assigned_on: date


class HandOverIn(In):
    to_case_manager: str = Field(min_length=1, max_length=200)
    handed_over_on: date
    note: str = Field(default="", max_length=4000)


class TeamIn(In):
    member: str = Field(min_length=1, max_length=200)
    role: Role
    agency: str | None = Field(default=None, description="the member's agency (default: the case's)")
    added_on: date


class RemovalIn(In):
    removed_on: date


class PhaseIn(In):
    phase: Phase
    entered_on: date
    reason: str | None = Field(default=None, max_length=500, description="required to skip or go back")


class InterruptIn(In):
    interrupted_on: date
    reason: str = Field(default="", max_length=2000, description="e.g. clinic stay (health data, sealed)")


class ResumeIn(In):
    resumed_on: date


class ExitIn(In):
    exited_on: date
    reason: ExitReason


class AssessmentIn(In):
    kind: str = Field(min_length=1, max_length=60)
    completed_on: date
    findings: str = Field(default="", max_length=8000)


class ProfileIn(In):
    recorded_on: date
    profile: CapacityProfile


class ReportIn(In):
    received_on: date
    consent_id: UUID | None = Field(default=None, description="medical-release consent it came under")
    source: str = Field(min_length=1, max_length=300, description="doctor or clinic")
    summary: str = Field(default="", max_length=8000)


class GoalIn(In):
    set_on: date
    text: str = Field(min_length=1, max_length=1000)
    target_date: date | None = None


class GoalRevisionIn(In):
    revised_on: date
    text: str = Field(min_length=1, max_length=1000)
    target_date: date | None = None


class GoalAchievedIn(In):
    achieved_on: date


class GoalDroppedIn(In):
    dropped_on: date
    reason: str = Field(default="", max_length=1000)


class PlanIn(In):
    updated_on: date
    steps: list[str] = Field(min_length=1, max_length=50)
    review_on: date | None = None
    participant_agreed: bool = True


class InterventionIn(In):
    category: InterventionCategory
    provider: str = Field(min_length=1, max_length=200)
    planned_start: date
    planned_end: date | None = None
    cost_eur: float | None = Field(default=None, ge=0)
    details: str = Field(default="", max_length=4000)


class StartIn(In):
    started_on: date


class CompleteIn(In):
    completed_on: date
    cost_eur: float | None = Field(default=None, ge=0)


class AbortIn(In):
    aborted_on: date
    reason: str = Field(default="", max_length=2000)


class RehabIn(In):
    filed_on: date
    carrier: str = Field(min_length=1, max_length=60)
    kind: Literal["medical", "vocational"]


class RehabDecisionIn(In):
    decided_on: date
    approved: bool


class AppointmentIn(In):
    scheduled_for: date
    with_member: str = Field(min_length=1, max_length=200)
    kind: str = Field(min_length=1, max_length=60)


class OutcomeIn(In):
    on: date
    attended: bool
    excused: bool = False


class ContactIn(In):
    contacted_on: date
    channel: Literal["phone", "email", "letter", "visit", "video", "in-person"]
    counterpart: Literal["participant", "employer", "doctor", "clinic", "agency", "relative", "provider", "other"]
    summary: str = Field(default="", max_length=4000)


class NoteIn(In):
    written_on: date
    text: str = Field(min_length=1, max_length=8000)
    confidential: bool = False


def _intervention_check(category: InterventionCategory) -> access.Authorize:
    """Employment promotion is teamwork; every other category is health data."""

    def check(p: Principal, c: domain.Case) -> None:
        if category in access.NON_HEALTH_CATEGORIES:
            access.require_team(p, c)
        else:
            access.require_health(p, c)

    return check


def _iv_category(state: domain.Case, intervention_id: UUID) -> InterventionCategory:
    iv = state.interventions.get(intervention_id)
    return iv.category if iv else InterventionCategory.THERAPEUTIC


def _health_or_team_for(intervention_id: UUID) -> access.Authorize:
    def check(p: Principal, c: domain.Case) -> None:
        _intervention_check(_iv_category(c, intervention_id))(p, c)

    return check


# ------------------------------------------------------------------ team


@router.post("/case-manager")
async def assign_case_manager(
    participant_id: UUID,
    body: AssignIn,
    request: Request,
    principal: CurrentPrincipal,
    k: Key = None,
    v: Version = None,
) -> JSONResponse:
    return await command(
        request, principal, participant_id, access.require_manage,
        lambda s, _t: domain.assign_case_manager(s, body.case_manager, body.assigned_on),
        route="assign", payload=body, if_match=v, idempotency_key=k,
    )  # fmt: skip


@router.post("/handover")
async def hand_over(
    participant_id: UUID,
    body: HandOverIn,
    request: Request,
    principal: CurrentPrincipal,
    k: Key = None,
    v: Version = None,
) -> JSONResponse:
    """Hand-over between case managers (the note is sealed)."""
    return await command(
        request, principal, participant_id, access.require_manage,
        lambda s, t: domain.hand_over(s, body.to_case_manager, body.handed_over_on, t["note"]),
        route="handover", payload=body, sealed={"note": body.note}, if_match=v, idempotency_key=k,
    )  # fmt: skip


@router.post("/team", status_code=201)
async def add_team_member(
    participant_id: UUID, body: TeamIn, request: Request, principal: CurrentPrincipal, k: Key = None, v: Version = None
) -> JSONResponse:
    def check(p: Principal, c: domain.Case) -> None:
        access.require_manage(p, c)
        agency = body.agency or c.agency
        if agency not in AGENCIES:
            raise DomainError(f"unknown agency {agency}", field="agency")

    return await command(
        request, principal, participant_id, check,
        lambda s, _t: domain.add_team_member(s, body.member, body.role, body.agency or s.agency, body.added_on),
        route="team", payload=body, if_match=v, idempotency_key=k, status_code=201,
    )  # fmt: skip


@router.post("/team/{member}/removal")
async def remove_team_member(
    participant_id: UUID, member: str, body: RemovalIn, request: Request, principal: CurrentPrincipal,
    k: Key = None, v: Version = None,
) -> JSONResponse:  # fmt: skip
    return await command(
        request, principal, participant_id, access.require_manage,
        lambda s, _t: domain.remove_team_member(s, member, body.removed_on),
        route=f"remove:{member}", payload=body, if_match=v, idempotency_key=k,
    )  # fmt: skip


# ------------------------------------------------------------------ journey


@router.post("/phase")
async def enter_phase(
    participant_id: UUID, body: PhaseIn, request: Request, principal: CurrentPrincipal, k: Key = None, v: Version = None
) -> JSONResponse:
    """Phase transition: next in order; skip or back one with a reason; Nachbetreuung after a job."""
    return await command(
        request, principal, participant_id, access.require_manage,
        lambda s, _t: domain.enter_phase(s, body.phase, body.entered_on, body.reason),
        route="phase", payload=body, if_match=v, idempotency_key=k,
    )  # fmt: skip


@router.post("/interruption")
async def interrupt(
    participant_id: UUID, body: InterruptIn, request: Request, principal: CurrentPrincipal, k: Key = None,
    v: Version = None,
) -> JSONResponse:  # fmt: skip
    return await command(
        request, principal, participant_id, access.require_manage,
        lambda s, t: domain.interrupt(s, body.interrupted_on, t["reason"]),
        route="interrupt", payload=body, sealed={"reason": body.reason}, if_match=v, idempotency_key=k,
    )  # fmt: skip


@router.post("/resumption")
async def resume(
    participant_id: UUID,
    body: ResumeIn,
    request: Request,
    principal: CurrentPrincipal,
    k: Key = None,
    v: Version = None,
) -> JSONResponse:
    return await command(
        request, principal, participant_id, access.require_manage,
        lambda s, _t: domain.resume(s, body.resumed_on),
        route="resume", payload=body, if_match=v, idempotency_key=k,
    )  # fmt: skip


@router.post("/exit")
async def exit_case(
    participant_id: UUID, body: ExitIn, request: Request, principal: CurrentPrincipal, k: Key = None, v: Version = None
) -> JSONResponse:
    """Austritt with a reason; a shared capacity profile is retracted with it."""
    return await command(
        request, principal, participant_id, access.require_manage,
        lambda s, _t: domain.exit_case(s, body.exited_on, body.reason),
        route="exit", payload=body, if_match=v, idempotency_key=k,
    )  # fmt: skip


# ------------------------------------------------------------------ health records and profile


@router.post("/assessments", status_code=201)
async def complete_assessment(
    participant_id: UUID, body: AssessmentIn, request: Request, principal: CurrentPrincipal, k: Key = None,
    v: Version = None,
) -> JSONResponse:  # fmt: skip
    aid = new_id()
    return await command(
        request, principal, participant_id, access.require_health,
        lambda s, t: domain.complete_assessment(s, aid, body.kind, body.completed_on, principal.subject, t["findings"]),
        route="assessment", payload=body, sealed={"findings": body.findings}, if_match=v, idempotency_key=k,
        status_code=201, extra={"assessment_id": str(aid)},
    )  # fmt: skip


@router.post("/capacity-profile", status_code=201)
async def record_capacity_profile(
    participant_id: UUID, body: ProfileIn, request: Request, principal: CurrentPrincipal, k: Key = None,
    v: Version = None,
) -> JSONResponse:  # fmt: skip
    """What the person can do at work, no diagnoses. Goes to placement only under consent."""
    return await command(
        request, principal, participant_id, access.require_health,
        lambda s, t: domain.record_capacity_profile(s, body.recorded_on, principal.subject, t["profile"]),
        route="profile", payload=body, sealed={"profile": body.profile.model_dump(mode="json")},
        if_match=v, idempotency_key=k, status_code=201,
    )  # fmt: skip


@router.post("/medical-reports", status_code=201)
async def receive_medical_report(
    participant_id: UUID, body: ReportIn, request: Request, principal: CurrentPrincipal, k: Key = None,
    v: Version = None,
) -> JSONResponse:  # fmt: skip
    if body.consent_id is not None:
        await visible_case(request, principal, participant_id)
        if not await medical_release_active(pool(request), participant_id, body.consent_id, body.received_on):
            raise DomainError("not an active medical-release consent of this participant", field="consent_id")
    rid = new_id()
    return await command(
        request, principal, participant_id, access.require_health,
        lambda s, t: domain.receive_medical_report(
            s, rid, body.received_on, body.consent_id, t["source"], t["summary"]
        ),
        route="report", payload=body, sealed={"source": body.source, "summary": body.summary},
        if_match=v, idempotency_key=k, status_code=201, extra={"report_id": str(rid)},
    )  # fmt: skip


# ------------------------------------------------------------------ goals and plan


@router.post("/goals", status_code=201)
async def set_goal(
    participant_id: UUID, body: GoalIn, request: Request, principal: CurrentPrincipal, k: Key = None, v: Version = None
) -> JSONResponse:
    gid = new_id()
    return await command(
        request, principal, participant_id, access.require_team,
        lambda s, t: domain.set_goal(s, gid, body.set_on, body.target_date, t["text"]),
        route="goal", payload=body, sealed={"text": body.text}, if_match=v, idempotency_key=k,
        status_code=201, extra={"goal_id": str(gid)},
    )  # fmt: skip


@router.post("/goals/{goal_id}/revision")
async def revise_goal(
    participant_id: UUID, goal_id: UUID, body: GoalRevisionIn, request: Request, principal: CurrentPrincipal,
    k: Key = None, v: Version = None,
) -> JSONResponse:  # fmt: skip
    return await command(
        request, principal, participant_id, access.require_team,
        lambda s, t: domain.revise_goal(s, goal_id, body.revised_on, body.target_date, t["text"]),
        route=f"goal-revise:{goal_id}", payload=body, sealed={"text": body.text}, if_match=v, idempotency_key=k,
    )  # fmt: skip


@router.post("/goals/{goal_id}/achievement")
async def achieve_goal(
    participant_id: UUID, goal_id: UUID, body: GoalAchievedIn, request: Request, principal: CurrentPrincipal,
    k: Key = None, v: Version = None,
) -> JSONResponse:  # fmt: skip
    return await command(
        request, principal, participant_id, access.require_team,
        lambda s, _t: domain.achieve_goal(s, goal_id, body.achieved_on),
        route=f"goal-achieve:{goal_id}", payload=body, if_match=v, idempotency_key=k,
    )  # fmt: skip


@router.post("/goals/{goal_id}/drop")
async def drop_goal(
    participant_id: UUID, goal_id: UUID, body: GoalDroppedIn, request: Request, principal: CurrentPrincipal,
    k: Key = None, v: Version = None,
) -> JSONResponse:  # fmt: skip
    return await command(
        request, principal, participant_id, access.require_team,
        lambda s, t: domain.drop_goal(s, goal_id, body.dropped_on, t["reason"]),
        route=f"goal-drop:{goal_id}", payload=body, sealed={"reason": body.reason}, if_match=v, idempotency_key=k,
    )  # fmt: skip


@router.post("/cooperation-plan")
async def update_plan(
    participant_id: UUID, body: PlanIn, request: Request, principal: CurrentPrincipal, k: Key = None, v: Version = None
) -> JSONResponse:
    """Kooperationsplan (§ 15 SGB II): agreed steps; not binding, no sanctions."""
    return await command(
        request, principal, participant_id, access.require_team,
        lambda s, t: domain.update_plan(s, body.updated_on, body.review_on, body.participant_agreed, t["steps"]),
        route="plan", payload=body, sealed={"steps": body.steps}, if_match=v, idempotency_key=k,
    )  # fmt: skip


# ------------------------------------------------------------------ interventions and rehab


@router.post("/interventions", status_code=201)
async def plan_intervention(
    participant_id: UUID, body: InterventionIn, request: Request, principal: CurrentPrincipal, k: Key = None,
    v: Version = None,
) -> JSONResponse:  # fmt: skip
    iid = new_id()
    return await command(
        request, principal, participant_id, _intervention_check(body.category),
        lambda s, t: domain.plan_intervention(
            s, iid, body.category, body.provider, body.planned_start, body.planned_end, body.cost_eur, t["details"]
        ),
        route="intervention", payload=body, sealed={"details": body.details}, if_match=v, idempotency_key=k,
        status_code=201, extra={"intervention_id": str(iid)},
    )  # fmt: skip


@router.post("/interventions/{intervention_id}/start")
async def start_intervention(
    participant_id: UUID, intervention_id: UUID, body: StartIn, request: Request, principal: CurrentPrincipal,
    k: Key = None, v: Version = None,
) -> JSONResponse:  # fmt: skip
    return await command(
        request, principal, participant_id, _health_or_team_for(intervention_id),
        lambda s, _t: domain.start_intervention(s, intervention_id, body.started_on),
        route=f"iv-start:{intervention_id}", payload=body, if_match=v, idempotency_key=k,
    )  # fmt: skip


@router.post("/interventions/{intervention_id}/completion")
async def complete_intervention(
    participant_id: UUID, intervention_id: UUID, body: CompleteIn, request: Request, principal: CurrentPrincipal,
    k: Key = None, v: Version = None,
) -> JSONResponse:  # fmt: skip
    return await command(
        request, principal, participant_id, _health_or_team_for(intervention_id),
        lambda s, _t: domain.complete_intervention(s, intervention_id, body.completed_on, body.cost_eur),
        route=f"iv-complete:{intervention_id}", payload=body, if_match=v, idempotency_key=k,
    )  # fmt: skip


@router.post("/interventions/{intervention_id}/abortion")
async def abort_intervention(
    participant_id: UUID, intervention_id: UUID, body: AbortIn, request: Request, principal: CurrentPrincipal,
    k: Key = None, v: Version = None,
) -> JSONResponse:  # fmt: skip
    return await command(
        request, principal, participant_id, _health_or_team_for(intervention_id),
        lambda s, t: domain.abort_intervention(s, intervention_id, body.aborted_on, t["reason"]),
        route=f"iv-abort:{intervention_id}", payload=body, sealed={"reason": body.reason}, if_match=v,
        idempotency_key=k,
    )  # fmt: skip


@router.post("/rehab-applications", status_code=201)
async def file_rehab_application(
    participant_id: UUID, body: RehabIn, request: Request, principal: CurrentPrincipal, k: Key = None, v: Version = None
) -> JSONResponse:
    aid = new_id()
    return await command(
        request, principal, participant_id, access.require_health,
        lambda s, _t: domain.file_rehab_application(s, aid, body.filed_on, body.carrier, body.kind),
        route="rehab", payload=body, if_match=v, idempotency_key=k, status_code=201,
        extra={"application_id": str(aid)},
    )  # fmt: skip


@router.post("/rehab-applications/{application_id}/decision")
async def decide_rehab_application(
    participant_id: UUID, application_id: UUID, body: RehabDecisionIn, request: Request, principal: CurrentPrincipal,
    k: Key = None, v: Version = None,
) -> JSONResponse:  # fmt: skip
    return await command(
        request, principal, participant_id, access.require_health,
        lambda s, _t: domain.decide_rehab_application(s, application_id, body.decided_on, body.approved),
        route=f"rehab-decide:{application_id}", payload=body, if_match=v, idempotency_key=k,
    )  # fmt: skip


# ------------------------------------------------------------------ appointments, contacts, notes


@router.post("/appointments", status_code=201)
async def schedule_appointment(
    participant_id: UUID, body: AppointmentIn, request: Request, principal: CurrentPrincipal, k: Key = None,
    v: Version = None,
) -> JSONResponse:  # fmt: skip
    aid = new_id()
    return await command(
        request, principal, participant_id, access.require_team,
        lambda s, _t: domain.schedule_appointment(s, aid, body.scheduled_for, body.with_member, body.kind),
        route="appointment", payload=body, if_match=v, idempotency_key=k, status_code=201,
        extra={"appointment_id": str(aid)},
    )  # fmt: skip


@router.post("/appointments/{appointment_id}/outcome")
async def record_attendance(
    participant_id: UUID, appointment_id: UUID, body: OutcomeIn, request: Request, principal: CurrentPrincipal,
    k: Key = None, v: Version = None,
) -> JSONResponse:  # fmt: skip
    """Attended or missed. A missed appointment is never a sanction."""
    return await command(
        request, principal, participant_id, access.require_team,
        lambda s, _t: domain.record_attendance(s, appointment_id, body.on, body.attended, body.excused),
        route=f"outcome:{appointment_id}", payload=body, if_match=v, idempotency_key=k,
    )  # fmt: skip


@router.post("/contacts", status_code=201)
async def log_contact(
    participant_id: UUID, body: ContactIn, request: Request, principal: CurrentPrincipal, k: Key = None,
    v: Version = None,
) -> JSONResponse:  # fmt: skip
    cid = new_id()
    return await command(
        request, principal, participant_id, access.require_team,
        lambda s, t: domain.log_contact(s, cid, body.contacted_on, body.channel, body.counterpart, t["summary"]),
        route="contact", payload=body, sealed={"summary": body.summary}, if_match=v, idempotency_key=k,
        status_code=201, extra={"contact_id": str(cid)},
    )  # fmt: skip


@router.post("/notes", status_code=201)
async def add_note(
    participant_id: UUID, body: NoteIn, request: Request, principal: CurrentPrincipal, k: Key = None, v: Version = None
) -> JSONResponse:
    """A case note; confidential notes are readable only with health access."""

    def check(p: Principal, c: domain.Case) -> None:
        (access.require_health if body.confidential else access.require_team)(p, c)

    nid = new_id()
    return await command(
        request, principal, participant_id, check,
        lambda s, t: domain.add_note(s, nid, body.written_on, principal.subject, body.confidential, t["text"]),
        route="note", payload=body, sealed={"text": body.text}, if_match=v, idempotency_key=k, status_code=201,
        extra={"note_id": str(nid)},
    )  # fmt: skip
