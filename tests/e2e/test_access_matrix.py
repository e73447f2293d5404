"""The access matrix of issue 12, generated from the OpenAPI of all four services: every route x
every role x four agencies (the case's own jc-en; jc-mk, a partner of its project with no
consent; drv-westfalen, a partner covered by drv-exchange for one participant and not the
other; jc-unna, of another project) x the two consent states, on the real stack.

The world: two enrolled jc-en participants (``shared`` with an active drv-exchange consent for
drv-westfalen, ``private`` without), each with a case whose manager and team are the callers'
subjects, a capacity profile in the candidate pool, and an employer, vacancy and production
order of jc-en. Each cell's expectation is what the route's declared rules (``x-access``) say
for that caller on the facts loaded from the stores at that moment (``tests.access_matrix``).

What is asserted: denied -> exactly the rules' 403 or 404; allowed -> not 401, not 403, and no
404 unless it names a record the world does not hold (a placeholder id such as an unknown
goal): the access rules are checked before the domain's, so whatever follows (200, 201, 409,
422 of the domain) is "past access". A body is sent only once FastAPI has taken it (a
request-validation 422 says nothing about access: the next generated body is tried), so a
denied cell is always judged by the rules, never by the schema."""

from __future__ import annotations

import asyncio
import inspect
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date
from typing import Any
from uuid import UUID

import httpx
import pytest
import schemathesis

from services.casework import domain as casework_domain
from services.casework.views.common import PostgresConsents
from services.intake import domain as intake_domain
from services.intake.views import RegisterProjectRules
from services.placement import domain as placement_domain
from services.placement.views.candidates import drv_exchange_active
from services.placement.views.reads import project_memberships
from services.reporting.views.reports import Reads as ReportingReads
from services.reporting.views.targets import membership
from shared.principal import Principal
from shared.vocabulary import Role, memberships, project_members
from tests import access_matrix, cases, support
from tests.access_matrix import Missing, Outcome, Route
from tests.e2e.conftest import Stack

pytestmark = pytest.mark.e2e

AGENCIES = ("jc-en", "jc-mk", "drv-westfalen", "jc-unna")
# The case's team: each role's caller (subject = the role's name) in the agency that is on it.
TEAM = {
    Role.PSYCHOLOGIST: "jc-en",
    Role.OCCUPATIONAL_THERAPIST: "jc-en",
    Role.FINANCIAL_ADVISER: "jc-en",
    Role.EMPLOYER_ACQUISITION: "jc-en",
    Role.DRV_ADVISER: "drv-westfalen",
}
# Run last within a service (they take away what later cells would judge on).
LATE = ("/handover", "/removal", "/exit", "/erasure", "/withdrawal", "/decline")
# Services in an order where none undoes a world the next still needs (intake erases).
ORDER = ("reporting", "placement", "casework", "intake")
BODIES_TRIED = 12
# in a query or a body: the generator misses the pattern (q: intake's search, a name)
QUERY_VALUES = {"half_year": "2026-H1", "q": "Beispiel"}
NOBODY = "nobody"  # a team member the case does not have
DAY = "2026-03-02"  # every date of a generated body (a business date within the accepted range)
PLACEHOLDER = str(UUID(int=12))  # a path id the world holds no record for (an unknown goal, trial ...)


def subject(role: Role) -> str:
    """The caller's subject: the role's name (the service caller is reporting itself)."""
    return "reporting" if role is Role.SERVICE else role.value


@dataclass
class World:
    stack: Stack
    shared: str = ""
    private: str = ""
    ids: dict[str, str] = field(default_factory=dict)

    def token(self, principal: Principal) -> dict[str, str]:
        return self.stack.token(principal.role, principal.agency, principal.subject)

    def today(self, service: str) -> date:
        return self.stack.runtime(service).clock()


async def ok(response: httpx.Response, status: int = 200) -> Any:
    assert response.status_code == status, response.text
    return response.json()


async def participant(world: World, *, drv_exchange: bool) -> str:
    """An enrolled jc-en participant with a case, a team and a profile in the candidate pool."""
    stack, cm = world.stack, world.stack.token(Role.CASE_MANAGER, "jc-en", subject(Role.CASE_MANAGER))
    intake, casework = stack.clients["intake"], stack.clients["casework"]
    referral = {
        "project": "pro-aktiv",
        "received_on": "2026-02-02",
        "sex": "female",
        "identity": {"first_name": "Mara", "last_name": "Matrix", "birth_date": "1980-01-02"},
        "reason": "back pain",
    }
    pid = str((await ok(await intake.post("/referrals", json=referral, headers=cm), 201))["participant_id"])
    p = f"/participants/{pid}"
    await ok(await intake.post(f"{p}/information-meeting", json={"held_on": "2026-02-05"}, headers=cm))
    eligibility = {"checked_on": "2026-02-09", "voluntary": True, "willing_to_address_impairments": True}
    await ok(await intake.post(f"{p}/eligibility", json=eligibility, headers=cm))
    consents = [("participation", None), ("medical-release", "Dr. Weber"), ("employer-disclosure", None)]
    consents += [("monitoring", None)] + ([("drv-exchange", "drv-westfalen")] if drv_exchange else [])
    for purpose, scope in consents:
        grant = {"purpose": purpose, "granted_on": "2026-02-09", "form": "written", "scope": scope}
        granted = await ok(await intake.post(f"{p}/consents", json=grant, headers=cm), 201)
        world.ids.setdefault(f"consent_id:{pid}", str(granted["consent_id"]))  # participation: withdrawn last
    await ok(await intake.post(f"{p}/enrolment", json={"start_date": "2026-02-16"}, headers=cm))
    c = f"/cases/{pid}"
    await support.eventually(lambda: casework.get(c, headers=cm), lambda r: r.status_code == 200)
    await ok(
        await casework.post(
            f"{c}/case-manager", json={"case_manager": cm_subject(), "assigned_on": "2026-02-16"}, headers=cm
        )
    )
    for role, agency in TEAM.items():
        member = {"member": subject(role), "role": role.value, "agency": agency, "added_on": "2026-02-16"}
        await ok(await casework.post(f"{c}/team", json=member, headers=cm), 201)
    profile = {"max_hours_per_week": 30, "lifting": "light", "mental_load": "moderate", "night_work": False}
    await ok(
        await casework.post(
            f"{c}/capacity-profile", json={"recorded_on": "2026-03-01", "profile": profile}, headers=cm
        ),
        201,
    )
    officer = stack.token(Role.EMPLOYER_ACQUISITION, "jc-en", subject(Role.EMPLOYER_ACQUISITION))
    await support.eventually(
        lambda: stack.clients["placement"].get(f"/candidates/{pid}", headers=officer), lambda r: r.status_code == 200
    )
    return pid


def cm_subject() -> str:
    return subject(Role.CASE_MANAGER)


async def build_world(stack: Stack) -> World:
    world = World(stack)
    world.shared = await participant(world, drv_exchange=True)
    world.private = await participant(world, drv_exchange=False)
    placement = stack.clients["placement"]
    officer = stack.token(Role.EMPLOYER_ACQUISITION, "jc-en", subject(Role.EMPLOYER_ACQUISITION))
    company = {
        "company": "Matrix GmbH",
        "sector": "logistics",
        "size": "small",
        "region": "Hagen",
        "acquired_on": "2026-03-01",
    }
    employer = (await ok(await placement.post("/employers", json=company, headers=officer), 201))["employer_id"]
    vacancy = {
        "employer_id": employer,
        "title": "Lager",
        "hours_per_week": 25,
        "demands": {"lifting": "light"},
        "recorded_on": "2026-03-02",
    }
    vacancy_id = (await ok(await placement.post("/vacancies", json=vacancy, headers=officer), 201))["vacancy_id"]
    order = {"employer_id": employer, "description": "Kartons falten", "quantity": 500, "accepted_on": "2026-03-02"}
    order_id = (await ok(await placement.post("/production-orders", json=order, headers=officer), 201))["order_id"]
    world.ids |= {"employer_id": str(employer), "vacancy_id": str(vacancy_id), "order_id": str(order_id)}
    world.ids["project"] = "pro-aktiv"
    # the rules are judged on the services' projections (placement's view of the consents, the
    # pool, the orders): nothing of the world may still be on its way when the first cell is
    await stack.settled()
    return world


# ------------------------------------------------------------------ facts for the rules


@dataclass
class Loaded:
    """The records a route's rules are judged on, as the stores hold them now."""

    states: dict[type, Any]
    values: dict[str, Any]
    drv: dict[str, bool]  # agency -> drv-exchange active for it (placement's view of the consent)


async def load(world: World, service: str, pid: str | None, values: dict[str, Any]) -> Loaded:
    stack = world.stack
    states: dict[type, Any] = {}
    drv: dict[str, bool] = {}
    if pid is not None:
        uid = UUID(pid)
        async with stack.runtime("intake").unit_of_work(False) as uow:
            p = await uow.load(intake_domain.participant, intake_domain.stream_id(uid))
            states[intake_domain.Participant] = p.state if p.exists and p.state.status != "erased" else None
        async with stack.runtime("casework").unit_of_work(False) as uow:
            c = await uow.load(casework_domain.case, casework_domain.stream_id(uid))
            states[casework_domain.Case] = c.state if c.exists else None
        async with stack.runtime("placement").unit_of_work(False) as uow:
            cand = await uow.load(placement_domain.candidate, placement_domain.candidate_stream(uid))
            states[placement_domain.Candidate] = cand.state
        exchange = await PostgresConsents(stack.runtime("casework")).exchange_agencies(
            None, uid, world.today("casework")
        )
        pool = stack.runtime("placement").pool
        assert pool is not None
        for agency in AGENCIES:
            who = Principal("probe", Role.DRV_ADVISER, agency)
            drv[agency] = await drv_exchange_active(pool, uid, who, world.today("placement"))
        owner = states[intake_domain.Participant]  # the owning agency: the one that runs the case
        values = {"exchange_agencies": exchange, "owner_agency": owner.agency if owner else None} | values
        if service == "placement":  # the candidate's project's members, as placement holds them
            values = {"members": (await memberships_of(world, service)).get(cand.state.project, ())} | values
    values = {"projects": await memberships_of(world, service)} | values
    if values.get("project") is not None:
        values |= await project_facts(world, service, str(values["project"]))  # the stored ones, not a body's
    exists = True
    async with stack.runtime("placement").unit_of_work(False) as uow:
        records: list[tuple[type, Any, Callable[[UUID], str], str]] = [
            (placement_domain.Employer, placement_domain.employer, placement_domain.employer_stream, "employer_id"),
            (placement_domain.Vacancy, placement_domain.vacancy, placement_domain.vacancy_stream, "vacancy_id"),
            (
                placement_domain.ProductionOrder,
                placement_domain.production_order,
                placement_domain.order_stream,
                "order_id",
            ),
        ]
        for kind, decider, stream, key in records:
            if key in values:
                got = await uow.load(decider, stream(UUID(str(values[key]))))
                states[kind] = got.state
                if kind is placement_domain.ProductionOrder:
                    exists = got.exists
    values = {"day": world.today(service), "exists": exists, "agency": None, "project": None} | values
    return Loaded(states, values, drv)


async def memberships_of(world: World, service: str) -> dict[str, tuple[str, ...]]:
    """Every project's members as the service holds them (its projection of casework's configuration)."""
    runtime = world.stack.runtime(service)
    if service == "placement":
        assert runtime.pool is not None
        return await project_memberships(runtime.pool)
    if service == "reporting":
        return await ReportingReads(runtime).memberships()
    return memberships({})


async def project_facts(world: World, service: str, code: str) -> dict[str, Any]:
    """A project's coordinating agency and members, as the service that decides on them holds them."""
    if service == "casework":
        async with world.stack.runtime("casework").unit_of_work(False) as uow:
            state = (await uow.load(casework_domain.project, casework_domain.project_stream(code))).state
        members = casework_domain.members(state, code)
        return {"coordinating_agency": casework_domain.coordinator(state, code), "members": members}
    if service == "reporting":
        pool = world.stack.runtime("reporting").pool
        assert pool is not None
        m = await membership(pool, code)
        return {"coordinating": m.coordinating, "members": m.members}
    if service == "intake":
        async with world.stack.runtime("intake").unit_of_work(False) as uow:
            configured = await RegisterProjectRules().members(uow, code)
        return {"members": project_members(code, configured)}
    return {}


def binder(loaded: Loaded, principal: Principal) -> access_matrix.Bind:
    """``bind`` for ``access_matrix.judge``: a state by its type, a value by its name."""
    values = loaded.values | ({"drv_exchange_active": loaded.drv[principal.agency]} if loaded.drv else {})

    def bind(name: str, annotation: Any) -> Any:
        if annotation in loaded.states:
            if loaded.states[annotation] is None:
                raise Missing(name)
            return loaded.states[annotation]
        if name in values:
            value = values[name]
            return UUID(value) if annotation is UUID and isinstance(value, str) else value
        return inspect.Parameter.empty

    return bind


# ------------------------------------------------------------------ requests


def generated_bodies(operation: Any) -> list[Any]:
    """Schema-valid bodies of one operation, the same on every run (examples first)."""
    return [case.body for case in cases.generate(operation, BODIES_TRIED)]


@dataclass
class Call:
    route: Route
    params: list[dict[str, Any]]  # the path and query parameters of the operation
    bodies: list[Any]
    defaults: dict[str, Any] = field(default_factory=dict)  # the body's documented defaults
    dates: frozenset[str] = frozenset()  # the body's date fields
    chosen: Any = None
    settled: bool = False  # a body that FastAPI takes has been found


def is_request_validation(response: httpx.Response) -> bool:
    return response.status_code == 422 and response.json().get("error") == "validation failed"


class Matrix:
    def __init__(self, world: World) -> None:
        self.world = world
        self.failures: list[str] = []
        self.cells = 0
        self.loaded: dict[tuple[str, str | None], Loaded] = {}

    def principals(self) -> list[Principal]:
        return [Principal(subject(role), role, agency) for role in Role for agency in AGENCIES]

    def path_values(self, pid: str | None, call: Call) -> dict[str, str]:
        """What each path parameter names: the world's records, else the call's placeholder."""
        values = {k: v for k, v in self.world.ids.items() if ":" not in k}
        if pid is not None:
            values |= {"participant_id": pid, "consent_id": self.world.ids[f"consent_id:{pid}"]}
        values |= {"quarter": "2026-Q1", "member": NOBODY}
        return values | {p["name"]: PLACEHOLDER for p in call.params if p["in"] == "path" and p["name"] not in values}

    def placeholders(self, pid: str | None, call: Call) -> set[str]:
        """Path ids the world holds no record for (a 404 naming one is the domain's, past access)."""
        return {name for name, value in self.path_values(pid, call).items() if value in (PLACEHOLDER, NOBODY)}

    async def send(self, call: Call, principal: Principal, pid: str | None) -> tuple[httpx.Response, dict[str, Any]]:
        known = self.path_values(pid, call)
        placeholders = self.placeholders(pid, call)
        path = call.route.path
        query: dict[str, Any] = {}
        headers = self.world.token(principal)
        for p in call.params:
            name = p["name"]
            if p["in"] == "path":
                path = path.replace("{" + name + "}", known[name])
            elif p["in"] == "query" and p.get("required"):
                query[name] = (
                    headers["Authorization"].removeprefix("Bearer ") if name == "token" else QUERY_VALUES[name]
                )
        client = self.world.stack.clients[call.route.service]
        while True:
            body = call.chosen if call.settled else (call.bodies.pop(0) if call.bodies else None)
            if isinstance(body, dict):
                body = body | {k: v for k, v in known.items() if k in body and k not in placeholders}
                body |= {k: DAY for k in call.dates if body.get(k) is not None}
                body |= {k: v for k, v in QUERY_VALUES.items() if k in body}
            response = await client.request(
                call.route.method,
                path,
                params=query,
                json=body if call.route.method != "GET" else None,
                headers=headers,
            )
            if call.settled or not is_request_validation(response) or not call.bodies:
                call.chosen, call.settled = body, True
                values = {**known, **(body if isinstance(body, dict) else {}), **query}
                return response, {"values": values, "placeholders": placeholders}

    def check(
        self,
        call: Call,
        principal: Principal,
        pid: str | None,
        expected: Outcome,
        response: httpx.Response,
        placeholders: set[str],
    ) -> None:
        self.cells += 1
        status = response.status_code
        where = f"{call.route.label} as {principal.role.value}@{principal.agency}" + (
            f" on {self.which(pid)}" if pid else ""
        )
        if expected == "allowed":
            if status in (401, 403) or status >= 500:
                self.failures.append(f"{where}: allowed by the rules, got {status} {response.text[:200]}")
            elif status == 404:
                fields = {e.get("field") for e in (response.json().get("errors") or [])}
                if not fields or not fields <= placeholders:
                    self.failures.append(f"{where}: allowed by the rules, got 404 {response.text[:200]}")
        elif status != expected:
            self.failures.append(f"{where}: the rules say {expected}, got {status} {response.text[:200]}")

    def which(self, pid: str | None) -> str:
        return "shared (drv-exchange)" if pid == self.world.shared else "private"

    async def run_route(self, call: Call) -> None:
        pids: list[str | None] = (
            [self.world.shared, self.world.private]
            if any(p["name"] == "participant_id" for p in call.params)
            else [None]
        )
        for pid in pids:
            for principal in self.principals():
                if call.route.open:
                    response, meta = await self.send(call, principal, pid)
                    self.check(call, principal, pid, "allowed", response, meta["placeholders"])
                    continue
                # judged on the facts as they stand just before the call (an allowed command may change them)
                response, meta = await self.send_judged(call, principal, pid)
                self.check(call, principal, pid, meta["expected"], response, meta["placeholders"])

    async def send_judged(
        self, call: Call, principal: Principal, pid: str | None
    ) -> tuple[httpx.Response, dict[str, Any]]:
        # the expectation needs the body's values, so the body is settled first when it is not yet
        if not call.settled and call.route.method != "GET":
            probe = Principal("probe", Role.AUDITOR, "jc-unna")  # denied everywhere but read logs: it changes nothing
            await self.send(call, probe, pid)
        key = (call.route.label, pid)
        if key not in self.loaded:
            known = self.path_values(pid, call)
            body = call.chosen if isinstance(call.chosen, dict) else {}
            values = {**call.defaults, **known, **{k: v for k, v in body.items() if k not in known}}
            self.loaded = {key: await load(self.world, call.route.service, pid, values)}
        expected = access_matrix.judge(call.route, principal, binder(self.loaded[key], principal))
        response, meta = await self.send(call, principal, pid)
        if call.route.method != "GET" and response.status_code < 300:
            self.loaded = {}  # a command went through: judge the next cell on what it changed
        return response, meta | {"expected": expected}


def body_properties(spec: dict[str, Any], operation: dict[str, Any]) -> dict[str, Any]:
    """The documented fields of the operation's body: a field the generated body leaves out has
    its default (a note's ``confidential``), which the rules are judged on, as the command is."""
    schema = operation.get("requestBody", {}).get("content", {}).get("application/json", {}).get("schema", {})
    ref = schema.get("$ref", "")
    if ref:
        schema = spec["components"]["schemas"][ref.rsplit("/", 1)[-1]]
    return dict(schema.get("properties", {}))


async def calls(stack: Stack, service: str) -> list[Call]:
    spec = stack.apps[service].openapi()
    missing = access_matrix.undeclared(spec)
    assert missing == [], f"{service}: routes without an access decision: {missing}"
    schema = schemathesis.openapi.from_dict(spec)
    operations = {(op.method.upper(), op.path): op for op in (r.ok() for r in schema.get_all_operations())}  # type: ignore[union-attr]
    out: list[Call] = []
    for route in access_matrix.routes(service, spec):
        operation = operations[(route.method, route.path)]
        raw = spec["paths"][route.path][route.method.lower()]
        bodies = await asyncio.to_thread(generated_bodies, operation) if "requestBody" in raw else [None]
        properties = body_properties(spec, raw)
        defaults = {name: prop["default"] for name, prop in properties.items() if "default" in prop}
        dates = frozenset(
            name
            for name, prop in properties.items()
            if "date" in str(prop.get("format", "")) or "date" in str(prop.get("anyOf", ""))
        )
        out.append(Call(route, raw.get("parameters", []), bodies, defaults, dates))
    return sorted(out, key=lambda c: (c.route.method != "GET", any(c.route.path.endswith(x) for x in LATE)))


async def test_every_route_of_every_service_decides_access_as_its_rules_say(stack: Stack) -> None:
    started = time.monotonic()
    world = await build_world(stack)
    matrix = Matrix(world)
    routes = 0
    for service in ORDER:
        for call in await calls(stack, service):
            routes += 1
            await matrix.run_route(call)
    print(
        f"access matrix: {routes} routes, {matrix.cells} cells, {len(matrix.failures)} failures,"
        f" {time.monotonic() - started:.0f}s"
    )
    assert matrix.failures == [], "\n".join(matrix.failures[:80]) + f"\n... {len(matrix.failures)} in all"
    assert routes >= 100  # every route of the four services (a lost router would shrink this)
