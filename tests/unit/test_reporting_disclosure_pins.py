"""The one-cell check secondary suppression asks again and again (``disclosure._pins``: is this
hidden cell worked out?) answers exactly what the full reduced row echelon form
(``disclosure._pinned_part``) answers: on random integer systems, and on every question the
reporting scenario's publications ask (every viewer's quarters and year), so no published
figure changes."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta
from typing import Any

import orjson
import pytest

from services.reporting.domain import disclosure, journey, kpis
from services.reporting.domain.periods import Quarter
from services.reporting.projections import KEPT, participant_of, reduce, restore
from tests import reporting_scenario as sc

VIEWERS = ("jc-en", "jc-mk", "drv-westfalen", "jc-unna")


def _system(rng: random.Random) -> tuple[list[disclosure.Key], list[disclosure.Row]]:
    cols = [("s", f"c{i}") for i in range(rng.randint(1, 9))]
    rows: list[disclosure.Row] = []
    for _ in range(rng.randint(1, 9)):
        picked = rng.sample(cols, rng.randint(1, len(cols)))
        rows.append({k: rng.choice([-2, -1, 1, 1, 1, 3]) for k in picked})
    return cols, rows


def test_one_cell_answers_equal_the_full_elimination_on_random_systems() -> None:
    rng = random.Random(18)
    for _ in range(3000):
        cols, rows = _system(rng)
        full = disclosure._pinned_part(cols, rows)
        assert {c for c in cols if disclosure._pins(c, cols, rows)} == full


def _journeys() -> dict[str, journey.Journey]:
    """The scenario's journeys, folded from its facts as the projection keeps them."""
    start = datetime(2026, 1, 1, tzinfo=UTC)
    facts = []
    for n, step in enumerate(s for s in sc.STEPS if type(s.event) in KEPT):
        on, data = reduce(step.event)
        event = restore(step.event.event_type, orjson.loads(orjson.dumps(data)))
        facts.append(journey.Fact(f"{n:05d}", start + timedelta(seconds=n), str(participant_of(step.event)), on, event))
    return journey.build_participants(facts)


def test_every_question_of_the_scenarios_publications_gets_the_full_eliminations_answer(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    asked: list[Any] = []
    one_cell = disclosure._pins

    def both(cell: disclosure.Key, cols: list[disclosure.Key], rows: list[disclosure.Row]) -> bool:
        answer = one_cell(cell, cols, rows)
        assert answer == (cell in disclosure._pinned_part(cols, rows)), cell
        asked.append(cell)
        return answer

    monkeypatch.setattr(disclosure, "_pins", both)
    journeys = _journeys()
    for viewer in VIEWERS:
        parts = [kpis.protected_report(journeys, Quarter(2025, q), viewer) for q in range(1, 5)]
        kpis.range_report(journeys, parts, viewer)
    assert len(asked) > 100  # the scenario's year asks hundreds of them
