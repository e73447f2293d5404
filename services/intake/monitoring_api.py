"""Identities for the programme monitoring export, released only to reporting.

Reporting builds the export rows keyed by participant id and asks here for the identifying
fields (age, social-insurance number). Intake releases them only for participants of the
caller's agency whose monitoring consent is active today, only to the reporting service acting
for a named project lead, and records every call in ``monitoring_disclosures``. Reporting
merges the answer in memory while streaming the export and stores none of it.
"""

from __future__ import annotations

from datetime import date
from typing import Any
from uuid import UUID

from fastapi import APIRouter, Request
from pydantic import BaseModel, ConfigDict, Field

from shared import http
from shared.auth import CurrentPrincipal
from shared.crypto import KeyErased, SubjectKeys
from shared.domain import Forbidden
from shared.envelope import Envelope
from shared.vocabulary import Role

router = APIRouter(tags=["intake: monitoring"], prefix="/internal/monitoring")
keys = SubjectKeys()

REPORTING_SERVICE = "reporting"


class IdentityRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    participant_ids: list[UUID] = Field(min_length=1, max_length=10_000)
    reference_date: date = Field(description="age is computed on this day (end of the half-year)")
    half_year: str = Field(pattern=r"^\d{4}-H[12]$")
    on_behalf_of: str = Field(min_length=1, max_length=200, description="the project lead who asked")


def _age(birth: date, on: date) -> int:
    return on.year - birth.year - ((on.month, on.day) < (birth.month, birth.day))


def _monitoring_active(events: list[Envelope], today: date) -> bool:
    active: dict[str, tuple[date, date | None]] = {}
    for e in events:
        p = e.payload
        if p.get("purpose") != "monitoring":
            continue
        if e.event_type == "ConsentGranted":
            expires = date.fromisoformat(p["expires_on"]) if p.get("expires_on") else None
            active[str(p["consent_id"])] = (date.fromisoformat(p["granted_on"]), expires)
        elif e.event_type in ("ConsentWithdrawn", "ConsentExpired"):
            active.pop(str(p["consent_id"]), None)
    return any(granted <= today and (exp is None or exp >= today) for granted, exp in active.values())


def _agency(events: list[Envelope]) -> str | None:
    agency = None
    for e in events:
        if e.event_type == "ReferralReceived":
            agency = agency or e.payload.get("source_agency")
        elif e.event_type == "ParticipantEnrolled":
            agency = e.payload.get("agency")
    return agency


@router.post("/identities")
async def identities(body: IdentityRequest, request: Request, principal: CurrentPrincipal) -> dict[str, Any]:
    """Age and insurance number of the requested participants with active monitoring consent."""
    rt = http.runtime(request)
    assert rt.pool is not None
    allowed = principal.role == Role.SERVICE and principal.subject == REPORTING_SERVICE
    released: list[dict[str, Any]] = []
    today = getattr(request.app.state, "clock", date.today)()
    async with rt.pool.acquire() as conn, conn.transaction():
        if allowed:
            rows = await conn.fetch(
                "SELECT stream_id, envelope FROM events WHERE stream_id = ANY($1::text[]) ORDER BY stream_id, version",
                [f"participant-{pid}" for pid in body.participant_ids],
            )
            streams: dict[str, list[Envelope]] = {}
            for r in rows:
                streams.setdefault(r["stream_id"], []).append(Envelope.from_bytes(r["envelope"]))
            for pid in body.participant_ids:
                events = streams.get(f"participant-{pid}", [])
                referral = next((e for e in events if e.event_type == "ReferralReceived"), None)
                if referral is None or _agency(events) != principal.agency or not _monitoring_active(events, today):
                    continue
                try:
                    identity = await keys.open(conn, str(pid), referral.payload["sealed_identity"])
                except KeyErased:
                    continue
                released.append(
                    {
                        "participant_id": str(pid),
                        "age": _age(date.fromisoformat(identity["birth_date"]), body.reference_date),
                        "insurance_number": identity.get("insurance_number") or None,
                    }
                )
        await conn.execute(
            "INSERT INTO monitoring_disclosures (service, on_behalf_of, agency, half_year, outcome, requested,"
            " released, correlation_id) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
            principal.subject,
            body.on_behalf_of,
            principal.agency,
            body.half_year,
            "released" if allowed else "denied",
            body.participant_ids,
            [UUID(r["participant_id"]) for r in released],
            request.state.correlation_id,
        )
    if not allowed:
        raise Forbidden("only the reporting service may request monitoring identities", field="authorization")
    return {"identities": released, "withheld": len(body.participant_ids) - len(released)}
