"""Reporting after a case transfer (issue 15, item 8): the participant counts for the agency
running the case on a period's last day, so from the transfer date's quarter on for the
receiving agency, before it for the sending one; history (the earlier quarters) stays."""

from __future__ import annotations

from datetime import date
from typing import Any

from services.reporting.domain import disclosure, journey, kpis, monitoring, periods
from shared.contracts import casework as cw
from shared.contracts import intake as it
from shared.contracts.common import ConsentPurpose, Phase
from tests import reporting_scenario as sc
from tests.unit.test_reporting_kpis import to_facts

P = "T1"
RULES = disclosure.Rules(threshold=1)  # nothing small hidden: the figures themselves are under test


def _steps(transfer_on: date | None) -> list[sc.Step]:
    pid = sc.uid(P)
    whose: dict[str, Any] = {"participant_id": pid, "agency": "jc-mk", "project": "pro-aktiv"}
    events: list[Any] = [
        it.ReferralReceived(
            participant_id=pid, source_agency="jc-mk", project="pro-aktiv", referred_by="cm-mara",
            received_on=date(2025, 1, 10), age_band="35-44", sex="male", sealed_identity="", sealed_reason="",
        ),
        it.ConsentGranted(
            participant_id=pid, consent_id=sc.uid("T1-monitoring"), purpose=ConsentPurpose.MONITORING,
            granted_on=date(2025, 1, 10), form="written",
        ),
        it.ParticipantEnrolled(**whose, start_date=date(2025, 2, 1), age_band="35-44", sex="male"),
        cw.CaseOpened(**whose, case_id=pid, opened_on=date(2025, 2, 1)),
        cw.CaseManagerAssigned(case_id=pid, case_manager="cm-mara", assigned_on=date(2025, 2, 1)),
        cw.PhaseEntered(case_id=pid, phase=Phase.EINSTIEG, entered_on=date(2025, 2, 1)),
    ]  # fmt: skip
    if transfer_on is not None:
        events.append(
            cw.CaseTransferred(
                case_id=pid, from_agency="jc-mk", to_agency="jc-en", project="pro-aktiv",
                transferred_on=transfer_on, from_case_manager="cm-mara", to_case_manager="cm-erik",
            )
        )  # fmt: skip
    return [sc.Step(type(e).__module__.rsplit(".", 1)[1], P, "jc-mk", "pro-aktiv", e) for e in events]


def _active(js: dict[str, journey.Journey], quarter: str, viewer: str) -> dict[str, Any]:
    doc = kpis.report(js, periods.Quarter.parse(quarter), viewer, rules=RULES)
    return {g["agency"]: g["figures"]["active"]["total"] for g in doc["groups"]}


def test_the_transfer_date_decides_from_which_quarter_the_receiving_agency_counts() -> None:
    js = journey.build_participants(to_facts(_steps(date(2025, 5, 12))))
    j = js[str(sc.uid(P))]
    assert j.agency_on(date(2025, 5, 11)) == "jc-mk"
    assert j.agency_on(date(2025, 5, 12)) == "jc-en"
    # Q1 (before the transfer) stays MK's figure; from Q2 (the transfer's quarter) on it is EN's
    assert _active(js, "2025-Q1", "jc-mk") == {"jc-mk": 1}
    assert _active(js, "2025-Q1", "jc-en") == {}
    assert _active(js, "2025-Q2", "jc-mk") == {}
    assert _active(js, "2025-Q2", "jc-en") == {"jc-en": 1}
    assert _active(js, "2025-Q3", "jc-en") == {"jc-en": 1}


def test_without_a_transfer_the_participant_stays_the_sending_agencys() -> None:
    js = journey.build_participants(to_facts(_steps(None)))
    assert _active(js, "2025-Q2", "jc-mk") == {"jc-mk": 1}
    assert _active(js, "2025-Q2", "jc-en") == {}


def test_the_monitoring_export_follows_the_agency_at_the_half_years_end() -> None:
    js = journey.build_participants(to_facts(_steps(date(2025, 8, 1))))
    today = date(2026, 1, 5)
    h1, h2 = periods.half_year("2025-H1"), periods.half_year("2025-H2")
    assert list(monitoring.rows(js.values(), "jc-mk", h1, today)) == [str(sc.uid(P))]
    assert monitoring.rows(js.values(), "jc-en", h1, today) == {}
    rows = monitoring.rows(js.values(), "jc-en", h2, today)
    assert rows[str(sc.uid(P))]["agency"] == "jc-en"
    assert monitoring.rows(js.values(), "jc-mk", h2, today) == {}
