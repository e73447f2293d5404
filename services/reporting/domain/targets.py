"""Targets and budget (pure): participants against the project's target over time, spend
against its budget by category, and the forecast at the current rate. The reporting README
defines every figure; ``views.targets`` reads the ``plans`` projection into these values."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date

from services.reporting.domain.disclosure import DEFAULT, Rules
from services.reporting.domain.periods import Quarter

# A spend cell (a category's EUR) behind fewer participants than this (and more than none) is
# not published: the amount of one person's therapy is the person's health data.


@dataclass(frozen=True)
class Run:
    """A project's run and how much of it lies behind ``as_of``."""

    starts_on: date
    ends_on: date
    as_of: date

    @property
    def days(self) -> int:
        return (self.ends_on - self.starts_on).days + 1

    @property
    def elapsed(self) -> int:
        """Days from the start up to ``as_of`` (within the run; none before it starts)."""
        if self.as_of < self.starts_on:
            return 0
        return (min(self.as_of, self.ends_on) - self.starts_on).days + 1


def forecast(so_far: float, run: Run) -> float | None:
    """What ``so_far`` becomes by the end of the run at the rate since its start (linear);
    None before the project started."""
    if run.elapsed == 0:
        return None
    return so_far * run.days / run.elapsed


def quarters(run: Run) -> list[Quarter]:
    """The quarters from the start of the run up to ``as_of`` (or its end)."""
    last = min(run.as_of, run.ends_on)
    if last < run.starts_on:
        return []
    out = [Quarter.of(run.starts_on)]
    while out[-1].end < last:
        out.append(out[-1].next())
    return out


def participants_over_time(enrolled_on: Sequence[date], run: Run, target: int) -> list[dict[str, object]]:
    """Per quarter: the enrolments in it, the cumulative count and its share of the target."""
    rows: list[dict[str, object]] = []
    cumulative = 0
    for q in quarters(run):
        entered = sum(1 for d in enrolled_on if q.start <= d <= min(q.end, run.as_of))
        cumulative += entered
        rows.append(
            {"quarter": str(q), "enrolled": entered, "cumulative": cumulative, "of_target": cumulative / target}
        )
    return rows


@dataclass(frozen=True)
class Cell:
    """One category's spend: EUR and how many participants it was spent on."""

    category: str
    amount_eur: float
    participants: int


def suppressed(cells: Iterable[Cell], rules: Rules = DEFAULT) -> set[str]:
    """The categories whose amount is withheld: primary (behind 1 to ``rules.threshold`` - 1
    participants, the disclosure threshold of every figure) and,
    when exactly one is withheld, the next smallest published one with it (secondary), so that
    the published total never gives a withheld amount away."""
    cells = list(cells)
    primary = {c.category for c in cells if 0 < c.participants < rules.threshold}
    if len(primary) != 1:
        return primary
    rest = sorted((c for c in cells if c.category not in primary and c.participants > 0), key=_smallest)
    return primary | ({rest[0].category} if rest else set())


def total_withheld(cells: Iterable[Cell], hidden: set[str]) -> bool:
    """Whether the total spend must be withheld too: when a single category with spend is
    withheld and no published one could be withheld with it, total minus the published
    categories is that category's amount."""
    return sum(1 for c in cells if c.category in hidden and c.participants > 0) == 1


def _smallest(c: Cell) -> tuple[int, float, str]:
    return (c.participants, c.amount_eur, c.category)


def budget_by_category(budget: Iterable[Mapping[str, object]]) -> dict[str, float]:
    """EUR granted per category over every year of the run."""
    out: dict[str, float] = {}
    for line in budget:
        category = str(line["category"])
        out[category] = out.get(category, 0.0) + float(str(line["amount_eur"]))
    return out
