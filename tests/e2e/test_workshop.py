"""The Produktionswerkstatt on the real stack (issue #15 item 8, first half): a participant
enrolled in intake reaches placement through Kafka, joins a production order, and their hours
and attendance per day are shown per order and per participant, to the order's agency and the
participant's own agency only."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from shared.vocabulary import Role
from tests import support
from tests.e2e.conftest import Stack
from tests.e2e.test_placement import EMPLOYER
from tests.e2e.test_slice import refer_and_enrol

pytestmark = pytest.mark.e2e


def ok(r: httpx.Response, status: int = 200) -> Any:
    assert r.status_code == status, r.text
    return r.json()


async def test_participants_on_an_order_with_hours_and_attendance(stack: Stack) -> None:
    placement = stack.clients["placement"]
    officer = stack.token(Role.EMPLOYER_ACQUISITION, "jc-en", "officer-en")
    employer_id = ok(await placement.post("/employers", json=EMPLOYER, headers=officer), 201)["employer_id"]
    order = {"employer_id": employer_id, "description": "Kartons falten", "quantity": 500, "accepted_on": "2026-04-01"}
    order_id = ok(await placement.post("/production-orders", json=order, headers=officer), 201)["order_id"]
    base = f"/production-orders/{order_id}/participants"

    nobody = "00000000-0000-7000-8000-000000000000"
    unknown = await placement.post(f"{base}/{nobody}", json={"assigned_on": "2026-04-06"}, headers=officer)
    assert unknown.status_code == 404, unknown.text
    pid = await refer_and_enrol(stack)
    join = {"assigned_on": "2026-04-06"}
    # intake's enrolment reaches placement's workshop projection through Kafka
    await support.eventually(
        lambda: placement.post(f"{base}/{pid}", json=join, headers=officer), lambda r: r.status_code == 201, timeout=120
    )
    days = [("2026-04-06", "present", 5.5), ("2026-04-07", "excused", 0), ("2026-04-08", "absent", 0)]
    for on, attendance, hours in days:
        body = {"worked_on": on, "attendance": attendance, "hours": hours}
        ok(await placement.post(f"{base}/{pid}/attendance", json=body, headers=officer), 201)
    bad = await placement.post(
        f"{base}/{pid}/attendance",
        json={"worked_on": "2026-04-09", "attendance": "absent", "hours": 3},
        headers=officer,
    )
    assert bad.status_code == 422, bad.text
    assert bad.json()["errors"][0]["field"] == "hours"
    sanction = await placement.post(
        f"{base}/{pid}/attendance", json={"worked_on": "2026-04-09", "attendance": "sanctioned"}, headers=officer
    )
    assert sanction.status_code == 422, sanction.text

    async def by_order(headers: dict[str, str]) -> dict[str, Any]:
        return ok(await placement.get(base, headers=headers))  # type: ignore[no-any-return]

    view = await support.eventually(
        lambda: by_order(officer), lambda v: len(v["participants"]) == 1 and len(v["participants"][0]["days"]) == 3,
        timeout=120,
    )  # fmt: skip
    [row] = view["participants"]
    assert (row["participant_id"], row["hours"]) == (pid, 5.5)
    assert row["attendance"] == {"present": 1, "excused": 1, "absent": 1}
    # a partner agency sees the order, not who works on it; another project's agency not even the order
    assert (await by_order(stack.token(Role.EMPLOYER_ACQUISITION, "jc-mk", "officer-mk")))["participants"] == []
    outsider = stack.token(Role.EMPLOYER_ACQUISITION, "jc-unna", "officer-unna")
    assert (await placement.get(base, headers=outsider)).status_code == 403
    # the participant's own case manager sees their orders
    cm = stack.token(Role.CASE_MANAGER, "jc-en", "cm-anna")
    [mine] = ok(await placement.get(f"/participants/{pid}/production-orders", headers=cm))["orders"]
    assert (mine["order_id"], mine["hours"], mine["description"]) == (order_id, 5.5, "Kartons falten")
    assert (await placement.get(f"/participants/{pid}/production-orders", headers=outsider)).status_code == 404
    # the person's DPO sees the days in placement's subject access (never a candidate)
    dpo = stack.token(Role.DATA_PROTECTION_OFFICER, "jc-en", "dpo-en")
    held = ok(await placement.get(f"/candidates/{pid}/subject-access", headers=dpo))
    [order_days] = held["data"]["production_orders"]
    assert [d["attendance"] for d in order_days["days"]] == ["present", "excused", "absent"]
