"""Employers (company data for partners, contact persons and notes for the owning agency
only), their vacancies with ranked candidates, and production orders."""

from __future__ import annotations

from typing import Any
from uuid import UUID

from services.placement import access, domain
from services.placement.views.candidates import visible_candidates
from services.placement.views.ranking import proposed_pairs, rank_candidates, vacancy_json, vacancy_row
from services.placement.views.reads import Reads, rows_json
from shared.bus import Context
from shared.contracts.placement import EmployerAcquired, EmployerContactLogged
from shared.crypto import ERASED
from shared.domain import Forbidden, NotFound
from shared.recorded import Recorded

_EMPLOYERS = """
SELECT employer_id, agency, company, sector, size, region, offers_work_trials, offers_adapted_workplaces,
       acquired_on, last_contact_on, next_contact_on FROM employers
WHERE agency = ANY($1::text[]) AND ($2::text IS NULL OR region = $2) AND ($3::text IS NULL OR sector = $3)
  AND ($4::boolean IS NULL OR offers_work_trials = $4) ORDER BY company, employer_id
"""
_CONTACTS = "SELECT * FROM employer_contacts WHERE employer_id = $1 ORDER BY contacted_on, contact_id"
_VACANCIES = """
SELECT v.*, e.company, e.offers_adapted_workplaces, e.offers_work_trials
FROM vacancies v JOIN employers e USING (employer_id)
WHERE v.agency = ANY($1::text[]) AND ($2 = 'all' OR v.status = $2)
  AND ($3::uuid IS NULL OR v.employer_id = $3) ORDER BY v.recorded_on, v.vacancy_id
"""
_ORDERS = """
SELECT o.*, e.company FROM production_orders o JOIN employers e USING (employer_id)
WHERE o.agency = $1 AND ($2 = 'all' OR o.status = $2) ORDER BY o.due_on NULLS LAST, o.order_id
"""


async def list_employers(
    db: Reads, ctx: Context, *, region: str | None, sector: str | None, offers_work_trials: bool | None
) -> list[dict[str, Any]]:
    """Employers of the caller's agency and its project partners (company data, no contacts)."""
    access.require_role(ctx.principal, access.READ_ROLES)
    partners = sorted(access.partners(ctx.principal.agency, await db.memberships()))
    return rows_json(list(await db.pool.fetch(_EMPLOYERS, partners, region, sector, offers_work_trials)))


async def get_employer(db: Reads, ctx: Context, employer_id: UUID) -> dict[str, Any]:
    """One employer, read from its stream (so a just-made change is always visible); contact
    persons are opened only for the owning agency."""
    access.require_role(ctx.principal, access.READ_ROLES)
    loaded = await db.load(domain.employer, domain.employer_stream(employer_id))
    state = access.readable_employer(ctx.principal, loaded.state, await db.memberships())
    events = [Recorded.decode(e).payload for e in loaded.events]
    acquired = next(e for e in events if isinstance(e, EmployerAcquired))
    contacts = [e for e in events if isinstance(e, EmployerContactLogged)]
    out: dict[str, Any] = acquired.model_dump(mode="json", exclude={"sealed_contacts"})
    last = max((c.contacted_on for c in contacts), default=None)
    following = contacts[-1].next_contact_on if contacts else None
    out["last_contact_on"] = last.isoformat() if last else None
    out["next_contact_on"] = following.isoformat() if following else None
    out["contacts_erased"] = state.contacts_erased
    out["contact_persons"] = None
    if state.contacts_erased:
        out["contact_persons"] = ERASED
    elif state.agency == ctx.principal.agency and acquired.sealed_contacts:
        out["contact_persons"] = await db.keys.open(str(employer_id), acquired.sealed_contacts)
    out["version"] = loaded.version
    return out


async def list_contacts(db: Reads, ctx: Context, employer_id: UUID) -> list[dict[str, Any]]:
    """The contact log of an employer of the caller's own agency, notes opened."""
    access.require_role(ctx.principal, access.READ_ROLES)
    loaded = await db.load(domain.employer, domain.employer_stream(employer_id))
    access.own_employer(ctx.principal, loaded.state)
    out = rows_json(list(await db.pool.fetch(_CONTACTS, employer_id)))
    for item in out:
        sealed = item.pop("sealed_notes")
        item["notes"] = await db.keys.open(str(employer_id), sealed) if sealed else ""
    return out


async def list_vacancies(db: Reads, ctx: Context, *, status: str, employer_id: UUID | None) -> list[dict[str, Any]]:
    """Vacancies of the caller's agency and its project partners."""
    access.require_role(ctx.principal, access.READ_ROLES)
    partners = sorted(access.partners(ctx.principal.agency, await db.memberships()))
    return [vacancy_json(r) for r in await db.pool.fetch(_VACANCIES, partners, status, employer_id)]


async def _readable_vacancy(db: Reads, ctx: Context, vacancy_id: UUID) -> Any:
    access.require_role(ctx.principal, access.READ_ROLES)
    row = await vacancy_row(db.pool, vacancy_id)
    if row is None:
        raise NotFound("no such vacancy")
    if not access.can_read_agency_record(ctx.principal, row["agency"], await db.memberships()):
        raise Forbidden(f"the vacancy belongs to {row['agency']}")
    return row


async def get_vacancy(db: Reads, ctx: Context, vacancy_id: UUID) -> dict[str, Any]:
    row = await _readable_vacancy(db, ctx, vacancy_id)
    loaded = await db.load(domain.vacancy, domain.vacancy_stream(vacancy_id))
    return vacancy_json(row) | {"version": loaded.version}


async def rank_candidates_for_vacancy(db: Reads, ctx: Context, vacancy_id: UUID, *, limit: int) -> dict[str, Any]:
    """Candidates the caller may see, best fit first, each with the reasons for its score."""
    row = await _readable_vacancy(db, ctx, vacancy_id)
    candidates = await visible_candidates(db.pool, ctx.principal, ctx.today)
    ranked = rank_candidates(row, candidates, await proposed_pairs(db.pool), limit)
    return {"vacancy": vacancy_json(row), "candidates": ranked}


async def list_orders(db: Reads, ctx: Context, *, status: str) -> list[dict[str, Any]]:
    access.require_role(ctx.principal, access.READ_ROLES)
    return rows_json(list(await db.pool.fetch(_ORDERS, ctx.principal.agency, status)))
