"""The retention reads: the rules in force, the DPO's list of upcoming deletions and holds, and
the retention task's port."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

from services.intake import access
from services.intake.domain import retention
from services.intake.handlers import KeyStore
from services.intake.views.participants import UnitOfWorkFactory, connection
from shared.bus import Context

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
    access.require_role(ctx.principal, access.RETENTION_READ_ROLES)
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
