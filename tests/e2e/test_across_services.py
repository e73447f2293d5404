"""The services together, through their HTTP APIs only: consent in intake, capacity profile in
casework, the candidate in placement, the job back in casework and in reporting's K2 figure,
and a withdrawn consent emptying placement's pool."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import httpx
import pytest

from shared.vocabulary import Role
from tests import support
from tests.e2e.conftest import Stack
from tests.e2e.test_slice import refer_and_enrol

pytestmark = pytest.mark.e2e


def ok(response: httpx.Response, status: int = 200) -> Any:
    assert response.status_code == status, response.text
    return response.json()


async def _no_identity_in_casework(stack: Stack) -> bool:
    rt = stack.runtime("casework")
    assert rt.pool is not None
    dump = b"".join(r["envelope"] for r in await rt.pool.fetch("SELECT envelope FROM events"))
    return b"Beispiel" not in dump


async def test_profile_to_job_to_k2_and_withdrawal_through_the_apis(stack: Stack) -> None:
    intake, casework, placement, reporting = (stack.clients[s] for s in support.SERVICES)
    cm = stack.token(Role.CASE_MANAGER, "jc-en", "cm-1")
    officer = stack.token(Role.EMPLOYER_ACQUISITION, "jc-en", "bak-1")
    lead = stack.token(Role.PROJECT_LEAD, "jc-en", "lead-1")
    pid = await refer_and_enrol(stack)

    await support.eventually(lambda: casework.get(f"/cases/{pid}", headers=cm), lambda r: r.status_code == 200)
    # casework shows the name by asking intake with the caller's rights; other agencies get 404
    person = ok(await casework.get(f"/cases/{pid}/person", headers=cm))
    assert person["identity"]["last_name"] == "Beispiel"
    stranger = stack.token(Role.CASE_MANAGER, "jc-mk", "cm-mk")
    assert (await casework.get(f"/cases/{pid}/person", headers=stranger)).status_code == 404
    assert await _no_identity_in_casework(stack)
    ok(await casework.post(f"/cases/{pid}/case-manager", json={"case_manager": "cm-1", "assigned_on": "2026-03-16"},
                           headers=cm))  # fmt: skip
    profile = {"max_hours_per_week": 30, "lifting": "light", "mental_load": "moderate", "night_work": False}
    ok(await casework.post(f"/cases/{pid}/capacity-profile", json={"recorded_on": "2026-04-01", "profile": profile},
                           headers=cm), 201)  # fmt: skip

    async def pool() -> set[str]:
        return {c["participant_id"] for c in ok(await placement.get("/candidates", headers=officer))}

    # no employer-disclosure consent yet: the profile stays in casework
    assert await pool() == set()
    consent = ok(await intake.post(f"/participants/{pid}/consents", headers=cm, json={
        "purpose": "employer-disclosure", "granted_on": "2026-04-02", "form": "written"}), 201)  # fmt: skip
    await support.eventually(pool, lambda ids: ids == {pid})
    candidate = ok(await placement.get(f"/candidates/{pid}", headers=officer))
    assert candidate["profile"]["max_hours_per_week"] == 30
    assert "reason" not in str(candidate).lower()  # capacity only, no diagnosis or referral reason

    company = {
        "company": "Wittener Logistik GmbH",
        "sector": "logistics",
        "size": "medium",
        "region": "Witten",
        "acquired_on": "2026-04-10",
        "offers_work_trials": True,
        "contact_persons": [{"name": "Jan Ohm", "phone": "02302 1234"}],
    }
    employer = ok(await placement.post("/employers", headers=officer, json=company), 201)
    before_the_job = datetime.now(UTC).isoformat()
    job = {"employer_id": employer["employer_id"], "started_on": "2026-06-01", "type": "social-insurance",
           "subsidised": False, "hours_per_week": 30}  # fmt: skip
    ok(await placement.post(f"/candidates/{pid}/employments", json=job, headers=officer), 201)

    # casework learns of the job and expects Nachbetreuung next
    case = await support.eventually(
        lambda: casework.get(f"/cases/{pid}", headers=cm),
        lambda r: r.json().get("expected_next_phase") == "nachbetreuung",
    )
    assert case.json()["phase"] == "einstieg"
    ok(await casework.post(f"/cases/{pid}/phase", json={"phase": "nachbetreuung", "entered_on": "2026-06-01"},
                           headers=cm))  # fmt: skip

    # an auditor reconstructs the case as it stood before the job
    auditor = stack.token(Role.AUDITOR, "jc-en", "audit-1")
    now = ok(await casework.get(f"/cases/{pid}", headers=auditor))
    then = ok(await casework.get(f"/cases/{pid}", params={"as_of": before_the_job}, headers=auditor))
    assert (now["phase"], then["phase"]) == ("nachbetreuung", "einstieg")
    assert then["expected_next_phase"] != "nachbetreuung"
    assert then["version"] < now["version"]
    early = await casework.get(f"/cases/{pid}", params={"as_of": "2020-01-01T00:00:00Z"}, headers=auditor)
    assert early.status_code == 404
    assert early.json()["errors"][0]["field"] == "as_of"

    # reporting counts it as a K2 integration in 2026-Q2
    async def integrations() -> Any:
        doc = ok(await reporting.get("/kpis", params={"period": "2026-Q2"}, headers=lead))
        return doc["quarters"]

    quarters = await support.eventually(integrations, lambda q: "'integrations': {'total': 1" in str(q))
    assert "2026-Q2" in str(quarters)

    # withdrawing employer-disclosure in intake empties placement's pool
    ok(await intake.post(f"/participants/{pid}/consents/{consent['consent_id']}/withdrawal",
                         json={"effective_on": "2026-06-15"}, headers=cm))  # fmt: skip
    await support.eventually(pool, lambda ids: ids == set())
    after = ok(await placement.get(f"/candidates/{pid}", headers=officer))
    assert (after["in_pool"], after["profile"]) == (False, None)  # the profile is gone
    assert len(after["employments"]) == 1  # the recorded job stays (K2, follow-ups)
