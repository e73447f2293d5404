"""Case transfer between partner agencies of a project (issue 15, item 8) on the real stack: a
participant of Jobcenter MK moves to Jobcenter EN. Casework refuses it without a drv-exchange
consent naming EN and to an agency outside the project; after it EN's case manager reads and
acts, MK's staff get 403 on every new action and read only the history up to the transfer, the
lists follow, and reporting counts the participant for EN from the transfer's quarter on."""

from __future__ import annotations

import pytest

from shared.contracts.casework import CaseTransferred, GoalSet
from shared.contracts.intake import ConsentGranted, ParticipantTransferred
from shared.vocabulary import Role
from tests import support
from tests.e2e.conftest import Stack
from tests.e2e.test_slice import refer_and_enrol

pytestmark = pytest.mark.e2e

TRANSFER = {"to_agency": "jc-en", "to_case_manager": "cm-erik", "transferred_on": "2026-05-12", "reason": "moved"}


async def groups(stack: Stack, agency: str, period: str) -> list[str]:
    """The agencies whose group the agency's project lead sees in the quarter's figures."""
    lead = stack.token(Role.PROJECT_LEAD, agency)
    r = await stack.clients["reporting"].get("/kpis", params={"period": period}, headers=lead)
    assert r.status_code == 200, r.text
    return [g["agency"] for g in r.json()["quarters"][0]["groups"]]


async def pool(stack: Stack, headers: dict[str, str]) -> set[str]:
    r = await stack.clients["placement"].get("/candidates", headers=headers)
    assert r.status_code == 200, r.text
    return {c["participant_id"] for c in r.json()}


async def listed(stack: Stack, headers: dict[str, str]) -> list[str]:
    r = await stack.clients["casework"].get("/cases", headers=headers)
    assert r.status_code == 200, r.text
    return [c["participant_id"] for c in r.json()]


async def test_a_case_moves_from_mk_to_en_with_its_history(stack: Stack) -> None:
    cw, intake = stack.clients["casework"], stack.clients["intake"]
    mara = stack.token(Role.CASE_MANAGER, "jc-mk", "cm-mara")
    erik = stack.token(Role.CASE_MANAGER, "jc-en", "cm-erik")
    pid = await refer_and_enrol(stack, "jc-mk")
    await support.eventually(lambda: cw.get(f"/cases/{pid}", headers=mara), lambda r: r.status_code == 200)
    assigned = await cw.post(
        f"/cases/{pid}/case-manager", json={"case_manager": "cm-mara", "assigned_on": "2026-03-16"}, headers=mara
    )
    assert assigned.status_code == 200, assigned.text
    added = {"member": "psy-mo", "role": "psychologist", "added_on": "2026-03-20"}
    assert (await cw.post(f"/cases/{pid}/team", json=added, headers=mara)).status_code == 201
    mo = stack.token(Role.PSYCHOLOGIST, "jc-mk", "psy-mo")
    # a shared capacity profile puts the participant in MK's candidate pool
    profile = {"recorded_on": "2026-03-25", "profile": support.PROFILE.model_dump(mode="json")}
    assert (await cw.post(f"/cases/{pid}/capacity-profile", json=profile, headers=mara)).status_code == 201
    disclosure = {"purpose": "employer-disclosure", "granted_on": "2026-03-25", "form": "written"}
    assert (await intake.post(f"/participants/{pid}/consents", json=disclosure, headers=mara)).status_code == 201
    officer_mk = stack.token(Role.EMPLOYER_ACQUISITION, "jc-mk", "bak-mk")
    officer_en = stack.token(Role.EMPLOYER_ACQUISITION, "jc-en", "bak-en")
    await support.eventually(lambda: pool(stack, officer_mk), lambda got: pid in got)

    # without a consent naming EN: 409 naming the consent; outside the project: 422
    refused = await cw.post(f"/cases/{pid}/transfer", json=TRANSFER, headers=mara)
    assert refused.status_code == 409, refused.text
    assert refused.json()["errors"][0]["field"] == "consent"
    assert "drv-exchange" in refused.json()["error"]
    outside = await cw.post(f"/cases/{pid}/transfer", json=TRANSFER | {"to_agency": "jc-unna"}, headers=mara)
    assert (outside.status_code, outside.json()["errors"][0]["field"]) == (422, "to_agency")
    consent = {"purpose": "drv-exchange", "scope": "jc-en", "granted_on": "2026-05-01", "form": "written"}
    granted = await intake.post(f"/participants/{pid}/consents", json=consent, headers=mara)
    assert granted.status_code == 201, granted.text

    # casework learns the consent from intake's topic; then the transfer goes through
    moved = await support.eventually(
        lambda: cw.post(f"/cases/{pid}/transfer", json=TRANSFER, headers=mara), lambda r: r.status_code != 409
    )
    assert moved.status_code == 200, moved.text
    assert moved.json()["events"] == [CaseTransferred.event_type]
    transferred_at = moved.json()["version"]

    # EN reads and acts: its case manager runs the case, its events carry jc-en
    case = (await cw.get(f"/cases/{pid}", headers=erik)).json()
    assert (case["agency"], case["case_manager"], case["health_access"]) == ("jc-en", "cm-erik", True)
    assert [m["member"] for m in case["team"]] == []  # MK's psychologist left with the case
    goal = await cw.post(f"/cases/{pid}/goals", json={"set_on": "2026-05-13", "text": "work near Hagen"}, headers=erik)
    assert goal.status_code == 201, goal.text
    events = await stack.runtime("casework").store.read_stream(f"case-{pid}")
    assert [(e.event_type, e.agency) for e in events[-2:]] == [
        (CaseTransferred.event_type, "jc-mk"),
        (GoalSet.event_type, "jc-en"),
    ]
    health = await cw.get(f"/cases/{pid}/health", headers=erik)
    assert health.status_code == 200, health.text

    # MK: 403 on every new action; the history up to the transfer, no health data, no goal after it
    for who in (mara, mo, stack.token(Role.PROJECT_LEAD, "jc-mk", "lead-mk")):
        denied = await cw.post(f"/cases/{pid}/goals", json={"set_on": "2026-05-13", "text": "x"}, headers=who)
        assert denied.status_code == 403, denied.text
        assert "transferred to jc-en" in denied.json()["error"]
    back = await cw.post(f"/cases/{pid}/transfer", json=TRANSFER | {"to_agency": "jc-mk"}, headers=mara)
    assert back.status_code == 403
    history = (await cw.get(f"/cases/{pid}", headers=mara)).json()
    assert (history["version"], history["agency"], history["health_access"]) == (transferred_at, "jc-en", False)
    assert history["goals"] == []
    timeline = (await cw.get(f"/cases/{pid}/timeline", headers=mara)).json()
    assert timeline["events"][-1]["event_type"] == CaseTransferred.event_type
    assert (await cw.get(f"/cases/{pid}/health", headers=mara)).status_code == 403
    # a case reader of an agency that never ran it still gets "no such case"
    assert (await cw.get(f"/cases/{pid}", headers=stack.token(Role.CASE_MANAGER, "jc-unna"))).status_code == 404

    # the lists follow the case: EN's has it, MK's no longer
    await support.eventually(lambda: listed(stack, erik), lambda got: pid in got)
    await support.eventually(lambda: listed(stack, mara), lambda got: pid not in got)

    # intake follows: EN reads and acts on the participant, MK no longer sees them
    # (EN may read the participant before: the drv-exchange consent names it; MK's 404 is the move)
    await support.eventually(lambda: intake.get(f"/participants/{pid}", headers=mara), lambda r: r.status_code == 404)
    assert (await intake.get(f"/participants/{pid}", headers=erik)).status_code == 200
    monitoring = {"purpose": "monitoring", "granted_on": "2026-05-13", "form": "written"}
    assert (await intake.post(f"/participants/{pid}/consents", json=monitoring, headers=erik)).status_code == 201
    assert (await intake.post(f"/participants/{pid}/consents", json=monitoring, headers=mara)).status_code == 404
    person = await stack.runtime("intake").store.read_stream(f"participant-{pid}")
    assert [(e.event_type, e.agency) for e in person[-2:]] == [
        (ParticipantTransferred.event_type, "jc-mk"),
        (ConsentGranted.event_type, "jc-en"),
    ]

    # placement follows: the candidate is EN's now
    # (one read after the other: wait for both sides, not for EN's and then assume MK's)
    async def pools() -> tuple[bool, bool]:
        return pid in await pool(stack, officer_en), pid in await pool(stack, officer_mk)

    await support.eventually(pools, lambda seen: seen == (True, False))

    # reporting: Q1 (enrolled 2026-03-16) stays MK's; from Q2 (transferred 2026-05-12) on EN's
    async def quarters() -> dict[str, list[str]]:
        return {f"{a} {q}": await groups(stack, a, q) for a in ("jc-en", "jc-mk") for q in ("2026-Q1", "2026-Q2")}

    split = {"jc-en 2026-Q1": [], "jc-en 2026-Q2": ["jc-en"], "jc-mk 2026-Q1": ["jc-mk"], "jc-mk 2026-Q2": []}
    assert await support.eventually(quarters, lambda got: got == split) == split
