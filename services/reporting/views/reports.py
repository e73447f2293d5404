"""Read side of the KPIs: the facts read model decoded into typed facts, reporting's own
closed periods, and the documents the routes answer with (KPIs, CSV, quarterly reports,
the dashboard). Access checks via ``access``; "today" from the context."""

from __future__ import annotations

import csv
import io
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from pydantic import TypeAdapter

from services.reporting import access
from services.reporting.domain import disclosure, journey, kpis, periods
from services.reporting.domain.journey import Fact, Journey
from services.reporting.domain.periods import Quarter
from services.reporting.projections import FACT_COLUMNS, decode_fact
from services.reporting.views import dashboard
from shared.bus import Context
from shared.contracts.reporting import KpiSnapshotComputed
from shared.domain import DomainError
from shared.runtime import Runtime
from shared.vocabulary import memberships

_MEMBERS = "SELECT project, coordinating_agency, partner_agencies FROM project_plans"
_FACTS = f"SELECT {FACT_COLUMNS} FROM facts WHERE ($1::timestamptz IS NULL OR recorded_at <= $1)"
# the maintained journeys, in the fold's order (by each one's first fact), as one JSON array
_JOURNEYS = "SELECT coalesce(json_agg(data ORDER BY first_recorded_at, first_event_id), '[]')::text FROM journeys"
_SPAN = "SELECT min(on_date) AS first, max(on_date) AS last FROM facts"
_COMPLETE = "SELECT NOT EXISTS (SELECT 1 FROM journeys_pending)"
_STANDING = "SELECT count(*) AS facts, max(recorded_at) AS latest FROM facts"
_JOURNEY_LIST = TypeAdapter(list[Journey])
_COUNTS = "SELECT project, metric, count FROM funnel_counts WHERE agency = $1 AND ($2::text IS NULL OR project = $2)"


class Reads:
    """reporting's read models on PostgreSQL (the handlers' ``FactSource`` too)."""

    def __init__(self, runtime: Runtime, rules: disclosure.Rules | None = None) -> None:
        self.runtime = runtime
        self.rules = rules or disclosure.Rules.from_env()

    async def memberships(self) -> dict[str, tuple[str, ...]]:
        """Every project's members: as last configured (``plans``), else the closed list's."""
        pool = self.runtime.pool
        assert pool is not None
        rows = await pool.fetch(_MEMBERS)
        return memberships({r["project"]: [r["coordinating_agency"], *r["partner_agencies"]] for r in rows})

    async def facts(self, recorded_by: datetime | None = None) -> list[Fact]:
        """Every fact (recorded at its source by ``recorded_by``, if given), decoded."""
        pool = self.runtime.pool
        assert pool is not None
        return [decode_fact(r) for r in await pool.fetch(_FACTS, recorded_by)]

    async def journeys(self) -> dict[str, Journey]:
        """Every participant's journey as the facts projection maintains it: what folding every
        fact gives (``journey.build_participants``), without reading the facts."""
        pool = self.runtime.pool
        assert pool is not None
        return _journeys(await pool.fetchval(_JOURNEYS))

    async def journeys_complete(self) -> bool:
        """Whether every journey is maintained (an upgrade's backlog is folded)."""
        pool = self.runtime.pool
        assert pool is not None
        return bool(await pool.fetchval(_COMPLETE))

    async def present(self) -> tuple[dict[str, Journey], list[Quarter]] | None:
        """The maintained journeys and the quarters with facts (``kpis.quarters`` of no period),
        read in one snapshot; None while an upgrade's backlog is being folded."""
        pool = self.runtime.pool
        assert pool is not None
        async with pool.acquire() as conn, conn.transaction(isolation="repeatable_read", readonly=True):
            if not await conn.fetchval(_COMPLETE):
                return None
            span = await conn.fetchrow(_SPAN)
            found = _journeys(await conn.fetchval(_JOURNEYS))
        if span is None or span["first"] is None:
            return found, []
        return found, kpis.run(Quarter.of(span["first"]), Quarter.of(span["last"]))

    async def standing(self, recorded_by: datetime | None = None) -> tuple[dict[str, Journey], int]:
        """The journeys folded from the facts recorded by ``recorded_by`` (all, if None) and how
        many facts those are, in one snapshot: the maintained journeys whenever they are exactly
        that fold (no upgrade backlog, no fact recorded later), else the facts read and folded."""
        pool = self.runtime.pool
        assert pool is not None
        async with pool.acquire() as conn, conn.transaction(isolation="repeatable_read", readonly=True):
            if await conn.fetchval(_COMPLETE):
                count, latest = await conn.fetchrow(_STANDING) or (0, None)
                if recorded_by is None or latest is None or latest <= recorded_by:
                    return _journeys(await conn.fetchval(_JOURNEYS)), int(count)
            known = [decode_fact(r) for r in await conn.fetch(_FACTS, recorded_by)]
        return journey.build_participants(known), len(known)

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


def aware(stamp: datetime | None) -> datetime | None:
    """A time without zone is UTC."""
    return stamp if stamp is None or stamp.tzinfo else stamp.replace(tzinfo=UTC)


def as_of_time(ctx: Context, as_of: datetime | None) -> datetime | None:
    """The figures as they stood at ``as_of`` (facts recorded at their source by then); a time
    after today is refused (422 naming ``as_of``), a time without zone is UTC."""
    stamp = aware(as_of)
    if stamp is None:
        return None
    if stamp.date() > ctx.today:
        raise DomainError(f"as_of {stamp.isoformat()} is after today ({ctx.today})", field="as_of")
    return stamp


@dataclass(frozen=True)
class Ask:
    """What a figure route is asked for: the period, the filters, the time the figures stood at."""

    period: str | None = None
    agency: str | None = None
    project: str | None = None
    as_of: datetime | None = None


@dataclass
class Reports:
    """The quarters asked for, each one's protected report for the caller, the range over them
    (a year or a run of quarters asked for), and the journeys behind them."""

    quarters: list[Quarter]
    parts: list[kpis.Protected]
    journeys: dict[str, Journey]
    range: dict[str, Any] | None = None
    available: list[Quarter] = field(default_factory=list)  # every quarter with facts

    @property
    def docs(self) -> list[dict[str, Any]]:
        return [p.document() for p in self.parts]


async def reports(reads: Reads, ctx: Context, ask: Ask, *, whole: bool = False) -> Reports:
    """The reports for the caller; with ``whole`` (or a period of several quarters) the range too."""
    access.require_role(ctx.principal, access.KPI_READERS)
    period, agency, project = ask.period, ask.agency, ask.project
    projects = await reads.memberships()
    access.check_filters(ctx.principal, agency, project, projects)
    journeys, available = await _present_or_then(reads, as_of_time(ctx, ask.as_of))
    qs = kpis.quarters(period, []) if period else available
    viewer, rules = ctx.principal.agency, reads.rules
    filtered = agency is not None or project is not None
    parts = []
    for q in qs:
        keep = await _frozen_hidden(reads, viewer, q, ctx, total=not filtered)
        parts.append(
            kpis.protected_report(
                journeys, q, viewer, agency=agency, project=project, projects=projects, rules=rules, keep=keep
            )
        )
    out = Reports(qs, parts, journeys, available=available)
    if parts and (whole or (period and len(qs) > 1)):
        out.range = kpis.range_report(
            journeys, parts, viewer, agency=agency, project=project, projects=projects, rules=rules
        )
    return out


def _journeys(text: str) -> dict[str, Journey]:
    return {j.participant_id: j for j in _JOURNEY_LIST.validate_json(text)}


async def _present_or_then(reads: Reads, stamp: datetime | None) -> tuple[dict[str, Journey], list[Quarter]]:
    """The journeys and the quarters with facts: of the present, as maintained; as of a time
    (or while an upgrade's backlog is folded), folded from the facts recorded by then."""
    if stamp is None and (present := await reads.present()) is not None:
        return present
    facts = await reads.facts(stamp)
    return journey.build_participants(facts), kpis.quarters(None, facts)


async def _frozen_hidden(reads: Reads, agency: str, quarter: Quarter, ctx: Context, *, total: bool) -> set[Any]:
    """The cells the agency's closed report of the quarter hid (none while it is open)."""
    if quarter.end >= ctx.today:
        return set()
    snap = await reads.snapshot(agency, quarter)
    return kpis.hidden_cells(snap.figures, total=total) if snap else set()


async def kpi_figures(reads: Reads, ctx: Context, ask: Ask) -> dict[str, Any]:
    got = await reports(reads, ctx, ask)
    doc: dict[str, Any] = {"viewer": ctx.principal.agency, "quarters": got.docs}
    if (stamp := as_of_time(ctx, ask.as_of)) is not None:
        doc["as_of"] = stamp.isoformat()
    if got.range is not None:
        doc["range"] = got.range
    return doc


async def kpi_csv(reads: Reads, ctx: Context, ask: Ask) -> str:
    """The same figures as rows: quarter, agency, project, figure, value (totals: agency "all";
    a range's rows have the quarter ``<from>..<to>``)."""
    got = await reports(reads, ctx, ask)
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(["quarter", "agency", "project", "figure", "value"])
    for doc in [*got.docs, *([got.range] if got.range else [])]:
        blocks = [(g["agency"], g["project"], g["figures"]) for g in doc["groups"]] + [("all", "all", doc["total"])]
        for a, p, figs in blocks:
            for name, value in kpis.flatten(figs).items():
                w.writerow([doc["quarter"], a, p, name, "" if value is None else value])
    return buf.getvalue()


async def report_document(reads: Reads, ctx: Context, quarter: Quarter, as_of: datetime | None = None) -> bytes:
    """A closed quarter: the snapshot verbatim plus listed corrections; an open one: live
    figures. With ``as_of``: as it stood then (closed only if its cutoff was by then).
    Canonical JSON: byte-identical for the same history."""
    access.require_role(ctx.principal, access.KPI_READERS)
    agency, rules = ctx.principal.agency, reads.rules
    stamp = as_of_time(ctx, as_of)
    snap = await reads.snapshot(agency, quarter)
    facts: list[Fact] = []
    present = await reads.present() if snap is None and stamp is None else None  # open, now
    if present is not None:
        journeys = present[0]
    else:  # the frozen report, its corrections and late facts, the past, an upgrade's backlog
        facts = await reads.facts(stamp)
        journeys = journey.build_participants(facts)
    keep = kpis.hidden_cells(snap.figures) if snap else set()
    projects = await reads.memberships()
    current = kpis.protected_report(journeys, quarter, agency, projects=projects, rules=rules, keep=keep)
    head: dict[str, Any] = {"quarter": str(quarter), "agency": agency}
    if stamp is not None:
        head["as_of"] = stamp.isoformat()
    if snap is None or (stamp is not None and snap.cutoff > stamp):
        return periods.canonical({**head, "status": "open", "figures": current.document()})
    frozen = kpis.protected_report(
        journey.build_participants(facts, cutoff=snap.cutoff), quarter, agency, projects=projects, rules=rules
    )
    return periods.canonical(
        {
            **head,
            "status": "closed",
            "cutoff": snap.cutoff.isoformat(),
            "digest": snap.digest,
            "figures": snap.figures,
            "corrections": kpis.corrections(snap.figures, current.document(), frozen.raw_cells(), current.raw_cells()),
            "late_facts": _late_facts(facts, journeys, agency, quarter, snap.cutoff, rules, projects),
        }
    )


def _late_facts(
    facts: list[Fact],
    journeys: dict[str, Journey],
    agency: str,
    quarter: Quarter,
    cutoff: datetime,
    rules: disclosure.Rules,
    projects: Mapping[str, Sequence[str]] | None = None,
) -> dict[str, Any]:
    """Counts per event type of the facts recorded after the cutoff that belong in the quarter;
    a small count of a sensitive type is shown as "< t" like the cell it changes."""
    seen = access.visible_to(agency, quarter.end, projects)
    late = Counter(
        f.event_type
        for f in facts
        if f.recorded_at > cutoff
        and f.on <= quarter.end
        and f.participant_id in journeys
        and seen(journeys[f.participant_id])
    )
    return {
        t: rules.small if t in disclosure.SENSITIVE_EVENTS and 0 < n < rules.threshold else n
        for t, n in sorted(late.items())
    }


async def dashboard_page(reads: Reads, ctx: Context, ask: Ask) -> str:
    """Funnel, participants per phase, integrations and sustainability, for a steering committee."""
    got = await reports(reads, ctx, ask, whole=True)
    choices = [str(q) for q in got.available]
    return dashboard.render(
        ctx.principal.agency, got.docs, got.range, dashboard.Selection(ask.period, choices, ctx.today)
    )
