"""HTTP API of intake: referrals, information meeting, eligibility, consents, objections,
enrolment (or a declined/withdrawn referral), erasure, the reads, and the identity look-up
for reporting's monitoring export. Thin: each command route is one ``command_route``
declaration (the command from path and body, handed to the bus); each read route calls
``views``."""

from __future__ import annotations

from datetime import datetime
from functools import partial
from typing import Annotated, Any
from uuid import UUID

from fastapi import APIRouter, Depends, Path, Query, Request

from services.intake import access, views
from services.intake import commands as intake
from services.intake.commands import ExpiryRunIn, ParticipantAnswer, RetentionRuleAnswer, RetentionRunIn, StaffAnswer
from services.intake.handlers import KeyStore
from services.intake.policies import ConsentExpiry, RetentionTask
from shared.domain import DomainError
from shared.http import QueryCtx, runtime
from shared.values import Name
from shared.web import access as declared
from shared.web import command_route

router = APIRouter(tags=["intake"])
command = partial(command_route, router, answer=ParticipantAnswer)

# The access decisions of the routes (shared.web.access; the README's access table is made of them).
REFERRER = declared("participant", "require_referrer")
RUNNING = declared("participant", "require_role(INTAKE_ROLES) & require_running_agency")
ERASER = declared("participant", "require_role(ERASING_ROLES) & require_running_agency")
REGISTER = declared("participant", "require_role(IDENTITY_ROLES)")
IDENTITY = declared("identity", "require_role(IDENTITY_ROLES) & require_reader")
CONSENTS = declared("consent", "require_role(IDENTITY_ROLES) & require_reader")
STAFF = declared("staff member", "require_role(STAFF_ADMIN_ROLES)")
HOLD = declared("legal hold", "require_role(HOLD_ROLES) & require_running_agency")
RETENTION_RULES = declared("retention rule", "require_role(RETENTION_RULE_ROLES)")
SUBJECT_ACCESS = declared("participant", "require_subject_access")


async def _unit_of_work(request: Request) -> views.UnitOfWorkFactory:
    return runtime(request).unit_of_work


async def _keys(request: Request) -> KeyStore:
    return request.app.state.keys  # type: ignore[no-any-return]


async def _expiry(request: Request) -> ConsentExpiry:
    return request.app.state.consent_expiry  # type: ignore[no-any-return]


async def _retention(request: Request) -> RetentionTask:
    return request.app.state.retention  # type: ignore[no-any-return]


Reads = Annotated[views.UnitOfWorkFactory, Depends(_unit_of_work)]
Keys = Annotated[KeyStore, Depends(_keys)]
Expiry = Annotated[ConsentExpiry, Depends(_expiry)]
Retention = Annotated[RetentionTask, Depends(_retention)]


command("/referrals", intake.ReceiveReferral, status_code=201, **REFERRER)
command("/participants/{participant_id}/information-meeting", intake.HoldInformationMeeting, **RUNNING)
command("/participants/{participant_id}/eligibility", intake.CheckEligibility, **RUNNING)
command("/participants/{participant_id}/consents", intake.GrantConsent, status_code=201, **RUNNING)
command("/participants/{participant_id}/consents/{consent_id}/withdrawal", intake.WithdrawConsent, **RUNNING)
command("/participants/{participant_id}/objections", intake.RecordObjection, status_code=201, **RUNNING)
command("/participants/{participant_id}/objections/{objection_id}/withdrawal", intake.WithdrawObjection, **RUNNING)
command("/participants/{participant_id}/enrolment", intake.EnrolParticipant, **RUNNING)
command("/participants/{participant_id}/decline", intake.DeclineEnrolment, **RUNNING)
command("/participants/{participant_id}/withdrawal", intake.WithdrawReferral, **RUNNING)
command("/participants/{participant_id}/erasure", intake.EraseParticipant, **ERASER)
staff = partial(command_route, router, answer=StaffAnswer, tags=["intake: staff directory"])
staff("/staff", intake.RegisterStaffMember, status_code=201, **STAFF)
staff("/staff/{subject}/roles", intake.ChangeStaffRoles, **STAFF)
staff("/staff/{subject}/departure", intake.RecordStaffDeparture, **STAFF)


@router.get("/staff", tags=["intake: staff directory"], **STAFF)
async def list_staff(ctx: QueryCtx, reads: Reads) -> list[dict[str, Any]]:
    """The agency's staff (administrators): subjects, roles, projects, who left."""
    return await views.staff_list(reads, ctx)


@router.get("/staff/{subject}", tags=["intake: staff directory"], **STAFF)
async def get_staff_member(
    subject: Annotated[Name, Path(max_length=200)], ctx: QueryCtx, reads: Reads, keys: Keys
) -> dict[str, Any]:
    """One member of the agency's staff, with the name (administrators)."""
    return await views.staff_detail(reads, keys, ctx, subject)


command("/participants/{participant_id}/legal-holds", intake.PlaceLegalHold, status_code=201, **HOLD)
command("/participants/{participant_id}/legal-holds/{hold_id}/lifting", intake.LiftLegalHold, **HOLD)
command_route(router, "/retention/rules", intake.SetRetentionRule, answer=RetentionRuleAnswer, **RETENTION_RULES)


@router.get("/participants", **REGISTER)
async def list_participants(
    ctx: QueryCtx,
    reads: Reads,
    status: Annotated[views.Status | None, Query()] = None,
    project: Annotated[Name | None, Query(max_length=60)] = None,
) -> list[dict[str, Any]]:
    """The agency's register (no identity: open one participant for that)."""
    return await views.register(reads, ctx, status, project)


@router.get("/participants/search", **declared("identity", "require_role(IDENTITY_ROLES)"))
async def search_participants(
    ctx: QueryCtx, reads: Reads, keys: Keys, q: Annotated[str, Query(min_length=1, max_length=200)]
) -> dict[str, Any]:
    """The agency's participants by number or by the words of the name (blind index); every
    participant in the answer is logged as read (``search``)."""
    return await views.search(reads, keys, ctx, q)


@router.get("/participants/{participant_id}", **IDENTITY)
async def get_participant(participant_id: UUID, ctx: QueryCtx, reads: Reads, keys: Keys) -> dict[str, Any]:
    return await views.participant_detail(reads, keys, ctx, participant_id)


@router.get("/participants/{participant_id}/consents", **CONSENTS)
async def list_consents(participant_id: UUID, ctx: QueryCtx, reads: Reads, keys: Keys) -> list[dict[str, Any]]:
    return await views.consents(reads, keys, ctx, participant_id)


@router.get("/participants/{participant_id}/subject-access", **SUBJECT_ACCESS)
async def subject_access(participant_id: UUID, ctx: QueryCtx, reads: Reads, keys: Keys) -> dict[str, Any]:
    """Everything intake holds about the person (GDPR Art. 15): the owning agency's DPO; audited."""
    return await views.subject_access(reads, keys, ctx, participant_id)


@router.get("/audit/data-reads", **declared("read log", "require_auditor"))
async def data_reads(
    ctx: QueryCtx,
    reads: Reads,
    participant_id: Annotated[UUID | None, Query()] = None,
    subject: str | None = Query(default=None, max_length=200),
    since: Annotated[datetime | None, Query()] = None,
    limit: int = Query(default=500, ge=1, le=5000),
) -> dict[str, Any]:
    """Who read identities and referral reasons, and when (auditors and data-protection officers)."""
    return await views.data_reads(reads, ctx, participant_id=participant_id, subject=subject, since=since, limit=limit)


@router.post("/admin/consent-expiry", **declared("consent", "require_role(EXPIRY_ROLES)"))
async def run_consent_expiry(body: ExpiryRunIn, ctx: QueryCtx, expiry: Expiry) -> dict[str, Any]:
    """Run the expiry policy now (it also runs in the background) for the caller's own agency;
    ``today`` for drills, never after today (a future day would expire valid consents for good)."""
    access.require_role(ctx.principal, access.EXPIRY_ROLES)
    if body.today is not None and body.today > ctx.today:
        raise DomainError(f"a drill cannot run after today ({ctx.today.isoformat()})", field="today")
    return {"agency": ctx.principal.agency, "expired": await expiry.run_once(body.today, ctx.principal.agency)}


@router.post(
    "/internal/monitoring/identities",
    tags=["intake: monitoring"],
    **declared("identity", "is_reporting_service"),
)
async def monitoring_identities(body: views.IdentityRequest, ctx: QueryCtx, reads: Reads, keys: Keys) -> dict[str, Any]:
    """Age and insurance number of the requested participants with active monitoring consent,
    for the reporting service only; every call is audited."""
    return await views.monitoring_identities(reads, keys, ctx, body)


@router.get("/retention/rules", **declared("retention rule", "require_role(RETENTION_READ_ROLES)"))
async def retention_rules(ctx: QueryCtx, reads: Reads) -> dict[str, Any]:
    """The caller's agency's retention periods per record class (defaults and the ones set)."""
    return await views.retention_rules(reads, ctx)


@router.get("/retention/upcoming", **declared("participant", "require_role(UPCOMING_ROLES)"))
async def upcoming_deletions(
    ctx: QueryCtx, reads: Reads, keys: Keys, within_days: int = Query(default=90, ge=0, le=3660)
) -> dict[str, Any]:
    """What the retention task erases by today + ``within_days``, and what legal holds keep."""
    return await views.upcoming_deletions(reads, keys, ctx, within_days)


@router.post("/admin/retention", **declared("participant", "require_role(RETENTION_RULE_ROLES)"))
async def run_retention(body: RetentionRunIn, ctx: QueryCtx, task: Retention) -> dict[str, Any]:
    """Run the daily retention task now for the caller's own agency; ``today`` for drills,
    never after today (a future day would erase people before their time, for good)."""
    access.require_role(ctx.principal, access.RETENTION_RULE_ROLES)
    if body.today is not None and body.today > ctx.today:
        raise DomainError(f"a drill cannot run after today ({ctx.today.isoformat()})", field="today")
    run = await task.run_once(body.today, ctx.principal.agency)
    return {"agency": ctx.principal.agency, **run.as_dict()}
