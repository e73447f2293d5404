"""The reporting figures in the portal's own German page: reporting's KPI JSON (``GET /kpis``,
one report per quarter) turned into what the dashboard shows — the funnel, participants per
phase, integrations per agency, sustainability, the latest quarter's table — and the geometry of
its SVG bar charts. Pure: no I/O, no language (the template translates the msgids)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from services.portal.vocabulary import N_
from shared.contracts.common import Phase

SUPPRESSED = "< 5"
NONE = "\u2013"  # en dash: no figure  # reporting's mark for a health-data count from 1 to 4
PALETTE = ("#1f5f8b", "#a85a12", "#2f7d4a", "#b33c3c", "#6b4f94", "#7a5f2a", "#3b7f94")

FUNNEL = (
    (N_("Zuweisungen"), ("referrals",)),
    (N_("Geeignet"), ("eligibility", "eligible")),
    (N_("Eintritte"), ("enrolments",)),
    (N_("Integrationen (K2)"), ("integrations", "total")),
)
ROWS = (
    (N_("Zuweisungen"), ("referrals",)),
    (N_("Eignungsprüfungen"), ("eligibility", "checked")),
    (N_("Eintritte"), ("enrolments",)),
    (N_("Aktive Teilnehmende"), ("active", "total")),
    (N_("Unterbrechungen"), ("interruptions",)),
    (N_("Begonnene Maßnahmen"), ("interventions", "started")),
    (N_("Begonnene Arbeitserprobungen"), ("work_trials", "started")),
    (N_("Austritte"), ("exits", "total")),
    (N_("Integrationen (K2)"), ("integrations", "total")),
    (N_("Reha-Anträge"), ("rehab_applications",)),
    (N_("Austritte in Erwerbsminderungsrente"), ("disability_pension_exits",)),
    (N_("Teilnehmende im Zeitraum"), ("participants",)),
    (N_("Integrationsquote (K2 je Teilnehmende)"), ("integration_rate",)),
    (N_("Abgelehnte Eintritte"), ("declined",)),
    (N_("Austritte aus gesundheitlichen Gründen"), ("health_exits", "total")),
    (N_("davon Übergang in Rehabilitation"), ("health_exits", "by_reason", "transferred-to-rehabilitation")),
    (N_("davon Erwerbsminderungsrente"), ("health_exits", "by_reason", "disability-pension")),
    (N_("Lohnkostenzuschüsse bewilligt"), ("subsidies", "total")),
    (N_("davon § 16e SGB II (Eingliederung von Langzeitarbeitslosen)"), ("subsidies", "by_instrument", "16e")),
    (N_("davon § 16i SGB II (Teilhabe am Arbeitsmarkt)"), ("subsidies", "by_instrument", "16i")),
)
# rows whose figure is a share (shown in per cent)
PERCENT_ROWS = frozenset({N_("Integrationsquote (K2 je Teilnehmende)")})


def at(figures: Mapping[str, Any], path: Sequence[str]) -> Any:
    node: Any = figures
    for part in path:
        node = node.get(part) if isinstance(node, Mapping) else None
    return node


def quarter_label(quarter: str) -> str:
    """``2026-Q1`` → ``Q1/2026``."""
    year, _, q = quarter.partition("-")
    return f"{q}/{year}" if q else quarter


def total(values: Sequence[Any]) -> Any:
    """A sum over quarters; a suppressed quarter makes it "at least" what the others add up to."""
    numbers = [v for v in values if _is_number(v)]
    hidden = [v for v in values if v is not None and not _is_number(v)]
    if not hidden:
        return sum(numbers)
    return f"≥ {sum(numbers)}" if sum(numbers) else SUPPRESSED


def _is_number(v: Any) -> bool:
    return isinstance(v, int | float) and not isinstance(v, bool)


@dataclass(frozen=True)
class Bar:
    x: float
    y: float
    width: float
    height: float
    color: str
    text: str  # the value as shown (also the bar's accessible title)
    series: str
    category: str
    value: Any = None  # as reporting gave it: the page formats numbers in its language


@dataclass
class Chart:
    """A grouped (or stacked) vertical bar chart, laid out for an SVG of ``width`` by ``height``."""

    title: str
    categories: list[str]
    series: list[str]
    percent: bool
    stacked: bool = False
    width: int = 560
    height: int = 280
    bars: list[Bar] = field(default_factory=list)
    ticks: list[tuple[float, float]] = field(default_factory=list)  # (y, value)
    labels: list[tuple[float, str]] = field(default_factory=list)  # (x, category)
    colors: list[str] = field(default_factory=list)


LEFT, RIGHT, TOP, BOTTOM = 48, 12, 16, 40


def bar_chart(
    title: str,
    categories: Sequence[str],
    series: Sequence[tuple[str, Sequence[Any]]],
    *,
    stacked: bool = False,
    percent: bool = False,
) -> Chart:
    """Bars scaled to the highest value (a stacked bar: its sum); a suppressed or missing value
    draws no bar but keeps its text, so the table beside the chart and the bar's title say it."""
    chart = Chart(title, list(categories), [name for name, _ in series], percent, stacked)
    chart.colors = [PALETTE[i % len(PALETTE)] for i in range(len(series))]
    plot_w, plot_h = chart.width - LEFT - RIGHT, chart.height - TOP - BOTTOM
    values = [[_num(v) for v in vals] for _, vals in series]
    if stacked:
        peak = max((sum(col) for col in zip(*values, strict=True)), default=0.0)
    else:
        peak = max((v for vals in values for v in vals), default=0.0)
    peak = 1.0 if percent else max(peak, 1.0)
    slot = plot_w / max(len(categories), 1)
    bar_w = slot * 0.7 / (1 if stacked else max(len(series), 1))
    chart.ticks = [(TOP + plot_h - t * plot_h, t * peak) for t in (0.0, 0.5, 1.0)]
    for i, category in enumerate(categories):
        x0 = LEFT + i * slot + slot * 0.15
        chart.labels.append((LEFT + i * slot + slot / 2, category))
        base = 0.0
        for s, (name, vals) in enumerate(series):
            value = values[s][i]
            h = value / peak * plot_h
            x = x0 if stacked else x0 + s * bar_w
            y = TOP + plot_h - (base + h if stacked else h)
            text = show(vals[i], percent)
            chart.bars.append(Bar(x, y, bar_w, h, chart.colors[s], text, name, category, vals[i]))
            if stacked:
                base += h
    return chart


def _num(v: Any) -> float:
    return float(v) if _is_number(v) else 0.0


def show(value: Any, percent: bool = False) -> str:
    """A figure as the page shows it: a dash for none, reporting's marks as they are."""
    if value is None:
        return NONE
    if _is_number(value):
        return f"{round(value * 100)} %" if percent else f"{value:g}"
    return N_("unterdrückt") if value == "suppressed" else str(value)


def dashboard(doc: Mapping[str, Any], phase_names: Mapping[str, str]) -> dict[str, Any]:
    """The page's model from ``GET /kpis`` (``viewer``, ``quarters``)."""
    quarters: list[Mapping[str, Any]] = list(doc.get("quarters") or [])
    labels = [quarter_label(str(q["quarter"])) for q in quarters]
    totals = [q["total"] for q in quarters]
    funnel = [(name, total([at(t, path) for t in totals])) for name, path in FUNNEL]
    agencies = sorted({g["agency"] for q in quarters for g in q.get("groups", [])})
    latest = quarters[-1] if quarters else None
    columns = [(f"{g['agency']} / {g['project']}", g["figures"]) for g in latest["groups"]] if latest else []
    if latest:
        columns.append((N_("Gesamt"), latest["total"]))
    return {
        "viewer": doc.get("viewer", ""),
        "span": (labels[0], labels[-1]) if labels else None,
        "funnel": funnel,
        "funnel_chart": bar_chart(
            N_("Von der Zuweisung zur Integration"), [n for n, _ in funnel], [(N_("Anzahl"), [v for _, v in funnel])]
        ),
        "phases": bar_chart(
            N_("Aktive Teilnehmende je Phase (Quartalsende)"),
            labels,
            [(phase_names[p.value], [at(t, ("active", "by_phase", p.value)) for t in totals]) for p in Phase],
            stacked=True,
        ),
        "integrations": bar_chart(
            N_("Integrationen (K2) je Quartal und Behörde"),
            labels,
            [(a, [_agency_integrations(q, a) for q in quarters]) for a in agencies],
        ),
        "sustainability": bar_chart(
            N_("Nachhaltigkeit: bei der Nachfrage noch beschäftigt"),
            labels,
            [
                (N_("nach 6 Monaten"), [at(t, ("sustainability", "6_months", "rate")) for t in totals]),
                (N_("nach 12 Monaten"), [at(t, ("sustainability", "12_months", "rate")) for t in totals]),
            ],
            percent=True,
        ),
        "latest": latest
        and {
            "quarter": quarter_label(str(latest["quarter"])),
            "columns": [name for name, _ in columns],
            "rows": table(columns),
        },
        "range": period_range(doc.get("range")),
        "percent_rows": PERCENT_ROWS,
    }


def table(columns: Sequence[tuple[str, Mapping[str, Any]]]) -> list[tuple[str, list[Any]]]:
    """One row per figure, one cell per column: the value as reporting gave it (a number, a
    rate, reporting's mark "< 5" or "suppressed", None), for the template to format."""
    return [(name, [at(f, path) for _, f in columns]) for name, path in ROWS]


def period_range(block: Mapping[str, Any] | None) -> dict[str, Any] | None:
    """Reporting's ``range`` (a year or a run of quarters asked for): every figure over the whole
    span, per agency and project and in total."""
    if not block:
        return None
    columns = [(f"{g['agency']} / {g['project']}", g["figures"]) for g in block.get("groups", [])]
    columns.append((N_("Gesamt"), block.get("total") or {}))
    return {
        "span": (quarter_label(str(block.get("from", ""))), quarter_label(str(block.get("to", "")))),
        "columns": [name for name, _ in columns],
        "rows": table(columns),
    }


def mark(value: Any) -> tuple[str, str]:
    """How a cell reads: ``("number", "")``, ``("none", "")``, ``("suppressed", "")`` or a small
    cell ``("small", "5")`` for "< 5", ``("at-least", "7")`` for a sum "≥ 7" over a hidden quarter."""
    if value is None:
        return ("none", "")
    if _is_number(value):
        return ("number", "")
    text = str(value)
    if text == "suppressed":
        return ("suppressed", "")
    if text.startswith("< "):
        return ("small", text[2:])
    if text.startswith("≥ "):
        return ("at-least", text[2:])
    return ("text", "")


def plans(targets: Mapping[str, Any] | None, budget: Mapping[str, Any] | None) -> dict[str, Any] | None:
    """A project's participants against its target and its spend against its budget (reporting's
    ``/projects/{project}/targets`` and ``/budget``); None before the project is configured."""
    if not targets or not targets.get("configured"):
        return None
    spend = budget if budget and budget.get("configured") else None
    return {
        "project": targets.get("project"),
        "run": targets.get("run"),
        "whole_project": bool(targets.get("whole_project")),
        "agencies": list(targets.get("agencies") or []),
        "participants": targets.get("participants"),
        "budget": spend
        and {
            "budget_eur": spend.get("budget_eur"),
            "spent_eur": spend.get("spent_eur"),
            "spent_suppressed": bool(spend.get("spent_suppressed")),
            "forecast_eur": spend.get("forecast_eur"),
            "categories": list(spend.get("categories") or []),
            "wage_subsidies": dict(spend.get("wage_subsidies") or {}),
        },
    }


def _agency_integrations(quarter: Mapping[str, Any], agency: str) -> Any:
    """An agency's K2 integrations over its projects (suppressed stays suppressed)."""
    found = [at(g["figures"], ("integrations", "total")) for g in quarter.get("groups", []) if g["agency"] == agency]
    return total(found) if found else None
