"""The dashboard's rendering (issue 15): a hidden cell is drawn as hidden (hatched, with its mark),
not as an empty bar, and the period is chosen in a plain form."""

from __future__ import annotations

from datetime import date

from services.reporting.views import charts, dashboard
from tests.unit.test_reporting_kpis import view


def test_a_hidden_cell_is_drawn_hatched_with_its_mark_not_as_an_empty_bar() -> None:
    svg = charts.bar_chart("t", ["2025-Q1", "2025-Q2"], [charts.Series("exits", [3, "< 5"])])
    assert svg.count('class="suppressed"') == 1
    assert 'fill="url(#suppressed-hatch)"' in svg
    assert ">&lt; 5</text>" in svg
    assert 'height="0.0"' not in svg
    funnel = charts.funnel("f", [("Referrals", 9), ("Enrolments", "suppressed")])
    assert 'class="suppressed"' in funnel
    assert ">suppressed</text>" in funnel


def test_the_period_is_selectable_and_the_table_shows_the_latest_ended_quarter() -> None:
    docs = [view("jc-en", q) for q in ("2025-Q1", "2025-Q2", "2025-Q3")]
    sel = dashboard.Selection("2025", ["2024-Q4", "2025-Q1", "2025-Q2", "2025-Q3"], today=date(2025, 8, 1))
    page = dashboard.render("jc-en", docs, None, sel)
    assert '<form class="period" method="get" action="/dashboard">' in page
    assert '<option value="2025" selected>' in page
    assert '<option value="2024-Q4">' in page
    assert "Quarter 2025-Q2</h2>" in page  # 2025-Q3 has not ended on 2025-08-01
    assert '<td class="hidden">&lt; 5</td>' in page
    ongoing = dashboard.render("jc-en", docs[2:], None, dashboard.Selection("2025-Q3", [], date(2025, 8, 1)))
    assert "Quarter 2025-Q3 (not ended yet)" in ongoing
