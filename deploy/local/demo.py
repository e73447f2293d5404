"""Demo data for `make up`: the demo staff of every agency (the portal's dev login users; the
staff directory is required), then participants of all four agencies and both projects at various
points of the journey, created through the intake and casework HTTP APIs.

Every POST carries a deterministic Idempotency-Key, so running the script twice changes
nothing. Employers, placements and job starts come from `demo_placement.py` (placement).
"""

from __future__ import annotations

import asyncio
import os
import random
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

import httpx

from shared.auth import issue_token, signing_keys
from shared.settings import load_settings
from shared.vocabulary import AGENCIES, PROJECTS, Role

INTAKE = os.environ.get("INTAKE_URL", "http://127.0.0.1:8001")
CASEWORK = os.environ.get("CASEWORK_URL", "http://127.0.0.1:8002")
# How long to wait for another service to catch up (through Kafka) before giving up.
STAFF_WAIT_S = 120.0
CASE_WAIT_S = 120.0

FIRST = ["Anna", "Mehmet", "Katarzyna", "Jonas", "Fatma", "Dirk", "Olena", "Sven", "Ayse", "Petra", "Lukas", "Irina"]
LAST = ["Schulte", "Yilmaz", "Nowak", "Becker", "Demir", "Hoffmann", "Kovalenko", "Krüger", "Arslan", "Wagner"]
TOWNS = {
    "jc-en": ["Witten", "Hattingen", "Schwelm", "Gevelsberg"],
    "jc-mk": ["Lüdenscheid", "Iserlohn", "Menden", "Altena"],
    "jc-unna": ["Unna", "Kamen", "Lünen", "Schwerte"],
    "drv-westfalen": ["Münster", "Hagen", "Dortmund", "Bochum"],
}
REASONS = [
    "chronic back pain, long absence from work",
    "depressive episode, social withdrawal",
    "addiction history, stabilised for 6 months",
    "anxiety disorder, panic attacks in crowded places",
    "after cardiac rehabilitation, reduced stamina",
]
# How far each participant gets: intake stages first, then casework phases.
STAGES = [
    "referred",
    "declined",
    "withdrawn",
    "einstieg",
    "clearing",
    "stabilisierung",
    "interrupted",
    "produktionswerkstatt",
    "stellensuche",
    "exited",
]
AGENCY_PROJECTS = [
    ("pro-aktiv", "jc-en"),
    ("pro-aktiv", "jc-mk"),
    ("pro-aktiv", "drv-westfalen"),
    ("pluspunkt", "jc-unna"),
]
PROFILES = [
    {"max_hours_per_week": 20, "lifting": "light", "mental_load": "moderate", "adaptations": ["quiet workplace"]},
    {"max_hours_per_week": 30, "lifting": "moderate", "mental_load": "light", "shift_work": True},
    {
        "max_hours_per_week": 15,
        "lifting": "none",
        "standing": "light",
        "mental_load": "light",
        "customer_contact": False,
    },
]

Headers = Callable[[Role, str, str], dict[str, str]]


def _yearly(first: int, last: int, per_year: dict[str, float]) -> list[dict[str, Any]]:
    return [{"year": y, "category": c, "amount_eur": a} for y in range(first, last + 1) for c, a in per_year.items()]


# The two reference projects (DOMAIN.md), configured through casework's API like any other:
# Pro Aktiv's 984 participants (what its first run reached) are this run's target, its grant
# 11.7 M EUR over five years, 50 cases per guide; Pluspunkt plans about 300 on 4.1 M EUR and
# has no cap. The split of each grant into categories is illustrative.
REFERENCE_PROJECTS: dict[str, dict[str, Any]] = {
    "pro-aktiv": {
        "coordinating_agency": "jc-en",
        "partner_agencies": ["jc-mk", "drv-westfalen"],
        "starts_on": "2025-01-01",
        "ends_on": "2029-12-31",
        "participant_target": 984,
        "budget": _yearly(
            2025,
            2029,
            {
                "personnel": 1_600_000,
                "employment-promotion": 400_000,
                "therapeutic": 200_000,
                "rehabilitative": 140_000,
            },
        ),
        "caseload_cap": 50,
        "info_meeting_required": True,
    },
    "pluspunkt": {
        "coordinating_agency": "jc-unna",
        "partner_agencies": [],
        "starts_on": "2025-01-01",
        "ends_on": "2029-12-31",
        "participant_target": 300,
        "budget": _yearly(2025, 2029, {"personnel": 600_000, "employment-promotion": 150_000, "therapeutic": 70_000}),
        "caseload_cap": None,
        "info_meeting_required": True,
    },
}


async def configure_projects(casework: httpx.AsyncClient, headers: Headers, on: date) -> None:
    """Each reference project, set by an administrator of its coordinating agency."""
    for code, plan in REFERENCE_PROJECTS.items():
        agency = plan["coordinating_agency"]
        r = await casework.post(
            f"/projects/{code}/configuration",
            json=plan | {"configured_on": on.isoformat()},
            headers=headers(Role.ADMINISTRATOR, agency, f"demo-admin-{agency}") | {"Idempotency-Key": f"demo-{code}"},
        )
        if r.status_code != 200:
            raise RuntimeError(f"configuring {code}: {r.status_code} {r.text}")


def make_headers() -> Headers:
    s = load_settings("demo")

    def headers(role: Role, agency: str, subject: str) -> dict[str, str]:
        token = issue_token(subject=subject, role=role, agency=agency, keys=signing_keys(s))
        return {"Authorization": f"Bearer {token}"}

    return headers


@dataclass
class Person:
    key: str
    project: str
    agency: str
    stage: str
    received: date
    pid: str = ""


class Demo:
    def __init__(self, intake: httpx.AsyncClient, casework: httpx.AsyncClient, headers: Headers) -> None:
        self.intake = intake
        self.casework = casework
        self.headers = headers

    def staff(self, agency: str, role: Role) -> tuple[dict[str, str], str]:
        subject = f"demo-{role.value}-{agency}"
        return self.headers(role, agency, subject), subject

    async def post(
        self, client: httpx.AsyncClient, path: str, body: dict[str, Any], headers: dict[str, str], key: str
    ) -> dict[str, Any]:
        r = await client.post(path, json=body, headers=headers | {"Idempotency-Key": key})
        if r.status_code >= 400:
            raise RuntimeError(f"POST {path} -> {r.status_code}: {r.text}")
        return r.json()  # type: ignore[no-any-return]

    async def register_staff(self, agency: str) -> list[tuple[str, Role]]:
        """The agency's demo administrator registers itself first (an empty directory accepts
        its administrators), then a demo user per role (the portal's dev login users) and the
        placement demo's officer, so the demo works with the staff directory required."""
        admin, admin_id = self.staff(agency, Role.ADMINISTRATOR)
        projects = [project for project, agencies in PROJECTS.items() if agency in agencies]
        since = (date.today() - timedelta(days=500)).isoformat()
        people = [(admin_id, Role.ADMINISTRATOR)]
        people += [(f"demo-{r.value}-{agency}", r) for r in Role if r not in (Role.SERVICE, Role.ADMINISTRATOR)]
        people.append((f"demo-bak-{agency}", Role.EMPLOYER_ACQUISITION))
        for subject, role in people:
            body = {"subject": subject, "name": f"Demo {role.value} {agency}", "roles": [role.value]}
            body |= {"projects": projects, "registered_on": since}
            await self.post(self.intake, "/staff", body, admin, f"staff-{agency}-{subject}")
        return people

    async def wait_for_staff(self, agency: str, people: list[tuple[str, Role]]) -> None:
        """Until intake and casework both know every registered person: each service builds its
        ``staff`` projection from intake's staff events on its own consumer, so one person known
        in one service says nothing of another person or the other service. Any answer but 401
        means known (403 is the route's access refusing a known person)."""
        for subject, role in people:
            who = self.headers(role, agency, subject)
            for client, path in ((self.intake, f"/staff/{subject}"), (self.casework, "/cases")):
                deadline = time.monotonic() + STAFF_WAIT_S
                while (await client.get(path, headers=who)).status_code == 401:
                    if time.monotonic() > deadline:
                        raise RuntimeError(f"{client.base_url} does not know {subject} of {agency}")
                    await asyncio.sleep(0.1)

    async def intake_journey(self, p: Person, rng: random.Random) -> None:
        role = Role.DRV_ADVISER if p.agency == "drv-westfalen" and rng.random() < 0.5 else Role.CASE_MANAGER
        cm, _ = self.staff(p.agency, role)
        k = p.key
        birth = date(rng.randint(1966, 2003), rng.randint(1, 12), rng.randint(1, 28))
        street = rng.choice(["Hauptstr.", "Bahnhofstr.", "Ringstr."])
        referral = {
            "project": p.project,
            "received_on": p.received.isoformat(),
            "sex": rng.choice(["female", "male", "female", "male", "diverse"]),
            "identity": {
                "first_name": rng.choice(FIRST),
                "last_name": rng.choice(LAST),
                "birth_date": birth.isoformat(),
                "address": f"{street} {rng.randint(1, 80)}, {rng.choice(TOWNS[p.agency])}",
                "phone": f"0{rng.randint(2300, 2399)} {rng.randint(100000, 999999)}",
            },
            "reason": rng.choice(REASONS),
        }
        p.pid = (await self.post(self.intake, "/referrals", referral, cm, f"{k}-ref"))["participant_id"]
        base = f"/participants/{p.pid}"
        if p.stage == "referred":
            return
        day = p.received + timedelta(days=7)
        await self.post(self.intake, f"{base}/information-meeting", {"held_on": day.isoformat()}, cm, f"{k}-info")
        if p.stage == "withdrawn":
            body = {"withdrawn_on": day.isoformat(), "reason": "moved to another district"}
            await self.post(self.intake, f"{base}/withdrawal", body, cm, f"{k}-wd")
            return
        voluntary = p.stage != "declined"
        check = {
            "checked_on": day.isoformat(),
            "voluntary": voluntary,
            "willing_to_address_impairments": rng.random() < 0.8,
            "declined_lta": True,
            "findings": "motivated, wants to work again" if voluntary else "does not want to take part",
        }
        await self.post(self.intake, f"{base}/eligibility", check, cm, f"{k}-elig")
        if p.stage == "declined":
            body = {"declined_on": day.isoformat(), "by": "participant", "reason": "does not want to take part"}
            await self.post(self.intake, f"{base}/decline", body, cm, f"{k}-decl")
            return
        for purpose, extra in (
            ("participation", {}),
            ("monitoring", {"expires_on": (day + timedelta(days=rng.choice([200, 400, 800]))).isoformat()}),
            ("medical-release", {"scope": rng.choice(["Dr. Weber, Hagen", "LWL-Klinik Dortmund", "Dr. Aydin, Unna"])}),
        ):
            body = {"purpose": purpose, "granted_on": day.isoformat(), "form": "written", **extra}
            await self.post(self.intake, f"{base}/consents", body, cm, f"{k}-c-{purpose}")
        if p.project == "pro-aktiv" and rng.random() < 0.7:
            body = {"purpose": "drv-exchange", "granted_on": day.isoformat(), "form": "written"}
            await self.post(self.intake, f"{base}/consents", body, cm, f"{k}-c-drv")
        start = day + timedelta(days=7)
        await self.post(self.intake, f"{base}/enrolment", {"start_date": start.isoformat()}, cm, f"{k}-enrol")

    async def wait_for_case(self, p: Person) -> None:
        """Until casework has opened the case (from intake's enrolment, through Kafka): a
        deadline, not a number of tries, and a generous one (a busy machine, many at once)."""
        cm, _ = self.staff(p.agency, Role.CASE_MANAGER)
        deadline = time.monotonic() + CASE_WAIT_S
        while time.monotonic() < deadline:
            r = await self.casework.get(f"/cases/{p.pid}", headers=cm)
            if r.status_code == 200:
                return
            await asyncio.sleep(0.1)
        raise RuntimeError(f"case of {p.pid} did not open within {CASE_WAIT_S:.0f} s")

    async def casework_journey(self, p: Person, rng: random.Random) -> None:
        cm, cm_id = self.staff(p.agency, Role.CASE_MANAGER)
        ot, _ = self.staff(p.agency, Role.OCCUPATIONAL_THERAPIST)
        psy, _ = self.staff(p.agency, Role.PSYCHOLOGIST)
        fin, _ = self.staff(p.agency, Role.FINANCIAL_ADVISER)
        k, c = p.key, f"/cases/{p.pid}"
        day = p.received + timedelta(days=14)

        async def go(path: str, body: dict[str, Any], headers: dict[str, str], key: str) -> dict[str, Any]:
            return await self.post(self.casework, f"{c}{path}", body, headers, f"{k}-{key}")

        await go("/case-manager", {"case_manager": cm_id, "assigned_on": day.isoformat()}, cm, "cm")
        for role in (Role.OCCUPATIONAL_THERAPIST, Role.PSYCHOLOGIST, Role.FINANCIAL_ADVISER, Role.EMPLOYER_ACQUISITION):
            body = {"member": f"demo-{role.value}-{p.agency}", "role": role.value, "added_on": day.isoformat()}
            await go("/team", body, cm, f"team-{role.value}")
        if p.project == "pro-aktiv" and p.agency != "drv-westfalen":
            body = {
                "member": "demo-drv-adviser-drv-westfalen",
                "role": "drv-adviser",
                "agency": "drv-westfalen",
                "added_on": day.isoformat(),
            }
            await go("/team", body, cm, "team-drv")
        appt = day + timedelta(days=3)
        a = await go(
            "/appointments",
            {"scheduled_for": appt.isoformat(), "with_member": cm_id, "kind": "consultation"},
            cm,
            "appt1",
        )
        await go(
            f"/appointments/{a['appointment_id']}/outcome", {"on": appt.isoformat(), "attended": True}, cm, "appt1-out"
        )
        goal = await go(
            "/goals",
            {
                "set_on": day.isoformat(),
                "text": "regular daily structure",
                "target_date": (day + timedelta(days=120)).isoformat(),
            },
            cm,
            "goal1",
        )
        await go(
            "/cooperation-plan",
            {
                "updated_on": day.isoformat(),
                "steps": ["weekly talk with the case manager", "clearing with the team"],
                "review_on": (day + timedelta(days=90)).isoformat(),
            },
            cm,
            "plan1",
        )
        order = ["einstieg", "clearing", "stabilisierung", "produktionswerkstatt", "stellensuche"]
        target = {"interrupted": "stabilisierung", "exited": rng.choice(order[1:])}.get(p.stage, p.stage)
        for phase in order[1 : order.index(target) + 1]:
            day += timedelta(days=rng.randint(20, 45))
            await go("/phase", {"phase": phase, "entered_on": day.isoformat()}, cm, f"phase-{phase}")
            if phase == "clearing":
                await go(
                    "/assessments",
                    {
                        "kind": "clearing",
                        "completed_on": (day + timedelta(days=10)).isoformat(),
                        "findings": "resilience reduced, good manual skills",
                    },
                    ot,
                    "assess",
                )
                await go(
                    "/capacity-profile",
                    {"recorded_on": (day + timedelta(days=12)).isoformat(), "profile": rng.choice(PROFILES)},
                    ot,
                    "profile",
                )
            if phase == "stabilisierung":
                iv = await go(
                    "/interventions",
                    {
                        "category": rng.choice(["therapeutic", "psychosocial-counselling", "addiction-counselling"]),
                        "provider": "Beratungsstelle vor Ort",
                        "planned_start": day.isoformat(),
                        "cost_eur": rng.choice([600, 1200, 2400]),
                        "details": "weekly sessions",
                    },
                    psy,
                    "iv1",
                )
                await go(
                    f"/interventions/{iv['intervention_id']}/start", {"started_on": day.isoformat()}, psy, "iv1-start"
                )
                if rng.random() < 0.5:
                    debt = await go(
                        "/interventions",
                        {
                            "category": "debt-counselling",
                            "provider": "Schuldnerberatung",
                            "planned_start": day.isoformat(),
                            "cost_eur": 300,
                        },
                        psy,
                        "iv2",
                    )
                    await go(
                        f"/interventions/{debt['intervention_id']}/start",
                        {"started_on": day.isoformat()},
                        psy,
                        "iv2-start",
                    )
                await go(
                    "/notes",
                    {"written_on": day.isoformat(), "text": "first sessions went well", "confidential": True},
                    psy,
                    "note-conf",
                )
                await go("/notes", {"written_on": day.isoformat(), "text": "budget plan agreed"}, fin, "note-fin")
            if phase == "produktionswerkstatt":
                await go(
                    "/interventions",
                    {
                        "category": "employment-promotion",
                        "provider": "Produktionswerkstatt",
                        "planned_start": day.isoformat(),
                        "cost_eur": 1800,
                    },
                    cm,
                    "iv-pw",
                )
                await go(f"/goals/{goal['goal_id']}/achievement", {"achieved_on": day.isoformat()}, cm, "goal1-done")
                body = {"purpose": "employer-disclosure", "granted_on": day.isoformat(), "form": "written"}
                await self.post(self.intake, f"/participants/{p.pid}/consents", body, cm, f"{k}-c-employer")
            if phase == "stellensuche":
                await go(
                    "/contacts",
                    {
                        "contacted_on": day.isoformat(),
                        "channel": "phone",
                        "counterpart": "employer",
                        "summary": "interest in a trial day",
                    },
                    cm,
                    "contact",
                )
        upcoming = date.today() + timedelta(days=rng.randint(1, 20))
        await go(
            "/appointments",
            {"scheduled_for": upcoming.isoformat(), "with_member": cm_id, "kind": "consultation"},
            cm,
            "appt2",
        )
        if p.stage == "interrupted":
            await go(
                "/interruption",
                {"interrupted_on": (day + timedelta(days=5)).isoformat(), "reason": "inpatient clinic stay"},
                cm,
                "interrupt",
            )
        if p.stage == "exited":
            reason = rng.choice(["dropped-out", "moved-away", "transferred-to-rehabilitation", "regular-end"])
            await go("/exit", {"exited_on": (day + timedelta(days=10)).isoformat(), "reason": reason}, cm, "exit")


def people(rng: random.Random, per_agency: int) -> list[Person]:
    start = date.today() - timedelta(days=420)
    out: list[Person] = []
    for project, agency in AGENCY_PROJECTS:
        for i in range(per_agency):
            stage = STAGES[i % len(STAGES)]
            out.append(
                Person(f"demo-{agency}-{i}", project, agency, stage, start + timedelta(days=rng.randint(0, 120)))
            )
    return out


async def populate(
    intake: httpx.AsyncClient, casework: httpx.AsyncClient, headers: Headers, per_agency: int = 10
) -> list[Person]:
    """Create the demo participants; returns them with their stage (tests use this too)."""
    rng = random.Random(2026)
    demo = Demo(intake, casework, headers)
    await configure_projects(casework, headers, date(2025, 1, 1))
    everyone = people(rng, per_agency)
    registered = {agency: await demo.register_staff(agency) for agency in AGENCIES}
    await asyncio.gather(*(demo.wait_for_staff(agency, people) for agency, people in registered.items()))
    seeds = {p.key: random.Random(p.key) for p in everyone}
    await asyncio.gather(*(demo.intake_journey(p, seeds[p.key]) for p in everyone))
    enrolled = [p for p in everyone if p.stage not in ("referred", "declined", "withdrawn")]
    await asyncio.gather(*(demo.wait_for_case(p) for p in enrolled))
    await asyncio.gather(*(demo.casework_journey(p, seeds[p.key]) for p in enrolled))
    return everyone


async def main() -> int:
    async with (
        httpx.AsyncClient(base_url=INTAKE, timeout=20) as intake,
        httpx.AsyncClient(base_url=CASEWORK, timeout=20) as casework,
    ):
        everyone = await populate(intake, casework, make_headers())
    by_stage: dict[str, int] = {}
    for p in everyone:
        by_stage[p.stage] = by_stage.get(p.stage, 0) + 1
    print(f"demo data: {len(everyone)} participants in 4 agencies, 2 projects; by stage: {by_stage}")
    return 0


if __name__ == "__main__":
    sys.exit(asyncio.run(main()))
