"""The rehab waiting time (issue 15 item 10): days from filing to the carrier's decision, counted
in the quarter of the decision, median and count per agency/project and in total, the count a
sensitive figure (a rehab decision tells of a health condition) and the median hidden with it."""

from __future__ import annotations

from datetime import date, timedelta

from services.reporting.domain import disclosure, journey, kpis
from services.reporting.domain.journey import Journey
from services.reporting.domain.periods import Quarter
from shared.contracts.casework import RehabApplicationDecided, RehabApplicationFiled
from shared.envelope import new_id

Q1, Q2 = Quarter(2025, 1), Quarter(2025, 2)
SMALL = disclosure.DEFAULT.small


def applicant(n: int, filed: date, waited: int | None, agency: str = "jc-en") -> Journey:
    """One participant with one application, decided ``waited`` days after filing (or not yet)."""
    j = Journey(f"p{n}", agency=agency, project="pro-aktiv", enrolled_on=date(2024, 10, 1))
    app, pid = new_id(), new_id()
    filed_event = RehabApplicationFiled(case_id=pid, application_id=app, filed_on=filed, carrier="drv", kind="medical")
    journey.apply(filed_event, j, filed)
    if waited is not None:
        decided = filed + timedelta(days=waited)
        journey.apply(
            RehabApplicationDecided(case_id=pid, application_id=app, decided_on=decided, approved=True), j, decided
        )
    return j


def test_waiting_days_by_the_quarter_of_the_decision_median_and_count() -> None:
    # decided in Q1: 10, 20, 30, 40, 50 days; one filed in Q1 but decided in Q2 (100 days); one open
    people = [applicant(n, date(2025, 1, 2), 10 * (n + 1)) for n in range(5)]
    people += [applicant(5, date(2025, 1, 2), 100), applicant(6, date(2025, 3, 1), None)]
    q1 = kpis.figures(people, Q1)["rehab_waiting"]
    assert q1 == {"decided": 5, "median_days": 30}
    assert kpis.figures(people, Q2)["rehab_waiting"] == {"decided": 1, "median_days": 100}


def test_a_small_count_is_hidden_and_its_median_with_it() -> None:
    people = {j.participant_id: j for j in (applicant(n, date(2025, 1, 2), 14 + n) for n in range(3))}
    figs = kpis.report(people, Q1, "jc-en")["total"]["rehab_waiting"]
    assert figs == {"decided": SMALL, "median_days": disclosure.SECONDARY}
    assert kpis.sensitive("rehab_waiting.decided")
    assert not disclosure.is_cell("rehab_waiting.median_days", 15)  # a duration, not a count of people


def test_per_agency_groups_and_a_total_that_gives_no_hidden_group_away() -> None:
    # jc-en: 6 decisions (shown); jc-mk: 2 (hidden): the total (8) would give jc-mk's 2 away
    people = [applicant(n, date(2025, 1, 2), 20) for n in range(6)]
    people += [applicant(10 + n, date(2025, 1, 2), 60, agency="jc-mk") for n in range(2)]
    groups_in = {(a, "pro-aktiv"): [j for j in people if j.agency == a] for a in ("jc-en", "jc-mk")}
    report = kpis.protected(groups_in, Q1).document()
    groups = {g["agency"]: g["figures"]["rehab_waiting"] for g in report["groups"]}
    assert groups["jc-en"] == {"decided": 6, "median_days": 20}
    assert groups["jc-mk"] == {"decided": SMALL, "median_days": disclosure.SECONDARY}
    assert report["total"]["rehab_waiting"]["decided"] != 8
