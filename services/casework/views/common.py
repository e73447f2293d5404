"""What every casework read needs: the case as the caller may see it, the consents adapter
(also a port of the handlers), sealed text opened, and the health-read audit."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any
from uuid import UUID

import asyncpg

from services.casework import access, domain
from shared import metrics
from shared.bus import Context
from shared.consent import name_marks
from shared.contracts.casework import CaseTransferred
from shared.contracts.common import ConsentPurpose
from shared.crypto import SubjectKeys
from shared.db import Conn
from shared.domain import NotFound
from shared.eventstore import PostgresEventStore
from shared.read_log import ReadLog
from shared.runtime import Runtime
from shared.unit_of_work import Loaded, UnitOfWork, connection_of, fold

keys = SubjectKeys()


def pool(rt: Runtime) -> asyncpg.Pool:
    if rt.pool is None:
        raise RuntimeError("the runtime is not connected")
    return rt.pool


def store(rt: Runtime) -> PostgresEventStore:
    if rt.store is None:
        raise RuntimeError("the runtime is not connected")
    return rt.store


# Consent validity is shared.consent's rule, in SQL: consent_active(granted_on, expires_on, ended_on, day).
_EXCHANGE_AGENCIES = (
    "SELECT scope FROM consents WHERE participant_id = $1 AND purpose = $2"
    " AND consent_active(granted_on, expires_on, ended_on, $3)"
)
_MEDICAL_RELEASES = (
    "SELECT consent_id, scope, scope_marks, consent_active(granted_on, expires_on, ended_on, $3) AS active"
    " FROM consents WHERE participant_id = $1 AND purpose = $2 ORDER BY granted_on, consent_id"
)


@dataclass
class PostgresConsents:
    """The handlers' ``Consents`` port over the ``consents`` policy's table. A command's look-up
    runs on its unit of work's connection (never a second pooled one); a read's on the pool."""

    runtime: Runtime

    def _runner(self, uow: UnitOfWork | None) -> Conn | asyncpg.Pool:
        return pool(self.runtime) if uow is None else connection_of(uow, pool(self.runtime))

    async def exchange_agencies(self, uow: UnitOfWork | None, participant_id: UUID, day: date) -> set[str]:
        rows = await self._runner(uow).fetch(_EXCHANGE_AGENCIES, participant_id, ConsentPurpose.DRV_EXCHANGE.value, day)
        return {r["scope"] for r in rows if r["scope"]}

    async def medical_releases(self, uow: UnitOfWork | None, participant_id: UUID, day: date) -> list[domain.Release]:
        purpose = ConsentPurpose.MEDICAL_RELEASE.value
        rows = await self._runner(uow).fetch(_MEDICAL_RELEASES, participant_id, purpose, day)
        return [domain.Release(r["consent_id"], r["scope"], r["active"], tuple(r["scope_marks"] or ())) for r in rows]


@dataclass
class Reader:
    """A read's connections: the runtime (pool, store) and the consent look-ups."""

    runtime: Runtime
    consents: PostgresConsents = field(init=False)

    def __post_init__(self) -> None:
        self.consents = PostgresConsents(self.runtime)

    @property
    def pool(self) -> asyncpg.Pool:
        return pool(self.runtime)

    async def load(self, participant_id: UUID, *, up_to: datetime | None = None) -> Loaded[domain.Case]:
        stream = domain.stream_id(participant_id)
        return fold(domain.case, stream, await store(self.runtime).read_stream(stream, up_to=up_to))


@dataclass(frozen=True)
class Shown:
    """What a read shows (``shown``: the case now, or as it stood at ``as_of``) and what its
    access is judged on (``now``: today's case, team, roles; never the reconstructed past)."""

    now: Loaded[domain.Case]
    shown: Loaded[domain.Case]


async def visible_case(db: Reader, ctx: Context, participant_id: UUID, as_of: datetime | None = None) -> Shown:
    """The case if the caller may see it (judged on today's case and consents); with ``as_of``,
    the case as it stood then, rebuilt from the events recorded up to that moment."""
    current = await db.load(participant_id)
    domain.require_known(current.state)
    scopes = await db.consents.exchange_agencies(None, participant_id, ctx.today)
    if not access.can_see(ctx.principal, current.state, scopes) and access.gave_away(ctx.principal, current.state):
        return Shown(current, until_given_away(current, ctx.principal.agency, as_of))
    access.require_see(ctx.principal, current.state, scopes)
    if as_of is None:
        return Shown(current, current)
    then = await db.load(participant_id, up_to=as_of)
    if then.version == 0:
        raise NotFound("the case did not exist yet at that time", field="as_of")
    return Shown(current, then)


def until_given_away(current: Loaded[domain.Case], agency: str, as_of: datetime | None) -> Loaded[domain.Case]:
    """The history an agency that transferred the case away still reads: the case up to and
    including its last transfer away from ``agency`` (and up to ``as_of``, if earlier)."""
    last = max(e.version for e in current.events if _transfer_from(e.event_type, e.payload, agency))
    kept = [e for e in current.events if e.version <= last and (as_of is None or e.recorded_at <= as_of)]
    if not kept:
        raise NotFound("the case did not exist yet at that time", field="as_of")
    return fold(domain.case, current.stream_id, kept)


def _transfer_from(event_type: str, payload: Mapping[str, Any], agency: str) -> bool:
    return event_type == CaseTransferred.event_type and payload.get("from_agency") == agency


async def open_sealed(conn: Conn, participant_id: UUID, token: str) -> Any:
    if not token:
        return None
    return await keys.open(conn, str(participant_id), token)


# every response that carried health data, for auditors and data-protection officers
HEALTH_READS = ReadLog("health_data_reads", whose="case")


async def audit_health_read(db: Reader, ctx: Context, case: domain.Case, what: str) -> None:
    """One row per response that carried health data (who, role, agency, case, what, when)."""
    await HEALTH_READS.record(db.pool, ctx, case.case_id, case.agency, what)
    metrics.HEALTH_DATA_READS.labels("casework").inc()


# shared.consent.objection_holds in SQL: from recorded_on up to, excluding, withdrawn_on.
_OBJECTIONS_HOLDING = (
    "SELECT scope, scope_marks FROM objections"
    " WHERE participant_id = $1 AND consent_active(recorded_on, NULL, withdrawn_on, $2)"
)


async def withheld_from(db: Reader, ctx: Context, case: domain.Case, participant_id: UUID) -> list[list[str]]:
    """The scopes (as keyed word digests) of the § 76 SGB X objections that hold today against
    this reader: none for staff of the case's own agency, those on record today for anyone else
    (passing it on). A v2 scope is sealed under intake's key and known here only by its digests;
    a v1 one was recorded in clear. Which doctors' data they cover: ``shared.consent.marks_cover``."""
    if ctx.principal.agency == case.agency:
        return []
    rows = await db.pool.fetch(_OBJECTIONS_HOLDING, participant_id, ctx.today)
    return [list(r["scope_marks"] or name_marks(r["scope"])) for r in rows]
