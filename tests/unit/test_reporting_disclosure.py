"""Statistical disclosure control (services/reporting/domain/disclosure.py): the issue's
reproductions, each failing on the old suppression, and a derivation attack: from nothing but a
published response, a linear solver (numpy rank) and the bounds the marks give, no hidden cell
may be pinned down."""

from __future__ import annotations

import itertools
import random
from collections.abc import Iterable, Mapping, Sequence
from datetime import date, timedelta
from typing import Any

import numpy as np

from services.reporting.domain import disclosure, kpis
from services.reporting.domain.journey import Journey, Steps
from services.reporting.domain.periods import Quarter
from shared.contracts.common import ExitReason, InterventionCategory

Q1, Q2, Q3 = Quarter(2025, 1), Quarter(2025, 2), Quarter(2025, 3)
SMALL = disclosure.DEFAULT.small


def person(
    n: int, *, enrolled: date | None, exited: date | None = None, reason: str | None = None, **kw: Any
) -> Journey:
    return Journey(
        f"p{n}",
        agency=kw.pop("agency", "jc-en"),
        project=kw.pop("project", "pro-aktiv"),
        referred_on=kw.pop("referred", enrolled),
        checks=[(enrolled, True)] if enrolled else [],
        enrolled_on=enrolled,
        exited_on=exited,
        exit_reason=reason,
        **kw,
    )


def cohort(*people: Journey) -> dict[str, Journey]:
    return {j.participant_id: j for j in people}


# --- the reproductions ---------------------------------------------------------------


def test_referrals_eligibility_and_enrolments_follow_one_rule() -> None:
    """Four referred, four eligible, four enrolled: the old code showed "eligible < 5" next to
    "enrolments 4". Now the funnel is one rule: none of its steps is a health figure."""
    js = cohort(*(person(n, enrolled=date(2025, 2, n + 1)) for n in range(4)))
    figs = kpis.report(js, Q1, "jc-en")["total"]
    assert (figs["referrals"], figs["eligibility"]["eligible"], figs["enrolments"]) == (4, 4, 4)
    assert {kpis.sensitive(p) for p in ("referrals", "eligibility.checked", "eligibility.eligible", "enrolments")} == {
        False
    }


def test_every_health_related_exit_is_suppressed_not_only_the_pension() -> None:
    """A transfer to rehabilitation was shown exactly; only disability pension was hidden."""
    people = [person(n, enrolled=date(2025, 1, 2)) for n in range(8)]
    people.append(
        person(9, enrolled=date(2025, 1, 2), exited=date(2025, 2, 1), reason=ExitReason.TRANSFERRED_TO_REHAB.value)
    )
    people += [
        person(10 + n, enrolled=date(2025, 1, 2), exited=date(2025, 2, 1), reason=ExitReason.REGULAR_END.value)
        for n in range(6)
    ]
    figs = kpis.report(cohort(*people), Q1, "jc-en")["total"]
    assert figs["exits"]["by_reason"]["transferred-to-rehabilitation"] == SMALL
    assert figs["health_exits"]["total"] == SMALL
    assert all(kpis.sensitive(f"exits.by_reason.{r}") for r in disclosure.HEALTH_EXIT_REASONS)
    assert kpis.sensitive("interventions.by_category.therapeutic")
    assert not kpis.sensitive("interventions.by_category.employment-promotion")


def test_a_hidden_pension_exit_cannot_be_worked_out_from_stock_enrolments_and_other_exits() -> None:
    """The old report hid the pension exit and the exit total, but showed the active stock of
    both quarters and the enrolments: 10 + 0 - 9 = 1 exit, the only one: a pension."""
    people = [person(n, enrolled=date(2024, 11, 1)) for n in range(9)]
    people.append(
        person(9, enrolled=date(2024, 11, 1), exited=date(2025, 2, 1), reason=ExitReason.DISABILITY_PENSION.value)
    )
    js = cohort(*people)
    docs = [kpis.report(js, q, "jc-en") for q in (Quarter(2024, 4), Q1)]
    assert docs[1]["total"]["exits"]["by_reason"]["disability-pension"] == SMALL
    assert_nothing_pinned(docs)


def test_zero_is_shown_and_the_threshold_is_configurable() -> None:
    people = [
        person(n, enrolled=date(2025, 1, 2), exited=date(2025, 3, 1), reason=ExitReason.DISABILITY_PENSION.value)
        for n in range(3)
    ]
    people += [person(10 + n, enrolled=date(2025, 1, 2)) for n in range(7)]
    figs = kpis.report(cohort(*people), Q1, "jc-en")["total"]
    assert figs["exits"]["by_reason"]["transferred-to-rehabilitation"] == 0
    assert figs["interruptions"] == 0
    assert figs["disability_pension_exits"] == SMALL
    loose = disclosure.Rules(threshold=3)
    assert kpis.report(cohort(*people), Q1, "jc-en", rules=loose)["total"]["disability_pension_exits"] == 3
    assert kpis.report(cohort(*people[1:]), Q1, "jc-en", rules=loose)["total"]["disability_pension_exits"] == "< 3"


def test_a_project_total_does_not_reveal_a_group_cell() -> None:
    """Two agencies' groups and their total: a hidden cell of one group is not the total minus
    the other group."""
    people = [person(n, enrolled=date(2025, 1, 2), agency="jc-en") for n in range(6)]
    people += [person(20 + n, enrolled=date(2025, 1, 2), project="pluspunkt") for n in range(6)]
    people.append(
        person(30, enrolled=date(2025, 1, 2), exited=date(2025, 3, 1), reason=ExitReason.DISABILITY_PENSION.value)
    )
    people += [
        person(40 + n, enrolled=date(2025, 1, 2), exited=date(2025, 3, 1), reason=ExitReason.DROPPED_OUT.value)
        for n in range(7)
    ]
    js = cohort(*people)
    docs = [kpis.report(js, q, "jc-en") for q in (Quarter(2024, 4), Q1)]
    assert len(docs[1]["groups"]) == 2
    assert_nothing_pinned(docs)


def test_a_range_does_not_reveal_a_quarter_it_sums() -> None:
    """Sustainability or exits over a chosen run of quarters: the range minus the other quarters
    would give the hidden quarter."""
    people = [person(n, enrolled=date(2024, 11, 1)) for n in range(12)]
    people.append(
        person(50, enrolled=date(2024, 11, 1), exited=date(2025, 5, 2), reason=ExitReason.DISABILITY_PENSION.value)
    )
    people += [
        person(60 + n, enrolled=date(2024, 11, 1), exited=date(2025, 2, 2), reason=ExitReason.DISABILITY_PENSION.value)
        for n in range(6)
    ]
    js = cohort(*people)
    parts = [kpis.protected_report(js, q, "jc-en") for q in (Q1, Q2)]
    whole = kpis.range_report(js, parts, "jc-en")
    assert [p.document()["total"]["disability_pension_exits"] for p in parts] == [6, SMALL]
    assert whole["total"]["disability_pension_exits"] != 7
    before = kpis.report(js, Quarter(2024, 4), "jc-en")
    assert_nothing_pinned([before, *(p.document() for p in parts)], ranges=[whole])


# --- the derivation attack -------------------------------------------------------------------

BREAKDOWNS = {
    "exits.total": "exits.by_reason.",
    "health_exits.total": "health_exits.by_reason.",
    "interventions.started": "interventions.by_category.",
    "integrations.total": "integrations.by_type.",
    "active.total": "active.by_phase.",
    "subsidies.total": "subsidies.by_instrument.",
}
NOT_COUNTS = ("phase_days.", "caseload.")
RATE_PARTS = {
    "eligibility.rate": ("eligibility.eligible", "eligibility.checked"),
    "integration_rate": ("integrations.total", "participants"),
    "sustainability.6_months.rate": ("sustainability.6_months.still_employed", "sustainability.6_months.verified"),
    "sustainability.12_months.rate": ("sustainability.12_months.still_employed", "sustainability.12_months.verified"),
}
RATES = tuple(RATE_PARTS)


def _published(doc: Mapping[str, Any]) -> dict[str, dict[str, Any]]:
    """scope -> figure path -> published value (counts and marks only)."""
    scopes = {f"{g['agency']}/{g['project']}": g["figures"] for g in doc["groups"]} | {"total": doc["total"]}
    return {
        s: {p: v for p, v in kpis.flatten(f).items() if not p.startswith(NOT_COUNTS) and p not in RATES}
        for s, f in scopes.items()
    }


Cell = tuple[str, str, str]  # (window, scope, path)


def _identities(
    docs: Sequence[Mapping[str, Any]], ranges: Sequence[Mapping[str, Any]]
) -> list[tuple[dict[Cell, int], int]]:
    """What an evaluator knows holds between published cells (coefficients, constant)."""
    rows: list[tuple[dict[Cell, int], int]] = []
    by_window = {d["quarter"]: _published(d) for d in [*docs, *ranges]}
    for w, scopes in by_window.items():
        for s, cells in scopes.items():
            for total, prefix in BREAKDOWNS.items():
                rows.append(({(w, s, total): -1, **{(w, s, p): 1 for p in cells if p.startswith(prefix)}}, 0))
            for r in disclosure.HEALTH_EXIT_REASONS:
                rows.append(({(w, s, f"health_exits.by_reason.{r}"): 1, (w, s, f"exits.by_reason.{r}"): -1}, 0))
            rows.append(({(w, s, "disability_pension_exits"): 1, (w, s, "exits.by_reason.disability-pension"): -1}, 0))
        groups = [s for s in scopes if s != "total"]
        for p in scopes["total"]:
            rows.append(({(w, "total", p): -1, **{(w, g, p): 1 for g in groups}}, 0))
    quarters = [d["quarter"] for d in docs]
    for prev, cur in itertools.pairwise(quarters):
        for s, cells in by_window[cur].items():
            before = by_window[prev].get(s, {}).get("active.total", 0)
            change = cells["active.total"] - before
            rows.append(({(cur, s, "enrolments"): 1, (cur, s, "exits.total"): -1}, change))
            rows.append(({(cur, s, "participants"): 1, (cur, s, "enrolments"): -1}, before))
    for rng in ranges:
        inside = [q for q in quarters if rng["from"] <= q <= rng["to"]]
        for s, cells in by_window[rng["quarter"]].items():
            for p in cells:
                if not p.startswith("active.") and p != "participants":
                    rows.append(({(rng["quarter"], s, p): -1, **{(q, s, p): 1 for q in inside}}, 0))
    return rows


def assert_nothing_pinned(docs: Sequence[Mapping[str, Any]], ranges: Sequence[Mapping[str, Any]] = ()) -> None:
    """docs: consecutive quarters (the first only gives the stocks), ranges over some of them."""
    values = {
        (w["quarter"], s, p): v
        for w in [*docs, *ranges]
        for s, cells in _published(w).items()
        for p, v in cells.items()
    }
    hidden = sorted(k for k, v in values.items() if isinstance(v, str))
    rows = [(row, c) for row, c in _identities(docs, ranges) if all(k in values for k in row)]
    for w in [*docs, *ranges]:
        for figs in [g["figures"] for g in w["groups"]] + [w["total"]]:
            flat = kpis.flatten(figs)
            for rate in RATES:
                if isinstance(flat.get(rate), float):  # a shown rate needs both of its parts shown
                    assert not any(isinstance(flat[part], str) for part in RATE_PARTS[rate]), rate
    if not hidden:
        return
    index = {k: i for i, k in enumerate(hidden)}
    matrix = np.array(
        [[row.get(k, 0) for k in hidden] for row, _ in rows if any(k in index for k in row)] or [[0] * len(hidden)],
        dtype=float,
    )
    # x is pinned iff e_i lies in the row space, i.e. every vector of the null space is 0 at i
    _, sv, vt = np.linalg.svd(matrix)
    rank = int((sv > 1e-9 * max(sv.max(initial=0.0), 1.0)).sum())
    null = vt[rank:]
    assert null.shape[0], "every hidden cell follows from the published cells"
    for k, i in index.items():
        assert np.abs(null[:, i]).max() > 1e-9, f"{k} follows from the published cells"
    _assert_no_bound_pins(rows, values)


def _assert_no_bound_pins(rows: Iterable[tuple[dict[Cell, int], int]], values: Mapping[Cell, Any]) -> None:
    """Within one identity: each "< 5" cell is 1..4, any other hidden cell at least 0; a hidden sum
    at the least (or most) these allow pins every hidden cell of it."""
    for row, constant in rows:
        hidden = [k for k in row if isinstance(values.get(k), str)]
        if not hidden or len({row[k] > 0 for k in hidden}) != 1 or any(k not in values for k in row):
            continue
        sign = 1 if row[hidden[0]] > 0 else -1
        total = sign * (constant - sum(c * values[k] for k, c in row.items() if k not in hidden))
        small = [k for k in hidden if values[k] == SMALL]
        assert total != len(small), f"{hidden} pinned at their least"
        if len(small) == len(hidden):
            assert total != 4 * len(small), f"{hidden} pinned at their most"


def _random_cohort(rng: random.Random) -> dict[str, Journey]:
    """Participants of two agencies' groups and two projects, enrolled and leaving over 2024-Q4
    to 2025-Q3, with health and other exits and interventions of every category."""
    out = []
    reasons = [r.value for r in ExitReason]
    categories = [c.value for c in InterventionCategory]
    for n in range(rng.randint(3, 30)):
        enrolled = date(2024, 10, 1) + timedelta(days=rng.randint(0, 330))
        exited = enrolled + timedelta(days=rng.randint(10, 200)) if rng.random() < 0.5 else None
        steps = {
            f"i{n}-{k}": Steps(category=rng.choice(categories), started=enrolled + timedelta(days=rng.randint(0, 90)))
            for k in range(rng.randint(0, 2))
        }
        out.append(
            person(
                n,
                enrolled=enrolled,
                exited=exited,
                reason=rng.choice(reasons) if exited else None,
                project=rng.choice(["pro-aktiv", "pluspunkt"]),
                interventions=steps,
                interruptions=[enrolled + timedelta(days=5)] if rng.random() < 0.2 else [],
            )
        )
    return cohort(*out)


def test_a_derivation_attack_pins_no_hidden_cell_of_random_responses() -> None:
    """For many random cohorts: three quarters and the range over them, as a lead would get
    them; every hidden cell is free in the solution space of the published constraints."""
    hidden_seen = 0
    for seed in range(30):
        js = _random_cohort(random.Random(seed))
        parts = [kpis.protected_report(js, q, "jc-en") for q in (Q1, Q2, Q3)]
        docs = [kpis.report(js, Quarter(2024, 4), "jc-en"), *(p.document() for p in parts)]
        whole = kpis.range_report(js, parts, "jc-en")
        assert_nothing_pinned(docs, ranges=[whole])
        hidden_seen += sum(isinstance(v, str) for d in docs[1:] for v in kpis.flatten(d["total"]).values())
    assert hidden_seen > 50  # the attack had something to attack


def test_the_solver_itself_finds_a_pinned_cell() -> None:
    """The attack is not vacuous: the old rule's output (total hidden, stocks and enrolments
    shown, one pension exit) is caught."""
    old = {
        "quarter": "2025-Q1",
        "groups": [],
        "total": {"active": {"total": 9}, "enrolments": 0, "participants": 10, "exits": {"total": "suppressed",
                  "by_reason": {r.value: 0 for r in ExitReason} | {"disability-pension": SMALL}}},
    }  # fmt: skip
    before = {"quarter": "2024-Q4", "groups": [], "total": {"active": {"total": 10}, "enrolments": 10}}
    try:
        assert_nothing_pinned([before, old])
    except AssertionError:
        return
    raise AssertionError("the attack missed the pension exit")


def test_the_live_figures_of_a_closed_quarter_keep_what_its_report_hid() -> None:
    """Frozen: one pension exit hidden with a complement. Late pension exits lift the cell to 5
    (shown now); had the complement been shown live as well, frozen total minus it = the pension."""
    stock = [person(n, enrolled=date(2024, 11, 1)) for n in range(10)]
    regular = [
        person(20 + n, enrolled=date(2024, 11, 1), exited=date(2025, 2, 1), reason=ExitReason.REGULAR_END.value)
        for n in range(6)
    ]

    def pension(n: int) -> Journey:
        return person(
            n, enrolled=date(2024, 11, 1), exited=date(2025, 3, 1), reason=ExitReason.DISABILITY_PENSION.value
        )

    frozen = kpis.report(cohort(*stock, *regular, pension(40)), Q1, "jc-en")
    hidden = kpis.hidden_cells(frozen)
    assert ("total", "exits.by_reason.disability-pension") in hidden
    late = cohort(*stock, *regular, *(pension(40 + n) for n in range(5)))
    live = kpis.protected_report(late, Q1, "jc-en", keep=hidden).document()
    flat = kpis.flatten(live["total"])
    assert all(isinstance(flat[p], str) for s, p in hidden if s == "total")
    unkept = kpis.flatten(kpis.report(late, Q1, "jc-en")["total"])
    assert [p for s, p in hidden if s == "total" and not isinstance(unkept[p], str)]  # what keep keeps hidden
    assert_nothing_pinned([kpis.report(late, Quarter(2024, 4), "jc-en"), live])
