"""Rehabilitation as a workflow shared with DRV (issue 15 item 10), on the real stack: an
application filed on a case under drv-exchange consent lands in the DRV adviser's work queue
with the capacity profile and only the reports the participant's objection lets pass; DRV
records receipt, a request (answered by the case manager), the decision and the medical stay,
which interrupts the case and resumes it; the waiting time reaches reporting over Kafka."""

from __future__ import annotations

from datetime import date
from functools import partial
from typing import Any

import httpx
import pytest

from services.reporting.domain import disclosure
from shared.vocabulary import Role
from tests import support
from tests.e2e.conftest import Stack
from tests.e2e.test_journey import PROFILE, Clock, Commands, ok

pytestmark = pytest.mark.e2e

QUARTER = "2026-Q2"


async def enrolled(stack: Stack, cm: dict[str, str], *, drv_exchange: bool) -> str:
    """A jc-en participant enrolled on 2026-04-01, with a medical release for two doctors and a
    § 76 objection against one of them."""
    intake = stack.clients["intake"]
    pid = (await ok(await intake.post("/referrals", json=support.REFERRAL, headers=cm), 201))["participant_id"]
    p = f"/participants/{pid}"
    await ok(await intake.post(f"{p}/information-meeting", json={"held_on": "2026-03-20"}, headers=cm))
    await ok(
        await intake.post(
            f"{p}/eligibility",
            json={"checked_on": "2026-03-23", "voluntary": True, "willing_to_address_impairments": True},
            headers=cm,
        )
    )
    consents: list[dict[str, Any]] = [
        {"purpose": "participation"},
        {"purpose": "medical-release", "scope": "Dr. Weber, Hagen"},
        {"purpose": "medical-release", "scope": "Klinik Nord, Witten"},
    ]
    if drv_exchange:
        consents.append({"purpose": "drv-exchange"})
    for extra in consents:
        body = {"granted_on": "2026-03-23", "form": "written"} | extra
        await ok(await intake.post(f"{p}/consents", json=body, headers=cm), 201)
    objection = {"recorded_on": "2026-03-23", "scope": "Dr. Weber"}
    await ok(await intake.post(f"{p}/objections", json=objection, headers=cm), 201)
    await ok(await intake.post(f"{p}/enrolment", json={"start_date": "2026-04-01"}, headers=cm))
    casework = stack.clients["casework"]
    await support.eventually(lambda: casework.get(f"/cases/{pid}", headers=cm), lambda r: r.status_code == 200)
    await ok(
        await casework.post(
            f"/cases/{pid}/case-manager", json={"case_manager": "cm-anna", "assigned_on": "2026-04-01"}, headers=cm
        )
    )
    return str(pid)


async def report(casework: httpx.AsyncClient, c: str, source: str, headers: dict[str, str]) -> httpx.Response:
    """A medical report from ``source`` (the release consents reach casework asynchronously)."""
    body = {"received_on": "2026-04-03", "source": source, "summary": f"report of {source}"}
    return await casework.post(f"{c}/medical-reports", json=body, headers=headers)


async def test_rehab_application_through_drv_to_the_reported_waiting_time(stack: Stack) -> None:
    clock = Clock(date(2026, 4, 10))
    for name in ("intake", "casework"):
        stack.runtime(name).clock = clock
    casework, reporting = stack.clients["casework"], stack.clients["reporting"]
    cm = stack.token(Role.CASE_MANAGER, "jc-en", "cm-anna")
    drv = stack.token(Role.DRV_ADVISER, "drv-westfalen", "drv-dora")  # not on the case's team
    mk_drv = stack.token(Role.DRV_ADVISER, "jc-mk", "mk-drv")
    lead = stack.token(Role.PROJECT_LEAD, "jc-en", "lead-jc-en")

    # ---- without drv-exchange consent the application cannot go to DRV (409 naming the consent)
    private = await enrolled(stack, cm, drv_exchange=False)
    refused = await casework.post(
        f"/cases/{private}/rehab-applications",
        json={"filed_on": "2026-04-10", "carrier": "drv-westfalen", "kind": "medical"},
        headers=cm,
    )
    assert refused.status_code == 409, refused.text
    assert refused.json()["errors"][0]["field"] == "consent"
    assert "drv-exchange" in refused.json()["error"]

    # ---- the case with consent: profile, two reports (one of them under objection), the application
    pid = await enrolled(stack, cm, drv_exchange=True)
    c = f"/cases/{pid}"
    act = Commands(casework, c)
    await act("/capacity-profile", {"recorded_on": "2026-04-02", "profile": PROFILE}, cm, 201)
    for source in ("Dr. Weber", "Klinik Nord"):
        await support.eventually(
            partial(report, casework, c, source, cm | {"Idempotency-Key": source}), lambda r: r.status_code == 201
        )
    filed = {"filed_on": "2026-04-06", "carrier": "drv-westfalen", "kind": "medical"}
    app = (await act("/rehab-applications", filed, cm, 201))["application_id"]
    a = f"/rehab-applications/{app}"

    # ---- DRV's work queue: waiting days, the profile, only the report the objection lets pass
    assert (await casework.get("/rehab-queue", headers=mk_drv)).status_code == 403
    assert (await casework.get("/rehab-queue", headers=cm)).status_code == 403
    queue = await support.eventually(
        lambda: casework.get("/rehab-queue", headers=drv),
        lambda r: r.status_code == 200 and any(x["application_id"] == app for x in r.json()["applications"]),
    )
    [item] = [x for x in queue.json()["applications"] if x["application_id"] == app]
    assert item["waiting_days"] == 4  # 2026-04-06 to today, 2026-04-10
    assert (item["status"], item["kind"], item["participant_id"]) == ("filed", "medical", pid)
    assert item["capacity_profile"]["max_hours_per_week"] == PROFILE["max_hours_per_week"]
    assert [r["source"] for r in item["medical_reports"]] == ["Klinik Nord"]
    assert item["withheld_under_objection"] == 1
    assert all(x["participant_id"] != private for x in queue.json()["applications"])

    # ---- DRV's steps; the case manager answers the request
    assert (await casework.post(f"{c}{a}/receipt", json={"received_on": "2026-04-08"}, headers=cm)).status_code == 403
    await act(f"{a}/receipt", {"received_on": "2026-04-08"}, drv)
    rid = (await act(f"{a}/requests", {"requested_on": "2026-04-09", "question": "Entlassungsbericht?"}, drv, 201))[
        "request_id"
    ]
    await act(f"{a}/requests/{rid}/answer", {"answered_on": "2026-04-10", "answer": "attached"}, cm)
    queue = await support.eventually(
        lambda: casework.get("/rehab-queue", headers=drv),
        lambda r: any(x["application_id"] == app and x["requests"][0]["answer"] for x in r.json()["applications"]),
    )
    [item] = [x for x in queue.json()["applications"] if x["application_id"] == app]
    assert (item["status"], item["requests"][0]["question"]) == ("received", "Entlassungsbericht?")
    clock.day = date(2026, 5, 20)
    await act(f"{a}/decision", {"decided_on": "2026-05-16", "approved": True, "reason": "indicated"}, drv)
    await support.eventually(
        lambda: casework.get("/rehab-queue", headers=drv),
        lambda r: all(x["application_id"] != app for x in r.json()["applications"]),
    )

    # ---- the measure: the stay interrupts the case, its end resumes it
    started = await act(f"{a}/measure-start", {"started_on": "2026-05-18", "provider": "Klinik Nord"}, drv)
    assert started["events"] == ["RehabMeasureStarted", "ParticipationInterrupted"]
    assert (await ok(await casework.get(c, headers=cm)))["status"] == "interrupted"
    clock.day = date(2026, 6, 20)
    ended = await act(f"{a}/measure-end", {"ended_on": "2026-06-15"}, drv)
    assert ended["events"] == ["RehabMeasureEnded", "ParticipationResumed"]
    assert (await ok(await casework.get(c, headers=cm)))["status"] == "open"

    # ---- reporting: 40 days from filing (2026-04-06) to the decision (2026-05-16), in the decision's quarter
    async def waiting() -> Any:
        r = await reporting.get("/kpis", params={"period": QUARTER}, headers=lead)
        return r.json()["quarters"][0]["total"]["rehab_waiting"]

    # one decision is a small cell of a health figure: hidden, and its median with it
    hidden = await support.eventually(waiting, lambda w: w["decided"] != 0)
    assert hidden == {"decided": disclosure.DEFAULT.small, "median_days": disclosure.SECONDARY}
    reads = stack.apps["reporting"].state.reads
    default_rules = reads.rules
    reads.rules = disclosure.Rules(threshold=1)  # nothing small: the count and the median show
    try:
        assert await waiting() == {"decided": 1, "median_days": 40}
    finally:
        reads.rules = default_rules
