"""Read-your-writes: a command's consistency token, and reads that wait for it (bounded)."""

from __future__ import annotations

import time

from shared.vocabulary import Role
from tests import support
from tests.e2e.conftest import Stack
from tests.e2e.test_journey import REFERRAL


async def test_reads_wait_for_the_command_and_say_when_they_are_behind(stack: Stack) -> None:
    intake, casework = stack.clients["intake"], stack.clients["casework"]
    cm = stack.token(Role.CASE_MANAGER, "jc-en", "cm-rw")
    referred = await intake.post("/referrals", json=REFERRAL, headers=cm)
    assert referred.status_code == 201
    pid = referred.json()["participant_id"]
    token = referred.headers["X-Consistency-Token"]
    assert token == f"intake:participant-{pid}:1"

    # a read with the token waits for the register (a projection fed through Kafka): once it says
    # current it lists the referral (on a busy machine a read may pass the 2 s bound: "behind")
    listed = await support.current(lambda: intake.get("/participants", headers=cm | {"X-Consistency-Token": token}))
    assert pid in {p["participant_id"] for p in listed.json()}

    checked = await intake.post(
        f"/participants/{pid}/eligibility",
        json={"checked_on": "2026-02-05", "voluntary": True, "willing_to_address_impairments": True},
        headers=cm,
    )
    token = checked.headers["X-Consistency-Token"]
    assert token.endswith(":2")
    row = await support.current(
        lambda: intake.get("/participants", params={"status": "referred"}, headers=cm | {"X-Consistency-Token": token})
    )
    assert next(p for p in row.json() if p["participant_id"] == pid)["eligible"] is True

    # a version nobody has written yet: the read answers after the bound, marked behind
    started = time.monotonic()
    ahead = await intake.get("/participants", headers=cm | {"X-Consistency-Token": token[:-1] + "99"})
    waited = time.monotonic() - started
    assert ahead.status_code == 200
    assert ahead.headers["X-Consistency"] == "behind"
    assert waited >= 2.0

    # casework consumes intake's topic (consent index): it waits for it too; a read without a
    # token carries no marker
    case_side = await support.current(lambda: casework.get("/caseload", headers=cm | {"X-Consistency-Token": token}))
    assert case_side.status_code == 200
    assert "X-Consistency" not in (await casework.get("/caseload", headers=cm)).headers

    bad = await intake.get("/participants", headers=cm | {"X-Consistency-Token": "nonsense"})
    assert bad.status_code == 422
    assert bad.json()["errors"][0]["field"] == "X-Consistency-Token"
