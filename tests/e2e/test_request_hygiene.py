"""Request hygiene (issue 12, part 4) over HTTP on the real stack: an Idempotency-Key is scoped
by agency, subject and route (before: by subject only, so a jc-mk user with jc-en's subject and
key received jc-en's stored answer, participant id included)."""

from __future__ import annotations

import pytest

from shared.vocabulary import Role
from tests.e2e.conftest import Stack
from tests.e2e.test_access import REFERRAL, ok

pytestmark = pytest.mark.e2e


async def test_an_idempotency_key_is_scoped_by_agency_subject_and_route(stack: Stack) -> None:
    intake = stack.clients["intake"]
    key = {"Idempotency-Key": "same-key"}
    en = stack.token(Role.CASE_MANAGER, "jc-en", "cm-1") | key
    mk = stack.token(Role.CASE_MANAGER, "jc-mk", "cm-1") | key  # same subject, another agency
    first = await ok(await intake.post("/referrals", json=REFERRAL, headers=en), 201)
    again = await ok(await intake.post("/referrals", json=REFERRAL, headers=en), 201)
    assert again["participant_id"] == first["participant_id"]  # a retry acts once
    theirs = await ok(await intake.post("/referrals", json=REFERRAL, headers=mk), 201)
    assert theirs["participant_id"] != first["participant_id"]
    meeting = {"held_on": "2026-02-05"}
    other_route = await intake.post(
        f"/participants/{first['participant_id']}/information-meeting", json=meeting, headers=en
    )
    assert other_route.status_code == 200, other_route.text  # the key on another route is another request
    assert (await intake.get(f"/participants/{theirs['participant_id']}", headers=mk)).status_code == 200
    assert (await intake.get(f"/participants/{first['participant_id']}", headers=mk)).status_code == 404
