"""Employment found without placement, end to end on the real stack (issue #15 item 5): the
case manager records a self-found job in casework; it travels through the relay and Kafka into
reporting, counts as a K2 integration, and its 6-month follow-up appears in sustainability."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from shared.vocabulary import Role
from tests import support
from tests.e2e.conftest import Stack
from tests.e2e.test_slice import refer_and_enrol

pytestmark = pytest.mark.e2e


def ok(r: httpx.Response, status: int = 200) -> Any:
    assert r.status_code == status, r.text
    return r.json()


async def quarter(stack: Stack, q: str) -> dict[str, Any]:
    lead = stack.token(Role.PROJECT_LEAD, "jc-en", "lead-en")
    [doc] = ok(await stack.clients["reporting"].get("/kpis", params={"period": q}, headers=lead))["quarters"]
    return doc["total"]  # type: ignore[no-any-return]


async def test_a_self_found_job_counts_as_k2_and_in_sustainability(stack: Stack) -> None:
    pid = await refer_and_enrol(stack)
    casework = stack.clients["casework"]
    cm = stack.token(Role.CASE_MANAGER, "jc-en", "cm-anna")
    case = f"/cases/{pid}"
    await support.eventually(lambda: casework.get(case, headers=cm), lambda r: r.status_code == 200, timeout=120)
    ok(
        await casework.post(
            f"{case}/case-manager", json={"case_manager": "cm-anna", "assigned_on": "2026-03-16"}, headers=cm
        )
    )

    job = {"started_on": "2026-03-20", "type": "social-insurance", "subsidy": "16e", "hours_per_week": 30}
    refused = await casework.post(f"{case}/employment", json=job | {"type": "mini-job"}, headers=cm)
    assert refused.status_code == 422, refused.text
    assert refused.json()["errors"][0]["field"] == "subsidy"
    psy = stack.token(Role.PSYCHOLOGIST, "jc-en", "psy-paula")
    assert (await casework.post(f"{case}/employment", json=job, headers=psy)).status_code == 403
    eid = ok(await casework.post(f"{case}/employment", json=job, headers=cm), 201)["employment_id"]

    early = {"months_after_start": 6, "verified_on": "2026-09-01", "still_employed": True}
    refused = await casework.post(f"{case}/employment/{eid}/follow-ups", json=early, headers=cm)
    assert refused.status_code == 422, refused.text
    assert refused.json()["errors"][0]["field"] == "verified_on"
    follow_up = early | {"verified_on": "2026-09-21"}
    ok(await casework.post(f"{case}/employment/{eid}/follow-ups", json=follow_up, headers=cm), 201)
    view = ok(await casework.get(f"{case}/employment", headers=cm))
    [mine] = view["employments"]
    assert (mine["employment_id"], mine["subsidy"]) == (eid, "16e")
    assert [(f["months_after_start"], f["due_on"], f["recorded"]) for f in mine["follow_ups"]] == [
        (6, "2026-09-20", True),
        (12, "2027-03-20", False),
    ]

    q1 = await support.eventually(
        lambda: quarter(stack, "2026-Q1"), lambda d: d["integrations"]["total"] == 1, timeout=120
    )
    assert q1["integrations"]["by_type"]["social-insurance-subsidised"] == 1
    assert q1["subsidies"]["by_instrument"]["16e"] == 1
    q3 = await support.eventually(
        lambda: quarter(stack, "2026-Q3"), lambda d: d["sustainability"]["6_months"]["verified"] == 1, timeout=120
    )
    assert q3["sustainability"]["6_months"] == {"verified": 1, "still_employed": 1, "rate": 1.0}
