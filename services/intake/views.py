"""Intake's reads: the agency's register (projection), one participant with identity and
consents (the aggregate, opened with the participant's key), and the audited identity look-up
for reporting's monitoring export. Also the register's adapter for the expiry policy, and the
retention reads: the rules in force, the DPO's list of upcoming deletions, the task's port.

Every view takes the runtime's unit-of-work factory, so identity is opened on the same
connection as the stream it was read from.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, timedelta
from typing import Any, Literal, Unpack
from uuid import UUID

from pydantic import BaseModel, ConfigDict, Field

from services.intake import access, domain, retention
from services.intake.handlers import KeyStore, participant, staff_key
from shared import metrics
from shared import subject_access as subject_access_rules
from shared.bus import Context
from shared.contracts.intake import ParticipantDataErased as ErasedEvent
from shared.db import Conn
from shared.domain import Forbidden, NotFound
from shared.envelope import Envelope
from shared.read_log import DATA_READS, ReadFilter
from shared.recorded import Recorded
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


_PERSON_DISCLOSURES = """
SELECT at, service, on_behalf_of, agency, half_year, correlation_id FROM monitoring_disclosures
WHERE $1 = ANY(released) ORDER BY at, id
"""


async def subject_access(
    unit_of_work: UnitOfWorkFactory, keys: KeyStore, ctx: Context, participant_id: UUID
) -> dict[str, Any]:
    """Everything intake holds about one person (GDPR Art. 15), for the DPO of the running
    agency: identity, referral reason, consents and objections with their state, every event
    opened, the monitoring disclosures and the read log, this read included (audited first)."""
    async with unit_of_work(True) as uow:
        loaded = await uow.load(domain.participant, domain.stream_id(participant_id))
        if not loaded.exists:
            raise NotFound("no such participant", field="participant_id")
        s = loaded.state
        subject_access_rules.require_subject_access(ctx.principal, s.agency)
        conn = connection(uow)
        reads = await subject_access_rules.audit_and_read_log(conn, ctx, participant_id, s.agency)
        if s.status == "erased":
            erased = next(r.payload for r in map(Recorded.decode, loaded.events) if isinstance(r.payload, ErasedEvent))
            return subject_access_rules.answer("intake", participant_id, s.agency, data=None, reads=reads,
                                               erased_on=erased.erased_on)  # fmt: skip
        subject = str(participant_id)

        async def open_sealed(token: str) -> Any:
            return await keys.open(subject, uow, token)

        data = {
            "status": s.status,
            "project": s.project,
            "source_agency": s.source_agency,
            "referred_on": s.referred_on,
            "start_date": s.start_date,
            "identity": await open_sealed(s.sealed_identity),
            "referral_reason": await open_sealed(s.sealed_reason) if s.sealed_reason else None,
            "consents": await consents_view(s, ctx.today, keys, uow, subject),
            "records": [await subject_access_rules.record(r, open_sealed) for r in map(Recorded.decode, loaded.events)],
            "monitoring_disclosures": [dict(r) for r in await conn.fetch(_PERSON_DISCLOSURES, participant_id)],
        }
    return subject_access_rules.answer("intake", participant_id, s.agency, data=data, reads=reads)


# ------------------------------------------------------------------ the staff directory

_STAFF = """
SELECT subject, roles, projects, registered_on, left_on FROM staff_members WHERE agency = $1
ORDER BY subject
"""


async def staff_list(unit_of_work: UnitOfWorkFactory, ctx: Context) -> list[dict[str, Any]]:
    """The administrator's agency's staff as every service knows it (no names: open one)."""
    access.require_role(ctx.principal, access.STAFF_ADMIN_ROLES)
    async with unit_of_work(False) as uow:
        rows = await connection(uow).fetch(_STAFF, ctx.principal.agency)
    return [dict(r) | {"status": "left" if r["left_on"] and r["left_on"] <= ctx.today else "active"} for r in rows]


async def staff_detail(unit_of_work: UnitOfWorkFactory, keys: KeyStore, ctx: Context, subject: str) -> dict[str, Any]:
    """One member of the administrator's agency, the name opened."""
    access.require_role(ctx.principal, access.STAFF_ADMIN_ROLES)
    agency = ctx.principal.agency
    async with unit_of_work(False) as uow:
        loaded = await uow.load(domain.staff_member, domain.staff_stream_id(agency, subject))
        s = loaded.state
        if s.status == "none":
            raise NotFound("no such staff member", field="subject")
        name = await keys.open(staff_key(agency, subject), uow, s.sealed_name)
    return {
        "agency": agency,
        "subject": subject,
        "name": name,
        "status": s.status,
        "roles": [r.value for r in s.roles],
        "projects": list(s.projects),
        "registered_on": s.registered_on,
        "left_on": s.left_on,
        "version": loaded.version,
    }


_MEETING_REQUIRED = "SELECT info_meeting_required FROM project_rules WHERE project = $1"


class RegisterProjectRules:
    """The enrolment's ``ProjectRules`` port on the ``projects`` projection, on the command's
    own connection."""

    async def meeting_required(self, uow: UnitOfWork, project: str) -> bool | None:
        found = await connection(uow).fetchval(_MEETING_REQUIRED, project)
        return None if found is None else bool(found)


_RETENTION_AGENCIES = "SELECT DISTINCT agency FROM retention_records ORDER BY agency"
_RETENTION_RECORDS = """
SELECT r.participant_id, r.agency, r.project, r.status, r.ended_on, x.exited_on
FROM retention_records r LEFT JOIN retention_exits x USING (participant_id)
WHERE r.agency = $1 AND r.status IN ('declined', 'withdrawn', 'enrolled')
ORDER BY r.participant_id
"""
# Holds in force on $2 of participants the agency $1 runs (the longest one per participant).
_HOLDS_ON = """
SELECT DISTINCT ON (h.participant_id) h.participant_id, h.hold_id, h.placed_on, h.until, h.placed_by, h.sealed_reason
FROM legal_holds h JOIN retention_records r USING (participant_id)
WHERE r.agency = $1 AND h.placed_on <= $2 AND $2 < least(h.until, coalesce(h.lifted_on, h.until))
ORDER BY h.participant_id, h.until DESC
"""


class RetentionRecords:
    """The retention task's port: records from the retention projection, holds in force, and
    the agency's rules from its event stream (never from a lagging projection)."""

    def __init__(self, unit_of_work: UnitOfWorkFactory) -> None:
        self.unit_of_work = unit_of_work

    async def agencies(self) -> list[str]:
        async with self.unit_of_work(False) as uow:
            return [r["agency"] for r in await connection(uow).fetch(_RETENTION_AGENCIES)]

    async def records(self, agency: str) -> list[retention.Record]:
        async with self.unit_of_work(False) as uow:
            rows = await connection(uow).fetch(_RETENTION_RECORDS, agency)
        return [retention.Record(**{**dict(r), "participant_id": str(r["participant_id"])}) for r in rows]

    async def held(self, agency: str, day: date) -> dict[str, dict[str, Any]]:
        """Participant id → the hold in force that day (sealed reason as stored)."""
        async with self.unit_of_work(False) as uow:
            rows = await connection(uow).fetch(_HOLDS_ON, agency, day)
        return {str(r["participant_id"]): dict(r) for r in rows}

    async def rules(self, agency: str) -> retention.Rules:
        async with self.unit_of_work(False) as uow:
            return (await uow.load(retention.rules, retention.stream_id(agency))).state


def _rule_view(rule: retention.Rule) -> dict[str, Any]:
    return {
        "record_class": rule.record_class,
        "project": rule.project,
        "period_months": rule.period_months,
        "basis": rule.basis,
        "source": rule.source,
        "set_on": rule.set_on,
    }


async def retention_rules(unit_of_work: UnitOfWorkFactory, ctx: Context) -> dict[str, Any]:
    """The rules in force for the caller's agency: defaults, and what its DPO or administrator set."""
    access.require_role(ctx.principal, access.RETENTION_RULE_ROLES | access.UPCOMING_ROLES)
    rules = await RetentionRecords(unit_of_work).rules(ctx.principal.agency)
    return {"agency": ctx.principal.agency, "rules": [_rule_view(r) for r in rules.effective()]}


def _due_view(d: retention.Due) -> dict[str, Any]:
    r = d.record
    return {
        "participant_id": r.participant_id,
        "project": r.project,
        "status": r.status,
        "record_class": d.record_class,
        "trigger_on": d.trigger_on,
        "due_on": d.due_on,
        "rule": _rule_view(d.rule),
    }


def _held_view(pid: str, d: retention.Due | None, hold: dict[str, Any], reason: Any) -> dict[str, Any]:
    return {
        "participant_id": pid,
        "record_class": d.record_class if d else None,
        "due_on": d.due_on if d else None,
        "hold": {
            "hold_id": str(hold["hold_id"]),
            "placed_on": hold["placed_on"],
            "until": hold["until"],
            "placed_by": hold["placed_by"],
            "reason": reason,
        },
    }


async def upcoming_deletions(
    unit_of_work: UnitOfWorkFactory, keys: KeyStore, ctx: Context, within_days: int
) -> dict[str, Any]:
    """For the DPO (and auditors) of the caller's agency only: the participants the retention
    task erases by ``today + within_days`` (overdue ones first), and those a legal hold keeps
    (with their due day, if any, and the hold's end and opened reason). No identity."""
    access.require_role(ctx.principal, access.UPCOMING_ROLES)
    agency, today = ctx.principal.agency, ctx.today
    port = RetentionRecords(unit_of_work)
    records, rules, holds = await port.records(agency), await port.rules(agency), await port.held(agency, today)
    horizon = today + timedelta(days=within_days)
    dues = {d.record.participant_id: d for d in retention.due_by(records, rules, horizon)}
    by_id = {r.participant_id: r for r in records}
    held: list[dict[str, Any]] = []
    async with unit_of_work(False) as uow:
        for pid, hold in sorted(holds.items()):
            d = dues.pop(pid, None) or (retention.due(by_id[pid], rules) if pid in by_id else None)
            reason = await keys.open(pid, uow, hold["sealed_reason"])
            held.append(_held_view(pid, d, hold, reason))
    return {
        "agency": agency,
        "today": today,
        "until": horizon,
        "due": [_due_view(d) for d in dues.values()],
        "held": held,
    }
