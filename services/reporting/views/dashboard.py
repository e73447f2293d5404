"""The steering-committee dashboard: one self-contained HTML page with server-rendered SVG."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from html import escape
from typing import Any

from services.reporting.domain.periods import Quarter
from services.reporting.views.charts import Series, bar_chart, funnel
from shared.contracts.common import Phase
from shared.vocabulary import AGENCIES

PHASE_LABELS = {
    "einstieg": "Einstieg",
    "clearing": "Clearing",
    "stabilisierung": "Stabilisierung",
    "produktionswerkstatt": "Produktionswerkstatt",
    "stellensuche": "Stellensuche",
    "nachbetreuung": "Nachbetreuung",
}

STYLE = """
body{font-family:system-ui,-apple-system,Segoe UI,Roboto,sans-serif;margin:24px;color:#222;background:#fafafa}
h1{font-size:22px;margin:0 0 4px} .sub{color:#666;margin:0 0 18px}
.grid{display:grid;grid-template-columns:repeat(2,minmax(0,1fr));gap:18px}
.card{background:#fff;border:1px solid #ddd;border-radius:6px;padding:12px}
table{border-collapse:collapse;font-size:13px;width:100%}
td,th{border-bottom:1px solid #eee;padding:4px 8px;text-align:right}
th:first-child,td:first-child{text-align:left} .note{font-size:12px;color:#666}
form.period{margin:0 0 14px} td.hidden{color:#777;font-style:italic}
"""


@dataclass(frozen=True)
class Selection:
    """The period asked for, the quarters with data (to choose from), and today (which decides
    whether a quarter has ended)."""

    period: str | None
    quarters: Sequence[str]
    today: date


def _picker(sel: Selection) -> str:
    """A plain GET form: every year and quarter with data, or all of them (no script)."""
    years = sorted({q[:4] for q in sel.quarters})
    options = [("", "every quarter with data"), *((y, y) for y in years), *((q, q) for q in sel.quarters)]
    opts = "".join(
        f'<option value="{escape(v)}"{" selected" if (sel.period or "") == v else ""}>{escape(label)}</option>'
        for v, label in options
    )
    return (
        '<form class="period" method="get" action="/dashboard"><label>Period '
        f'<select name="period">{opts}</select></label> <button type="submit">Show</button></form>'
    )


def _shown_quarter(quarters: Sequence[Mapping[str, Any]], today: date) -> Mapping[str, Any] | None:
    """The table's quarter: the latest of the selection that has ended, else the latest."""
    ended = [q for q in quarters if Quarter.parse(q["quarter"]).end < today]
    return ended[-1] if ended else (quarters[-1] if quarters else None)


def _total(doc: Mapping[str, Any] | None, *path: str) -> Any:
    if doc is None:
        return None
    node: Any = doc["total"]
    for p in path:
        node = node[p]
    return node


def render(
    viewer: str, quarters: Sequence[Mapping[str, Any]], overall: Mapping[str, Any] | None, selection: Selection
) -> str:
    """``quarters``: one report per quarter (kpis.report); ``overall``: the range over them
    (kpis.range_report, suppressed against the quarters); ``selection``: the period picker."""
    labels = [q["quarter"] for q in quarters]
    steps = [
        ("Referrals", _total(overall, "referrals")),
        ("Eligible", _total(overall, "eligibility", "eligible")),
        ("Enrolments", _total(overall, "enrolments")),
        ("Integrations (K2)", _total(overall, "integrations", "total")),
    ]
    phases = bar_chart(
        "Active participants per phase (end of quarter)",
        labels,
        [Series(PHASE_LABELS[p], [_total(q, "active", "by_phase", p) for q in quarters]) for p in Phase],
        stacked=True,
    )
    agencies = sorted({g["agency"] for q in quarters for g in q["groups"]})

    def per_agency(q: Mapping[str, Any], agency: str) -> Any:
        found = [g["figures"]["integrations"]["total"] for g in q["groups"] if g["agency"] == agency]
        nums = [v for v in found if isinstance(v, int)]
        return sum(nums) if len(nums) == len(found) else found[0]

    integrations = bar_chart(
        "Integrations (K2) by quarter and agency",
        labels,
        [Series(a, [per_agency(q, a) for q in quarters]) for a in agencies],
    )
    sustainability = bar_chart(
        "Sustainability: still employed at follow-up",
        labels,
        [
            Series("after 6 months", [_total(q, "sustainability", "6_months", "rate") for q in quarters]),
            Series("after 12 months", [_total(q, "sustainability", "12_months", "rate") for q in quarters]),
        ],
        percent=True,
    )
    shown = _shown_quarter(quarters, selection.today)
    table = _table(shown, selection.today) if shown else "<p>No data yet.</p>"
    span = f"{labels[0]} to {labels[-1]}" if labels else "no data"
    return f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>rehapro KPIs: {escape(AGENCIES.get(viewer, viewer))}</title>
<style>{STYLE}</style></head><body>
<h1>rehapro KPIs</h1>
<p class="sub">View of {escape(AGENCIES.get(viewer, viewer))} · {escape(span)} ·
small health-data counts are shown as “&lt; 5”, hatched; cells hidden so that they cannot be worked
out from the others as “suppressed”</p>
{_picker(selection)}
<div class="grid">
<div class="card" id="funnel">{funnel(f"Funnel {span}", steps)}</div>
<div class="card" id="phases">{phases}</div>
<div class="card" id="integrations">{integrations}</div>
<div class="card" id="sustainability">{sustainability}</div>
</div>
<div class="card" id="latest" style="margin-top:18px">{table}</div>
</body></html>"""


ROWS = (
    ("Referrals", ("referrals",)),
    ("Eligibility checks", ("eligibility", "checked")),
    ("Enrolments", ("enrolments",)),
    ("Active participants", ("active", "total")),
    ("Interruptions", ("interruptions",)),
    ("Interventions started", ("interventions", "started")),
    ("Work trials started", ("work_trials", "started")),
    ("Declined enrolments", ("declined",)),
    ("Exits", ("exits", "total")),
    ("Health-related exits", ("health_exits", "total")),
    ("Integrations (K2)", ("integrations", "total")),
    ("Integration rate (K2 per participant)", ("integration_rate",)),
    ("Wage subsidies § 16e", ("subsidies", "by_instrument", "16e")),
    ("Wage subsidies § 16i", ("subsidies", "by_instrument", "16i")),
    ("Rehab applications", ("rehab_applications",)),
    ("Disability-pension exits", ("disability_pension_exits",)),
)


def _cell(figs: Mapping[str, Any], path: Sequence[str]) -> str:
    node: Any = figs
    for p in path:
        node = node[p]
    if isinstance(node, str):
        return f'<td class="hidden">{escape(node)}</td>'
    if isinstance(node, float):
        return f"<td>{node * 100:.0f} %</td>"
    return f"<td>{escape('-' if node is None else str(node))}</td>"


def _table(doc: Mapping[str, Any], today: date) -> str:
    ongoing = "" if Quarter.parse(doc["quarter"]).end < today else " (not ended yet)"
    cols = [(f"{g['agency']} / {g['project']}", g["figures"]) for g in doc["groups"]] + [("Total", doc["total"])]
    head = "".join(f"<th>{escape(c)}</th>" for c, _ in cols)
    body = "".join(
        f"<tr><td>{escape(name)}</td>" + "".join(_cell(f, path) for _, f in cols) + "</tr>" for name, path in ROWS
    )
    return (
        f"<h2 style='font-size:16px;margin:0 0 8px'>Quarter {escape(doc['quarter'])}{ongoing}</h2>"
        f"<table><thead><tr><th>Figure</th>{head}</tr></thead><tbody>{body}</tbody></table>"
    )
