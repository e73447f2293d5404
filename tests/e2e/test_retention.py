"""Retention on the real stack: a participant whose period ran out is erased by the daily task
(actor system, reason retention) and is unreadable in intake and, via Kafka, in casework; a
held one is kept and listed as held until its hold ends; the DPO's list shows exactly the due
ones, to the caller's agency only."""

from __future__ import annotations

from datetime import date
from typing import Any

import httpx
import pytest

from shared.envelope import Envelope
from shared.vocabulary import Role
from tests import support
from tests.e2e.conftest import BUILDERS, Stack
from tests.e2e.test_slice import refer_and_enrol

pytestmark = pytest.mark.e2e


class Clock:
    def __init__(self, day: date) -> None:
        self.day = day

    def __call__(self) -> date:
        return self.day


async def ok(response: httpx.Response, status: int = 200) -> Any:
    assert response.status_code == status, response.text
    return response.json()


async def declined(stack: Stack, on: str) -> str:
    cm = stack.token(Role.CASE_MANAGER, "jc-en", "cm-1")
    intake = stack.clients["intake"]
    pid: str = (await ok(await intake.post("/referrals", json=support.REFERRAL, headers=cm), 201))["participant_id"]
    body = {"declined_on": on, "by": "participant", "reason": "moved to another town"}
    await ok(await intake.post(f"/participants/{pid}/decline", json=body, headers=cm))
    return pid


async def erasures(stack: Stack, pid: str) -> list[Envelope]:
    rt = stack.runtime("intake")
    rows = await rt.pool.fetch(
        "SELECT envelope FROM events WHERE stream_id = $1 AND event_type = 'ParticipantDataErased'",
        f"participant-{pid}",
    )
    return [Envelope.from_bytes(r["envelope"]) for r in rows]


async def test_the_daily_task_erases_what_expired_keeps_what_is_held_and_lists_both(stack: Stack) -> None:
    clock = Clock(date(2026, 6, 1))
    stack.runtime("intake").clock = clock
    intake, casework = stack.clients["intake"], stack.clients["casework"]
    cm = stack.token(Role.CASE_MANAGER, "jc-en", "cm-1")
    dpo = stack.token(Role.DATA_PROTECTION_OFFICER, "jc-en", "dpo")

    # project data of pro-aktiv: 3 months after the exit (jc-en's DPO sets it; an event, not code)
    rule = {"record_class": "project-data", "project": "pro-aktiv", "period_months": 3, "basis": "test: grant notice"}
    assert (await intake.post("/retention/rules", json=rule, headers=cm)).status_code == 403
    assert (await ok(await intake.post("/retention/rules", json=rule, headers=dpo)))["changed"] is True
    rules = await ok(await intake.get("/retention/rules", headers=dpo))
    assert {(r["record_class"], r["project"], r["period_months"], r["source"]) for r in rules["rules"]} == {
        ("project-data", None, 60, "default"),
        ("referral-not-enrolled", None, 6, "default"),
        ("project-data", "pro-aktiv", 3, "agency"),
    }

    exited = await refer_and_enrol(stack)  # exits on 2026-04-01: due 2026-07-01
    await support.eventually(lambda: casework.get(f"/cases/{exited}", headers=cm), lambda r: r.status_code == 200)
    exit_body = {"exited_on": "2026-04-01", "reason": "integrated-into-work"}
    await ok(await casework.post(f"/cases/{exited}/exit", json=exit_body, headers=cm))
    held = await declined(stack, "2026-02-03")  # due 2026-08-03, held until 2026-10-01
    later = await declined(stack, "2026-05-20")  # due 2026-11-20
    hold = {"until": "2026-10-01", "reason": "proceedings at the Sozialgericht Dortmund"}
    hold_id = (await ok(await intake.post(f"/participants/{held}/legal-holds", json=hold, headers=dpo), 201))["hold_id"]

    clock.day = date(2026, 8, 10)

    async def upcoming(headers: dict[str, str]) -> Any:
        return await ok(await intake.get("/retention/upcoming", params={"within_days": 30}, headers=headers))

    listed = await support.eventually(
        lambda: upcoming(dpo), lambda u: [d["participant_id"] for d in u["due"]] == [exited] and u["held"] != []
    )
    [due] = listed["due"]
    assert (due["record_class"], due["trigger_on"], due["due_on"]) == ("project-data", "2026-04-01", "2026-07-01")
    [kept] = listed["held"]
    assert (kept["participant_id"], kept["due_on"], kept["hold"]["until"]) == (held, "2026-08-03", "2026-10-01")
    assert kept["hold"]["reason"] == hold["reason"]  # opened for the DPO, sealed on the topic
    assert later not in str(listed)
    # another agency's DPO sees none of them; other roles may not look
    mk = await upcoming(stack.token(Role.DATA_PROTECTION_OFFICER, "jc-mk", "dpo-mk"))
    assert mk["due"] == []
    assert mk["held"] == []
    assert (await intake.get("/retention/upcoming", headers=cm)).status_code == 403

    run = await ok(await intake.post("/admin/retention", json={}, headers=dpo))
    assert run["erased"] == [exited]
    assert run["held"] == [held]
    [erasure] = await erasures(stack, exited)
    assert (erasure.actor.id, erasure.actor.role) == ("system", "service")
    assert erasure.payload["legal_basis"].startswith("retention: project-data, 3 months after 2026-04-01")
    assert (await intake.get(f"/participants/{exited}", headers=cm)).status_code == 404
    await support.eventually(lambda: casework.get(f"/cases/{exited}", headers=cm), lambda r: r.status_code == 404)
    assert (await intake.get(f"/participants/{held}", headers=dpo)).status_code == 200

    # running twice erases once; the held one stays held
    again = await ok(await intake.post("/admin/retention", json={}, headers=dpo))
    assert again["erased"] == []
    assert again["held"] == [held]
    assert len(await erasures(stack, exited)) == 1
    # a drill may not run ahead of today
    future = await intake.post("/admin/retention", json={"today": "2026-10-01"}, headers=dpo)
    assert future.status_code == 422
    assert "today" in future.text

    # the hold ends by its end date: erased on that day
    clock.day = date(2026, 10, 1)
    after = await ok(await intake.post("/admin/retention", json={}, headers=dpo))
    assert after["erased"] == [held]
    assert (await intake.get(f"/participants/{held}", headers=dpo)).status_code == 404
    assert (
        await intake.post(f"/participants/{held}/legal-holds/{hold_id}/lifting", json={}, headers=dpo)
    ).status_code == 404
    await support.eventually(lambda: upcoming(dpo), lambda u: u["due"] == [] and u["held"] == [])


async def test_concurrent_runs_in_two_processes_erase_once(stack: Stack) -> None:
    """Two intake processes on one database: both tasks find the record due, one append wins."""
    import asyncio

    clock = Clock(date(2026, 9, 1))
    stack.runtime("intake").clock = clock
    pid = await declined(stack, "2026-02-03")
    twin = BUILDERS["intake"](
        clock=clock, **{**stack.overrides("intake"), "relay_enabled": False, "projections_enabled": False}
    )
    async with twin.router.lifespan_context(twin):
        first, second = stack.apps["intake"].state.retention, twin.state.retention
        await support.eventually(
            lambda: first.port.records("jc-en"), lambda rs: any(r.participant_id == pid for r in rs)
        )
        runs = await asyncio.gather(first.run_once(agency="jc-en"), second.run_once(agency="jc-en"))
    assert sorted(len(r.erased) for r in runs) == [0, 1]
    assert len(await erasures(stack, pid)) == 1
