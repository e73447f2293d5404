"""HTTP API of intake: referrals, information meeting, eligibility, consents, objections,
enrolment (or a declined/withdrawn referral), erasure, the reads, and the identity look-up
for reporting's monitoring export. Thin: each command route builds its command and hands it
to the bus; each read route calls ``views``."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any
from uuid import UUID

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import JSONResponse

from services.intake import access, views
from services.intake.commands import (
    CheckEligibility,
    ConsentIn,
    DeclineEnrolment,
    DeclineIn,
    EligibilityIn,
    EnrolmentIn,
    EnrolParticipant,
    EraseParticipant,
    ErasureIn,
    ExpiryRunIn,
    GrantConsent,
    HoldInformationMeeting,
    MeetingIn,
    ObjectionIn,
    ObjectionWithdrawalIn,
    ParticipantAnswer,
    ReceiveReferral,
    RecordObjection,
    ReferralWithdrawalIn,
    WithdrawalIn,
    WithdrawConsent,
    WithdrawObjection,
    WithdrawReferral,
)
from services.intake.handlers import KeyStore
from services.intake.policies import ConsentExpiry
from shared.domain import DomainError
from shared.http import Bus, CommandCtx, QueryCtx, respond, runtime
from shared.values import Name

router = APIRouter(tags=["intake"])


def _unit_of_work(request: Request) -> views.UnitOfWorkFactory:
    return runtime(request).unit_of_work


def _keys(request: Request) -> KeyStore:
    return request.app.state.keys  # type: ignore[no-any-return]


def _expiry(request: Request) -> ConsentExpiry:
    return request.app.state.consent_expiry  # type: ignore[no-any-return]


Reads = Annotated[views.UnitOfWorkFactory, Depends(_unit_of_work)]
Keys = Annotated[KeyStore, Depends(_keys)]
Expiry = Annotated[ConsentExpiry, Depends(_expiry)]


@router.post("/referrals", status_code=201, response_model=ParticipantAnswer)
async def receive_referral(body: ReceiveReferral, ctx: CommandCtx, bus: Bus) -> JSONResponse:
    """Zuweisung from a Jobcenter or DRV: identity and reason are sealed under a new key."""
    return respond(await bus.handle(body, ctx), 201)


@router.post("/participants/{participant_id}/information-meeting", response_model=ParticipantAnswer)
async def information_meeting(participant_id: UUID, body: MeetingIn, ctx: CommandCtx, bus: Bus) -> JSONResponse:
    cmd = HoldInformationMeeting(participant_id=participant_id, **body.model_dump())
    return respond(await bus.handle(cmd, ctx))


@router.post("/participants/{participant_id}/eligibility", response_model=ParticipantAnswer)
async def eligibility(participant_id: UUID, body: EligibilityIn, ctx: CommandCtx, bus: Bus) -> JSONResponse:
    """The entry rule; the answer lists the reasons of the result."""
    cmd = CheckEligibility(participant_id=participant_id, **body.model_dump())
    return respond(await bus.handle(cmd, ctx))


@router.post("/participants/{participant_id}/consents", status_code=201, response_model=ParticipantAnswer)
async def grant_consent(participant_id: UUID, body: ConsentIn, ctx: CommandCtx, bus: Bus) -> JSONResponse:
    cmd = GrantConsent(participant_id=participant_id, **body.model_dump())
    return respond(await bus.handle(cmd, ctx), 201)


@router.post("/participants/{participant_id}/consents/{consent_id}/withdrawal", response_model=ParticipantAnswer)
async def withdraw_consent(
    participant_id: UUID, consent_id: UUID, body: WithdrawalIn, ctx: CommandCtx, bus: Bus
) -> JSONResponse:
    """Withdrawal with effect from ``effective_on`` on, never retroactive."""
    cmd = WithdrawConsent(participant_id=participant_id, consent_id=consent_id, **body.model_dump())
    return respond(await bus.handle(cmd, ctx))


@router.post("/participants/{participant_id}/objections", status_code=201, response_model=ParticipantAnswer)
async def record_objection(participant_id: UUID, body: ObjectionIn, ctx: CommandCtx, bus: Bus) -> JSONResponse:
    """Objection under § 76 SGB X."""
    cmd = RecordObjection(participant_id=participant_id, **body.model_dump())
    return respond(await bus.handle(cmd, ctx), 201)


@router.post("/participants/{participant_id}/objections/{objection_id}/withdrawal", response_model=ParticipantAnswer)
async def withdraw_objection(
    participant_id: UUID, objection_id: UUID, body: ObjectionWithdrawalIn, ctx: CommandCtx, bus: Bus
) -> JSONResponse:
    """Withdraws a § 76 objection with effect from ``withdrawn_on`` on, never retroactive."""
    cmd = WithdrawObjection(participant_id=participant_id, objection_id=objection_id, **body.model_dump())
    return respond(await bus.handle(cmd, ctx))


@router.post("/participants/{participant_id}/enrolment", response_model=ParticipantAnswer)
async def enrol(participant_id: UUID, body: EnrolmentIn, ctx: CommandCtx, bus: Bus) -> JSONResponse:
    """Eintritt: needs a positive eligibility check and participation consent."""
    cmd = EnrolParticipant(participant_id=participant_id, **body.model_dump())
    return respond(await bus.handle(cmd, ctx))


@router.post("/participants/{participant_id}/decline", response_model=ParticipantAnswer)
async def decline(participant_id: UUID, body: DeclineIn, ctx: CommandCtx, bus: Bus) -> JSONResponse:
    cmd = DeclineEnrolment(participant_id=participant_id, **body.model_dump())
    return respond(await bus.handle(cmd, ctx))


@router.post("/participants/{participant_id}/withdrawal", response_model=ParticipantAnswer)
async def withdraw_referral(
    participant_id: UUID, body: ReferralWithdrawalIn, ctx: CommandCtx, bus: Bus
) -> JSONResponse:
    cmd = WithdrawReferral(participant_id=participant_id, **body.model_dump())
    return respond(await bus.handle(cmd, ctx))


@router.post("/participants/{participant_id}/erasure", response_model=ParticipantAnswer)
async def erase(participant_id: UUID, body: ErasureIn, ctx: CommandCtx, bus: Bus) -> JSONResponse:
    """Data-protection officer only: destroy the participant's key (crypto-shredding; the
    events stay, their sealed fields become unreadable for good) and tell every service."""
    cmd = EraseParticipant(participant_id=participant_id, **body.model_dump())
    return respond(await bus.handle(cmd, ctx))


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
