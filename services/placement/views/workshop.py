"""The Produktionswerkstatt's reads: an order's participants with their days (each row to
staff of the order's agency and of the participant's own agency), and one participant's
orders (for the agency that runs their case); the ``Enrolments`` port of the handlers."""

from __future__ import annotations

from collections import defaultdict
from typing import Any
from uuid import UUID

from services.placement import access, domain
from services.placement.domain.workshop import Enrolled
from services.placement.views.reads import Reads, rows_json
from shared.bus import Context
from shared.unit_of_work import UnitOfWork, connection_of

_ENROLLED = "SELECT participant_id, agency, project, enrolled_on FROM workshop_enrolled WHERE participant_id = $1"
_ORDER_PARTICIPANTS = (
    "SELECT order_id, participant_id, order_agency, agency, assigned_on, released_on FROM order_participants"
    " WHERE order_id = $1 ORDER BY assigned_on, participant_id"
)
_PARTICIPANT_ORDERS = (
    "SELECT p.order_id, p.participant_id, p.order_agency, p.agency, p.assigned_on, p.released_on, o.description,"
    " o.status FROM order_participants p LEFT JOIN production_orders o USING (order_id)"
    " WHERE p.participant_id = $1 ORDER BY p.assigned_on, p.order_id"
)
_DAYS = (
    "SELECT order_id, participant_id, worked_on, attendance, hours FROM order_attendance"
    " WHERE order_id = ANY($1::uuid[]) AND participant_id = ANY($2::uuid[]) ORDER BY worked_on"
)


class PostgresEnrolments:
    """The ``Enrolments`` port on the workshop projection (on the command's connection)."""

    def __init__(self, reads: Reads) -> None:
        self.reads = reads

    async def enrolled(self, participant_id: UUID, uow: UnitOfWork) -> Enrolled | None:
        row = await connection_of(uow, self.reads.pool).fetchrow(_ENROLLED, participant_id)
        if row is None:
            return None
        return Enrolled(row["participant_id"], row["agency"], row["project"], row["enrolled_on"])


async def _with_days(db: Reads, rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Each assignment with its days and totals: hours, and days present, excused, absent."""
    days: dict[tuple[str, str], list[dict[str, Any]]] = defaultdict(list)
    orders = list({UUID(r["order_id"]) for r in rows})
    people = list({UUID(r["participant_id"]) for r in rows})
    for d in rows_json(list(await db.pool.fetch(_DAYS, orders, people))):
        days[(d.pop("order_id"), d.pop("participant_id"))].append(d)
    for r in rows:
        mine = days.get((r["order_id"], r["participant_id"]), [])
        r["days"] = mine
        r["hours"] = sum(d["hours"] for d in mine)
        r["attendance"] = {k: sum(1 for d in mine if d["attendance"] == k) for k in ("present", "excused", "absent")}
    return rows


async def order_participants(db: Reads, ctx: Context, order_id: UUID) -> dict[str, Any]:
    """Who works on the order and their days: the rows the caller may see (the order's agency:
    all; a partner's staff: their own agency's participants)."""
    access.require_role(ctx.principal, access.READ_ROLES)
    loaded = await db.load(domain.production_order, domain.order_stream(order_id))
    order = access.readable_order(ctx.principal, loaded.state, loaded.exists, await db.memberships())
    rows = rows_json(list(await db.pool.fetch(_ORDER_PARTICIPANTS, order_id)))
    shown = [r for r in rows if access.sees_order_participant(ctx.principal, order.agency, r["agency"])]
    return {
        "order_id": str(order_id),
        "agency": order.agency,
        "status": order.status,
        "participants": await _with_days(db, shown),
    }


async def enrolled_agency(db: Reads, participant_id: UUID) -> str | None:
    """The agency that runs the participant's case, as the workshop knows it (None: unknown)."""
    row = await db.pool.fetchrow(_ENROLLED, participant_id)
    return None if row is None else str(row["agency"])


async def workshop_days(db: Reads, participant_id: UUID) -> list[dict[str, Any]]:
    """Every order the participant works or worked on, with the days (subject access, views)."""
    return await _with_days(db, rows_json(list(await db.pool.fetch(_PARTICIPANT_ORDERS, participant_id))))


async def participant_orders(db: Reads, ctx: Context, participant_id: UUID) -> dict[str, Any]:
    """The orders one participant works or worked on, with their days: for the agency that runs
    the participant's case (``access.own_participant``)."""
    access.require_role(ctx.principal, access.READ_ROLES)
    access.own_participant(ctx.principal, await enrolled_agency(db, participant_id))
    return {"participant_id": str(participant_id), "orders": await workshop_days(db, participant_id)}
