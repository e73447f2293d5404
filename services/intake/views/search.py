"""Intake's search for staff: a participant by number, or by the words of the name through the
register's blind index (``participant_name_marks``: keyed word digests, ``shared.consent.name_marks``),
so no name is ever stored or compared in clear. Only the caller's agency's participants (the
agency that runs the case) are found, and every participant the answer names is a read of
their identity, in the read log (``search``)."""

from __future__ import annotations

from typing import Any
from uuid import UUID

from services.intake import access, domain
from services.intake.handlers import KeyStore
from services.intake.views.participants import UnitOfWorkFactory, audit_read, connection
from shared.bus import Context
from shared.consent import name_marks
from shared.domain import DomainError
from shared.unit_of_work import UnitOfWork

SEARCH_LIMIT = 25

_BY_NUMBER = """
SELECT participant_id, project, status, referred_on FROM participants WHERE agency = $1 AND participant_id = $2
"""
# every mark of the query among the person's marks (all words, in any order); one more row than
# the limit tells whether the answer was cut
_BY_MARKS = """
SELECT p.participant_id, p.project, p.status, p.referred_on FROM participants p
WHERE p.agency = $1 AND (
    SELECT count(*) FROM participant_name_marks m WHERE m.participant_id = p.participant_id AND m.mark = ANY($2::text[])
) = cardinality($2::text[])
ORDER BY p.referred_on DESC, p.participant_id LIMIT $3
"""


def _number(q: str) -> UUID | None:
    try:
        return UUID(q.strip())
    except ValueError:
        return None


async def search(unit_of_work: UnitOfWorkFactory, keys: KeyStore, ctx: Context, q: str) -> dict[str, Any]:
    """The agency's participants whose number is ``q`` or whose first and last names hold
    every word of ``q`` (whole words, case and punctuation ignored), newest referral first,
    with name and birth date opened; each one named is logged as read."""
    p = ctx.principal
    access.require_role(p, access.IDENTITY_ROLES)
    number = _number(q)
    marks = sorted(set(name_marks(q)))
    if number is None and not marks:
        raise DomainError("give a participant number or at least one word of the name", field="q")
    async with unit_of_work(False) as uow:
        conn = connection(uow)
        if number is not None:
            rows = await conn.fetch(_BY_NUMBER, p.agency, number)
        else:
            rows = await conn.fetch(_BY_MARKS, p.agency, marks, SEARCH_LIMIT + 1)
        hits: list[dict[str, Any]] = []
        for row in rows[:SEARCH_LIMIT]:
            name = await _name(uow, keys, row["participant_id"])
            if name is None:  # erased since the register last heard of them
                continue
            hits.append({**dict(row), **name})
            await audit_read(conn, ctx, row["participant_id"], p.agency, "search")
    return {"count": len(hits), "truncated": len(rows) > SEARCH_LIMIT, "participants": hits}


async def _name(uow: UnitOfWork, keys: KeyStore, pid: UUID) -> dict[str, Any] | None:
    """Who the hit is: name and birth date from the sealed identity (the register has none);
    None for a person erased meanwhile (the key is gone)."""
    loaded = await uow.load(domain.participant, domain.stream_id(pid))
    if loaded.state.status == "erased":
        return None
    identity = await keys.open(str(pid), uow, loaded.state.sealed_identity)
    if not isinstance(identity, dict):
        return None
    return {k: identity.get(k) for k in ("first_name", "last_name", "birth_date")}
