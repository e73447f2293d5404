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

from fastapi import APIRouter, Depends, Query, Request

from services.intake import access, views
from services.intake import commands as intake
from services.intake.commands import ExpiryRunIn, ParticipantAnswer
from services.intake.handlers import KeyStore
from services.intake.policies import ConsentExpiry
from shared.domain import DomainError
from shared.http import QueryCtx, runtime
from shared.values import Name
from shared.web import command_route

router = APIRouter(tags=["intake"])
command = partial(command_route, router, answer=ParticipantAnswer)


async def _unit_of_work(request: Request) -> views.UnitOfWorkFactory:
    return runtime(request).unit_of_work


async def _keys(request: Request) -> KeyStore:
    return request.app.state.keys  # type: ignore[no-any-return]


async def _expiry(request: Request) -> ConsentExpiry:
    return request.app.state.consent_expiry  # type: ignore[no-any-return]


Reads = Annotated[views.UnitOfWorkFactory, Depends(_unit_of_work)]
Keys = Annotated[KeyStore, Depends(_keys)]
Expiry = Annotated[ConsentExpiry, Depends(_expiry)]


command("/referrals", intake.ReceiveReferral, status_code=201)
command("/participants/{participant_id}/information-meeting", intake.HoldInformationMeeting)
command("/participants/{participant_id}/eligibility", intake.CheckEligibility)
command("/participants/{participant_id}/consents", intake.GrantConsent, status_code=201)
command("/participants/{participant_id}/consents/{consent_id}/withdrawal", intake.WithdrawConsent)
command("/participants/{participant_id}/objections", intake.RecordObjection, status_code=201)
command("/participants/{participant_id}/objections/{objection_id}/withdrawal", intake.WithdrawObjection)
command("/participants/{participant_id}/enrolment", intake.EnrolParticipant)
command("/participants/{participant_id}/decline", intake.DeclineEnrolment)
command("/participants/{participant_id}/withdrawal", intake.WithdrawReferral)
command("/participants/{participant_id}/erasure", intake.EraseParticipant)


@router.get("/participants")
async def list_participants(
    ctx: QueryCtx,
    reads: Reads,
    status: Annotated[views.Status | None, Query()] = None,
    project: Annotated[Name | None, Query(max_length=60)] = None,
) -> list[dict[str, Any]]:
    """The agency's register (no identity: open one participant for that)."""
    return await views.register(reads, ctx, status, project)


@router.get("/participants/{participant_id}")
async def get_participant(participant_id: UUID, ctx: QueryCtx, reads: Reads, keys: Keys) -> dict[str, Any]:
    return await views.participant_detail(reads, keys, ctx, participant_id)


@router.get("/participants/{participant_id}/consents")
async def list_consents(participant_id: UUID, ctx: QueryCtx, reads: Reads, keys: Keys) -> list[dict[str, Any]]:
    return await views.consents(reads, keys, ctx, participant_id)


@router.get("/participants/{participant_id}/subject-access")
async def subject_access(participant_id: UUID, ctx: QueryCtx, reads: Reads, keys: Keys) -> dict[str, Any]:
    """Everything intake holds about the person (GDPR Art. 15): the owning agency's DPO; audited."""
    return await views.subject_access(reads, keys, ctx, participant_id)


@router.get("/audit/data-reads")
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


@router.post("/admin/consent-expiry")
async def run_consent_expiry(body: ExpiryRunIn, ctx: QueryCtx, expiry: Expiry) -> dict[str, Any]:
    """Run the expiry policy now (it also runs in the background) for the caller's own agency;
    ``today`` for drills, never after today (a future day would expire valid consents for good)."""
    access.require_role(ctx.principal, access.EXPIRY_ROLES)
    if body.today is not None and body.today > ctx.today:
        raise DomainError(f"a drill cannot run after today ({ctx.today.isoformat()})", field="today")
    return {"agency": ctx.principal.agency, "expired": await expiry.run_once(body.today, ctx.principal.agency)}


@router.post("/internal/monitoring/identities", tags=["intake: monitoring"])
async def monitoring_identities(body: views.IdentityRequest, ctx: QueryCtx, reads: Reads, keys: Keys) -> dict[str, Any]:
    """Age and insurance number of the requested participants with active monitoring consent,
    for the reporting service only; every call is audited."""
    return await views.monitoring_identities(reads, keys, ctx, body)
