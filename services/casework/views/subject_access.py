"""Subject access (GDPR Art. 15): everything casework holds about one person, for the DPO of
the case's agency: the case, its health records and its other records with every sealed field
opened (the person is owed their notes too), and who read the case's health data."""

from __future__ import annotations

from typing import Any
from uuid import UUID

from services.casework.views.case import HEALTH_SECTIONS, is_health
from services.casework.views.common import HEALTH_READS, Reader, audit_health_read, open_sealed
from shared import subject_access as rules
from shared.bus import Context
from shared.contracts.casework import CaseDataErased
from shared.domain import NotFound
from shared.recorded import Recorded


async def subject_access(db: Reader, ctx: Context, participant_id: UUID) -> dict[str, Any]:
    """The case and every record of it, health records by section; the health-read log, this
    read included (audited before the answer is built)."""
    loaded = await db.load(participant_id)
    s = loaded.state
    if s.case_id is None:
        raise NotFound("no such case", field="participant_id")
    rules.require_subject_access(ctx.principal, s.agency, what="case")
    await audit_health_read(db, ctx, s, rules.WHAT)
    reads = await HEALTH_READS.of_person(db.pool, participant_id)
    events = list(map(Recorded.decode, loaded.events))
    if s.status == "erased":
        erased = next(r.payload for r in events if isinstance(r.payload, CaseDataErased))
        return rules.answer("casework", participant_id, s.agency, data=None, reads=reads, erased_on=erased.erased_on)
    health: dict[str, list[dict[str, Any]]] = {k: [] for k in sorted(set(HEALTH_SECTIONS.values()))}
    other: list[dict[str, Any]] = []
    async with db.pool.acquire() as conn:

        async def opener(token: str) -> Any:
            return await open_sealed(conn, participant_id, token)

        for rec in events:
            item = await rules.record(rec, opener)
            section = HEALTH_SECTIONS.get(type(rec.payload))
            if section is not None and is_health(rec.payload):
                health[section].append(item)
            else:
                other.append(item)
    data = {
        "case": {
            "status": s.status,
            "project": s.project,
            "opened_on": s.opened_on,
            "phase": s.phase.value if s.phase else None,
            "case_manager": s.case_manager,
            "team": [{"member": m, "role": v.role, "agency": v.agency} for m, v in s.team.items()],
            "exited_on": s.exited_on,
        },
        "health_records": health,
        "records": other,
    }
    return rules.answer("casework", participant_id, s.agency, data=data, reads=reads)
