"""Read side of the KPIs: the facts read model decoded into typed facts, reporting's own
closed periods, and the documents the routes answer with (KPIs, CSV, quarterly reports,
the dashboard). Access checks via ``access``; "today" from the context."""

from __future__ import annotations

import csv
import io
from collections import Counter
from datetime import datetime
from typing import Any

import orjson

from services.reporting import access
from services.reporting.domain import journey, kpis, periods
from services.reporting.domain.journey import Fact, Journey
from services.reporting.domain.periods import DateRange, Quarter
from services.reporting.projections import restore
from services.reporting.views import dashboard
from shared.bus import Context
from shared.contracts.reporting import KpiSnapshotComputed
from shared.runtime import Runtime

_FACTS = (
    "SELECT event_id::text AS id, event_type, recorded_at, participant_id::text AS pid, on_date, data::text AS data"
    " FROM facts WHERE ($1::timestamptz IS NULL OR recorded_at <= $1)"
)
_COUNTS = "SELECT project, metric, count FROM funnel_counts WHERE agency = $1 AND ($2::text IS NULL OR project = $2)"


class Reads:
    """reporting's read models on PostgreSQL (the handlers' ``FactSource`` too)."""

    def __init__(self, runtime: Runtime) -> None:
        self.runtime = runtime

    async def facts(self, recorded_by: datetime | None = None) -> list[Fact]:
        """Every fact (recorded at its source by ``recorded_by``, if given), decoded."""
        pool = self.runtime.pool
        assert pool is not None
        rows = await pool.fetch(_FACTS, recorded_by)
        return [
            Fact(r["id"], r["recorded_at"], r["pid"], r["on_date"], restore(r["event_type"], orjson.loads(r["data"])))
            for r in rows
        ]

    async def lag(self) -> int:
        """Events of the topics the facts projection has not applied yet."""
        return sum([await c.refresh_lag() for c in self.runtime.consumers if c.runner.projection.name == "facts"])

    async def snapshot(self, agency: str, quarter: Quarter) -> KpiSnapshotComputed | None:
        async with self.runtime.unit_of_work(False) as uow:
            loaded = await uow.load(periods.period, periods.period_stream(agency, quarter))
        return loaded.state.snapshot

    async def counts(self, agency: str, project: str | None) -> dict[str, dict[str, int]]:
        pool = self.runtime.pool
        assert pool is not None
        out: dict[str, dict[str, int]] = {}
        for r in await pool.fetch(_COUNTS, agency, project):
            out.setdefault(r["project"], {"referrals": 0, "enrolments": 0, "open_cases": 0})[r["metric"]] = r["count"]
        return out


async def funnel_counts(reads: Reads, ctx: Context, project: str | None) -> dict[str, Any]:
    """Referrals, enrolments and open cases of the caller's agency, per project (thin slice)."""
    access.require_role(ctx.principal, access.COUNT_READERS)
    agency = ctx.principal.agency
    return {"agency": agency, "projects": await reads.counts(agency, project)}


Reports = tuple[list[Quarter], list[dict[str, Any]], dict[str, Journey]]


async def reports(reads: Reads, ctx: Context, period: str | None, agency: str | None, project: str | None) -> Reports:
    """The quarters asked for, the report of each for the caller, and the journeys behind them."""
    access.require_role(ctx.principal, access.KPI_READERS)
    access.check_filters(ctx.principal, agency, project)
    facts = await reads.facts()
    qs = kpis.quarters(period, facts)
    journeys = journey.build_participants(facts)
    viewer = ctx.principal.agency
    return qs, [kpis.report(journeys, q, viewer, agency=agency, project=project) for q in qs], journeys


async def kpi_figures(
    reads: Reads, ctx: Context, period: str | None, agency: str | None, project: str | None
) -> dict[str, Any]:
    _, docs, _ = await reports(reads, ctx, period, agency, project)
    return {"viewer": ctx.principal.agency, "quarters": docs}


async def kpi_csv(reads: Reads, ctx: Context, period: str | None, agency: str | None, project: str | None) -> str:
    """The same figures as rows: quarter, agency, project, figure, value (totals: agency "all")."""
    _, docs, _ = await reports(reads, ctx, period, agency, project)
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(["quarter", "agency", "project", "figure", "value"])
    for doc in docs:
        blocks = [(g["agency"], g["project"], g["figures"]) for g in doc["groups"]] + [("all", "all", doc["total"])]
        for a, p, figs in blocks:
            for name, value in kpis.flatten(figs).items():
                w.writerow([doc["quarter"], a, p, name, "" if value is None else value])
    return buf.getvalue()


async def report_document(reads: Reads, ctx: Context, quarter: Quarter) -> bytes:
    """A closed quarter: the snapshot verbatim plus listed corrections; an open one: live
    figures. Canonical JSON: byte-identical for the same history."""
    access.require_role(ctx.principal, access.KPI_READERS)
    agency = ctx.principal.agency
    facts = await reads.facts()
    journeys = journey.build_participants(facts)
    current = kpis.report(journeys, quarter, agency)
    snap = await reads.snapshot(agency, quarter)
    if snap is None:
        return periods.canonical({"quarter": str(quarter), "agency": agency, "status": "open", "figures": current})
    seen = access.visible_to(agency, quarter.end)
    late = Counter(
        f.event_type
        for f in facts
        if f.recorded_at > snap.cutoff
        and f.on <= quarter.end
        and f.participant_id in journeys
        and seen(journeys[f.participant_id])
    )
    return periods.canonical(
        {
            "quarter": str(quarter),
            "agency": agency,
            "status": "closed",
            "cutoff": snap.cutoff.isoformat(),
            "digest": snap.digest,
            "figures": snap.figures,
            "corrections": kpis.corrections(snap.figures, current),
            "late_facts": dict(sorted(late.items())),
        }
    )


async def dashboard_page(
    reads: Reads, ctx: Context, period: str | None, agency: str | None, project: str | None
) -> str:
    """Funnel, participants per phase, integrations and sustainability, for a steering committee."""
    qs, docs, journeys = await reports(reads, ctx, period, agency, project)
    whole = DateRange(qs[0].start, qs[-1].end) if qs else DateRange(ctx.today, ctx.today)
    overall = kpis.report(journeys, whole, ctx.principal.agency, agency=agency, project=project)
    return dashboard.render(ctx.principal.agency, docs, overall)
