"""The staff directory on the real stack (issue 12, part 3): intake's administrator registers
staff, every service learns them from intake's events, and with the directory required a team
member must be known staff of a project partner and a token's subject known staff of its
agency (before: team members were free-text ids from any agency, and any subject was let in)."""

from __future__ import annotations

import functools
from datetime import date
from typing import Any

import httpx
import pytest

from services.portal.auth import STAFF_ROLES, demo_subject
from shared.vocabulary import AGENCIES, Role
from tests import support
from tests.e2e.conftest import Stack
from tests.e2e.test_access import enrolled, ok
from tests.e2e.test_demo import load_demo

pytestmark = pytest.mark.e2e

SINCE = "2026-01-05"
STAFF: dict[str, list[tuple[str, Role]]] = {
    "jc-en": [
        ("admin-en", Role.ADMINISTRATOR),
        ("cm-anna", Role.CASE_MANAGER),
        ("cm-bert", Role.CASE_MANAGER),
        ("psy-paula", Role.PSYCHOLOGIST),
    ],
    "drv-westfalen": [("admin-drv", Role.ADMINISTRATOR), ("drv-dora", Role.DRV_ADVISER)],
    "jc-unna": [("admin-unna", Role.ADMINISTRATOR), ("psy-uwe", Role.PSYCHOLOGIST)],
}
PROJECT = {"jc-en": "pro-aktiv", "drv-westfalen": "pro-aktiv", "jc-unna": "pluspunkt"}


async def register(stack: Stack, agency: str, subject: str, role: Role) -> httpx.Response:
    admin = next(s for s, r in STAFF[agency] if r is Role.ADMINISTRATOR)
    body = {"subject": subject, "name": f"Name of {subject}", "roles": [role.value], "projects": [PROJECT[agency]]}
    headers = stack.token(Role.ADMINISTRATOR, agency, admin)
    return await stack.clients["intake"].post("/staff", json=body | {"registered_on": SINCE}, headers=headers)


async def known(stack: Stack, agency: str, subject: str, role: Role) -> None:
    """Until intake's and casework's staff projections have caught up with intake's events."""
    headers = stack.token(role, agency, subject)
    for service, path in (("intake", "/participants"), ("casework", "/cases")):
        probe = functools.partial(stack.clients[service].get, path, headers=headers)
        await support.eventually(probe, lambda r: r.status_code == 200)


async def administered(stack: Stack, agency: str) -> None:
    """Until both services know the agency's administrator: an unregistered administrator is
    let in only while none is known, so its 401 shows the bootstrap has closed there."""
    headers = stack.token(Role.ADMINISTRATOR, agency, f"admin-probe-{agency}")
    for service, path in (("intake", "/participants"), ("casework", "/cases")):
        probe = functools.partial(stack.clients[service].get, path, headers=headers)
        await support.eventually(probe, lambda r: r.status_code == 401)


async def staffed(stack: Stack) -> None:
    """Every agency's administrator first (without a known administrator, an agency's
    administrators are let in); then each member is known everywhere."""
    for agency, people in STAFF.items():
        for subject, role in people:
            await ok(await register(stack, agency, subject, role), 201)
    for agency, people in STAFF.items():
        await administered(stack, agency)
        for subject, role in people:
            if role is not Role.ADMINISTRATOR:
                await known(stack, agency, subject, role)


async def test_team_members_must_be_known_staff_of_a_project_partner(staffed_stack: Stack) -> None:
    """Registered staff join the team; an unknown id, a jc-unna psychologist on a pro-aktiv case,
    a role the member does not hold, and an unknown hand-over target are 422 naming the field."""
    stack = staffed_stack
    await staffed(stack)
    case, _ = await enrolled(stack)  # cm-anna manages, psy-paula joined the team: both known
    team = f"{case.c}/team"

    async def refused(path: str, body: dict[str, Any]) -> str:
        r = await case.casework.post(path, json=body, headers=case.cm)
        assert r.status_code == 422, r.text
        return str(r.json()["errors"][0]["field"])

    day = {"added_on": "2026-02-20"}
    assert await refused(team, {"member": "psy-ghost", "role": "psychologist"} | day) == "member"
    assert await refused(team, {"member": "psy-uwe", "role": "psychologist", "agency": "jc-unna"} | day) == "agency"
    assert await refused(team, {"member": "psy-uwe", "role": "psychologist"} | day) == "member"  # not jc-en's
    assert await refused(team, {"member": "cm-bert", "role": "psychologist"} | day) == "member"  # not his role
    drv = {"member": "drv-dora", "role": "drv-adviser", "agency": "drv-westfalen"} | day
    await ok(await case.casework.post(team, json=drv, headers=case.cm), 201)  # a partner of pro-aktiv
    assign = {"case_manager": "psy-paula", "assigned_on": "2026-02-20"}
    assert await refused(f"{case.c}/case-manager", assign) == "case_manager"
    handover = {"handed_over_on": "2026-02-21"}
    assert await refused(f"{case.c}/handover", {"to_case_manager": "cm-nobody"} | handover) == "to_case_manager"
    accepted = {"to_case_manager": "cm-bert"} | handover
    await ok(await case.casework.post(f"{case.c}/handover", json=accepted, headers=case.cm))


async def test_a_token_must_name_current_staff_of_its_agency_with_its_role(staffed_stack: Stack) -> None:
    """401 for an unknown subject, a role the member does not hold, and once the member has left
    (in intake, which keeps the directory, and in casework, which learns it from intake)."""
    stack = staffed_stack
    intake, casework = stack.clients["intake"], stack.clients["casework"]
    assert (await intake.get("/staff", headers=stack.token(Role.ADMINISTRATOR, "jc-en", "admin-en"))).status_code == 200
    await staffed(stack)

    stranger = stack.token(Role.CASE_MANAGER, "jc-en", "cm-unknown")
    second_admin = stack.token(Role.ADMINISTRATOR, "jc-en", "admin-two")  # the bootstrap is closed
    wrong_role = stack.token(Role.CASE_MANAGER, "jc-en", "psy-paula")
    other_agency = stack.token(Role.PSYCHOLOGIST, "jc-mk", "psy-paula")  # jc-mk has no psy-paula
    for headers in (stranger, second_admin, wrong_role, other_agency):
        for client, path in ((intake, "/participants"), (casework, "/cases")):
            r = await client.get(path, headers=headers)
            assert r.status_code == 401, (path, r.text)
    body = {"purpose": "participation", "granted_on": "2026-02-09", "form": "written"}
    posted = await intake.post("/referrals", json=body, headers=stranger)
    assert posted.status_code == 401, posted.text  # a command too, before anything is written

    psy = stack.token(Role.PSYCHOLOGIST, "jc-en", "psy-paula")
    assert (await casework.get("/cases", headers=psy)).status_code == 200
    admin = stack.token(Role.ADMINISTRATOR, "jc-en", "admin-en")
    departure = {"left_on": date.today().isoformat()}
    left = await ok(await intake.post("/staff/psy-paula/departure", json=departure, headers=admin))
    assert left["status"] == "left"
    for client, path in ((intake, "/participants"), (casework, "/cases")):
        await support.eventually(functools.partial(client.get, path, headers=psy), lambda r: r.status_code == 401)

    detail = await ok(await intake.get("/staff/psy-paula", headers=admin))
    assert (detail["name"], detail["status"], detail["roles"]) == ("Name of psy-paula", "left", ["psychologist"])
    listed = {m["subject"]: m["status"] for m in await ok(await intake.get("/staff", headers=admin))}
    assert listed == {"admin-en": "active", "cm-anna": "active", "cm-bert": "active", "psy-paula": "left"}


async def test_the_demo_and_the_portals_dev_users_work_with_the_directory_required(staffed_stack: Stack) -> None:
    """``make up`` runs with the directory required: the demo registers its users first (the
    portal's dev login users among them), then its journeys pass the team rules."""
    stack = staffed_stack
    everyone = await load_demo().populate(stack.clients["intake"], stack.clients["casework"], stack.token, per_agency=4)
    assert {p.stage for p in everyone} == {"referred", "declined", "withdrawn", "einstieg"}
    for agency in AGENCIES:
        for role in STAFF_ROLES:
            headers = stack.token(role, agency, demo_subject(role, agency))
            r = await stack.clients["intake"].get("/staff/nobody", headers=headers)
            assert r.status_code != 401, (role, agency, r.text)  # known staff: 403 or 404, never 401
