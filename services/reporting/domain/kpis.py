"""KPI definitions: pure functions from journeys to figures. No infrastructure here.

``figures`` computes every KPI of one quarter for a set of journeys (``journey.build_participants``
folds the facts into them), one small function per KPI family; ``report`` groups them by agency
and project for one viewer and applies small-cell suppression. See services/reporting/README.md
for the definitions in words.
"""

from __future__ import annotations

import math
import re
import statistics
from collections import Counter, defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from services.reporting.access import visible_to
from services.reporting.domain import disclosure
from services.reporting.domain.journey import Fact, Journey
from services.reporting.domain.periods import DateRange, Quarter, Window
from shared.contracts.common import ExitReason, InterventionCategory, Phase
from shared.domain import DomainError

SUPPRESSED = disclosure.DEFAULT.small
SECONDARY = disclosure.SECONDARY
CHANGED = disclosure.CHANGED

Figures = dict[str, Any]


def quarters(period: str | None, facts: Sequence[Fact]) -> list[Quarter]:
    """``2025-Q1`` → that quarter, ``2025`` → its four, ``2025-Q2..2026-Q1`` → that run,
    nothing → every quarter with facts."""
    if period:
        if re.fullmatch(r"\d{4}", period):
            return [Quarter(int(period), q) for q in range(1, 5)]
        first, dots, last = period.partition("..")
        if dots:
            return run(Quarter.parse(first), Quarter.parse(last))
        return [Quarter.parse(period)]
    if not facts:
        return []
    return run(Quarter.of(min(f.on for f in facts)), Quarter.of(max(f.on for f in facts)))


def run(first: Quarter, last: Quarter) -> list[Quarter]:
    """Every quarter from ``first`` to ``last``; 422 (``period``) if it ends before it starts."""
    if last < first:
        raise DomainError("a run of quarters ends after it starts: 2025-Q1..2025-Q4", field="period")
    out = [first]
    while out[-1] < last:
        out.append(out[-1].next())
    return out


def _percentile(values: Sequence[int], p: float) -> int | None:
    """Nearest-rank percentile (always one of the observed values)."""
    if not values:
        return None
    ordered = sorted(values)
    return ordered[max(0, math.ceil(p * len(ordered)) - 1)]


def _rate(part: int, whole: int) -> float | None:
    return round(part / whole, 3) if whole else None


def _funnel(js: list[Journey], q: Window) -> Figures:
    """Referrals, eligibility checks, enrolments and declined enrolments in the quarter."""
    checks = [ok for j in js for on, ok in j.checks if on in q]
    return {
        "referrals": sum(1 for j in js if j.referred_on in q),
        "eligibility": {"checked": len(checks), "eligible": sum(checks), "rate": _rate(sum(checks), len(checks))},
        "enrolments": sum(1 for j in js if j.enrolled_on in q),
        "declined": sum(1 for j in js if j.declined_on in q),
    }


def _participants(js: list[Journey], q: Window) -> int:
    """Enrolled on or before the last day and not exited before the first: active on at least
    one day of the window (the previous stock plus the window's enrolments)."""
    return sum(
        1
        for j in js
        if j.enrolled_on is not None and j.enrolled_on <= q.end and (j.exited_on is None or j.exited_on >= q.start)
    )


def _stock(js: list[Journey], q: Window) -> Figures:
    """Who is active on the quarter's last day, in which phase, with which case manager."""
    end = q.end
    active = [j for j in js if j.active_on(end)]
    by_phase = Counter(j.phase_on(end) for j in active)
    caseload = Counter(m for j in active if (m := j.manager_on(end)) is not None)
    return {
        "active": {
            "total": len(active),
            "by_phase": {p: by_phase.get(p, 0) for p in [*(x.value for x in Phase), "none"]},
        },
        "caseload": {
            "workers": len(caseload),
            "mean": round(statistics.mean(caseload.values()), 1) if caseload else None,
            "max": max(caseload.values()) if caseload else None,
            "by_worker": dict(sorted(caseload.items())),
        },
    }


def _phase_days(js: list[Journey], q: Window) -> Figures:
    """Length of the phase spans that ended in the quarter: n, median, 90th percentile."""
    durations: dict[str, list[int]] = defaultdict(list)
    for j in js:
        for s in j.spans:
            if s.left is not None and s.left in q:
                durations[s.phase].append((s.left - s.entered).days)
    return {
        "phase_days": {
            p.value: {"n": len(d), "median": statistics.median(d) if d else None, "p90": _percentile(d, 0.9)}
            for p in Phase
            if (d := durations.get(p, []))
        }
    }


def _interventions(js: list[Journey], q: Window) -> Figures:
    items = [i for j in js for i in j.interventions.values()]
    started = [i for i in items if i.started in q]
    return {
        "interventions": {
            "started": len(started),
            "by_category": {c.value: sum(1 for i in started if i.category == c) for c in InterventionCategory},
            "completed": sum(1 for i in items if i.completed in q),
            "aborted": sum(1 for i in items if i.aborted in q),
        }
    }


def _work_trials(js: list[Journey], q: Window) -> Figures:
    trials = [t for j in js for t in j.trials.values()]
    return {
        "work_trials": {
            "started": sum(1 for t in trials if t.started in q),
            "completed": sum(1 for t in trials if t.completed in q),
            "aborted": sum(1 for t in trials if t.aborted in q),
        }
    }


def _exits(js: list[Journey], q: Window) -> Counter[str | None]:
    return Counter(j.exit_reason for j in js if j.exited_on in q)


def _integrations(js: list[Journey], q: Window) -> Figures:
    """Jobcenter ratio K2: employments started in the quarter that count, by kind."""
    employments = [e for j in js for e in j.employments.values() if e.started in q]
    counted = [e for e in employments if e.integration]
    kinds = ("social-insurance", "social-insurance-subsidised", "vocational-training", "self-employment")
    return {
        "integrations": {
            "total": len(counted),
            "by_type": {k: sum(1 for e in counted if e.kind == k) for k in kinds},
            "not_counted": len(employments) - len(counted),
        }
    }


def _sustainability(js: list[Journey], q: Window) -> Figures:
    """Follow-ups of K2 integrations at 6 and 12 months, by verification quarter."""
    k2 = {eid for j in js for eid, e in j.employments.items() if e.integration}
    out: Figures = {}
    for months in (6, 12):
        checked = [still for j in js for eid, m, on, still in j.verifications if m == months and on in q and eid in k2]
        out[f"{months}_months"] = {
            "verified": len(checked),
            "still_employed": sum(checked),
            "rate": _rate(sum(checked), len(checked)),
        }
    return {"sustainability": out}


def _subsidies(js: list[Journey], q: Window) -> Figures:
    """Wage subsidies granted in the quarter, by instrument (§ 16e / § 16i SGB II)."""
    granted = [instrument for j in js for instrument, on in j.subsidies.values() if on in q]
    return {"subsidies": {"total": len(granted), "by_instrument": {i: granted.count(i) for i in ("16e", "16i")}}}


def _rehab_waiting(js: list[Journey], q: Window) -> Figures:
    """Rehab applications the carrier decided in the window: how many, and the median of the
    days from filing to decision (an application whose filing reporting never saw is left out)."""
    days = [
        (a.decided - a.filed).days for j in js for a in j.rehab.values() if a.decided and a.decided in q and a.filed
    ]
    return {"rehab_waiting": {"decided": len(days), "median_days": statistics.median(days) if days else None}}


def figures(journeys: Iterable[Journey], quarter: Window) -> Figures:
    """Every KPI of one quarter for the given participants (raw, unsuppressed)."""
    js, q = list(journeys), quarter
    exits = _exits(js, q)
    participants = _participants(js, q)
    integrations = _integrations(js, q)
    return {
        **_funnel(js, q),
        "participants": participants,
        **_stock(js, q),
        **_phase_days(js, q),
        "interruptions": sum(1 for j in js for on in j.interruptions if on in q),
        **_interventions(js, q),
        **_work_trials(js, q),
        "exits": {"total": sum(exits.values()), "by_reason": {r.value: exits.get(r, 0) for r in ExitReason}},
        "health_exits": {
            "total": sum(exits.get(r, 0) for r in disclosure.HEALTH_EXIT_REASONS),
            "by_reason": {r: exits.get(r, 0) for r in disclosure.HEALTH_EXIT_REASONS},
        },
        **integrations,
        "integration_rate": _rate(integrations["integrations"]["total"], participants),
        **_sustainability(js, q),
        **_subsidies(js, q),
        "rehab_applications": sum(1 for j in js for on in j.rehab_filed if on in q),
        **_rehab_waiting(js, q),
        "disability_pension_exits": exits.get(ExitReason.DISABILITY_PENSION, 0),
    }


# --- disclosure control (services/reporting/domain/disclosure.py decides) ---------------------

Marks = dict[disclosure.Key, str]
RATES = {
    "eligibility.rate": ("eligibility.eligible", "eligibility.checked"),
    "integration_rate": ("integrations.total", "participants"),
    "sustainability.6_months.rate": ("sustainability.6_months.still_employed", "sustainability.6_months.verified"),
    "sustainability.12_months.rate": ("sustainability.12_months.still_employed", "sustainability.12_months.verified"),
    # a median goes with its count: hidden with it (a median of one to four tells of those people)
    "rehab_waiting.median_days": ("rehab_waiting.decided", "rehab_waiting.decided"),
}


def sensitive(path: str) -> bool:
    return disclosure.sensitive(path)


def cells(scope: str, raw: Mapping[str, Any]) -> dict[disclosure.Key, int]:
    return {(scope, p): v for p, v in flatten(raw).items() if disclosure.is_cell(p, v)}


def publish(raw: Mapping[str, Any], scope: str, marks: Mapping[disclosure.Key, str]) -> dict[str, Any]:
    """The raw figures with the hidden cells replaced by their marks and rates of hidden parts."""
    flat = {p: marks.get((scope, p), v) for p, v in flatten(raw).items()}
    for rate, (num, den) in RATES.items():
        if rate in flat and disclosure.rate_hidden(flat.get(num), flat.get(den)):
            flat[rate] = disclosure.SECONDARY
    return unflatten(raw, flat)


def suppress(raw: Mapping[str, Any], rules: disclosure.Rules = disclosure.DEFAULT) -> dict[str, Any]:
    """One scope on its own: primary and secondary suppression inside its identities."""
    values = cells("", raw)
    marks = disclosure.protect(values, disclosure.scope_rows("", [p for _, p in values]), values, rules=rules)
    return publish(raw, "", marks)


def unflatten(shape: Mapping[str, Any], flat: Mapping[str, Any], path: str = "") -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in shape.items():
        p = f"{path}.{key}" if path else str(key)
        out[key] = unflatten(value, flat, p) if isinstance(value, Mapping) else flat[p]
    return out


@dataclass
class Protected:
    """One window's raw figures per scope (each group ``agency/project`` and ``total``) with
    the marks of its hidden cells: what a publication of it shows and what a range over it must
    keep hidden."""

    window: Window
    groups: list[tuple[str, str]]
    raw: dict[str, Figures]
    marks: Marks

    @property
    def scopes(self) -> list[str]:
        return [f"{a}/{p}" for a, p in self.groups]

    def document(self) -> dict[str, Any]:
        return {
            "quarter": str(self.window),
            "groups": [
                {"agency": a, "project": p, "figures": publish(self.raw[f"{a}/{p}"], f"{a}/{p}", self.marks)}
                for a, p in self.groups
            ],
            "total": publish(self.raw["total"], "total", self.marks),
        }

    def raw_cells(self) -> dict[str, Any]:
        """Every raw figure keyed as ``corrections`` names it (``total.<path>``, ``<agency>/<project>.<path>``)."""
        return _keyed({s: self.raw[s] for s in [*self.scopes, "total"]})

    def system(self) -> tuple[dict[disclosure.Key, int], list[disclosure.Row]]:
        """Every cell and identity of this publication, keyed ``<window>|<scope>`` (as a range sees it)."""
        values: dict[disclosure.Key, int] = {}
        rows: list[disclosure.Row] = []
        for scope in [*self.scopes, "total"]:
            mine = cells(scope, self.raw[scope])
            values.update(mine)
            rows.extend(disclosure.scope_rows(scope, [p for _, p in mine]))
        rows.extend(disclosure.sum_rows("total", self.scopes, [p for s, p in values if s == "total"]))
        ns = self._ns
        return {ns(k): v for k, v in values.items()}, [{ns(k): c for k, c in r.items()} for r in rows]

    def _ns(self, key: disclosure.Key) -> disclosure.Key:
        return (f"{self.window}|{key[0]}", key[1])


def protected(
    groups: Mapping[tuple[str, str], list[Journey]],
    window: Window,
    rules: disclosure.Rules = disclosure.DEFAULT,
    within: Sequence[Protected] = (),
    keep: Iterable[disclosure.Key] = (),
) -> Protected:
    """Each group is protected on its own (so its cells look the same in every response it is
    in), then the total over the groups with the groups' marks fixed. ``within``: the quarters a
    range spans, published on their own: their marks stay, and a range cell of a flow is the sum
    of theirs."""
    order = sorted(groups)
    scopes = [f"{a}/{p}" for a, p in order]
    raw = {scope: figures(groups[key], window) for scope, key in zip(scopes, order, strict=True)}
    raw["total"] = figures([j for key in order for j in groups[key]], window)
    values: dict[disclosure.Key, int] = {}
    rows: list[disclosure.Row] = []
    marks: Marks = {}
    for part in within:
        part_values, part_rows = part.system()
        values.update(part_values)
        rows.extend(part_rows)
        marks.update({part._ns(k): m for k, m in part.marks.items()})
    for scope in [*scopes, "total"]:
        mine = cells(scope, raw[scope])
        values.update(mine)
        paths = [p for _, p in mine]
        rows.extend(disclosure.scope_rows(scope, paths))
        if scope == "total":
            rows.extend(disclosure.sum_rows("total", scopes, paths))
        quarters_of = [f"{part.window}|{scope}" for part in within if scope in part.raw]
        if quarters_of:
            flows = [p for p in paths if not p.startswith(disclosure.NOT_FLOWS)]
            rows.extend(disclosure.sum_rows(scope, quarters_of, flows))
        marks = disclosure.protect(values, rows, mine, marks, rules, keep)
    return Protected(window, order, raw, {k: m for k, m in marks.items() if "|" not in k[0]})


# --- reports ----------------------------------------------------------------------------------


def chosen_groups(
    journeys: Mapping[str, Journey],
    window: Window,
    viewer_agency: str,
    *,
    agency: str | None = None,
    project: str | None = None,
    projects: Mapping[str, Sequence[str]] | None = None,
) -> dict[tuple[str, str], list[Journey]]:
    """The participants one agency may see on the window's last day, by (agency, project): the
    agency running the case that day (``Journey.agency_on``) decides the whole window's figures."""
    seen = visible_to(viewer_agency, window.end, projects)
    groups: dict[tuple[str, str], list[Journey]] = defaultdict(list)
    for j in journeys.values():
        running = j.agency_on(window.end)  # a transfer moves the participant from its date's window on
        if (
            running
            and j.project
            and seen(j)
            and (agency is None or running == agency)
            and (project is None or j.project == project)
        ):
            groups[(running, j.project)].append(j)
    return groups


def report(
    journeys: Mapping[str, Journey],
    quarter: Window,
    viewer_agency: str,
    *,
    agency: str | None = None,
    project: str | None = None,
    projects: Mapping[str, Sequence[str]] | None = None,
    rules: disclosure.Rules = disclosure.DEFAULT,
) -> dict[str, Any]:
    """The suppressed figures one agency may see for one quarter, per (agency, project) and in total."""
    return protected_report(
        journeys, quarter, viewer_agency, agency=agency, project=project, projects=projects, rules=rules
    ).document()


def protected_report(
    journeys: Mapping[str, Journey],
    window: Window,
    viewer_agency: str,
    *,
    agency: str | None = None,
    project: str | None = None,
    projects: Mapping[str, Sequence[str]] | None = None,
    rules: disclosure.Rules = disclosure.DEFAULT,
    within: Sequence[Protected] = (),
    keep: Iterable[disclosure.Key] = (),
) -> Protected:
    """``keep``: cells hidden in another publication of this window (``hidden_cells``)."""
    groups = chosen_groups(journeys, window, viewer_agency, agency=agency, project=project, projects=projects)
    return protected(groups, window, rules, within, keep)


def hidden_cells(doc: Mapping[str, Any], *, total: bool = True) -> set[disclosure.Key]:
    """The cells a published report hid (by scope), e.g. a closed quarter's frozen report: the
    live figures of that quarter keep them hidden. ``total=False``: only the groups' (a filtered
    response has another total)."""
    scopes = {f"{g['agency']}/{g['project']}": g["figures"] for g in doc["groups"]}
    if total:
        scopes["total"] = doc["total"]
    return {(s, p) for s, figs in scopes.items() for p, v in flatten(figs).items() if isinstance(v, str)}


def range_report(
    journeys: Mapping[str, Journey],
    quarters_: Sequence[Protected],
    viewer_agency: str,
    *,
    agency: str | None = None,
    project: str | None = None,
    projects: Mapping[str, Sequence[str]] | None = None,
    rules: disclosure.Rules = disclosure.DEFAULT,
) -> dict[str, Any]:
    """Every figure over a run of quarters (sustainability over a chosen period, the dashboard's
    funnel), suppressed so that no quarter's hidden cell follows from the range minus the others."""
    first, last = quarters_[0].window, quarters_[-1].window
    window = DateRange(first.start, last.end, f"{first}..{last}")
    doc = protected_report(
        journeys,
        window,
        viewer_agency,
        agency=agency,
        project=project,
        projects=projects,
        rules=rules,
        within=quarters_,
    ).document()
    return {"from": str(first), "to": str(last), **doc}


def flatten(tree: Mapping[str, Any], path: str = "") -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in tree.items():
        p = f"{path}.{key}" if path else str(key)
        if isinstance(value, Mapping):
            out.update(flatten(value, p))
        else:
            out[p] = value
    return out


def _keyed(scopes: Mapping[str, Mapping[str, Any]]) -> dict[str, Any]:
    return {f"{scope}.{k}": v for scope, figs in scopes.items() for k, v in flatten(figs).items()}


def _published(doc: Mapping[str, Any]) -> dict[str, Any]:
    return _keyed({"total": doc["total"]} | {f"{g['agency']}/{g['project']}": g["figures"] for g in doc["groups"]})


def corrections(
    frozen: Mapping[str, Any],
    current: Mapping[str, Any],
    frozen_raw: Mapping[str, Any] | None = None,
    current_raw: Mapping[str, Any] | None = None,
) -> list[dict[str, Any]]:
    """Every published figure that the facts recorded after the close have changed. A figure
    hidden in either publication is listed when its raw value changed, as ``"changed"``: the
    list says a late fact fell into it, never by how much."""
    before, after = _published(frozen), _published(current)
    out: list[dict[str, Any]] = []
    for key in sorted(before.keys() | after.keys()):
        was, now = before.get(key), after.get(key)
        if not (isinstance(was, str) or isinstance(now, str)):
            if was != now:
                out.append({"figure": key, "frozen": was, "corrected": now})
        elif frozen_raw is None or current_raw is None:
            if was != now:
                out.append({"figure": key, "frozen": was, "corrected": CHANGED})
        elif frozen_raw.get(key) != current_raw.get(key):
            out.append({"figure": key, "frozen": was, "corrected": disclosure.CHANGED})
    return out
