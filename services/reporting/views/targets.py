"""Targets and budget of a project (the ``plans`` read model): participants against the
target over time, spend against the budget by category, the forecast at the current rate.
Aggregates only; the scope (whole project or the caller's own agency) is ``access``'s rule."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any

import asyncpg
import orjson

from services.reporting import access
from services.reporting.domain import disclosure, targets
from services.reporting.views.reports import Reads
from shared.bus import Context
from shared.vocabulary import project_members

_PLAN = "SELECT * FROM project_plans WHERE project = $1"
_ENROLMENTS = (
    "SELECT agency, enrolled_on FROM plan_enrolments WHERE project = $1 AND agency = ANY($2::text[])"
    " AND enrolled_on <= $3 ORDER BY enrolled_on"
)
# Spent: completed interventions, at the cost recorded on completion, else the planned cost.
_SPEND = (
    "SELECT category, coalesce(sum(coalesce(cost, planned_cost, 0)), 0)::float8 AS amount,"
    " count(DISTINCT participant_key) AS participants"
    " FROM plan_interventions WHERE project = $1 AND agency = ANY($2::text[])"
    " AND completed_on IS NOT NULL AND completed_on <= $3 GROUP BY category"
)
_SUBSIDIES = (
    "SELECT instrument, count(*) AS granted, sum(months) AS months FROM plan_subsidies"
    " WHERE project = $1 AND agency = ANY($2::text[]) AND granted_on <= $3 GROUP BY instrument"
)


@dataclass(frozen=True)
class Scoped:
    """A project's plan row (None before its first configuration), the agencies in view, the
    day the figures are as of, and the pool they are read from."""

    plan: asyncpg.Record | None
    agencies: list[str]
    day: date
    pool: asyncpg.Pool

    @property
    def run(self) -> targets.Run:
        assert self.plan is not None
        return targets.Run(self.plan["starts_on"], self.plan["ends_on"], self.day)


@dataclass(frozen=True)
class Membership:
    """A project's plan row (None before its first configuration), its coordinating agency and
    its members: the facts ``access.project_scope`` decides on."""

    plan: asyncpg.Record | None
    coordinating: str
    members: list[str]


async def membership(pool: asyncpg.Pool, project: str) -> Membership:
    plan = await pool.fetchrow(_PLAN, project)
    # before any configuration: the closed list's members, its first coordinating
    configured = None if plan is None else [plan["coordinating_agency"], *plan["partner_agencies"]]
    members = list(project_members(project, configured))
    return Membership(plan, members[0] if members else "", members)


async def _scoped(db: Reads, ctx: Context, project: str, as_of: date | None) -> Scoped:
    pool = db.runtime.pool
    assert pool is not None
    m = await membership(pool, project)
    agencies = access.project_scope(ctx.principal, project, m.coordinating, m.members)
    return Scoped(m.plan, agencies, as_of or ctx.today, pool)


def _head(project: str, as_of: date, scope: Scoped) -> dict[str, Any]:
    plan = scope.plan
    return {
        "project": project,
        "as_of": as_of,
        "configured": plan is not None,
        "agencies": scope.agencies,
        "whole_project": plan is not None and len(scope.agencies) == 1 + len(plan["partner_agencies"]),
        "run": None if plan is None else {"starts_on": plan["starts_on"], "ends_on": plan["ends_on"]},
    }


async def participants_vs_target(db: Reads, ctx: Context, project: str, as_of: date | None) -> dict[str, Any]:
    """Enrolments of the agencies in view against the project's target, per quarter, with the
    forecast at the current rate."""
    scope = await _scoped(db, ctx, project, as_of)
    out = _head(project, scope.day, scope)
    if scope.plan is None:
        return out
    rows = await scope.pool.fetch(_ENROLMENTS, project, scope.agencies, scope.day)
    run = scope.run
    target = scope.plan["participant_target"]
    projected = targets.forecast(len(rows), run)
    out["participants"] = {
        "target": target,
        "enrolled": len(rows),
        "of_target": len(rows) / target,
        "forecast_at_end": None if projected is None else round(projected),
        "on_track": None if projected is None else projected >= target,
        "by_agency": {a: sum(1 for r in rows if r["agency"] == a) for a in scope.agencies},
        "by_quarter": targets.participants_over_time([r["enrolled_on"] for r in rows], run, target),
    }
    return out


async def spend_vs_budget(db: Reads, ctx: Context, project: str, as_of: date | None) -> dict[str, Any]:
    """Spend of the agencies in view against the project's budget per category (small cells
    withheld, see ``targets.suppressed``), with the forecast at the current rate."""
    scope = await _scoped(db, ctx, project, as_of)
    out = _head(project, scope.day, scope)
    if scope.plan is None:
        return out
    pool, day, run = scope.pool, scope.day, scope.run
    budget = targets.budget_by_category(orjson.loads(scope.plan["budget"]))
    cells = {
        r["category"]: targets.Cell(r["category"], r["amount"], r["participants"])
        for r in await pool.fetch(_SPEND, project, scope.agencies, day)
    }
    hidden = targets.suppressed(cells.values(), disclosure.Rules.from_env())
    spent = sum(c.amount_eur for c in cells.values())
    total_hidden = targets.total_withheld(cells.values(), hidden)
    out["budget_eur"] = sum(budget.values())
    out["spent_suppressed"] = total_hidden
    out["spent_eur"] = None if total_hidden else round(spent, 2)
    out["forecast_eur"] = None if total_hidden else _rounded(targets.forecast(spent, run))
    out["categories"] = [
        _category(name, budget.get(name), cells.get(name), name in hidden, run) for name in sorted({*budget, *cells})
    ]
    out["wage_subsidies"] = {
        r["instrument"]: {"granted": r["granted"], "months": r["months"]}
        for r in await pool.fetch(_SUBSIDIES, project, scope.agencies, day)
    }
    return out


def _category(
    name: str, budget: float | None, cell: targets.Cell | None, hidden: bool, run: targets.Run
) -> dict[str, Any]:
    amount = 0.0 if cell is None else cell.amount_eur
    shown = not hidden
    return {
        "category": name,
        "budget_eur": budget,
        "spent_eur": round(amount, 2) if shown else None,
        "suppressed": hidden,
        "of_budget": (amount / budget if budget else None) if shown else None,
        "forecast_eur": _rounded(targets.forecast(amount, run)) if shown else None,
    }


def _rounded(value: float | None) -> float | None:
    return None if value is None else round(value, 2)
