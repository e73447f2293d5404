"""Intake's reads of participants: the agency's register (projection), one participant with
identity and consents (the aggregate, opened with the participant's key, the read audited), the
audited identity look-up for reporting's monitoring export, and the register's adapter for the
expiry policy. Every view takes the runtime's unit-of-work factory, so identity is opened on
the same connection as the stream it was read from."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from typing import Any, Literal, Unpack
from uuid import UUID

from pydantic import BaseModel, ConfigDict, Field

from services.intake import access, domain
from services.intake.handlers import KeyStore, participant
from shared import metrics
from shared.bus import Context
from shared.db import Conn
from shared.domain import Forbidden
from shared.envelope import Envelope
from shared.read_log import DATA_READS, ReadFilter
from shared.unit_of_work import PostgresUnitOfWork, UnitOfWork, fold
from shared.values import BusinessDate, Name

UnitOfWorkFactory = Callable[[bool], UnitOfWork]
Status = Literal["referred", "enrolled", "declined", "withdrawn"]


def connection(uow: UnitOfWork) -> Conn:
    """The unit of work's PostgreSQL connection (reads over the projections, side tables)."""
    if not isinstance(uow, PostgresUnitOfWork):
        raise TypeError("this read needs PostgreSQL")
    return uow.conn


_REGISTER = """
SELECT participant_id, agency, source_agency, project, status, referred_on, eligible, start_date
FROM participants WHERE agency = $1 AND ($2::text IS NULL OR status = $2) AND ($3::text IS NULL OR project = $3)
ORDER BY referred_on, participant_id
"""


async def register(
    unit_of_work: UnitOfWorkFactory, ctx: Context, status: Status | None, project: str | None
) -> list[dict[str, Any]]:
    """The agency's register (no identity: open one participant for that)."""
    access.require_role(ctx.principal, access.IDENTITY_ROLES)
    async with unit_of_work(False) as uow:
        rows = await connection(uow).fetch(_REGISTER, ctx.principal.agency, status, project)
    return [dict(r) for r in rows]


async def consents_view(
    s: domain.Participant, day: date, keys: KeyStore, uow: UnitOfWork, subject: str
) -> list[dict[str, Any]]:
    """The consents, a medical release's sealed doctor or clinic opened."""
    return [
        {
            "consent_id": str(c.consent_id),
            "purpose": c.purpose.value,
            "scope": await keys.open(subject, uow, c.sealed_scope) if c.sealed_scope else c.scope,
            "granted_on": c.granted_on,
            "form": c.form,
            "expires_on": c.expires_on,
            "ended_on": c.ended_on,
            "ended_by": c.ended_by,
            "active": c.active_on(day),
        }
        for c in s.consents.values()
    ]


async def participant_detail(
    unit_of_work: UnitOfWorkFactory, keys: KeyStore, ctx: Context, participant_id: UUID
) -> dict[str, Any]:
    """One participant with identity; the referral reason only for health roles of the
    running agency (each such read is counted)."""
    p = ctx.principal
    access.require_role(p, access.IDENTITY_ROLES)
    async with unit_of_work(False) as uow:
        loaded = await participant(uow, participant_id)
        s = loaded.state
        access.require_reader(p, s, ctx.today)
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
            "objections": [
                {
                    "objection_id": str(o.objection_id),
                    "scope": await keys.open(str(participant_id), uow, o.sealed_scope) if o.sealed_scope else o.scope,
                    "recorded_on": o.recorded_on,
                    "withdrawn_on": o.withdrawn_on,
                    "holds": o.holds_on(ctx.today),
                }
                for o in s.objections.values()
            ],
            "consents": await consents_view(s, ctx.today, keys, uow, str(participant_id)),
            "version": loaded.version,
        }
        subject = str(participant_id)
        result["identity"] = await keys.open(subject, uow, s.sealed_identity)
        await audit_read(connection(uow), ctx, participant_id, s.agency, "identity")
        if access.may_read_reason(p, s):
            result["referral_reason"] = await keys.open(subject, uow, s.sealed_reason)
            await audit_read(connection(uow), ctx, participant_id, s.agency, "referral-reason")
            metrics.HEALTH_DATA_READS.labels("intake").inc()
    return result


# every response that carried identity or the referral reason, for auditors and DPOs


async def audit_read(conn: Conn, ctx: Context, participant_id: UUID, participant_agency: str, what: str) -> None:
    """One append-only row per identity or referral-reason read (who, role, agency, whose, what,
    when, correlation id), written before the answer leaves."""
    await DATA_READS.record(conn, ctx, participant_id, participant_agency, what)


async def data_reads(unit_of_work: UnitOfWorkFactory, ctx: Context, **query: Unpack[ReadFilter]) -> dict[str, Any]:
    """Who read which participant's identity or referral reason, and when: for auditors and
    DPOs of the participant's running agency or of the reader's agency."""
    access.require_auditor(ctx.principal)
    async with unit_of_work(False) as uow:
        return await DATA_READS.reads(connection(uow), ctx, **query)


async def consents(
    unit_of_work: UnitOfWorkFactory, keys: KeyStore, ctx: Context, participant_id: UUID
) -> list[dict[str, Any]]:
    access.require_role(ctx.principal, access.IDENTITY_ROLES)
    async with unit_of_work(False) as uow:
        loaded = await participant(uow, participant_id)
        access.require_reader(ctx.principal, loaded.state, ctx.today)
        return await consents_view(loaded.state, ctx.today, keys, uow, str(participant_id))


class IdentityRequest(BaseModel):
    """Reporting's question: identities of these participants for one half-year's export."""

    model_config = ConfigDict(extra="forbid")

    participant_ids: list[UUID] = Field(min_length=1, max_length=10_000)
    reference_date: BusinessDate = Field(description="age is computed on this day (end of the half-year)")
    half_year: Name = Field(max_length=7, pattern=r"^\d{4}-H[12]$")
    on_behalf_of: Name = Field(min_length=1, max_length=200, description="the project lead who asked")


_STREAMS = "SELECT stream_id, envelope FROM events WHERE stream_id = ANY($1::text[]) ORDER BY stream_id, version"
_AUDIT = """
INSERT INTO monitoring_disclosures (service, on_behalf_of, agency, half_year, outcome, requested, released,
                                    correlation_id)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8)
"""


async def monitoring_identities(
    unit_of_work: UnitOfWorkFactory, keys: KeyStore, ctx: Context, req: IdentityRequest
) -> dict[str, Any]:
    """Age and insurance number of the requested participants whose case the caller's agency
    runs and whose monitoring consent is active today; only for the reporting service, and
    every call (a refused one too) is recorded in ``monitoring_disclosures``."""
    p = ctx.principal
    allowed = access.is_reporting_service(p)
    released: list[dict[str, Any]] = []
    async with unit_of_work(True) as uow:
        conn = connection(uow)
        if allowed:
            rows = await conn.fetch(_STREAMS, [domain.stream_id(pid) for pid in req.participant_ids])
            streams: dict[str, list[Envelope]] = {}
            for r in rows:
                streams.setdefault(r["stream_id"], []).append(Envelope.from_bytes(r["envelope"]))
            for pid in req.participant_ids:
                sid = domain.stream_id(pid)
                state = fold(domain.participant, sid, streams.get(sid, [])).state
                if not access.may_release_for_monitoring(p, state, ctx.today):
                    continue
                identity = await keys.open(str(pid), uow, state.sealed_identity)
                if not isinstance(identity, dict):  # the key is gone
                    continue
                released.append(
                    {
                        "participant_id": str(pid),
                        "age": domain.age_on(date.fromisoformat(identity["birth_date"]), req.reference_date),
                        "insurance_number": identity.get("insurance_number") or None,
                    }
                )
        await conn.execute(
            _AUDIT, p.subject, req.on_behalf_of, p.agency, req.half_year, "released" if allowed else "denied",
            req.participant_ids, [UUID(r["participant_id"]) for r in released], ctx.correlation_id,
        )  # fmt: skip
    if not allowed:  # after the audit row committed
        raise Forbidden("only the reporting service may request monitoring identities", field="authorization")
    return {"identities": released, "withheld": len(req.participant_ids) - len(released)}


# Consents still active in the index but no longer by the consent rule because their expiry
# date has come (``expires_on <= $1`` lets the partial index find them). These are candidates;
# the aggregate decides what expires.
_DUE = """
SELECT DISTINCT participant_id FROM participant_consents
WHERE status = 'active' AND expires_on <= $1 AND NOT consent_active(granted_on, expires_on, ended_on, $1)
  AND ($2::text IS NULL OR participant_id IN (SELECT participant_id FROM participants WHERE agency = $2))
"""


class RegisterDueConsents:
    """The expiry policy's ``DueConsents`` port on the register projection."""

    def __init__(self, unit_of_work: UnitOfWorkFactory) -> None:
        self.unit_of_work = unit_of_work

    async def __call__(self, day: date, agency: str | None = None) -> list[UUID]:
        async with self.unit_of_work(False) as uow:
            rows = await connection(uow).fetch(_DUE, day, agency)
        return [r["participant_id"] for r in rows]
