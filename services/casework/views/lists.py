"""Lists over the ``cases`` projection: the cases I may see, my caseload, my open tasks."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from services.casework import access
from services.casework.views.case import days_between
from services.casework.views.common import Reader
from services.casework.views.employment import due_follow_ups
from shared.bus import Context
from shared.contracts.common import ConsentPurpose, Phase
from shared.vocabulary import Role


def _sees_case(agency: str, day: str, drv_exchange: str) -> str:
    """``access.can_see`` in SQL, the one case-visibility rule every list uses (the role check
    is ``access.require_reader``): the case's own agency, or an agency a drv-exchange consent
    (shared.consent's rule) opens it to on ``day``."""
    return (
        f"(c.agency = {agency} OR c.participant_id IN (SELECT participant_id FROM consents"
        f" WHERE purpose = {drv_exchange} AND scope = {agency}"
        f" AND consent_active(granted_on, expires_on, ended_on, {day})))"
    )


_VISIBLE_CASES = f"""
SELECT case_id, participant_id, agency, project, opened_on, status, phase, phase_since, case_manager,
       employed_since, exited_on
FROM cases c
WHERE {_sees_case("$1", "$2", "$5")}
  AND ($3::text IS NULL OR phase = $3) AND ($4::text IS NULL OR status = $4)
ORDER BY opened_on, case_id
"""

# Mine: I manage it (``access.is_case_manager``) or I am on its team in my token's role and
# agency (``access.on_team``), and I may see it at all: exactly the cases GET /cases/{id} shows me.
_MY_CASES = f"""
SELECT c.case_id, c.participant_id, c.agency, c.project, c.status, c.phase, c.phase_since,
       c.employment_id, c.employed_since,
       CASE WHEN c.case_manager = $1 AND $4 THEN 'case-manager' ELSE t.role END AS my_role,
       (SELECT min(a.scheduled_for) FROM case_appointments a
         WHERE a.case_id = c.case_id AND a.status = 'scheduled' AND a.scheduled_for >= $3) AS next_appointment
FROM cases c
LEFT JOIN case_team t ON t.case_id = c.case_id AND t.member = $1 AND t.agency = $2 AND t.role = $5
WHERE c.status <> 'exited'
  AND ((c.case_manager = $1 AND c.agency = $2 AND $4) OR t.member IS NOT NULL)
  AND {_sees_case("$2", "$3", "$6")}
ORDER BY c.phase_since NULLS LAST, c.case_id
"""

_DUE_APPOINTMENTS = (
    "SELECT appointment_id, case_id, scheduled_for, with_member, kind FROM case_appointments"
    " WHERE case_id = ANY($1::uuid[]) AND status = 'scheduled' AND scheduled_for <= $2"
)

# Not a validity check: consents still on record as active whose expiry date is near.
_EXPIRING_CONSENTS = (
    "SELECT consent_id, participant_id, purpose, scope, expires_on FROM consents"
    " WHERE participant_id = ANY($1::uuid[]) AND status = 'active' AND expires_on IS NOT NULL"
    " AND expires_on <= $2"
)


async def list_cases(db: Reader, ctx: Context, phase: Phase | None, status: str | None) -> list[dict[str, Any]]:
    """Cases of my agency and those a drv-exchange consent opens to my agency."""
    access.require_reader(ctx.principal)
    rows = await db.pool.fetch(
        _VISIBLE_CASES,
        ctx.principal.agency,
        ctx.today,
        phase.value if phase else None,
        status,
        ConsentPurpose.DRV_EXCHANGE.value,
    )
    return [dict(r) | {"days_in_phase": days_between(r["phase_since"], ctx.today)} for r in rows]


async def _my_cases(db: Reader, ctx: Context) -> list[dict[str, Any]]:
    p = ctx.principal
    rows = await db.pool.fetch(
        _MY_CASES,
        p.subject,
        p.agency,
        ctx.today,
        p.role is Role.CASE_MANAGER,
        p.role.value,
        ConsentPurpose.DRV_EXCHANGE.value,
    )
    return [dict(r) for r in rows]


async def caseload(db: Reader, ctx: Context) -> dict[str, Any]:
    """My active cases, with phase, days in phase and next appointment."""
    access.require_reader(ctx.principal, "has no caseload")
    cases = await _my_cases(db, ctx)
    for c in cases:
        c["days_in_phase"] = days_between(c.pop("phase_since"), ctx.today)
        c["employed"] = c.pop("employment_id") is not None
    return {"member": ctx.principal.subject, "count": len(cases), "cases": cases}


async def open_tasks(db: Reader, ctx: Context, within_days: int) -> dict[str, Any]:
    """Due appointments (and past ones without an outcome), consents expiring soon, cases
    where a job started and Nachbetreuung is the expected next step, and the follow-ups of
    self-found jobs due (overdue ones too)."""
    access.require_reader(ctx.principal, "has no tasks")
    day = ctx.today
    horizon = day + timedelta(days=within_days)
    cases = await _my_cases(db, ctx)
    ids = [c["case_id"] for c in cases]
    tasks: list[dict[str, Any]] = []
    for row in await db.pool.fetch(_DUE_APPOINTMENTS, ids, horizon):
        overdue = row["scheduled_for"] < day
        tasks.append(
            {
                "kind": "record-appointment-outcome" if overdue else "appointment-due",
                "participant_id": str(row["case_id"]),
                "due": row["scheduled_for"],
                "appointment_id": str(row["appointment_id"]),
                "with_member": row["with_member"],
                "appointment_kind": row["kind"],
            }
        )
    for row in await db.pool.fetch(_EXPIRING_CONSENTS, ids, horizon):
        tasks.append(
            {
                "kind": "consent-expiring",
                "participant_id": str(row["participant_id"]),
                "due": row["expires_on"],
                "consent_id": str(row["consent_id"]),
                "purpose": row["purpose"],
                "scope": row["scope"],
            }
        )
    for c in cases:
        if c["employment_id"] is not None and c["phase"] != Phase.NACHBETREUUNG.value:
            tasks.append(
                {
                    "kind": "enter-nachbetreuung",
                    "participant_id": str(c["participant_id"]),
                    "due": c["employed_since"],
                    "phase": c["phase"],
                }
            )
    tasks.extend(await due_follow_ups(db, ctx, horizon))
    tasks.sort(key=lambda t: (t["due"] or day, t["kind"]))
    return {"member": ctx.principal.subject, "today": day, "count": len(tasks), "tasks": tasks}
