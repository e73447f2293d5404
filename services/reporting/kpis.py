"""KPI definitions: pure functions from fact rows to figures. No infrastructure here.

``build_participants`` folds the facts (optionally only those recorded by a cutoff) into one
``Journey`` per participant; ``figures`` computes every KPI of one quarter for a set of
journeys; ``report`` groups them by agency and project for one viewer and applies small-cell
suppression. See services/reporting/README.md for the definitions in words.
"""

from __future__ import annotations

import math
import re
import statistics
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any

from shared.contracts import registry
from shared.contracts.common import EmploymentType, ExitReason, InterventionCategory, Phase
from shared.domain import DomainError
from shared.vocabulary import DRV_AGENCIES, PROJECTS

SMALL_CELL = 5
SUPPRESSED = "< 5"
SECONDARY = "suppressed"
DRV_PROJECT_SCOPE = "pro-aktiv"


@dataclass(frozen=True, slots=True)
class Fact:
    event_id: str
    event_type: str
    recorded_at: datetime
    participant_id: str | None
    on: date
    data: Mapping[str, Any]


@dataclass(frozen=True, slots=True, order=True)
class Quarter:
    year: int
    q: int

    @classmethod
    def parse(cls, text: str) -> Quarter:
        m = re.fullmatch(r"(\d{4})-Q([1-4])", text)
        if not m:
            raise DomainError("expected a quarter like 2025-Q1", field="period")
        return cls(int(m[1]), int(m[2]))

    @classmethod
    def of(cls, day: date) -> Quarter:
        return cls(day.year, (day.month - 1) // 3 + 1)

    @property
    def start(self) -> date:
        return date(self.year, 3 * self.q - 2, 1)

    @property
    def end(self) -> date:
        return self.next().start - timedelta(days=1)

    def next(self) -> Quarter:
        return Quarter(self.year + (self.q == 4), self.q % 4 + 1)

    def __contains__(self, day: object) -> bool:
        return isinstance(day, date) and self.start <= day <= self.end

    def __str__(self) -> str:
        return f"{self.year}-Q{self.q}"


@dataclass(frozen=True, slots=True)
class DateRange:
    """Any stretch of days (a half-year, the whole dashboard range), used like a quarter."""

    start: date
    end: date
    label: str = ""

    def __contains__(self, day: object) -> bool:
        return isinstance(day, date) and self.start <= day <= self.end

    def __str__(self) -> str:
        return self.label or f"{self.start}..{self.end}"


Period = Quarter | DateRange


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


@dataclass
class Span:
    phase: str
    entered: date
    left: date | None = None


@dataclass
class Employment:
    type: str
    subsidised: bool
    fully_qualifying: bool
    started: date
    agency: str | None
    project: str | None
    ended: date | None = None

    @property
    def integration(self) -> bool:
        """Jobcenter ratio K2: social insurance (subsidised too), fully qualifying vocational
        training or self-employment; never mini-jobs."""
        if self.type == EmploymentType.VOCATIONAL_TRAINING:
            return self.fully_qualifying
        return self.type in (EmploymentType.SOCIAL_INSURANCE, EmploymentType.SELF_EMPLOYMENT)

    @property
    def kind(self) -> str:
        if self.type == EmploymentType.SOCIAL_INSURANCE and self.subsidised:
            return "social-insurance-subsidised"
        return self.type


@dataclass
class Consent:
    purpose: str
    scope: str | None
    granted: date
    expires: date | None
    ended: date | None = None

    def active_on(self, day: date) -> bool:
        if self.granted > day:
            return False
        if self.ended is not None and self.ended <= day:
            return False
        return not (self.expires is not None and self.expires < day)


@dataclass
class Journey:
    """Everything reporting knows about one participant (by pseudonymous id only)."""

    participant_id: str
    agency: str | None = None
    project: str | None = None
    age_band: str | None = None
    sex: str | None = None
    referred_on: date | None = None
    checks: list[tuple[date, bool]] = field(default_factory=list)
    enrolled_on: date | None = None
    exited_on: date | None = None
    exit_reason: str | None = None
    spans: list[Span] = field(default_factory=list)
    interruptions: list[date] = field(default_factory=list)
    interventions: dict[str, dict[str, Any]] = field(default_factory=dict)
    rehab_filed: list[date] = field(default_factory=list)
    trials: dict[str, dict[str, Any]] = field(default_factory=dict)
    employments: dict[str, Employment] = field(default_factory=dict)
    verifications: list[tuple[str, int, date, bool]] = field(default_factory=list)
    consents: dict[str, Consent] = field(default_factory=dict)
    managers: list[tuple[date, str]] = field(default_factory=list)
    erased: bool = False

    def active_on(self, day: date) -> bool:
        return (
            self.enrolled_on is not None
            and self.enrolled_on <= day
            and (self.exited_on is None or self.exited_on > day)
        )

    def phase_on(self, day: date) -> str:
        for span in reversed(self.spans):
            if span.entered <= day and (span.left is None or span.left > day):
                return span.phase
        return "none"

    def manager_on(self, day: date) -> str | None:
        current = None
        for on, who in self.managers:
            if on <= day:
                current = who
        return current

    def consent_active(self, purpose: str, day: date, scope: str | None = None) -> bool:
        return any(
            c.purpose == purpose and (scope is None or c.scope in (None, scope)) and c.active_on(day)
            for c in self.consents.values()
        )


def _apply(j: Journey, f: Fact) -> None:
    d, t = f.data, f.event_type
    if t == "ReferralReceived":
        j.referred_on = f.on
        j.agency = j.agency or d.get("source_agency")
        j.project = j.project or d.get("project")
        j.age_band, j.sex = d.get("age_band"), d.get("sex")
    elif t == "EligibilityChecked":
        j.checks.append((f.on, bool(d.get("eligible"))))
    elif t in ("ParticipantEnrolled", "CaseOpened"):
        if t == "ParticipantEnrolled":
            j.enrolled_on = f.on
            j.age_band, j.sex = d.get("age_band") or j.age_band, d.get("sex") or j.sex
        j.agency, j.project = d.get("agency") or j.agency, d.get("project") or j.project
    elif t == "ConsentGranted":
        j.consents[str(d["consent_id"])] = Consent(
            str(d["purpose"]),
            d.get("scope"),
            f.on,
            date.fromisoformat(d["expires_on"]) if d.get("expires_on") else None,
        )
    elif t in ("ConsentWithdrawn", "ConsentExpired"):
        consent = j.consents.get(str(d.get("consent_id")))
        if consent is not None and consent.ended is None:
            consent.ended = f.on
    elif t == "ParticipantDataErased":
        j.erased = True
    elif t == "CaseManagerAssigned":
        j.managers.append((f.on, str(d["case_manager"])))
    elif t == "CaseHandedOver":
        j.managers.append((f.on, str(d["to_case_manager"])))
    elif t == "PhaseEntered":
        _close_span(j, f.on)
        j.spans.append(Span(str(d["phase"]), f.on))
    elif t == "PhaseCompleted":
        _close_span(j, f.on)
    elif t == "ParticipationInterrupted":
        j.interruptions.append(f.on)
    elif t.startswith("Intervention"):
        item = j.interventions.setdefault(str(d["intervention_id"]), {"category": d.get("category")})
        item[t.removeprefix("Intervention").lower()] = f.on
    elif t == "RehabApplicationFiled":
        j.rehab_filed.append(f.on)
    elif t.startswith("WorkTrial"):
        j.trials.setdefault(str(d["trial_id"]), {})[t.removeprefix("WorkTrial").lower()] = f.on
    elif t == "ParticipantExited":
        _close_span(j, f.on)
        j.exited_on, j.exit_reason = f.on, str(d["reason"])
    elif t == "EmploymentStarted":
        j.employments[str(d["employment_id"])] = Employment(
            str(d["type"]),
            bool(d.get("subsidised")),
            bool(d.get("fully_qualifying")),
            f.on,
            d.get("agency"),
            d.get("project"),
        )
    elif t == "EmploymentEnded":
        employment = j.employments.get(str(d["employment_id"]))
        if employment is not None:
            employment.ended = f.on
    elif t == "EmploymentStatusVerified":
        j.verifications.append((str(d["employment_id"]), int(d["months_after_start"]), f.on, bool(d["still_employed"])))


def _close_span(j: Journey, on: date) -> None:
    if j.spans and j.spans[-1].left is None:
        j.spans[-1].left = on


def build_participants(facts: Iterable[Fact], cutoff: datetime | None = None) -> dict[str, Journey]:
    """Fold facts (those recorded by ``cutoff``, if given) in recording order into journeys."""
    chosen = [f for f in facts if f.participant_id and (cutoff is None or f.recorded_at <= cutoff)]
    chosen.sort(key=lambda f: (f.recorded_at, f.event_id))
    out: dict[str, Journey] = {}
    for f in chosen:
        assert f.participant_id is not None
        j = out.setdefault(f.participant_id, Journey(f.participant_id))
        _apply(j, f)
    for j in out.values():
        if not j.agency:
            e = next(iter(j.employments.values()), None)
            j.agency, j.project = (e.agency, e.project) if e else (None, None)
    return out


def _percentile(values: Sequence[int], p: float) -> int | None:
    """Nearest-rank percentile (always one of the observed values)."""
    if not values:
        return None
    ordered = sorted(values)
    return ordered[max(0, math.ceil(p * len(ordered)) - 1)]


def figures(journeys: Iterable[Journey], quarter: Period) -> dict[str, Any]:
    """Every KPI of one quarter for the given participants (raw, unsuppressed)."""
    js = list(journeys)
    q, end = quarter, quarter.end
    checks = [ok for j in js for on, ok in j.checks if on in q]
    active = [j for j in js if j.active_on(end)]
    by_phase = Counter(j.phase_on(end) for j in active)
    caseload = Counter(m for j in active if (m := j.manager_on(end)) is not None)
    durations: dict[str, list[int]] = defaultdict(list)
    for j in js:
        for s in j.spans:
            if s.left is not None and s.left in q:
                durations[s.phase].append((s.left - s.entered).days)
    interventions = [i for j in js for i in j.interventions.values()]
    exits = Counter(j.exit_reason for j in js if j.exited_on in q)
    employments = [e for j in js for e in j.employments.values()]
    integrations = [e for e in employments if e.integration and e.started in q]
    k2 = {eid for j in js for eid, e in j.employments.items() if e.integration}
    sustainability: dict[str, dict[str, Any]] = {}
    for months in (6, 12):
        checked = [still for j in js for eid, m, on, still in j.verifications if m == months and on in q and eid in k2]
        sustainability[f"{months}_months"] = {
            "verified": len(checked),
            "still_employed": sum(checked),
            "rate": round(sum(checked) / len(checked), 3) if checked else None,
        }
    return {
        "referrals": sum(1 for j in js if j.referred_on in q),
        "eligibility": {
            "checked": len(checks),
            "eligible": sum(checks),
            "rate": round(sum(checks) / len(checks), 3) if checks else None,
        },
        "enrolments": sum(1 for j in js if j.enrolled_on in q),
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
        "phase_days": {
            p.value: {"n": len(d), "median": statistics.median(d) if d else None, "p90": _percentile(d, 0.9)}
            for p in Phase
            if (d := durations.get(p, []))
        },
        "interruptions": sum(1 for j in js for on in j.interruptions if on in q),
        "interventions": {
            "started": sum(1 for i in interventions if i.get("started") in q),
            "by_category": {
                c.value: sum(1 for i in interventions if i.get("category") == c and i.get("started") in q)
                for c in InterventionCategory
            },
            "completed": sum(1 for i in interventions if i.get("completed") in q),
            "aborted": sum(1 for i in interventions if i.get("aborted") in q),
        },
        "work_trials": {
            k: sum(1 for j in js for t in j.trials.values() if t.get(k) in q)
            for k in ("started", "completed", "aborted")
        },
        "exits": {"total": sum(exits.values()), "by_reason": {r.value: exits.get(r, 0) for r in ExitReason}},
        "integrations": {
            "total": len(integrations),
            "by_type": {
                k: sum(1 for e in integrations if e.kind == k)
                for k in ("social-insurance", "social-insurance-subsidised", "vocational-training", "self-employment")
            },
            "not_counted": sum(1 for e in employments if not e.integration and e.started in q),
        },
        "sustainability": sustainability,
        "rehab_applications": sum(1 for j in js for on in j.rehab_filed if on in q),
        "disability_pension_exits": exits.get(ExitReason.DISABILITY_PENSION, 0),
    }


# --- small-cell suppression -------------------------------------------------------------------

# figure path prefix -> the contracts it is counted from; a figure is health data when one of
# them is marked ``health_data`` (or it is named in EXPLICIT).
SOURCES: dict[str, tuple[str, ...]] = {
    "referrals": ("ReferralReceived",),
    "eligibility": ("EligibilityChecked",),
    "enrolments": ("ParticipantEnrolled",),
    "interruptions": ("ParticipationInterrupted",),
    "interventions": ("InterventionStarted", "InterventionCompleted", "InterventionAborted"),
    "rehab_applications": ("RehabApplicationFiled",),
    "work_trials": ("WorkTrialStarted", "WorkTrialCompleted", "WorkTrialAborted"),
    "exits": ("ParticipantExited",),
    "integrations": ("EmploymentStarted",),
    "sustainability": ("EmploymentStatusVerified",),
}
EXPLICIT = frozenset({"exits.by_reason.disability-pension", "disability_pension_exits"})
# breakdowns whose visible total would reveal a single suppressed cell
BREAKDOWNS = {"exits.by_reason": "exits.total", "interventions.by_category": "interventions.started"}


def sensitive(path: str) -> bool:
    if path in EXPLICIT:
        return True
    for prefix, types in SOURCES.items():
        if path == prefix or path.startswith(prefix + "."):
            return any(registry.knows(t) and registry.model(t).health_data for t in types)
    return False


def suppress(raw: Mapping[str, Any], path: str = "") -> dict[str, Any]:
    """Counts 1-4 of health-data figures become "< 5" (rates derived from them disappear)."""
    out: dict[str, Any] = {}
    for key, value in raw.items():
        p = f"{path}.{key}" if path else key
        if isinstance(value, Mapping):
            out[key] = suppress(value, p)
        elif isinstance(value, int) and not isinstance(value, bool) and sensitive(p) and 0 < value < SMALL_CELL:
            out[key] = SUPPRESSED
        else:
            out[key] = value
    if (
        path == ""
        and "eligibility" in out
        and SUPPRESSED in (out["eligibility"]["checked"], out["eligibility"]["eligible"])
    ):
        out["eligibility"]["rate"] = SECONDARY
    if path == "":
        for cells_path, total_path in BREAKDOWNS.items():
            cells = _get(out, cells_path)
            if cells is None:
                continue
            if sum(1 for v in cells.values() if v == SUPPRESSED) == 1 and _get(out, total_path) != SUPPRESSED:
                _set(out, total_path, SECONDARY)
    return out


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


# --- views ------------------------------------------------------------------------------------


def visible_to(agency: str, day: date) -> Callable[[Journey], bool]:
    """Own agency's participants; a DRV carrier also sees the joint projects it belongs to,
    but only participants whose drv-exchange consent was active on ``day``."""

    def check(j: Journey) -> bool:
        if j.agency == agency:
            return True
        return (
            agency in DRV_AGENCIES
            and j.project is not None
            and agency in PROJECTS.get(j.project, ())
            and j.consent_active("drv-exchange", day, scope=agency)
        )

    return check


def report(
    journeys: Mapping[str, Journey],
    quarter: Period,
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
