"""The KPI module over the scripted journeys: every figure against the hand-worked numbers."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Any

import orjson
import pytest

from services.reporting import domain
from services.reporting.domain import disclosure, journey, kpis, periods
from services.reporting.projections import KEPT, participant_of, reduce, restore
from services.reporting.views import monitoring
from shared.domain import DomainError, InvalidTransition
from shared.vocabulary import memberships
from tests import reporting_scenario as sc

T0 = datetime(2026, 1, 1, tzinfo=UTC)


def to_facts(steps: list[sc.Step], start: datetime = T0) -> list[journey.Fact]:
    """What the facts projection stores and the views read back: reduced, then restored."""
    out = []
    for n, step in enumerate(steps):
        if type(step.event) not in KEPT:  # the facts projection ignores it, too
            continue
        on, data = reduce(step.event)
        out.append(
            journey.Fact(
                event_id=f"{n:05d}",
                recorded_at=start + timedelta(seconds=n),
                participant_id=str(participant_of(step.event)),
                on=on,
                event=restore(step.event.event_type, orjson.loads(orjson.dumps(data))),
            )
        )
    return out


FACTS = to_facts(sc.STEPS)
JOURNEYS = journey.build_participants(FACTS)


def view(viewer: str, quarter: str, **kw: Any) -> dict[str, Any]:
    return kpis.report(JOURNEYS, periods.Quarter.parse(quarter), viewer, **kw)


def test_jc_en_first_quarter_matches_the_hand_count() -> None:
    doc = view("jc-en", "2025-Q1")
    assert [(g["agency"], g["project"]) for g in doc["groups"]] == [("jc-en", "pro-aktiv")]
    assert doc["groups"][0]["figures"] == sc.JC_EN_Q1
    assert doc["total"] == sc.JC_EN_Q1


def test_jc_en_second_quarter_suppresses_health_cells() -> None:
    assert view("jc-en", "2025-Q2")["total"] == sc.JC_EN_Q2


def test_integrations_follow_k2_and_sustainability_counts_k2_follow_ups_only() -> None:
    assert view("jc-en", "2025-Q3")["total"]["integrations"] == sc.JC_EN_Q3_INTEGRATIONS
    assert view("jc-en", "2025-Q4")["total"]["sustainability"] == sc.JC_EN_Q4_SUSTAINABILITY
    mk = view("jc-mk", "2025-Q2")["total"]["integrations"]
    assert (mk["total"], mk["not_counted"]) == (1, 1)


def test_drv_sees_the_joint_project_only_under_drv_exchange_consent() -> None:
    q1 = view("drv-westfalen", "2025-Q1")
    assert {(g["agency"], g["project"]): g["figures"]["enrolments"] for g in q1["groups"]} == (
        sc.DRV_Q1_ENROLMENTS_BY_GROUP
    )
    assert q1["total"]["referrals"] == sc.DRV_Q1_REFERRALS
    assert q1["total"]["enrolments"] == sc.DRV_Q1_ENROLMENTS
    q2 = view("drv-westfalen", "2025-Q2")
    assert {(g["agency"], g["project"]): g["figures"]["integrations"]["total"] for g in q2["groups"]} == (
        sc.DRV_Q2_INTEGRATIONS_BY_GROUP
    )
    assert all(g["project"] == "pro-aktiv" for g in q1["groups"])


def test_no_agency_sees_another_ones_figures() -> None:
    assert [g["agency"] for g in view("jc-mk", "2025-Q1")["groups"]] == ["jc-mk"]
    unna = view("jc-unna", "2025-Q1")
    assert [(g["agency"], g["project"]) for g in unna["groups"]] == [("jc-unna", "pluspunkt")]
    assert unna["total"]["interruptions"] == "< 5"
    assert view("jc-en", "2025-Q1", agency="jc-mk")["groups"] == []


def test_suppression_follows_the_one_list_of_sensitive_figures() -> None:
    """Issue 15: which figures are sensitive is decided once (domain/disclosure.py), by what a
    count reveals, not by the contract's ``health_data`` mark (that marks sealed fields): the
    funnel (referrals, eligibility, enrolments) is one rule and not sensitive."""
    assert kpis.sensitive("interruptions")
    assert not kpis.sensitive("referrals")  # the referral reason is sealed, never counted by category
    assert kpis.sensitive("exits.by_reason.disability-pension")
    assert kpis.sensitive("exits.by_reason.transferred-to-rehabilitation")
    assert not kpis.sensitive("exits.by_reason.dropped-out")
    assert not kpis.sensitive("enrolments")
    assert kpis.suppress({"interruptions": 0, "rehab_applications": 5, "enrolments": 1}) == {
        "interruptions": 0,
        "rehab_applications": 5,
        "enrolments": 1,
    }


def test_a_cutoff_freezes_what_was_known_and_corrections_list_the_difference() -> None:
    late = to_facts([sc.LATE], start=T0 + timedelta(days=1))
    q2 = periods.Quarter.parse("2025-Q2")
    frozen = kpis.report(journey.build_participants([*FACTS, *late], cutoff=T0 + timedelta(hours=1)), q2, "jc-en")
    assert frozen == view("jc-en", "2025-Q2")
    now = kpis.report(journey.build_participants([*FACTS, *late]), q2, "jc-en")
    assert kpis.corrections(frozen, now) == [
        {"figure": "jc-en/pro-aktiv.work_trials.started", "frozen": 1, "corrected": 2},
        {"figure": "total.work_trials.started", "frozen": 1, "corrected": 2},
    ]


def test_quarters_and_periods() -> None:
    q = periods.Quarter.parse("2024-Q4")
    assert (q.start, q.end, str(q.next())) == (date(2024, 10, 1), date(2024, 12, 31), "2025-Q1")
    assert [str(x) for x in kpis.quarters("2025", [])] == ["2025-Q1", "2025-Q2", "2025-Q3", "2025-Q4"]
    assert str(kpis.quarters(None, FACTS)[0]) == "2024-Q3"
    with pytest.raises(DomainError) as err:
        periods.Quarter.parse("2025-Q5")
    assert err.value.field == "period"


def test_closing_twice_or_early_is_refused() -> None:
    q = periods.Quarter.parse("2025-Q2")
    args: dict[str, Any] = {
        "agency": "jc-en",
        "quarter": q,
        "cutoff": T0,
        "closed_by": "lead",
        "figures": {},
        "facts": 0,
    }
    events = domain.close(domain.Period(), today=date(2025, 7, 1), **args)
    state = domain.period.fold(events)
    assert state.closed
    assert state.snapshot is not None
    with pytest.raises(InvalidTransition):
        domain.close(state, today=date(2025, 7, 2), **args)
    with pytest.raises(InvalidTransition):
        domain.close(domain.Period(), today=date(2025, 6, 30), **args)


def test_monitoring_rows_need_consent_and_overlap() -> None:
    half = monitoring.half_year("2025-H1")
    rows = monitoring.rows(JOURNEYS.values(), "jc-en", half, today=date(2026, 1, 1))
    assert sorted(rows) == sorted([str(sc.uid("P1")), str(sc.uid("P4"))])  # P2 withdrew, others never gave it
    p4 = rows[str(sc.uid("P4"))]
    assert p4["exit_date"] == "2025-06-30"
    assert p4["employment_status_after_exit"] == "not-employed"
    assert p4["measures"] == [
        "debt-counselling",
        "phase:clearing",
        "phase:einstieg",
        "phase:stabilisierung",
        "therapeutic",
    ]
    p1 = rows[str(sc.uid("P1"))]
    assert (p1["exit_date"], p1["employment_status"]) == (None, "not-employed")
    h2 = monitoring.rows(JOURNEYS.values(), "jc-en", monitoring.half_year("2025-H2"), today=date(2026, 1, 1))
    assert h2[str(sc.uid("P1"))]["employment_status_after_exit"] == "employed:social-insurance-subsidised"
    merged = list(monitoring.merge(rows, [{"participant_id": str(sc.uid("P4")), "age": 54, "insurance_number": "X"}]))
    assert len(merged) == 1
    assert list(merged[0]) == list(monitoring.COLUMNS)
    assert "".join(monitoring.csv_lines(merged)).splitlines()[1].startswith("pro-aktiv,jc-en,X,54,female,not-employed")


# --- bugs fixed in the restructuring (both fail on the old kpis module) -----------------------


def _referral(pid: str, source: str, runner: str | None) -> sc.Step:
    from shared.contracts.intake import ReferralReceived

    event = ReferralReceived(
        participant_id=sc.uid(pid), source_agency=source, project="pro-aktiv", referred_by="drv-a",
        received_on=date(2025, 2, 3), age_band="35-44", sex="male", sealed_identity="", sealed_reason="",
        agency=runner,
    )  # fmt: skip
    return sc.Step("intake", "P9", source, "pro-aktiv", event)


def test_a_referral_made_for_another_agency_counts_for_the_agency_that_runs_it() -> None:
    """DRV refers a person to jc-en: the referral is jc-en's figure (``running_agency``), as
    every later event's envelope says; it used to be counted for the referring DRV."""
    js = journey.build_participants(to_facts([_referral("R1", "drv-westfalen", "jc-en")]))
    q1 = periods.Quarter(2025, 1)
    assert [g["agency"] for g in kpis.report(js, q1, "jc-en")["groups"]] == ["jc-en"]
    assert kpis.report(js, q1, "drv-westfalen")["groups"] == []  # no drv-exchange consent


def test_a_consent_no_longer_holds_on_its_expiry_day() -> None:
    """The one consent rule (shared.consent): a drv-exchange consent expiring on the quarter's
    last day does not let the carrier see the participant on that day (it used to)."""
    from shared.contracts.common import ConsentPurpose
    from shared.contracts.intake import ConsentGranted

    granted = ConsentGranted(
        participant_id=sc.uid("R2"), consent_id=sc.uid("C2"), purpose=ConsentPurpose.DRV_EXCHANGE,
        scope="drv-westfalen", granted_on=date(2025, 1, 10), form="written", expires_on=date(2025, 3, 31),
    )  # fmt: skip
    js = journey.build_participants(
        to_facts([_referral("R2", "jc-en", None), sc.Step("intake", "P9", "jc-en", "pro-aktiv", granted)])
    )
    assert js[str(sc.uid("R2"))].consent_active(ConsentPurpose.DRV_EXCHANGE, date(2025, 3, 30))
    assert kpis.report(js, periods.Quarter(2025, 1), "drv-westfalen")["groups"] == []
    assert kpis.report(js, periods.DateRange(date(2025, 1, 1), date(2025, 3, 30)), "drv-westfalen")["groups"]


def test_a_late_fact_in_a_suppressed_cell_is_listed_as_changed_never_by_its_value() -> None:
    """Issue 15: a late pension exit fell into a cell shown as "< 5" before and after, so the
    corrections list stayed empty. Now it names the cell as "changed", without a value."""
    from shared.contracts.casework import ParticipantExited
    from shared.contracts.common import ExitReason

    exit_ = ParticipantExited(
        case_id=sc.uid("P5"), participant_id=sc.uid("P5"), exited_on=date(2025, 6, 15),
        reason=ExitReason.DISABILITY_PENSION,
    )  # fmt: skip
    late = to_facts([sc.Step("casework", "P5", "jc-en", "pro-aktiv", exit_)], start=T0 + timedelta(days=1))
    q2, cutoff = periods.Quarter.parse("2025-Q2"), T0 + timedelta(hours=1)
    frozen = kpis.protected_report(journey.build_participants([*FACTS, *late], cutoff=cutoff), q2, "jc-en")
    now = kpis.protected_report(journey.build_participants([*FACTS, *late]), q2, "jc-en")
    pension = "total.exits.by_reason.disability-pension"
    assert (frozen.document()["total"]["exits"]["by_reason"]["disability-pension"], now.raw_cells()[pension]) == (
        "< 5",
        2,
    )
    listed = kpis.corrections(frozen.document(), now.document(), frozen.raw_cells(), now.raw_cells())
    assert {"figure": pension, "frozen": "< 5", "corrected": "changed"} in listed
    for row in listed:  # a cell hidden on either side never shows a corrected value
        if isinstance(row["frozen"], str) or row["corrected"] == "changed":
            assert row["corrected"] == "changed"
    assert all(r["corrected"] != 2 for r in listed if r["figure"].endswith("disability-pension"))


def test_late_facts_of_sensitive_types_are_counted_under_the_same_threshold() -> None:
    from services.reporting.views.reports import _late_facts

    facts = [*FACTS, *to_facts([sc.LATE], start=T0 + timedelta(days=1))]
    exits = [f for f in facts if f.event_type == "ParticipantExited"][:1]
    late_exit = [
        journey.Fact("late-exit", T0 + timedelta(days=2), exits[0].participant_id, date(2025, 6, 1), exits[0].event)
    ]
    counted = _late_facts(
        [*facts, *late_exit], journey.build_participants(facts), "jc-en", periods.Quarter(2025, 2),
        T0 + timedelta(hours=1), disclosure.DEFAULT,
    )  # fmt: skip
    assert counted == {"ParticipantExited": "< 5", "WorkTrialStarted": 1}


def test_sustainability_over_a_chosen_run_of_quarters() -> None:
    """Issue 15: sustainability only by the quarter of the check; now also over a run of quarters
    (``period=2025-Q2..2025-Q4``: the ``range``), counted by verification date."""
    run = kpis.quarters("2025-Q2..2025-Q4", [])
    assert [str(q) for q in run] == ["2025-Q2", "2025-Q3", "2025-Q4"]
    parts = [kpis.protected_report(JOURNEYS, q, "jc-en") for q in run]
    whole = kpis.range_report(JOURNEYS, parts, "jc-en")
    assert (whole["from"], whole["to"], whole["quarter"]) == ("2025-Q2", "2025-Q4", "2025-Q2..2025-Q4")
    assert whole["total"]["sustainability"] == {
        "6_months": {"verified": 1, "still_employed": 1, "rate": 1.0},  # 2025-Q2's
        "12_months": {"verified": 1, "still_employed": 0, "rate": 0.0},  # 2025-Q4's
    }
    with pytest.raises(DomainError) as err:
        kpis.quarters("2025-Q4..2025-Q1", [])
    assert err.value.field == "period"


def test_drv_sees_a_joint_project_only_while_it_is_a_configured_member() -> None:
    """Issue #15 item 1: the joint projects a DRV carrier sees follow the configuration; a
    pro-aktiv configured without drv-westfalen shows it only its own participants."""

    def agencies(**kw: Any) -> set[str]:
        return {g["agency"] for g in view("drv-westfalen", "2025-Q1", **kw)["groups"]}

    # before any configuration (the closed list): the partners' participants under consent too
    assert agencies(projects=memberships({})) == agencies() == {"drv-westfalen", "jc-en", "jc-mk"}
    assert agencies(projects=memberships({"pro-aktiv": ["jc-en", "jc-mk"]})) == {"drv-westfalen"}
