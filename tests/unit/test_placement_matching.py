"""Matching is explainable: every criterion gives a verdict and a reason; conflicts sort last."""

from __future__ import annotations

from datetime import date
from uuid import uuid4

from services.placement import access
from services.placement.domain import add_months, followups, matching
from shared.contracts.common import Level
from shared.contracts.placement import JobDemands
from shared.principal import Principal
from shared.vocabulary import Role, memberships
from tests.support import PROFILE


def offer(**kw: object) -> matching.JobOffer:
    demands = JobDemands(**{k: v for k, v in kw.items() if k in JobDemands.model_fields})
    rest = {k: v for k, v in kw.items() if k not in JobDemands.model_fields}
    return matching.JobOffer(**({"hours_per_week": 25.0, "demands": demands} | rest))  # type: ignore[arg-type]


def verdicts(m: matching.Match) -> dict[str, str]:
    return {r.criterion: r.verdict for r in m.reasons}


def test_a_fitting_job_scores_100_with_a_reason_per_criterion() -> None:
    m = matching.match(offer(possible_adaptations=["Height-adjustable desk"]), PROFILE)
    assert m.score == 100
    assert not m.blocked
    assert set(verdicts(m)) == set(matching.WEIGHTS)
    assert all(v == "fits" for v in verdicts(m).values())
    assert any("25 h/week within 30 h" in r.text for r in m.reasons)


def test_too_many_hours_conflict_unless_the_employer_can_reduce_them() -> None:
    rigid = matching.match(offer(hours_per_week=40.0, possible_adaptations=["height-adjustable desk"]), PROFILE)
    assert verdicts(rigid)["hours"] == "conflict"
    assert rigid.blocked
    assert rigid.score == 75
    flexible = matching.match(
        offer(hours_per_week=40.0, flexible_hours=True, possible_adaptations=["height-adjustable desk"]), PROFILE
    )
    assert verdicts(flexible)["hours"] == "partial"
    assert not flexible.blocked
    assert rigid.score < flexible.score < 100


def test_levels_one_step_above_are_partial_two_steps_are_a_conflict() -> None:
    assert verdicts(matching.match(offer(lifting=Level.MODERATE), PROFILE))["lifting"] == "partial"
    heavy = matching.match(offer(lifting=Level.HEAVY), PROFILE)
    assert verdicts(heavy)["lifting"] == "conflict"
    assert "far above light" in next(r.text for r in heavy.reasons if r.criterion == "lifting")


def test_night_work_required_but_not_possible_blocks() -> None:
    m = matching.match(offer(night_work=True), PROFILE)
    assert m.blocked
    assert verdicts(m)["night_work"] == "conflict"


def test_missing_adaptation_is_partial_and_better_where_employer_adapts_workplaces() -> None:
    plain = matching.match(offer(), PROFILE)
    open_minded = matching.match(offer(offers_adapted_workplaces=True), PROFILE)
    assert verdicts(plain)["adaptations"] == verdicts(open_minded)["adaptations"] == "partial"
    assert not plain.blocked
    assert plain.score < open_minded.score < 100


def test_rank_puts_blocked_last_then_by_score_stably() -> None:
    good = matching.Match(90, False)
    best = matching.Match(95, False)
    blocked_high = matching.Match(99, True)
    tie = matching.Match(90, False)
    ranked = matching.rank([("good", good), ("blocked", blocked_high), ("best", best), ("tie", tie)])
    assert [r.key for r in ranked] == ["best", "good", "tie", "blocked"]
    assert [r.key for r in matching.rank([("a", good), ("b", best)], limit=1)] == ["b"]


def test_add_months_clamps_to_month_end() -> None:
    assert add_months(date(2026, 8, 31), 6) == date(2027, 2, 28)
    assert add_months(date(2026, 3, 16), 12) == date(2027, 3, 16)


def test_follow_ups_due_this_week_and_overdue_until_recorded() -> None:
    started = date(2026, 3, 16)
    job = followups.StartedJob(uuid4(), uuid4(), started)
    # Wednesday 16 Sep 2026: the 6-month follow-up is due today, within this week
    due = followups.due([job], date(2026, 9, 16))
    assert [(d.months_after_start, d.due_on, d.overdue) for d in due] == [(6, date(2026, 9, 16), False)]
    assert followups.due([job], date(2026, 9, 7)) == []  # the week before: nothing yet
    late = followups.due([job], date(2027, 3, 20))
    assert [(d.months_after_start, d.overdue) for d in late] == [(6, True), (12, True)]
    done = followups.StartedJob(job.employment_id, job.participant_id, started, frozenset({6}))
    assert [d.months_after_start for d in followups.due([done], date(2027, 3, 20))] == [12]


def test_drv_sees_pro_aktiv_candidates_only_under_drv_exchange_consent() -> None:
    projects = memberships({})  # before any configuration: the closed list's members
    pro_aktiv, pluspunkt = projects["pro-aktiv"], projects["pluspunkt"]
    drv = Principal("drv-1", Role.DRV_ADVISER, "drv-westfalen")
    assert not access.can_see_candidate(drv, "jc-en", pro_aktiv, drv_exchange_active=False)
    assert access.can_see_candidate(drv, "jc-en", pro_aktiv, drv_exchange_active=True)
    assert not access.can_see_candidate(drv, "jc-unna", pluspunkt, drv_exchange_active=True)
    officer_mk = Principal("o-1", Role.EMPLOYER_ACQUISITION, "jc-mk")
    assert not access.can_see_candidate(officer_mk, "jc-en", pro_aktiv, drv_exchange_active=True)
    therapist = Principal("t-1", Role.OCCUPATIONAL_THERAPIST, "jc-en")
    assert not access.can_see_candidate(therapist, "jc-en", pro_aktiv, drv_exchange_active=False)
    assert access.partners("jc-en", projects) == {"jc-en", "jc-mk", "drv-westfalen"}
    assert access.partners("jc-unna", projects) == {"jc-unna"}
