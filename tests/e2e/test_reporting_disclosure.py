"""Reporting on the real stack (PostgreSQL, Kafka, the relays): the figures as they stood at a
time (``as_of``), closing a quarter with an explicit cutoff, and corrections for late changes,
also in cells that are hidden (issue 15)."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest

from services.reporting.projections import FACT_TYPES
from shared.contracts.casework import ParticipantExited
from shared.contracts.common import ExitReason
from tests import reporting_scenario as sc
from tests import support
from tests.e2e.conftest import Stack
from tests.e2e.test_reporting import append, facts_count, feed, lead

pytestmark = pytest.mark.e2e

PENSION = "total.exits.by_reason.disability-pension"
LATE_EXIT = sc.Step(
    "casework",
    "P5",
    "jc-en",
    "pro-aktiv",
    ParticipantExited(
        case_id=sc.uid("P5"),
        participant_id=sc.uid("P5"),
        exited_on=date(2025, 6, 15),
        reason=ExitReason.DISABILITY_PENSION,
    ),
)


async def test_as_of_cutoff_close_and_corrections_in_hidden_cells(stack: Stack) -> None:
    await feed(stack)
    reporting = stack.clients["reporting"]
    jc_en = lead(stack, "jc-en")
    fed = len([s for s in sc.STEPS if s.event.event_type in FACT_TYPES])
    before_late = datetime.now(UTC)

    # the late events: a work trial (a shown cell) and a pension exit (a hidden cell)
    await append(stack, [sc.LATE, LATE_EXIT])
    await support.eventually(lambda: facts_count(stack), lambda n: n == fed + 2)

    # as_of: the figures as they stood before the late events; now they differ
    then = await reporting.get("/kpis", params={"period": "2025-Q2", "as_of": before_late.isoformat()}, headers=jc_en)
    assert then.status_code == 200, then.text
    assert then.json()["as_of"] == before_late.isoformat()
    assert then.json()["quarters"][0]["total"] == sc.JC_EN_Q2
    live = (await reporting.get("/kpis", params={"period": "2025-Q2"}, headers=jc_en)).json()
    assert live["quarters"][0]["total"]["work_trials"]["started"] == 2
    csv_then = await reporting.get(
        "/kpis.csv", params={"period": "2025-Q2", "as_of": before_late.isoformat()}, headers=jc_en
    )
    assert "2025-Q2,all,all,work_trials.started,1" in csv_then.text
    tomorrow = (datetime.now(UTC) + timedelta(days=2)).isoformat()
    future = await reporting.get("/kpis", params={"as_of": tomorrow}, headers=jc_en)
    assert (future.status_code, future.json()["errors"][0]["field"]) == (422, "as_of")

    # close with an explicit cutoff: not after now, not inside the quarter (422 naming cutoff)
    for bad in (tomorrow, "2025-06-30T12:00:00+00:00"):
        refused = await reporting.post("/reports/2025-Q2/close", params={"cutoff": bad}, headers=jc_en)
        assert (refused.status_code, refused.json()["errors"][0]["field"]) == (422, "cutoff"), refused.text
    closed = await reporting.post("/reports/2025-Q2/close", params={"cutoff": before_late.isoformat()}, headers=jc_en)
    assert closed.status_code == 201, closed.text
    doc = closed.json()
    assert doc["cutoff"] == before_late.isoformat()
    assert doc["figures"]["total"] == sc.JC_EN_Q2  # the facts recorded by the cutoff, not by the close

    # corrections: the shown cell with its values, the hidden one only as "changed"
    corrections = {c["figure"]: c for c in doc["corrections"]}
    assert corrections["total.work_trials.started"] == {
        "figure": "total.work_trials.started",
        "frozen": 1,
        "corrected": 2,
    }
    assert corrections[PENSION] == {"figure": PENSION, "frozen": "< 5", "corrected": "changed"}
    hidden = [c for c in doc["corrections"] if isinstance(c["frozen"], str) or isinstance(c["corrected"], str)]
    assert all(c["corrected"] == "changed" for c in hidden)
    assert doc["late_facts"] == {"ParticipantExited": "< 5", "WorkTrialStarted": 1}

    # the report as it stood before the close's cutoff is the open one of then
    old = await reporting.get(
        "/reports/2025-Q2", params={"as_of": (before_late - timedelta(microseconds=1)).isoformat()}, headers=jc_en
    )
    assert (old.json()["status"], old.json()["figures"]["total"]) == ("open", sc.JC_EN_Q2)
    again = await reporting.get("/reports/2025-Q2", headers=jc_en)
    assert again.content == (await reporting.get("/reports/2025-Q2", headers=jc_en)).content

    # the dashboard: a period picker, hidden cells drawn hatched (not as an empty bar)
    # (as it stood before the late events: the quarter's enrolments hidden, drawn in the funnel)
    page = await reporting.get(
        "/dashboard", params={"period": "2025-Q2", "as_of": before_late.isoformat()}, headers=jc_en
    )
    assert page.status_code == 200
    assert '<select name="period">' in page.text
    assert '<option value="2025-Q2" selected>' in page.text
    assert 'class="suppressed"' in page.text
