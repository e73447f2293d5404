"""HTTP API of intake: referrals, information meeting, eligibility, consents, objections,
enrolment (or a declined/withdrawn referral) and erasure.

Intake alone holds identity; it opens it only to staff of the owning agency, or of an agency
the participant's drv-exchange consent covers. The referral reason is health data: only
health roles see it.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import date
from typing import Any, Literal
from uuid import UUID

from fastapi import APIRouter, Query, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field

from services.intake import domain
from shared import http, metrics
from shared.auth import CurrentPrincipal, Principal, require_role
from shared.commands import Loaded, execute, load
from shared.contracts.base import DomainEvent
from shared.contracts.common import ConsentPurpose
from shared.contracts.intake import AgeBand, ConsentForm, ReferralReceived, Sex
from shared.crypto import SubjectKeys
from shared.domain import Forbidden, NotFound
from shared.envelope import Envelope, new_id
from shared.vocabulary import HEALTH_ROLES, PROJECTS, Role

router = APIRouter(tags=["intake"])
keys = SubjectKeys()

REFERRING_ROLES = (Role.CASE_MANAGER, Role.DRV_ADVISER)
INTAKE_ROLES = (Role.CASE_MANAGER, Role.DRV_ADVISER)
IDENTITY_ROLES = frozenset(
    {
        Role.CASE_MANAGER,
        Role.DRV_ADVISER,
        Role.OCCUPATIONAL_THERAPIST,
        Role.PSYCHOLOGIST,
        Role.FINANCIAL_ADVISER,
        Role.EMPLOYER_ACQUISITION,
        Role.DATA_PROTECTION_OFFICER,
    }
)


class Identity(BaseModel):
    model_config = ConfigDict(extra="forbid")

    first_name: str = Field(min_length=1, max_length=100)
    last_name: str = Field(min_length=1, max_length=100)
    birth_date: date
    address: str = Field(default="", max_length=300)
    phone: str = Field(default="", max_length=50)
    email: str = Field(default="", max_length=200)
    insurance_number: str = Field(
        default="", pattern=r"^$|^\d{2}\d{6}[A-Z]\d{3}$", description="Rentenversicherungsnummer"
    )


class ReferralIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    project: str = Field(description="pro-aktiv or pluspunkt")
    received_on: date
    sex: Sex = "unknown"
    identity: Identity
    reason: str = Field(min_length=1, max_length=2000, description="referral reason (health data)")
    agency: str | None = Field(default=None, description="agency that runs the case (default: the referring one)")


class MeetingIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    held_on: date
    attended: bool = True


class EligibilityIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    checked_on: date
    voluntary: bool
    willing_to_address_impairments: bool
    declined_lta: bool = False
    findings: str = Field(default="", max_length=4000, description="free-text findings (health data, sealed)")


class ConsentIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    purpose: ConsentPurpose
    scope: str | None = Field(
        default=None, max_length=200, description="doctor/clinic (medical-release) or partner agency (drv-exchange)"
    )
    granted_on: date
    form: ConsentForm
    expires_on: date | None = None


class WithdrawalIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    effective_on: date


class ObjectionIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    recorded_on: date
    scope: str = Field(min_length=1, max_length=300)


class EnrolmentIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    start_date: date


class DeclineIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    declined_on: date
    by: Literal["participant", "agency"]
    reason: str = Field(min_length=1, max_length=500, description="non-medical reason")


class ReferralWithdrawalIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    withdrawn_on: date
    reason: str = Field(min_length=1, max_length=500, description="non-medical reason")


class ErasureIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    legal_basis: str = Field(min_length=1, max_length=300, description="e.g. Art. 17 GDPR, retention period ended")


class ExpiryRunIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    today: date | None = None


def age_band(birth: date, on: date) -> AgeBand:
    age = on.year - birth.year - ((on.month, on.day) < (birth.month, birth.day))
    if age < 25:
        return "<25"
    for upper, band in ((34, "25-34"), (44, "35-44"), (54, "45-54")):
        if age <= upper:
            return band  # type: ignore[return-value]
    return "55+"


def today(request: Request) -> date:
    clock: Callable[[], date] = request.app.state.clock
    return clock()


def may_read(principal: Principal, state: domain.Participant, day: date) -> bool:
    """Owning agency, or an agency covered by an active drv-exchange consent."""
    if principal.agency == state.agency:
        return True
    return any(c.scope == principal.agency for c in state.active_consents(day, ConsentPurpose.DRV_EXCHANGE))


async def _current(request: Request, participant_id: UUID) -> Loaded[domain.Participant]:
    current = await load(http.store(request), domain.participant, domain.stream_id(participant_id))
    if current.version == 0:
        raise NotFound("no such participant", field="participant_id")
    if current.state.status == "erased":
        raise NotFound("the participant's data was erased", field="participant_id")
    return current


def _body(participant_id: UUID, state: domain.Participant, events: list[Envelope], **extra: Any) -> dict[str, Any]:
    return {
        "participant_id": str(participant_id),
        "status": state.status,
        "version": events[-1].version if events else None,
        **extra,
    }


async def _command(
    request: Request,
    principal: Principal,
    participant_id: UUID,
    decide: Callable[[domain.Participant], Sequence[DomainEvent]],
    *,
    route: str,
    payload: BaseModel | None,
    roles: Sequence[Role] = INTAKE_ROLES,
    if_match: int | None = None,
    idempotency_key: str | None = None,
    status_code: int = 200,
    extra: dict[str, Any] | None = None,
) -> JSONResponse:
    """Authorise against the owning agency, then run the command on the participant stream."""
    require_role(principal, *roles)
    current = await _current(request, participant_id)
    if principal.agency != current.state.agency:
        raise Forbidden(f"agency {principal.agency} may not act for {current.state.agency}")
    outcome = await execute(
        http.store(request),
        domain.participant,
        stream_id=domain.stream_id(participant_id),
        context=http.context(request, principal, agency=current.state.agency, project=current.state.project),
        decide=lambda state, _v: decide(state),
        respond=lambda state, events: _body(participant_id, state, events, **(extra or {})),
        expected_version=if_match,
        status_code=status_code,
        preloaded=current,
        **http.idempotency(
            principal,
            idempotency_key,
            f"{route}:{participant_id}",
            payload.model_dump(mode="json") if payload else {},
        ),
    )
    return JSONResponse(outcome.body, status_code=outcome.status_code)


@router.post("/referrals", status_code=201)
async def receive_referral(
    body: ReferralIn, request: Request, principal: CurrentPrincipal, idempotency_key: http.IdempotencyKey = None
) -> JSONResponse:
    """Zuweisung from a Jobcenter or DRV: identity and reason are sealed under a new key."""
    require_role(principal, *REFERRING_ROLES)
    if principal.agency not in PROJECTS.get(body.project, ()):
        raise Forbidden(f"agency {principal.agency} does not take part in {body.project}", field="project")
    rt = http.runtime(request)
    assert rt.pool is not None
    pid = new_id()
    async with rt.pool.acquire() as conn:
        sealed_identity, sealed_reason = await keys.seal_many(
            conn, str(pid), body.identity.model_dump(mode="json"), body.reason
        )
    referral = ReferralReceived(
        participant_id=pid,
        source_agency=principal.agency,
        project=body.project,
        referred_by=principal.subject,
        received_on=body.received_on,
        age_band=age_band(body.identity.birth_date, body.received_on),
        sex=body.sex,
        sealed_identity=sealed_identity,
        sealed_reason=sealed_reason,
        agency=body.agency if body.agency and body.agency != principal.agency else None,
    )
    outcome = await execute(
        http.store(request),
        domain.participant,
        stream_id=domain.stream_id(pid),
        context=http.context(request, principal, agency=referral.agency or principal.agency, project=body.project),
        decide=lambda state, _v: domain.receive_referral(state, referral),
        respond=lambda state, events: _body(pid, state, events),
        status_code=201,
        preloaded=Loaded.new(domain.participant),  # the id was generated just now: nothing to read
        **http.idempotency(principal, idempotency_key, "referrals", body.model_dump(mode="json")),
    )
    return JSONResponse(outcome.body, status_code=outcome.status_code)


@router.post("/participants/{participant_id}/information-meeting")
async def information_meeting(
    participant_id: UUID,
    body: MeetingIn,
    request: Request,
    principal: CurrentPrincipal,
    idempotency_key: http.IdempotencyKey = None,
    if_match: http.IfMatch = None,
) -> JSONResponse:
    return await _command(
        request,
        principal,
        participant_id,
        lambda s: domain.hold_information_meeting(s, body.held_on, body.attended),
        route="meeting",
        payload=body,
        if_match=if_match,
        idempotency_key=idempotency_key,
    )


@router.post("/participants/{participant_id}/eligibility")
async def eligibility(
    participant_id: UUID,
    body: EligibilityIn,
    request: Request,
    principal: CurrentPrincipal,
    idempotency_key: http.IdempotencyKey = None,
    if_match: http.IfMatch = None,
) -> JSONResponse:
    """The entry rule; the answer lists the reasons of the result."""
    rt = http.runtime(request)
    assert rt.pool is not None
    sealed = ""
    if body.findings:
        async with rt.pool.acquire() as conn:
            sealed = await keys.seal(conn, str(participant_id), body.findings)
    eligible, reasons = domain.eligibility_reasons(
        body.voluntary, body.willing_to_address_impairments, body.declined_lta
    )
    return await _command(
        request,
        principal,
        participant_id,
        lambda s: domain.check_eligibility(
            s,
            body.checked_on,
            voluntary=body.voluntary,
            willing_to_address_impairments=body.willing_to_address_impairments,
            declined_lta=body.declined_lta,
            sealed_findings=sealed,
        ),
        route="eligibility",
        payload=body,
        if_match=if_match,
        idempotency_key=idempotency_key,
        extra={"eligible": eligible, "reasons": reasons},
    )


@router.post("/participants/{participant_id}/consents", status_code=201)
async def grant_consent(
    participant_id: UUID,
    body: ConsentIn,
    request: Request,
    principal: CurrentPrincipal,
    idempotency_key: http.IdempotencyKey = None,
    if_match: http.IfMatch = None,
) -> JSONResponse:
    consent_id = new_id()
    return await _command(
        request,
        principal,
        participant_id,
        lambda s: domain.grant_consent(
            s, consent_id, body.purpose, body.scope, body.granted_on, body.form, body.expires_on
        ),
        route="consent",
        payload=body,
        if_match=if_match,
        idempotency_key=idempotency_key,
        status_code=201,
        extra={"consent_id": str(consent_id)},
    )


@router.post("/participants/{participant_id}/consents/{consent_id}/withdrawal")
async def withdraw_consent(
    participant_id: UUID,
    consent_id: UUID,
    body: WithdrawalIn,
    request: Request,
    principal: CurrentPrincipal,
    idempotency_key: http.IdempotencyKey = None,
    if_match: http.IfMatch = None,
) -> JSONResponse:
    """Withdrawal with effect from ``effective_on`` on, never retroactive."""
    return await _command(
        request,
        principal,
        participant_id,
        lambda s: domain.withdraw_consent(s, consent_id, body.effective_on),
        route=f"withdraw:{consent_id}",
        payload=body,
        if_match=if_match,
        idempotency_key=idempotency_key,
    )


@router.post("/participants/{participant_id}/objections", status_code=201)
async def record_objection(
    participant_id: UUID,
    body: ObjectionIn,
    request: Request,
    principal: CurrentPrincipal,
    idempotency_key: http.IdempotencyKey = None,
    if_match: http.IfMatch = None,
) -> JSONResponse:
    """Objection under § 76 SGB X."""
    return await _command(
        request,
        principal,
        participant_id,
        lambda s: domain.record_objection(s, body.recorded_on, body.scope),
        route="objection",
        payload=body,
        if_match=if_match,
        idempotency_key=idempotency_key,
        status_code=201,
    )


@router.post("/participants/{participant_id}/enrolment")
async def enrol(
    participant_id: UUID,
    body: EnrolmentIn,
    request: Request,
    principal: CurrentPrincipal,
    idempotency_key: http.IdempotencyKey = None,
    if_match: http.IfMatch = None,
) -> JSONResponse:
    """Eintritt: needs a positive eligibility check and participation consent."""
    return await _command(
        request,
        principal,
        participant_id,
        lambda s: domain.enrol(s, body.start_date),
        route="enrol",
        payload=body,
        if_match=if_match,
        idempotency_key=idempotency_key,
    )


@router.post("/participants/{participant_id}/decline")
async def decline(
    participant_id: UUID,
    body: DeclineIn,
    request: Request,
    principal: CurrentPrincipal,
    idempotency_key: http.IdempotencyKey = None,
    if_match: http.IfMatch = None,
) -> JSONResponse:
    return await _command(
        request,
        principal,
        participant_id,
        lambda s: domain.decline_enrolment(s, body.declined_on, body.by, body.reason),
        route="decline",
        payload=body,
        if_match=if_match,
        idempotency_key=idempotency_key,
    )


@router.post("/participants/{participant_id}/withdrawal")
async def withdraw_referral(
    participant_id: UUID,
    body: ReferralWithdrawalIn,
    request: Request,
    principal: CurrentPrincipal,
    idempotency_key: http.IdempotencyKey = None,
    if_match: http.IfMatch = None,
) -> JSONResponse:
    return await _command(
        request,
        principal,
        participant_id,
        lambda s: domain.withdraw_referral(s, body.withdrawn_on, body.reason),
        route="withdraw-referral",
        payload=body,
        if_match=if_match,
        idempotency_key=idempotency_key,
    )


@router.post("/participants/{participant_id}/erasure")
async def erase(
    participant_id: UUID,
    body: ErasureIn,
    request: Request,
    principal: CurrentPrincipal,
    idempotency_key: http.IdempotencyKey = None,
) -> JSONResponse:
    """Data-protection officer only: destroy the participant's key (crypto-shredding; the
    events stay, their sealed fields become unreadable for good) and tell every service."""
    require_role(principal, Role.DATA_PROTECTION_OFFICER)
    current = await _current(request, participant_id)
    if principal.agency != current.state.agency:
        raise Forbidden(f"agency {principal.agency} may not act for {current.state.agency}")
    store = http.store(request)
    ctx = http.context(request, principal, agency=current.state.agency, project=current.state.project)
    async with store.pool.acquire() as conn, conn.transaction():
        # key destruction and the event commit together: never one without the other
        events = domain.erase(current.state, today(request), body.legal_basis)
        appended = await store.append(
            conn,
            stream_id=domain.stream_id(participant_id),
            stream_type=domain.participant.stream_type,
            expected_version=current.version,
            events=events,
            context=ctx,
        )
        await keys.erase(conn, str(participant_id))
    return JSONResponse({"participant_id": str(participant_id), "status": "erased", "version": appended[-1].version})


@router.get("/participants")
async def list_participants(
    request: Request,
    principal: CurrentPrincipal,
    status: Literal["referred", "enrolled", "declined", "withdrawn"] | None = Query(default=None),
    project: str | None = Query(default=None, max_length=60),
) -> list[dict[str, Any]]:
    """The agency's register (no identity: open one participant for that)."""
    require_role(principal, *IDENTITY_ROLES)
    rt = http.runtime(request)
    assert rt.pool is not None
    rows = await rt.pool.fetch(
        "SELECT participant_id, agency, source_agency, project, status, referred_on, eligible, start_date"
        " FROM participants WHERE agency = $1 AND ($2::text IS NULL OR status = $2)"
        " AND ($3::text IS NULL OR project = $3) ORDER BY referred_on, participant_id",
        principal.agency,
        status,
        project,
    )
    return [dict(r) for r in rows]


@router.get("/participants/{participant_id}")
async def get_participant(participant_id: UUID, request: Request, principal: CurrentPrincipal) -> dict[str, Any]:
    require_role(principal, *IDENTITY_ROLES)
    current = await _current(request, participant_id)
    s = current.state
    day = today(request)
    if not may_read(principal, s, day):
        raise Forbidden(f"agency {principal.agency} may not see this participant")
    result: dict[str, Any] = {
        "participant_id": str(participant_id),
        "status": s.status,
        "agency": s.agency,
        "source_agency": s.source_agency,
        "project": s.project,
        "age_band": s.age_band,
        "sex": s.sex,
        "referred_on": s.referred_on,
        "information_meeting_on": s.meeting_held_on,
        "eligible": s.eligible,
        "eligibility_reasons": list(s.eligibility_reasons),
        "start_date": s.start_date,
        "objections": list(s.objections),
        "consents": consents_view(s, day),
        "version": current.version,
    }
    referral = next(e for e in current.events if e.event_type == "ReferralReceived")
    rt = http.runtime(request)
    assert rt.pool is not None
    async with rt.pool.acquire() as conn:
        result["identity"] = await keys.open(conn, str(participant_id), referral.payload["sealed_identity"])
        if principal.role in HEALTH_ROLES and principal.agency == s.agency:
            result["referral_reason"] = await keys.open(conn, str(participant_id), referral.payload["sealed_reason"])
            metrics.HEALTH_DATA_READS.labels("intake").inc()
    return result


def consents_view(s: domain.Participant, day: date) -> list[dict[str, Any]]:
    return [
        {
            "consent_id": str(c.consent_id),
            "purpose": c.purpose.value,
            "scope": c.scope,
            "granted_on": c.granted_on,
            "form": c.form,
            "expires_on": c.expires_on,
            "ended_on": c.ended_on,
            "ended_by": c.ended_by,
            "active": c.active_on(day),
        }
        for c in s.consents.values()
    ]


@router.get("/participants/{participant_id}/consents")
async def list_consents(participant_id: UUID, request: Request, principal: CurrentPrincipal) -> list[dict[str, Any]]:
    require_role(principal, *IDENTITY_ROLES)
    current = await _current(request, participant_id)
    day = today(request)
    if not may_read(principal, current.state, day):
        raise Forbidden(f"agency {principal.agency} may not see this participant")
    return consents_view(current.state, day)


@router.post("/admin/consent-expiry")
async def run_consent_expiry(body: ExpiryRunIn, request: Request, principal: CurrentPrincipal) -> dict[str, Any]:
    """Run the expiry task now (it also runs in the background); ``today`` for drills."""
    require_role(principal, Role.ADMINISTRATOR, Role.DATA_PROTECTION_OFFICER)
    expired = await request.app.state.consent_expiry.run_once(body.today)
    return {"expired": expired}
