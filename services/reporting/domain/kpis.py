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
from typing import Any

from services.reporting.access import visible_to
from services.reporting.domain.journey import Fact, Journey
from services.reporting.domain.periods import Quarter, Window
from shared.contracts.base import DomainEvent
from shared.contracts.casework import (
    InterventionAborted,
    InterventionCompleted,
    InterventionStarted,
    ParticipantExited,
    ParticipationInterrupted,
    RehabApplicationFiled,
)
from shared.contracts.common import ExitReason, InterventionCategory, Phase
from shared.contracts.intake import EligibilityChecked, ParticipantEnrolled, ReferralReceived
from shared.contracts.placement import (
    EmploymentStarted,
    EmploymentStatusVerified,
    WorkTrialAborted,
    WorkTrialCompleted,
    WorkTrialStarted,
)

SMALL_CELL = 5
SUPPRESSED = "< 5"
SECONDARY = "suppressed"

Figures = dict[str, Any]


def quarters(period: str | None, facts: Sequence[Fact]) -> list[Quarter]:
    """``2025-Q1`` → that quarter, ``2025`` → its four, nothing → every quarter with facts."""
    if period:
        if re.fullmatch(r"\d{4}", period):
            return [Quarter(int(period), q) for q in range(1, 5)]
        return [Quarter.parse(period)]
    if not facts:
        return []
    first, last = Quarter.of(min(f.on for f in facts)), Quarter.of(max(f.on for f in facts))
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
    """Referrals, eligibility checks and enrolments in the quarter."""
    checks = [ok for j in js for on, ok in j.checks if on in q]
    return {
        "referrals": sum(1 for j in js if j.referred_on in q),
        "eligibility": {"checked": len(checks), "eligible": sum(checks), "rate": _rate(sum(checks), len(checks))},
        "enrolments": sum(1 for j in js if j.enrolled_on in q),
    }


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


def figures(journeys: Iterable[Journey], quarter: Window) -> Figures:
    """Every KPI of one quarter for the given participants (raw, unsuppressed)."""
    js, q = list(journeys), quarter
    exits = _exits(js, q)
    return {
        **_funnel(js, q),
        **_stock(js, q),
        **_phase_days(js, q),
        "interruptions": sum(1 for j in js for on in j.interruptions if on in q),
        **_interventions(js, q),
        **_work_trials(js, q),
        "exits": {"total": sum(exits.values()), "by_reason": {r.value: exits.get(r, 0) for r in ExitReason}},
        **_integrations(js, q),
        **_sustainability(js, q),
        "rehab_applications": sum(1 for j in js for on in j.rehab_filed if on in q),
        "disability_pension_exits": exits.get(ExitReason.DISABILITY_PENSION, 0),
    }


# --- small-cell suppression -------------------------------------------------------------------

# figure path prefix -> the contracts it is counted from; a figure is health data when one of
# them is marked ``health_data`` (or it is named in EXPLICIT).
SOURCES: dict[str, tuple[type[DomainEvent], ...]] = {
    "referrals": (ReferralReceived,),
    "eligibility": (EligibilityChecked,),
    "enrolments": (ParticipantEnrolled,),
    "interruptions": (ParticipationInterrupted,),
    "interventions": (InterventionStarted, InterventionCompleted, InterventionAborted),
    "rehab_applications": (RehabApplicationFiled,),
    "work_trials": (WorkTrialStarted, WorkTrialCompleted, WorkTrialAborted),
    "exits": (ParticipantExited,),
    "integrations": (EmploymentStarted,),
    "sustainability": (EmploymentStatusVerified,),
}
EXPLICIT = frozenset({"exits.by_reason.disability-pension", "disability_pension_exits"})
# breakdowns whose visible total would reveal a single suppressed cell
BREAKDOWNS = {"exits.by_reason": "exits.total", "interventions.by_category": "interventions.started"}


def sensitive(path: str) -> bool:
    if path in EXPLICIT:
        return True
    for prefix, types in SOURCES.items():
        if path == prefix or path.startswith(prefix + "."):
            return any(t.health_data for t in types)
    return False


def suppress(raw: Mapping[str, Any], path: str = "") -> dict[str, Any]:
    """Counts 1-4 of health-data figures become "< 5" (rates derived from them disappear)."""
    out = {key: _suppressed(value, f"{path}.{key}" if path else key) for key, value in raw.items()}
    if path == "":
        _suppress_secondary(out)
    return out


def _suppressed(value: Any, path: str) -> Any:
    if isinstance(value, Mapping):
        return suppress(value, path)
    if isinstance(value, int) and not isinstance(value, bool) and sensitive(path) and 0 < value < SMALL_CELL:
        return SUPPRESSED
    return value


def _suppress_secondary(out: dict[str, Any]) -> None:
    """A rate or a total from which a suppressed cell could be worked out goes as well."""
    eligibility = out.get("eligibility")
    if eligibility is not None and SUPPRESSED in (eligibility["checked"], eligibility["eligible"]):
        eligibility["rate"] = SECONDARY
    for cells_path, total_path in BREAKDOWNS.items():
        cells = _get(out, cells_path)
        if cells is None:
            continue
        if sum(1 for v in cells.values() if v == SUPPRESSED) == 1 and _get(out, total_path) != SUPPRESSED:
            _set(out, total_path, SECONDARY)


def _get(tree: Mapping[str, Any], path: str) -> Any:
    node: Any = tree
    for part in path.split("."):
        if not isinstance(node, Mapping) or part not in node:
            return None
        node = node[part]
    return node


def _set(tree: dict[str, Any], path: str, value: Any) -> None:
    *parents, last = path.split(".")
    node = tree
    for part in parents:
        node = node[part]
    node[last] = value


# --- reports ----------------------------------------------------------------------------------


def report(
    journeys: Mapping[str, Journey],
    quarter: Window,
    viewer_agency: str,
    *,
    agency: str | None = None,
    project: str | None = None,
) -> dict[str, Any]:
    """The suppressed figures one agency may see for one quarter, per (agency, project) and in total."""
    seen = visible_to(viewer_agency, quarter.end)
    chosen = [
        j
        for j in journeys.values()
        if j.agency
        and j.project
        and seen(j)
        and (agency is None or j.agency == agency)
        and (project is None or j.project == project)
    ]
    groups: dict[tuple[str, str], list[Journey]] = defaultdict(list)
    for j in chosen:
        groups[(str(j.agency), str(j.project))].append(j)
    return {
        "quarter": str(quarter),
        "groups": [
            {"agency": a, "project": p, "figures": suppress(figures(groups[(a, p)], quarter))}
            for a, p in sorted(groups)
        ],
        "total": suppress(figures(chosen, quarter)),
    }


def flatten(tree: Mapping[str, Any], path: str = "") -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in tree.items():
        p = f"{path}.{key}" if path else str(key)
        if isinstance(value, Mapping):
            out.update(flatten(value, p))
        else:
            out[p] = value
    return out


def corrections(frozen: Mapping[str, Any], current: Mapping[str, Any]) -> list[dict[str, Any]]:
    """Every published figure that the facts recorded after the close have changed."""
    out: list[dict[str, Any]] = []

    def rows(doc: Mapping[str, Any]) -> dict[str, Any]:
        flat = {f"total.{k}": v for k, v in flatten(doc["total"]).items()}
        for g in doc["groups"]:
            flat.update({f"{g['agency']}/{g['project']}.{k}": v for k, v in flatten(g["figures"]).items()})
        return flat

    before, after = rows(frozen), rows(current)
    for key in sorted(before.keys() | after.keys()):
        if before.get(key) != after.get(key):
            out.append({"figure": key, "frozen": before.get(key), "corrected": after.get(key)})
    return out
