"""Subject access (GDPR Art. 15): everything placement holds about one person, for the DPO of
the agency caring for them: the candidate's events opened (a workplace adaptation is sealed
under placement's key), the placement records (proposals, work trials, employments, subsidies,
follow-ups), the production orders they work on with their days (also for someone who was
never a candidate) and placement's read log of the person, this read included."""

from __future__ import annotations

from typing import Any
from uuid import UUID

from services.placement import domain
from services.placement.views.candidates import HISTORY
from services.placement.views.reads import Reads, rows_json
from services.placement.views.workshop import enrolled_agency, workshop_days
from shared import subject_access as rules
from shared.bus import Context
from shared.contracts.placement import CandidateProfileWithdrawn
from shared.domain import NotFound
from shared.recorded import Recorded


async def subject_access(db: Reads, ctx: Context, participant_id: UUID) -> dict[str, Any]:
    """The candidate's records; 404 when placement never heard of the person."""
    loaded = await db.load(domain.candidate, domain.candidate_stream(participant_id))
    s = loaded.state
    if s.status == "none":
        return await _workshop_only(db, ctx, participant_id)
    rules.require_subject_access(ctx.principal, s.agency, what="candidate")
    reads = await rules.audit_and_read_log(db.pool, ctx, participant_id, s.agency)
    events = list(map(Recorded.decode, loaded.events))
    if s.status == "erased":
        erased_on = next(
            r.payload.withdrawn_on
            for r in events
            if isinstance(r.payload, CandidateProfileWithdrawn) and r.payload.reason == "data-erased"
        )
        return rules.answer("placement", participant_id, s.agency, data=None, reads=reads, erased_on=erased_on)

    async def opener(token: str) -> Any:
        return await db.keys.open(str(participant_id), token)

    data: dict[str, Any] = {
        "in_pool": s.status == "active",
        "project": s.project,
        "profile": s.profile.model_dump(mode="json") if s.profile is not None else None,
    }
    for key, sql in HISTORY:
        data[key] = rows_json(list(await db.pool.fetch(sql, participant_id)))
    for row in data["adaptation_requests"]:
        sealed = row.pop("sealed_adaptation", "")
        if sealed:
            row["adaptation"] = await opener(sealed)
    data["records"] = [await rules.record(r, opener) for r in events]
    data["production_orders"] = await workshop_days(db, participant_id)
    return rules.answer("placement", participant_id, s.agency, data=data, reads=reads)


async def _workshop_only(db: Reads, ctx: Context, participant_id: UUID) -> dict[str, Any]:
    """Never a candidate, but on the Produktionswerkstatt's orders: those records; else 404."""
    agency = await enrolled_agency(db, participant_id)
    orders = await workshop_days(db, participant_id)
    if agency is None or not orders:
        raise NotFound("no such candidate", field="participant_id")
    rules.require_subject_access(ctx.principal, agency, what="candidate")
    reads = await rules.audit_and_read_log(db.pool, ctx, participant_id, agency)
    data = {"in_pool": False, "production_orders": orders}
    return rules.answer("placement", participant_id, agency, data=data, reads=reads)
