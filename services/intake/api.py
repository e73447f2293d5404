"""HTTP API of intake: referrals and enrolment."""

from __future__ import annotations

from datetime import date
from typing import Any
from uuid import UUID

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field

from services.intake import domain
from shared import http
from shared.auth import CurrentPrincipal, require_agency, require_role
from shared.commands import execute, load
from shared.contracts.intake import AgeBand, ReferralReceived, Sex
from shared.crypto import SubjectKeys
from shared.domain import Forbidden, NotFound
from shared.envelope import new_id
from shared.vocabulary import PROJECTS, Role

router = APIRouter(tags=["intake"])
keys = SubjectKeys()

REFERRING_ROLES = (Role.CASE_MANAGER, Role.DRV_ADVISER)


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


class EnrolmentIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    start_date: date


def age_band(birth: date, on: date) -> AgeBand:
    age = on.year - birth.year - ((on.month, on.day) < (birth.month, birth.day))
    if age < 25:
        return "<25"
    for upper, band in ((34, "25-34"), (44, "35-44"), (54, "45-54")):
        if age <= upper:
            return band  # type: ignore[return-value]
    return "55+"


@router.post("/referrals", status_code=201)
async def receive_referral(
    body: ReferralIn, request: Request, principal: CurrentPrincipal, idempotency_key: http.IdempotencyKey = None
) -> JSONResponse:
    require_role(principal, *REFERRING_ROLES)
    if principal.agency not in PROJECTS.get(body.project, ()):
        raise Forbidden(f"agency {principal.agency} does not take part in {body.project}", field="project")
    rt = http.runtime(request)
    assert rt.pool is not None
    pid = new_id()
    async with rt.pool.acquire() as conn:
        sealed_identity = await keys.seal(conn, str(pid), body.identity.model_dump(mode="json"))
        sealed_reason = await keys.seal(conn, str(pid), body.reason)
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
    )
    outcome = await execute(
        http.store(request),
        domain.participant,
        stream_id=domain.stream_id(pid),
        context=http.context(request, principal, project=body.project),
        decide=lambda state, _v: domain.receive_referral(state, referral),
        respond=lambda state, events: {"participant_id": str(state.participant_id), "version": events[-1].version},
        status_code=201,
        **http.idempotency(principal, idempotency_key, "referrals", body.model_dump(mode="json")),
    )
    return JSONResponse(outcome.body, status_code=outcome.status_code)


@router.post("/participants/{participant_id}/enrolment")
async def enrol(
    participant_id: UUID,
    body: EnrolmentIn,
    request: Request,
    principal: CurrentPrincipal,
    idempotency_key: http.IdempotencyKey = None,
    if_match: http.IfMatch = None,
) -> JSONResponse:
    require_role(principal, Role.CASE_MANAGER)
    current = await load(http.store(request), domain.participant, domain.stream_id(participant_id))
    if current.version == 0:
        raise NotFound("no such participant")
    require_agency(principal, current.state.agency)
    outcome = await execute(
        http.store(request),
        domain.participant,
        stream_id=domain.stream_id(participant_id),
        context=http.context(request, principal, project=current.state.project),
        decide=lambda state, _v: domain.enrol(state, body.start_date),
        respond=lambda state, events: {
            "participant_id": str(participant_id),
            "status": state.status,
            "version": events[-1].version,
        },
        expected_version=if_match,
        **http.idempotency(principal, idempotency_key, f"enrol:{participant_id}", body.model_dump(mode="json")),
    )
    return JSONResponse(outcome.body, status_code=outcome.status_code)


@router.get("/participants/{participant_id}")
async def get_participant(participant_id: UUID, request: Request, principal: CurrentPrincipal) -> dict[str, Any]:
    current = await load(http.store(request), domain.participant, domain.stream_id(participant_id))
    if current.version == 0:
        raise NotFound("no such participant")
    require_agency(principal, current.state.agency)
    s = current.state
    result: dict[str, Any] = {
        "participant_id": str(participant_id),
        "status": s.status,
        "agency": s.agency,
        "project": s.project,
        "age_band": s.age_band,
        "sex": s.sex,
        "start_date": s.start_date.isoformat() if s.start_date else None,
        "version": current.version,
    }
    referral = next(e for e in current.events if e.event_type == "ReferralReceived")
    rt = http.runtime(request)
    assert rt.pool is not None
    async with rt.pool.acquire() as conn:
        result["identity"] = await keys.open(conn, str(participant_id), referral.payload["sealed_identity"])
    return result
