"""Running a project as a whole, on the real stack: its coordinating agency's administrator
configures it in casework, casework holds the guides to its caseload cap (the lead's override
recorded), and reporting sets participants and spend against its target and budget, for the
whole project or one partner. Figures are worked out by hand below."""

from __future__ import annotations

import functools
from typing import Any

import httpx
import pytest

from shared.contracts.casework import CaseManagerAssigned
from shared.vocabulary import Role
from tests import support
from tests.e2e.conftest import Stack
from tests.e2e.test_slice import refer_and_enrol

pytestmark = pytest.mark.e2e

# one calendar year (365 days), 10 participants, two budget lines, one case per guide
PLAN: dict[str, Any] = {
    "coordinating_agency": "jc-en",
    "partner_agencies": ["jc-mk", "drv-westfalen"],
    "starts_on": "2026-01-01",
    "ends_on": "2026-12-31",
    "participant_target": 10,
    "budget": [
        {"year": 2026, "category": "employment-promotion", "amount_eur": 20_000},
        {"year": 2026, "category": "therapeutic", "amount_eur": 10_000},
    ],
    "caseload_cap": 1,
    "configured_on": "2026-01-01",
}
_ASSIGNED = CaseManagerAssigned.event_type
AS_OF = "2026-06-30"  # 181 days of the run: 31 + 28 + 31 + 30 + 31 + 30


async def ok(response: httpx.Response, status: int = 200) -> Any:
    assert response.status_code == status, response.text
    return response.json()


async def configure(stack: Stack, plan: dict[str, Any], headers: dict[str, str]) -> httpx.Response:
    return await stack.clients["casework"].post("/projects/pro-aktiv/configuration", json=plan, headers=headers)


async def case_opened(stack: Stack, pid: str) -> None:
    cm = stack.token(Role.CASE_MANAGER, "jc-en", "cm-anna")
    await support.eventually(
        lambda: stack.clients["casework"].get(f"/cases/{pid}", headers=cm), lambda r: r.status_code == 200
    )


async def assign(stack: Stack, pid: str, guide: str, headers: dict[str, str], **extra: Any) -> httpx.Response:
    body = {"case_manager": guide, "assigned_on": "2026-03-16", **extra}
    return await stack.clients["casework"].post(f"/cases/{pid}/case-manager", json=body, headers=headers)


async def intervention(stack: Stack, pid: str, guide: str, category: str, planned: float, done: dict[str, Any]) -> None:
    """Planned, started and completed by the case's guide."""
    cm = stack.token(Role.CASE_MANAGER, "jc-en", guide)
    cw = stack.clients["casework"]
    plan = {"category": category, "provider": "Bildungswerk", "planned_start": "2026-04-01", "cost_eur": planned}
    iid = (await ok(await cw.post(f"/cases/{pid}/interventions", json=plan, headers=cm), 201))["intervention_id"]
    await ok(await cw.post(f"/cases/{pid}/interventions/{iid}/start", json={"started_on": "2026-04-01"}, headers=cm))
    await ok(await cw.post(f"/cases/{pid}/interventions/{iid}/completion", json=done, headers=cm))


async def caseloads(stack: Stack, headers: dict[str, str], **params: str) -> httpx.Response:
    return await stack.clients["casework"].get("/projects/pro-aktiv/caseloads", params=params, headers=headers)


async def figures(stack: Stack, what: str, headers: dict[str, str]) -> httpx.Response:
    return await stack.clients["reporting"].get(f"/projects/pro-aktiv/{what}", params={"as_of": AS_OF}, headers=headers)


async def test_a_project_configured_by_its_coordinator_caps_caseloads_and_reports_targets(stack: Stack) -> None:
    admin_en = stack.token(Role.ADMINISTRATOR, "jc-en", "admin-en")
    lead_en = stack.token(Role.PROJECT_LEAD, "jc-en", "lead-lena")
    lead_mk = stack.token(Role.PROJECT_LEAD, "jc-mk", "lead-mk")
    cm = stack.token(Role.CASE_MANAGER, "jc-en", "cm-anna")

    # only an administrator of the coordinating agency configures the project
    assert (await configure(stack, PLAN, stack.token(Role.ADMINISTRATOR, "jc-mk", "admin-mk"))).status_code == 403
    assert (await configure(stack, PLAN, lead_en)).status_code == 403
    bad = await configure(stack, {**PLAN, "ends_on": "2025-12-31"}, admin_en)
    assert (bad.status_code, bad.json()["errors"][0]["field"]) == (422, "ends_on")
    assert (await ok(await configure(stack, PLAN, admin_en)))["events"] == ["ProjectConfigured"]
    shown = await ok(await stack.clients["casework"].get("/projects/pro-aktiv", headers=lead_mk))
    assert (shown["configured"], shown["caseload_cap"], shown["participant_target"]) == (True, 1, 10)

    pids = [await refer_and_enrol(stack) for _ in range(6)]  # all enrolled on 2026-03-16
    for pid in pids:
        await case_opened(stack, pid)
    await ok(await assign(stack, pids[0], "cm-anna", cm))
    await support.eventually(
        lambda: caseloads(stack, lead_en), lambda r: r.status_code == 200 and _guide(r.json(), "cm-anna") == 1
    )

    # the cap: refused naming it; a case manager may not override; the lead may, with a reason
    refused = await assign(stack, pids[1], "cm-anna", cm)
    assert refused.status_code == 409, refused.text
    assert "caseload cap is 1" in refused.json()["error"]
    assert refused.json()["errors"][0]["field"] == "case_manager"
    reason = {"cap_override_reason": "she knows him from an earlier project"}
    assert (await assign(stack, pids[1], "cm-anna", cm, **reason)).status_code == 403
    await ok(await assign(stack, pids[1], "cm-anna", lead_en, **reason))
    events = await stack.runtime("casework").store.read_stream(f"case-{pids[1]}")
    (assigned,) = [
        CaseManagerAssigned.model_validate(e.payload) for e in events if e.event_type == "CaseManagerAssigned"
    ]
    assert (assigned.caseload_cap, assigned.caseload, assigned.overridden_by) == (1, 1, "lead-lena")
    assert assigned.sealed_override_reason  # the reason is recorded, sealed
    assert "earlier project" not in assigned.sealed_override_reason
    guides = ["cm-anna", "cm-anna", "cm-ben", "cm-carl", "cm-dora", "cm-emil"]
    for pid, guide in zip(pids[2:], guides[2:], strict=True):
        await ok(await assign(stack, pid, guide, cm))

    # the team view: every guide against the cap; EN's lead sees every partner, MK's only MK
    # (wait for every assignment: the cases' streams sit on different partitions, so the last
    # one made is not the last one the projection applies)
    team = await support.eventually(
        lambda: caseloads(stack, lead_en),
        lambda r: r.status_code == 200 and all(_guide(r.json(), g) == guides.count(g) for g in guides),
    )
    en = team.json()["agencies"]
    assert [a["agency"] for a in en] == ["drv-westfalen", "jc-en", "jc-mk"]
    anna = next(g for a in en for g in a["guides"] if g["case_manager"] == "cm-anna")
    assert (anna["active_cases"], anna["caseload_cap"], anna["at_cap"]) == (2, 1, True)
    mk = await ok(await caseloads(stack, lead_mk))
    assert [a["agency"] for a in mk["agencies"]] == ["jc-mk"]
    assert (await caseloads(stack, lead_mk, agency="jc-en")).status_code == 403

    # spend: employment promotion for all six (1100 on completion for five, the planned 1000 for
    # one): 6500; diagnostic for five at 200: 1000; therapeutic for one at the planned 800
    for i, (pid, guide) in enumerate(zip(pids, guides, strict=True)):
        done: dict[str, Any] = {"completed_on": "2026-04-15"} | ({"cost_eur": 1100} if i < 5 else {})
        await intervention(stack, pid, guide, "employment-promotion", 1000, done)
        if i < 5:
            await intervention(stack, pid, guide, "diagnostic", 200, {"completed_on": "2026-05-02"})
    await intervention(stack, pids[0], "cm-anna", "therapeutic", 800, {"completed_on": "2026-05-01"})

    budget = (
        await support.eventually(
            lambda: figures(stack, "budget", lead_en), lambda r: r.status_code == 200 and r.json()["spent_eur"] == 8300
        )
    ).json()
    assert budget["whole_project"] is True
    assert budget["budget_eur"] == 30_000
    assert budget["forecast_eur"] == round(8300 * 365 / 181, 2) == 16737.57
    by = {c["category"]: c for c in budget["categories"]}
    assert by["employment-promotion"] == {
        "category": "employment-promotion",
        "budget_eur": 20_000,
        "spent_eur": 6500,
        "suppressed": False,
        "of_budget": 0.325,
        "forecast_eur": round(6500 * 365 / 181, 2),
    }
    # one participant's therapy is withheld, and with it the next smallest cell (diagnostic, 5
    # participants), so the total (8300 - 6500 = 1800) gives neither away
    assert (by["therapeutic"]["suppressed"], by["therapeutic"]["spent_eur"], by["therapeutic"]["budget_eur"]) == (
        True,
        None,
        10_000,
    )
    assert (by["diagnostic"]["suppressed"], by["diagnostic"]["spent_eur"], by["diagnostic"]["budget_eur"]) == (
        True,
        None,
        None,
    )

    # the enrolments come from intake's topic, the spend from casework's: one caught up says
    # nothing of the other
    goal = (
        await support.eventually(
            lambda: figures(stack, "targets", lead_en),
            lambda r: r.status_code == 200 and r.json()["participants"]["enrolled"] == len(pids),
        )
    ).json()
    people = goal["participants"]
    assert (people["target"], people["enrolled"], people["of_target"]) == (10, 6, 0.6)
    assert people["forecast_at_end"] == round(6 * 365 / 181) == 12
    assert people["on_track"] is True
    assert people["by_agency"] == {"jc-en": 6, "jc-mk": 0, "drv-westfalen": 0}
    assert people["by_quarter"] == [
        {"quarter": "2026-Q1", "enrolled": 6, "cumulative": 6, "of_target": 0.6},
        {"quarter": "2026-Q2", "enrolled": 0, "cumulative": 6, "of_target": 0.6},
    ]
    auditor = await ok(await figures(stack, "targets", stack.token(Role.AUDITOR, "jc-en", "aud")))
    assert auditor["whole_project"] is True

    # a partner keeps seeing its own agency's figures only
    partner = await ok(await figures(stack, "targets", lead_mk))
    assert (partner["whole_project"], partner["agencies"], partner["participants"]["enrolled"]) == (
        False,
        ["jc-mk"],
        0,
    )
    assert (await ok(await figures(stack, "budget", lead_mk)))["spent_eur"] == 0
    assert (await figures(stack, "targets", stack.token(Role.PROJECT_LEAD, "jc-unna"))).status_code == 403
    assert (await figures(stack, "targets", cm)).status_code == 403


def _guide(body: dict[str, Any], guide: str) -> int:
    return sum(g["active_cases"] for a in body["agencies"] for g in a["guides"] if g["case_manager"] == guide)


async def test_intake_learns_from_casework_whether_enrolment_needs_the_information_meeting(stack: Stack) -> None:
    """Default on (the setting, no project configured); the project's configuration decides once
    casework's ProjectConfigured reached intake."""
    cm = stack.token(Role.CASE_MANAGER, "jc-en")
    intake = stack.clients["intake"]

    async def ready_without_meeting() -> str:
        r = await intake.post("/referrals", json=support.REFERRAL, headers=cm)
        pid: str = (await ok(r, 201))["participant_id"]
        eligibility = {"checked_on": "2026-03-09", "voluntary": True, "willing_to_address_impairments": True}
        await ok(await intake.post(f"/participants/{pid}/eligibility", json=eligibility, headers=cm))
        consent = {"purpose": "participation", "granted_on": "2026-03-09", "form": "written"}
        await ok(await intake.post(f"/participants/{pid}/consents", json=consent, headers=cm), 201)
        return pid

    def enrol(pid: str) -> Any:
        return intake.post(f"/participants/{pid}/enrolment", json={"start_date": "2026-03-16"}, headers=cm)

    first = await ready_without_meeting()
    refused = await enrol(first)
    assert refused.status_code == 409, refused.text
    assert refused.json()["errors"][0]["field"] == "information_meeting"

    async def reconfigure(required: bool) -> None:
        """Configure, then read intake with the command's token: it answers once applied."""
        admin_en = stack.token(Role.ADMINISTRATOR, "jc-en", "admin-en")
        r = await configure(stack, {**PLAN, "info_meeting_required": required}, admin_en)
        await ok(r)
        token = {"X-Consistency-Token": r.headers["X-Consistency-Token"]}
        read = await support.current(lambda: intake.get("/participants", headers=cm | token))
        assert read.status_code == 200

    await reconfigure(False)
    await ok(await enrol(first))

    await reconfigure(True)
    second = await ready_without_meeting()
    again = await enrol(second)
    assert (again.status_code, again.json()["errors"][0]["field"]) == (409, "information_meeting")


async def test_a_reconfigured_partnership_changes_what_the_agencies_see_in_intake_placement_and_reporting(
    stack: Stack,
) -> None:
    """Issue #15 item 1: membership is data. Before pro-aktiv's first configuration the closed
    list holds (jc-en, jc-mk, drv-westfalen); its coordinator then drops jc-mk and takes in
    jc-unna, and intake, placement and reporting follow casework's ProjectConfigured."""
    intake, placement, reporting = stack.clients["intake"], stack.clients["placement"], stack.clients["reporting"]
    cm_unna, cm_mk = stack.token(Role.CASE_MANAGER, "jc-unna"), stack.token(Role.CASE_MANAGER, "jc-mk")
    officer_en = stack.token(Role.EMPLOYER_ACQUISITION, "jc-en")
    officer_mk, officer_unna = (
        stack.token(Role.EMPLOYER_ACQUISITION, "jc-mk"),
        stack.token(Role.EMPLOYER_ACQUISITION, "jc-unna"),
    )
    drv_lead = stack.token(Role.PROJECT_LEAD, "drv-westfalen")
    employer = {
        "company": "Hagener Metallbau GmbH",
        "sector": "metal",
        "size": "small",
        "region": "Hagen",
        "contact_persons": [],
        "offers_work_trials": True,
        "offers_adapted_workplaces": False,
        "acquired_on": "2026-03-01",
    }
    employer_id = (await ok(await placement.post("/employers", json=employer, headers=officer_en), 201))["employer_id"]

    async def seen() -> dict[str, int]:
        """What each agency gets: a referral into pro-aktiv, jc-en's employer, jc-x's figures for the DRV."""
        return {
            "refer unna": (await intake.post("/referrals", json=support.REFERRAL, headers=cm_unna)).status_code,
            "refer mk": (await intake.post("/referrals", json=support.REFERRAL, headers=cm_mk)).status_code,
            "employer mk": (await placement.get(f"/employers/{employer_id}", headers=officer_mk)).status_code,
            "employer unna": (await placement.get(f"/employers/{employer_id}", headers=officer_unna)).status_code,
            "figures mk": (await reporting.get("/kpis", params={"agency": "jc-mk"}, headers=drv_lead)).status_code,
            "figures unna": (await reporting.get("/kpis", params={"agency": "jc-unna"}, headers=drv_lead)).status_code,
            "targets mk": (await figures(stack, "targets", stack.token(Role.PROJECT_LEAD, "jc-mk"))).status_code,
            "targets unna": (await figures(stack, "targets", stack.token(Role.PROJECT_LEAD, "jc-unna"))).status_code,
        }

    closed_list = {"refer unna": 403, "refer mk": 201, "employer mk": 200, "employer unna": 403}
    closed_list |= {"figures mk": 200, "figures unna": 403, "targets mk": 200, "targets unna": 403}
    assert await seen() == closed_list
    listed = await support.eventually(
        lambda: placement.get("/employers", headers=officer_mk), lambda r: len(r.json()) == 1
    )
    assert [e["employer_id"] for e in listed.json()] == [employer_id]

    admin_en = stack.token(Role.ADMINISTRATOR, "jc-en", "admin-en")
    r = await configure(stack, {**PLAN, "partner_agencies": ["jc-unna", "drv-westfalen"]}, admin_en)
    await ok(r)
    token = {"X-Consistency-Token": r.headers["X-Consistency-Token"]}
    for client, path in ((intake, "/participants"), (placement, "/employers"), (reporting, "/kpis/counts")):
        read = await support.current(functools.partial(client.get, path, headers=cm_unna | token))
        assert read.status_code == 200, path

    reconfigured = {"refer unna": 201, "refer mk": 403, "employer mk": 403, "employer unna": 200}
    reconfigured |= {"figures mk": 403, "figures unna": 200, "targets mk": 403, "targets unna": 200}
    assert await seen() == reconfigured
    assert (await ok(await placement.get("/employers", headers=officer_mk))) == []
    assert [e["employer_id"] for e in await ok(await placement.get("/employers", headers=officer_unna))] == [
        employer_id
    ]
