"""Targets and budget (pure): forecast at the current rate, participants per quarter, the
small-cell rule of spend with its secondary suppression."""

from __future__ import annotations

from datetime import date

from services.reporting.domain import targets
from services.reporting.domain.targets import Cell, Run


def test_forecast_is_linear_over_the_run() -> None:
    run = Run(date(2026, 1, 1), date(2026, 12, 31), date(2026, 3, 31))  # 90 of 365 days
    assert run.elapsed == 90
    assert targets.forecast(90, run) == 365
    assert targets.forecast(5, Run(date(2026, 1, 1), date(2026, 12, 31), date(2025, 12, 31))) is None
    assert Run(date(2026, 1, 1), date(2026, 12, 31), date(2027, 6, 1)).elapsed == 365  # not past its end


def test_participants_per_quarter_are_cumulative_against_the_target() -> None:
    run = Run(date(2026, 1, 1), date(2026, 12, 31), date(2026, 5, 15))
    rows = targets.participants_over_time([date(2026, 1, 5), date(2026, 3, 31), date(2026, 4, 1)], run, 10)
    assert rows == [
        {"quarter": "2026-Q1", "enrolled": 2, "cumulative": 2, "of_target": 0.2},
        {"quarter": "2026-Q2", "enrolled": 1, "cumulative": 3, "of_target": 0.3},
    ]


def test_a_single_small_cell_takes_the_next_smallest_with_it() -> None:
    cells = [Cell("therapeutic", 900, 2), Cell("employment-promotion", 5000, 7), Cell("diagnostic", 3000, 6)]
    assert targets.suppressed(cells) == {"therapeutic", "diagnostic"}
    two = [Cell("therapeutic", 900, 2), Cell("diagnostic", 300, 1), Cell("employment-promotion", 5000, 7)]
    assert targets.suppressed(two) == {"therapeutic", "diagnostic"}
    assert targets.suppressed([Cell("diagnostic", 3000, 6)]) == set()


def test_the_total_is_withheld_when_it_would_give_the_only_withheld_amount_away() -> None:
    alone = [Cell("employment-promotion", 1500, 2), Cell("therapeutic", 0, 0)]
    hidden = targets.suppressed(alone)
    assert hidden == {"employment-promotion"}
    assert targets.total_withheld(alone, hidden)
    paired = [Cell("therapeutic", 900, 2), Cell("diagnostic", 3000, 6)]
    assert not targets.total_withheld(paired, targets.suppressed(paired))
    assert not targets.total_withheld([Cell("diagnostic", 3000, 6)], set())


def test_the_budget_adds_up_over_years_per_category() -> None:
    lines = [
        {"year": 2026, "category": "therapeutic", "amount_eur": 100.0},
        {"year": 2027, "category": "therapeutic", "amount_eur": 50.0},
        {"year": 2026, "category": "other", "amount_eur": 10.0},
    ]
    assert targets.budget_by_category(lines) == {"therapeutic": 150.0, "other": 10.0}
