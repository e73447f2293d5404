"""What each page shows, gathered from the services' read APIs with the user's token (and the
consistency token of the user's last command, so a page never shows the world before it).
No rules of the services are repeated here except to offer choices; the services decide."""

from __future__ import annotations

import asyncio
import contextlib
from dataclasses import dataclass, field
from datetime import date, datetime, time
from typing import Any
from uuid import UUID

from services.portal import figures, i18n
from services.portal.auth import User
from services.portal.clients import Backends, Reply
from services.portal.vocabulary import N_
from shared.contracts.casework import (
    AppointmentScheduled,
    CaseNoteAdded,
    CaseTransferred,
    InterventionPlanned,
    RehabApplicationFiled,
    RehabInformationProvided,
    RehabInformationRequested,
)
from shared.contracts.common import PHASE_ORDER, Phase
from shared.vocabulary import AGENCIES, CASE_ROLES, DRV_AGENCIES, HEALTH_ROLES, PROJECTS, Role

REFERRERS = frozenset({Role.CASE_MANAGER, Role.DRV_ADVISER})
FIGURE_READERS = frozenset({Role.PROJECT_LEAD, Role.AUDITOR})
TASK_DAYS = 14


@dataclass
class Page:
    """A page's data and whether any read answered behind the user's last command."""

    data: dict[str, Any] = field(default_factory=dict)
    behind: bool = False

    def take(self, reply: Reply) -> Reply:
        self.behind = self.behind or reply.behind
        return reply


@dataclass(frozen=True)
class Transition:
    phase: str
    needs_reason: bool
    kind: str  # forward | skip | back | aftercare


def transitions(case: dict[str, Any]) -> list[Transition]:
    """The moves to offer now (casework decides; a refused one shows its reason): forward by one,
    skip ahead or back one with a reason, Nachbetreuung once a job start was reported."""
    if case.get("status") != "open":
        return []
    order = [p.value for p in PHASE_ORDER]
    here = order.index(case["phase"])
    moves: list[Transition] = []
    if here > 0:
        moves.append(Transition(order[here - 1], True, "back"))
    for i, phase in enumerate(order[here + 1 :], start=here + 1):
        if phase == Phase.NACHBETREUUNG:
            if case.get("expected_next_phase") == Phase.NACHBETREUUNG:
                moves.append(Transition(phase, False, "aftercare"))
            continue
        moves.append(Transition(phase, i > here + 1, "forward" if i == here + 1 else "skip"))
    return moves


async def workspace(backends: Backends, user: User, consistency: str | None) -> Page:
    """Mein Arbeitsplatz: my caseload (a case manager's against each project's cap), tasks and
    appointments due, open referrals."""
    page = Page()
    if user.role not in CASE_ROLES:  # no caseload, no tasks: the page says so
        page.data.update(caseload=None, tasks=None, referred=None, caps=None)
        return page
    caseload, tasks, referred = await asyncio.gather(
        backends.call("casework", "GET", "/caseload", user.token, consistency=consistency),
        backends.call(
            "casework", "GET", "/tasks", user.token, consistency=consistency, params={"within_days": TASK_DAYS}
        ),
        backends.call(
            "intake", "GET", "/participants", user.token, consistency=consistency, params={"status": "referred"}
        ),
    )
    for r in (caseload, tasks, referred):
        page.take(r)
    page.data["caseload"] = caseload.body if caseload.ok else None
    page.data["tasks"] = _task_list(tasks.body) if tasks.ok else None
    page.data["referred"] = referred.body if referred.ok else None
    page.data["caps"] = await _caps(backends, user, page) if user.role is Role.CASE_MANAGER else None
    return page


def agency_projects(user: User) -> set[str]:
    """The projects the user's agency takes part in (the platform's project list)."""
    return {p for p, members in PROJECTS.items() if user.principal.agency in members}


ACTIVE = frozenset({"open", "interrupted"})  # the cases that weigh on a guide (casework's rule)


async def _caps(backends: Backends, user: User, page: Page) -> list[dict[str, Any]]:
    """My active cases as case manager per project against the project's caseload cap (casework's
    project configuration, ``GET /projects/{project}``): the projects of my agency and of my cases."""
    cases = (page.data["caseload"] or {}).get("cases", [])
    mine = [c for c in cases if c.get("my_role") == Role.CASE_MANAGER.value and c.get("status") in ACTIVE]
    projects = sorted(agency_projects(user) | {str(c["project"]) for c in mine if c.get("project")})
    configs = await asyncio.gather(*(backends.call("casework", "GET", f"/projects/{p}", user.token) for p in projects))
    caps = []
    for project, config in zip(projects, configs, strict=True):
        cap = config.body.get("caseload_cap") if config.ok and isinstance(config.body, dict) else None
        active = sum(1 for c in mine if c.get("project") == project)
        caps.append(
            {
                "project": project,
                "active": active,
                "cap": cap,
                "free": None if cap is None else max(cap - active, 0),
                "at_cap": cap is not None and active >= cap,
                "known": config.ok,
            }
        )
    return caps


def _task_list(body: Any) -> list[dict[str, Any]]:
    if isinstance(body, dict):
        return list(body.get("tasks") or body.get("items") or [])
    return list(body or [])


def participant_number(text: str) -> UUID | None:
    try:
        return UUID(text.strip())
    except ValueError:
        return None


async def search(backends: Backends, user: User, q: str, consistency: str | None) -> Page:
    """The search by name or Teilnehmendennummer, through intake (which matches names by their
    blind index, finds only the agency's own participants and logs every hit as a read)."""
    page = Page()
    path, params = "/participants/search", {"q": q}
    got = page.take(await backends.call("intake", "GET", path, user.token, consistency=consistency, params=params))
    body = got.body if got.ok and isinstance(got.body, dict) else {}
    page.data.update(
        status=got.status,
        hits=list(body.get("participants", [])),
        truncated=bool(body.get("truncated")),
        errors={} if got.ok or got.status == 403 else {"q": next(iter(got.errors().values()), "")},
        forbidden=got.status == 403,
    )
    return page


async def participant(backends: Backends, user: User, pid: UUID, consistency: str | None) -> Page:
    """Intake's view of one person: status, identity, eligibility, consents, objections."""
    page = Page()
    path = f"/participants/{pid}"
    detail = page.take(await backends.call("intake", "GET", path, user.token, consistency=consistency))
    page.data["status"] = detail.status
    page.data["participant"] = detail.body if detail.ok else None
    page.data["error"] = None if detail.ok else detail.errors().get("_")
    return page


async def case(backends: Backends, user: User, pid: UUID, consistency: str | None) -> Page:
    """The case at a glance, with its timeline, consents, person and (health access only) the
    health records; every health item is marked so, and absent for everyone else."""
    page = Page()
    got = page.take(await backends.call("casework", "GET", f"/cases/{pid}", user.token, consistency=consistency))
    page.data["status"] = got.status
    if not got.ok:
        page.data["error"] = got.errors().get("_")
        return page
    the_case: dict[str, Any] = got.body
    calls = [
        backends.call("casework", "GET", f"/cases/{pid}/timeline", user.token, consistency=consistency),
        backends.call("casework", "GET", f"/cases/{pid}/person", user.token, consistency=consistency),
        backends.call("intake", "GET", f"/participants/{pid}/consents", user.token, consistency=consistency),
        backends.call("casework", "GET", f"/cases/{pid}/employment", user.token, consistency=consistency),
    ]
    if the_case.get("health_access"):
        calls.append(backends.call("casework", "GET", f"/cases/{pid}/health", user.token, consistency=consistency))
    timeline, person, consents, jobs, *health = [page.take(r) for r in await asyncio.gather(*calls)]
    health_versions = _health_versions(health[0].body) if health and health[0].ok else set()
    events = [
        {**e, "health": e["version"] in health_versions}
        for e in (timeline.body.get("events", []) if timeline.ok else [])
        if not e.get("redacted")  # a health record without the right: absent, not a grey box
    ]
    given_away = _given_away(the_case, events, user)  # the history only: no command of ours
    health_body = health[0].body if health and health[0].ok else None
    page.data.update(
        case=the_case,
        transitions=transitions(the_case),
        events=list(reversed(events)),
        interventions=_of(events, InterventionPlanned.event_type, "intervention_id"),
        appointments=_of(events, AppointmentScheduled.event_type, "appointment_id"),
        notes=_of(events, CaseNoteAdded.event_type, "note_id"),
        person=person.body.get("identity") if person.ok else None,
        consents=consents.body if consents.ok else [],
        health=health_body,
        jobs=jobs.body.get("employments", []) if jobs.ok else [],
        partners=partner_agencies(the_case),
        rehab=_of(_rehab_events(health_body), RehabApplicationFiled.event_type, "application_id"),
        rehab_requests=open_requests(health_body),
        carriers=[(a, AGENCIES.get(a, a)) for a in sorted(DRV_AGENCIES)],
        transferred=given_away,
        may_manage=user.role in (Role.CASE_MANAGER, Role.PROJECT_LEAD) and given_away is None,
        may_employ=user.role is Role.CASE_MANAGER and given_away is None,
        may_health=user.role in HEALTH_ROLES and bool(the_case.get("health_access")),
    )
    return page


def _rehab_events(health: dict[str, Any] | None) -> list[dict[str, Any]]:
    """The rehab applications' events of the case's health records (health access only)."""
    return list((health or {}).get("rehab_applications", []))


def partner_agencies(the_case: dict[str, Any]) -> list[tuple[str, str]]:
    """The agencies a case may be transferred to (code, name): the other members of its project."""
    members = PROJECTS.get(str(the_case.get("project") or ""), ())
    return [(a, AGENCIES.get(a, a)) for a in members if a != the_case.get("agency")]


def _given_away(the_case: dict[str, Any], events: list[dict[str, Any]], user: User) -> dict[str, Any] | None:
    """The transfer that took the case from the user's agency (its history ends there), if any."""
    if the_case.get("agency") == user.principal.agency:
        return None
    moves = [e["data"] for e in events if e["event_type"] == CaseTransferred.event_type]
    return next((m for m in reversed(moves) if m.get("from_agency") == user.principal.agency), None)


def _health_versions(health: dict[str, Any]) -> set[int]:
    return {
        int(e["version"])
        for section in health.values()
        if isinstance(section, list)
        for e in section
        if isinstance(e, dict) and "version" in e
    }


def _of(events: list[dict[str, Any]], event_type: str, key: str) -> list[dict[str, Any]]:
    """One row per item of a kind, with the later events that name it (start, outcome, ...)."""
    items = [e for e in events if e["event_type"] == event_type]
    for item in items:
        ident = item["data"].get(key)
        item["later"] = [e for e in events if e is not item and e.get("data", {}).get(key) == ident]
    return items


async def candidate(backends: Backends, user: User, pid: UUID, consistency: str | None) -> Page:
    """Placement: the candidate's pool status, the ranked open vacancies with the reasons per
    criterion, and what happened so far (proposals, work trials, employment)."""
    page = Page()
    got, ranked, board = await asyncio.gather(
        backends.call("placement", "GET", f"/candidates/{pid}", user.token, consistency=consistency),
        backends.call("placement", "GET", f"/candidates/{pid}/vacancies", user.token, consistency=consistency),
        backends.call("placement", "GET", "/vacancies", user.token, consistency=consistency, params={"status": "open"}),
    )
    for r in (got, ranked, board):
        page.take(r)
    page.data["status"] = got.status
    page.data["candidate"] = got.body if got.ok else None
    page.data["error"] = None if got.ok else got.errors().get("_")
    page.data["vacancies"] = _with_vacancy(ranked.body.get("vacancies", []), board.body) if ranked.ok else []
    return page


def _with_vacancy(ranked: list[dict[str, Any]], board: Any) -> list[dict[str, Any]]:
    """The ranking names the vacancy; the board adds its employer and hours (for the forms)."""
    rows = board if isinstance(board, list) else []
    by_id = {v.get("vacancy_id"): v for v in rows if isinstance(v, dict)}
    return [{**by_id.get(r["vacancy_id"], {}), **r} for r in ranked]


async def project_plans(backends: Backends, user: User, project: str | None) -> list[dict[str, Any]]:
    """Targets and budget of the project asked for, or of every project of the user's agency
    (reporting decides the scope: the whole project for its coordinating agency)."""
    projects = [project] if project else sorted(agency_projects(user))
    replies = await asyncio.gather(
        *(
            backends.call("reporting", "GET", f"/projects/{p}/{what}", user.token)
            for p in projects
            for what in ("targets", "budget")
        )
    )
    found = []
    for targets, budget in zip(replies[::2], replies[1::2], strict=True):
        plan = figures.plans(targets.body if targets.ok else None, budget.body if budget.ok else None)
        if plan is not None:
            found.append(plan)
    return found


# Pydantic's reasons in the staff's words; anything else is shown as the service said it.
REASONS = {
    "Field required": N_("Pflichtfeld: bitte ausfüllen."),
    "Input should be a valid date": N_("Bitte ein gültiges Datum angeben (TT.MM.JJJJ)."),
    "String should have at least 1 character": N_("Pflichtfeld: bitte ausfüllen."),
    "Input should be a valid number": N_("Bitte eine Zahl angeben."),
    "Input should be greater than or equal to 0": N_("Der Betrag darf nicht negativ sein."),
    "Input should be": N_("Bitte einen der angebotenen Werte wählen."),
}


def reason_text(reason: str) -> str:
    """The German msgid for a known validation reason (translated in the template)."""
    return next((german for english, german in REASONS.items() if reason.startswith(english)), reason)


# --- data protection (DPO, auditor) ----------------------------------------------------------

PRIVACY_ROLES = frozenset({Role.DATA_PROTECTION_OFFICER, Role.AUDITOR})
ERASERS = frozenset({Role.DATA_PROTECTION_OFFICER})
READ_LOG_FILTERS = ("participant_id", "subject", "since")
# the two audited reads: intake's identities and referral reasons, casework's health data
READ_LOGS = (("intake", "/audit/data-reads"), ("casework", "/audit/health-reads"))


def read_log_params(filters: dict[str, str]) -> dict[str, str]:
    """The filter form as the audit APIs' query (their own field names); a day from the date
    input means from midnight in Germany."""
    params = {k: v for k in READ_LOG_FILTERS if (v := (filters.get(k) or "").strip())}
    if "since" in params and "T" not in params["since"]:
        with contextlib.suppress(ValueError):  # else the API names the field and the reason
            params["since"] = datetime.combine(date.fromisoformat(params["since"]), time(), i18n.BERLIN).isoformat()
    return params


async def read_log(backends: Backends, user: User, filters: dict[str, str], consistency: str | None) -> Page:
    """Who read personal data, newest first: intake's data-read audit and casework's health-read
    audit, one list; the APIs decide who may see it (and refuse a bad filter by its field)."""
    page = Page()
    params = read_log_params(filters)
    replies = await asyncio.gather(
        *(backends.call(s, "GET", path, user.token, consistency=consistency, params=params) for s, path in READ_LOGS)
    )
    rows: list[dict[str, Any]] = []
    errors: dict[str, str] = {}
    for (service, _), reply in zip(READ_LOGS, replies, strict=True):
        page.take(reply)
        if reply.ok:
            rows += [{**r, "service": service} for r in reply.body.get("reads", [])]
        elif reply.status != 403:
            errors.update(reply.errors())
    rows.sort(key=lambda r: str(r.get("read_at", "")), reverse=True)
    forbidden = all(r.status == 403 for r in replies)
    page.data.update(reads=rows, errors=errors, forbidden=forbidden, status=403 if forbidden else 200)
    return page


# --- employers and vacancies (Arbeitgeberakquise) --------------------------------------------

EMPLOYER_READERS = frozenset({Role.EMPLOYER_ACQUISITION, Role.CASE_MANAGER, Role.DRV_ADVISER})
ACQUIRERS = frozenset({Role.EMPLOYER_ACQUISITION})


async def employers(backends: Backends, user: User, consistency: str | None) -> Page:
    """The employers of the agency and its project partners, with their open vacancies' count."""
    page = Page()
    listed, board = await asyncio.gather(
        backends.call("placement", "GET", "/employers", user.token, consistency=consistency),
        backends.call("placement", "GET", "/vacancies", user.token, consistency=consistency, params={"status": "open"}),
    )
    for r in (listed, board):
        page.take(r)
    open_by_employer: dict[str, int] = {}
    for v in board.body if board.ok and isinstance(board.body, list) else []:
        open_by_employer[v["employer_id"]] = open_by_employer.get(v["employer_id"], 0) + 1
    rows = listed.body if listed.ok and isinstance(listed.body, list) else []
    page.data.update(
        status=listed.status,
        employers=[{**e, "open_vacancies": open_by_employer.get(e["employer_id"], 0)} for e in rows],
        error=None if listed.ok else listed.errors().get("_"),
        may_acquire=user.role in ACQUIRERS,
    )
    return page


async def employer(backends: Backends, user: User, eid: UUID, consistency: str | None) -> Page:
    """One employer: company data, contact persons and the contact log (owning agency only),
    and its vacancies, open and closed."""
    page = Page()
    got = page.take(await backends.call("placement", "GET", f"/employers/{eid}", user.token, consistency=consistency))
    page.data["status"] = got.status
    if not got.ok:
        page.data["error"] = got.errors().get("_")
        return page
    contacts, vacancies = await asyncio.gather(
        backends.call("placement", "GET", f"/employers/{eid}/contacts", user.token, consistency=consistency),
        backends.call(
            "placement", "GET", "/vacancies", user.token, consistency=consistency,
            params={"status": "all", "employer_id": str(eid)},
        ),
    )  # fmt: skip
    for r in (contacts, vacancies):
        page.take(r)
    owner = got.body.get("agency") == user.principal.agency
    page.data.update(
        employer=got.body,
        contacts=contacts.body if contacts.ok else None,
        vacancies=vacancies.body if vacancies.ok else [],
        may_acquire=user.role in ACQUIRERS and owner,
    )
    return page


# --- rehabilitation with DRV (Reha-Arbeitsvorrat) --------------------------------------------

CARRIER_ROLES = frozenset({Role.DRV_ADVISER})


async def rehab_queue(backends: Backends, user: User, consistency: str | None) -> Page:
    """The DRV adviser's work queue (casework ``GET /rehab-queue``, oldest first): what the
    carrier needs to decide and the steps it records; casework decides who may."""
    page = Page()
    got = page.take(await backends.call("casework", "GET", "/rehab-queue", user.token, consistency=consistency))
    body = got.body if got.ok and isinstance(got.body, dict) else {}
    page.data.update(
        status=got.status,
        applications=list(body.get("applications", [])),
        as_of=body.get("as_of"),
        error=None if got.ok else got.errors().get("_"),
    )
    return page


def open_requests(health: dict[str, Any] | None) -> list[dict[str, Any]]:
    """The carrier's requests on the case's rehab applications not answered yet (from the case's
    health records: the case manager answers them)."""
    events = _rehab_events(health)
    answered = {e["data"].get("request_id") for e in events if e["event_type"] == RehabInformationProvided.event_type}
    return [
        e["data"]
        for e in events
        if e["event_type"] == RehabInformationRequested.event_type and e["data"].get("request_id") not in answered
    ]


# --- the Produktionswerkstatt (placement's production orders) --------------------------------

WORKSHOP_ROLES = frozenset({Role.EMPLOYER_ACQUISITION, Role.CASE_MANAGER, Role.DRV_ADVISER})


async def production_orders(backends: Backends, user: User, consistency: str | None) -> Page:
    """The running production orders of the agency and its project partners (placement)."""
    page = Page()
    path, params = "/production-orders", {"status": "accepted"}
    got = page.take(await backends.call("placement", "GET", path, user.token, consistency=consistency, params=params))
    page.data.update(
        status=got.status,
        orders=got.body if got.ok and isinstance(got.body, list) else [],
        error=None if got.ok else got.errors().get("_"),
    )
    return page


async def production_order(backends: Backends, user: User, oid: UUID, consistency: str | None) -> Page:
    """One order: its participants with their days, total hours and days present, excused and
    absent (placement shows a partner agency only its own participants)."""
    page = Page()
    path = f"/production-orders/{oid}/participants"
    got, listed = await asyncio.gather(
        backends.call("placement", "GET", path, user.token, consistency=consistency),
        backends.call(
            "placement", "GET", "/production-orders", user.token, consistency=consistency, params={"status": "all"}
        ),
    )
    for r in (got, listed):
        page.take(r)
    orders = listed.body if listed.ok and isinstance(listed.body, list) else []
    page.data.update(
        status=got.status,
        order=next((o for o in orders if o.get("order_id") == str(oid)), None),
        view=got.body if got.ok else None,
        error=None if got.ok else got.errors().get("_"),
        may_record=user.role in (Role.EMPLOYER_ACQUISITION, Role.CASE_MANAGER),
    )
    return page
