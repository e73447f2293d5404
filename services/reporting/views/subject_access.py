"""Subject access (GDPR Art. 15): what reporting holds about one person — the facts its KPIs
count (event type, business date, the kept codes; never identity or health detail) — for the
DPO of the owning agency, with reporting's read log of the person, this read included. Once
the person was erased their facts carry a pseudonym: the answer says when, and shows none."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any
from uuid import UUID

import asyncpg
import orjson

from services.reporting.projections import erasure_key
from services.reporting.views.reports import Reads
from shared import subject_access as rules
from shared.bus import Context
from shared.contracts.casework import CaseOpened
from shared.contracts.intake import ParticipantDataErased, ParticipantEnrolled, ReferralReceived
from shared.domain import NotFound

_FACTS = """
SELECT event_id, event_type, on_date, recorded_at, data::text AS data FROM facts
WHERE participant_id = $1 ORDER BY on_date, recorded_at, event_id
"""
_PSEUDONYM = "SELECT pseudonym FROM erased_participants WHERE participant_key = $1"
# The facts that name the agency running the person's case (the referral's, else later ones).
_OWNER_FROM = (ReferralReceived.event_type, ParticipantEnrolled.event_type, CaseOpened.event_type)


def owner_agency(facts: Sequence[dict[str, Any]]) -> str | None:
    """The running agency: the one a referral names, else the referring one."""
    for event_type in _OWNER_FROM:
        for f in facts:
            if f["event_type"] == event_type:
                return str(f["data"].get("agency") or f["data"].get("source_agency"))
    return None


async def _facts(pool: asyncpg.Pool, participant_id: UUID) -> list[dict[str, Any]]:
    rows = await pool.fetch(_FACTS, participant_id)
    return [dict(r) | {"data": orjson.loads(r["data"])} for r in rows]


async def subject_access(db: Reads, ctx: Context, participant_id: UUID) -> dict[str, Any]:
    """The person's facts; an erased person's facts are found by the pseudonym only to say when."""
    pool = db.runtime.pool
    assert pool is not None
    facts = await _facts(pool, participant_id)
    pseudonym = None if facts else await pool.fetchval(_PSEUDONYM, erasure_key(participant_id))
    if pseudonym is not None:
        facts = await _facts(pool, pseudonym)
    agency = owner_agency(facts)
    if agency is None:
        raise NotFound("no such participant", field="participant_id")
    rules.require_subject_access(ctx.principal, agency)
    reads = await rules.audit_and_read_log(pool, ctx, participant_id, agency)
    if pseudonym is not None:
        erased_on = next(f["on_date"] for f in facts if f["event_type"] == ParticipantDataErased.event_type)
        return rules.answer("reporting", participant_id, agency, data=None, reads=reads, erased_on=erased_on)
    return rules.answer("reporting", participant_id, agency, data={"facts": facts}, reads=reads)
