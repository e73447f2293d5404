"""Absurd or poisonous input is refused at the edge (issue 11, item 1), on the real stack: each
of these was accepted (or answered 500) before, and stalled or flooded the read side."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest

from shared.vocabulary import Role
from tests import support
from tests.e2e.conftest import Stack
from tests.e2e.test_slice import refer_and_enrol
from tests.support import REFERRAL

pytestmark = pytest.mark.e2e

MiB = 1 << 20


def fields(response: httpx.Response) -> set[str]:
    """The fields a 422 names, in the documented error format."""
    body: dict[str, Any] = response.json()
    assert isinstance(body["error"], str)
    return {e["field"] for e in body.get("errors", [])}


async def open_case(stack: Stack) -> str:
    pid = await refer_and_enrol(stack)
    cm = stack.token(Role.CASE_MANAGER, "jc-en")
    await support.eventually(
        lambda: stack.clients["casework"].get(f"/cases/{pid}", headers=cm), lambda r: r.status_code == 200
    )
    assignment = {"case_manager": "user-1", "assigned_on": "2026-03-16"}
    r = await stack.clients["casework"].post(f"/cases/{pid}/case-manager", json=assignment, headers=cm)
    assert r.status_code == 200, r.text
    return pid


async def test_absurd_and_poisonous_bodies_are_422_naming_the_field(stack: Stack) -> None:
    cm = stack.token(Role.CASE_MANAGER, "jc-en")
    intake = stack.clients["intake"]
    ancient = await intake.post("/referrals", json={**REFERRAL, "received_on": "0001-01-01"}, headers=cm)
    assert (ancient.status_code, fields(ancient)) == (422, {"received_on"}), ancient.text
    unborn = {**REFERRAL, "identity": {**REFERRAL["identity"], "birth_date": "2999-01-01"}}  # type: ignore[dict-item]
    born = await intake.post("/referrals", json=unborn, headers=cm)
    assert (born.status_code, fields(born)) == (422, {"identity.birth_date"}), born.text
    nul = await intake.post("/referrals", json={**REFERRAL, "reason": "back\u0000pain"}, headers=cm)
    assert (nul.status_code, fields(nul)) == (422, {"reason"}), nul.text
    tabbed_name = {**REFERRAL, "identity": {**REFERRAL["identity"], "last_name": "Bei\tspiel"}}  # type: ignore[dict-item]
    tab = await intake.post("/referrals", json=tabbed_name, headers=cm)
    assert (tab.status_code, fields(tab)) == (422, {"identity.last_name"}), tab.text
    multi_line = await intake.post("/referrals", json={**REFERRAL, "reason": "back pain\n\tsince 2019"}, headers=cm)
    assert multi_line.status_code == 201, multi_line.text  # tab and newline are fine in free text


async def test_nul_in_a_case_note_and_a_huge_cost_are_refused(stack: Stack) -> None:
    pid = await open_case(stack)
    cm = stack.token(Role.CASE_MANAGER, "jc-en")
    casework = stack.clients["casework"]
    note = await casework.post(
        f"/cases/{pid}/notes", json={"written_on": "2026-03-20", "text": "called\u0000back"}, headers=cm
    )
    assert (note.status_code, fields(note)) == (422, {"text"}), note.text
    intervention = {"category": "employment-promotion", "provider": "Bildungswerk", "planned_start": "2026-04-01"}
    costly = await casework.post(f"/cases/{pid}/interventions", json={**intervention, "cost_eur": 1e308}, headers=cm)
    assert (costly.status_code, fields(costly)) == (422, {"cost_eur"}), costly.text
    fine = await casework.post(f"/cases/{pid}/notes", json={"written_on": "2026-03-20", "text": "ok"}, headers=cm)
    assert fine.status_code == 201, fine.text


async def test_nul_in_query_and_path_parameters_is_422_not_500(stack: Stack) -> None:
    cm = stack.token(Role.CASE_MANAGER, "jc-en")
    lead = stack.token(Role.PROJECT_LEAD, "jc-en")
    register = await stack.clients["intake"].get("/participants", params={"project": "pro\u0000aktiv"}, headers=cm)
    assert (register.status_code, fields(register)) == (422, {"project"}), register.text
    kpis = await stack.clients["reporting"].get("/kpis", params={"project": "x\u0000"}, headers=lead)
    assert (kpis.status_code, fields(kpis)) == (422, {"project"}), kpis.text
    employers = await stack.clients["placement"].get("/employers", params={"region": "\u0000"}, headers=cm)
    assert (employers.status_code, fields(employers)) == (422, {"region"}), employers.text
    doomsday = await stack.clients["placement"].get("/follow-ups/due", params={"today": "9999-12-31"}, headers=cm)
    assert (doomsday.status_code, fields(doomsday)) == (422, {"today"}), doomsday.text  # was 500 (date overflow)
    ancient = await stack.clients["casework"].get(
        "/audit/health-reads", params={"since": "0001-01-01T00:00:00+23:59"}, headers=cm
    )
    assert (ancient.status_code, fields(ancient)) == (422, {"since"}), ancient.text
    report = await stack.clients["reporting"].get("/reports/2025-Q1%00", headers=lead)
    assert (report.status_code, fields(report)) == (422, {"quarter"}), report.text


async def test_unauthenticated_body_is_401_before_it_is_read(stack: Stack) -> None:
    sent = 0

    async def huge() -> AsyncIterator[bytes]:
        nonlocal sent
        for _ in range(16):  # 16 MiB, like the 15.7 MB body of the report
            sent += MiB
            yield b" " * MiB

    r = await stack.clients["intake"].post("/referrals", content=huge(), headers={"Content-Type": "application/json"})
    assert r.status_code == 401, r.text
    assert r.json() == {"error": "missing bearer token"}
    assert sent <= MiB  # at most the transport's first chunk: nothing was parsed


async def test_bodies_past_the_cap_are_413(stack: Stack) -> None:
    cm = stack.token(Role.CASE_MANAGER, "jc-en")
    intake = stack.clients["intake"]
    declared = await intake.post(
        "/referrals", content=b" " * (MiB + 1), headers={**cm, "Content-Type": "application/json"}
    )
    assert (declared.status_code, type(declared.json()["error"])) == (413, str), declared.text

    async def chunked() -> AsyncIterator[bytes]:  # no Content-Length: the read is stopped at the cap
        for _ in range(3):
            yield b" " * (MiB // 2 + 1)

    streamed = await intake.post("/referrals", content=chunked(), headers={**cm, "Content-Type": "application/json"})
    assert (streamed.status_code, type(streamed.json()["error"])) == (413, str), streamed.text
    ok = await intake.post("/referrals", json=REFERRAL, headers=cm)
    assert ok.status_code == 201, ok.text
