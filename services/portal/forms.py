"""The portal's forms: which fields each command takes and how a submitted HTML form becomes the
service's JSON body. Field names are the API's (dotted for nested ones), so the API's error for a
field lands next to that field."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from string import Formatter
from typing import Any, Literal
from urllib.parse import quote

Kind = Literal["text", "date", "bool", "number", "list"]  # list: comma-separated


@dataclass(frozen=True)
class Action:
    """One command the portal offers: the service, the path (``{pid}`` and form fields filled in)
    and the body's fields; ``pid_field`` names the body field that gets the page's id (a
    vacancy names its employer)."""

    service: str
    path: str
    fields: Mapping[str, Kind]
    fixed: Mapping[str, Any] = field(default_factory=dict)
    pid_field: str = ""


INTAKE_ACTIONS: dict[str, Action] = {
    "informationsgespraech": Action(
        "intake", "/participants/{pid}/information-meeting", {"held_on": "date", "attended": "bool"}
    ),
    "eignung": Action(
        "intake",
        "/participants/{pid}/eligibility",
        {
            "checked_on": "date",
            "voluntary": "bool",
            "willing_to_address_impairments": "bool",
            "declined_lta": "bool",
            "findings": "text",
        },
    ),
    "einwilligung": Action(
        "intake",
        "/participants/{pid}/consents",
        {"purpose": "text", "scope": "text", "granted_on": "date", "form": "text", "expires_on": "date"},
    ),
    "widerruf": Action("intake", "/participants/{pid}/consents/{consent_id}/withdrawal", {"effective_on": "date"}),
    "widerspruch": Action("intake", "/participants/{pid}/objections", {"recorded_on": "date", "scope": "text"}),
    "eintritt": Action("intake", "/participants/{pid}/enrolment", {"start_date": "date"}),
    "ablehnung": Action(
        "intake", "/participants/{pid}/decline", {"declined_on": "date", "by": "text", "reason": "text"}
    ),
}

CASE_ACTIONS: dict[str, Action] = {
    "uebernehmen": Action("casework", "/cases/{pid}/case-manager", {"assigned_on": "date"}),
    "phase": Action("casework", "/cases/{pid}/phase", {"phase": "text", "entered_on": "date", "reason": "text"}),
    "massnahme": Action(
        "casework",
        "/cases/{pid}/interventions",
        {
            "category": "text",
            "provider": "text",
            "planned_start": "date",
            "planned_end": "date",
            "cost_eur": "number",
            "details": "text",
        },
    ),
    "ziel": Action("casework", "/cases/{pid}/goals", {"set_on": "date", "text": "text", "target_date": "date"}),
    "termin": Action(
        "casework", "/cases/{pid}/appointments", {"scheduled_for": "date", "with_member": "text", "kind": "text"}
    ),
    "vermerk": Action("casework", "/cases/{pid}/notes", {"written_on": "date", "text": "text", "confidential": "bool"}),
    "uebergabe": Action(
        "casework",
        "/cases/{pid}/transfer",
        {"to_agency": "text", "to_case_manager": "text", "transferred_on": "date", "reason": "text"},
    ),
    "reha-antrag": Action(
        "casework", "/cases/{pid}/rehab-applications", {"filed_on": "date", "carrier": "text", "kind": "text"}
    ),
    "reha-antwort": Action(
        "casework",
        "/cases/{pid}/rehab-applications/{application_id}/requests/{request_id}/answer",
        {"answered_on": "date", "answer": "text"},
    ),
    # employment found without placement: no employer identity (casework's README)
    "beschaeftigung": Action(
        "casework",
        "/cases/{pid}/employment",
        {
            "started_on": "date",
            "type": "text",
            "subsidy": "text",
            "fully_qualifying": "bool",
            "hours_per_week": "number",
        },
    ),
    "nachhaltung": Action(
        "casework",
        "/cases/{pid}/employment/{employment_id}/follow-ups",
        {"months_after_start": "number", "verified_on": "date", "still_employed": "bool"},
    ),
    "beschaeftigungsende": Action(
        "casework", "/cases/{pid}/employment/{employment_id}/end", {"ended_on": "date", "reason": "text"}
    ),
}

PLACEMENT_ACTIONS: dict[str, Action] = {
    "vorschlag": Action("placement", "/candidates/{pid}/proposals", {"vacancy_id": "text", "proposed_on": "date"}),
    "erprobung": Action(
        "placement",
        "/candidates/{pid}/work-trials",
        {"employer_id": "text", "vacancy_id": "text", "started_on": "date", "planned_end": "date"},
    ),
    "beschaeftigung": Action(
        "placement",
        "/candidates/{pid}/employments",
        {
            "employer_id": "text",
            "started_on": "date",
            "type": "text",
            "hours_per_week": "number",
            "subsidised": "bool",
        },
    ),
}

REFERRAL = Action(
    "intake",
    "/referrals",
    {
        "project": "text",
        "received_on": "date",
        "sex": "text",
        "reason": "text",
        "agency": "text",
        "identity.first_name": "text",
        "identity.last_name": "text",
        "identity.birth_date": "date",
        "identity.address": "text",
        "identity.phone": "text",
        "identity.email": "text",
        "identity.insurance_number": "text",
    },
)


def body_of(action: Action, form: Mapping[str, str], pid: str = "") -> dict[str, Any]:
    """The JSON body: empty fields left out (the API's default or its 'required' applies),
    checkboxes as booleans, numbers with a German decimal comma accepted, lists comma-separated;
    a dotted name with a number (``contact_persons.0.name``) is an item of a list."""
    body: dict[str, Any] = dict(action.fixed)
    if action.pid_field:
        body[action.pid_field] = pid
    for name, kind in action.fields.items():
        raw = (form.get(name) or "").strip()
        if kind == "bool":
            value: Any = raw in ("on", "true", "1")
        elif not raw:
            continue
        elif kind == "number":
            value = _number(raw)
        elif kind == "list":
            value = [item.strip() for item in raw.split(",") if item.strip()]
        else:
            value = raw
        _put(body, name, value)
    return {k: _lists(v) for k, v in body.items()}


def path_of(action: Action, pid: str, form: Mapping[str, str]) -> str:
    """The command's path: ``{pid}`` the page's id, any other ``{name}`` the form's field of
    that name (quoted, so a value cannot reach another path of the service)."""
    names = {name for _, name, _, _ in Formatter().parse(action.path) if name and name != "pid"}
    return action.path.format(pid=pid, **{n: quote(form.get(n, ""), safe="") for n in names})


def _number(raw: str) -> Any:
    try:
        return float(raw.replace(".", "").replace(",", ".")) if "," in raw else float(raw)
    except ValueError:
        return raw  # the API names the field and the reason


def _put(body: dict[str, Any], dotted: str, value: Any) -> None:
    *parents, leaf = dotted.split(".")
    for p in parents:
        body = body.setdefault(p, {})
    body[leaf] = value


def _lists(node: Any) -> Any:
    """``{"0": a, "1": b}`` → ``[a, b]``, all the way down."""
    if not isinstance(node, dict):
        return node
    done = {k: _lists(v) for k, v in node.items()}
    if done and all(k.isdigit() for k in done):
        return [done[k] for k in sorted(done, key=int)]
    return done


ERASURE = Action("intake", "/participants/{pid}/erasure", {"legal_basis": "text"})

# --- employers and vacancies (Arbeitgeberakquise) --------------------------------------------

EMPLOYER = Action(
    "placement",
    "/employers",
    {
        "company": "text",
        "sector": "text",
        "size": "text",
        "region": "text",
        "contact_persons.0.name": "text",
        "contact_persons.0.position": "text",
        "contact_persons.0.phone": "text",
        "contact_persons.0.email": "text",
        "offers_work_trials": "bool",
        "offers_adapted_workplaces": "bool",
        "acquired_on": "date",
    },
)

EMPLOYER_ACTIONS: dict[str, Action] = {
    "kontakt": Action(
        "placement",
        "/employers/{pid}/contacts",
        {"contacted_on": "date", "channel": "text", "topic": "text", "notes": "text", "next_contact_on": "date"},
    ),
    "stelle": Action(
        "placement",
        "/vacancies",
        {
            "title": "text",
            "tasks": "text",
            "hours_per_week": "number",
            "flexible_hours": "bool",
            "demands.lifting": "text",
            "demands.standing": "text",
            "demands.mental_load": "text",
            "demands.shift_work": "bool",
            "demands.night_work": "bool",
            "demands.customer_contact": "bool",
            "possible_adaptations": "list",
            "positions": "number",
            "recorded_on": "date",
        },
        pid_field="employer_id",
    ),
    "schliessen": Action("placement", "/vacancies/{vacancy_id}/close", {"closed_on": "date", "reason": "text"}),
}

# --- the DRV carrier's steps on a rehab application (Reha-Arbeitsvorrat) ----------------------

_APPLICATION = "/cases/{pid}/rehab-applications/{application_id}"
REHAB_ACTIONS: dict[str, Action] = {
    "eingang": Action("casework", f"{_APPLICATION}/receipt", {"received_on": "date"}),
    "rueckfrage": Action("casework", f"{_APPLICATION}/requests", {"requested_on": "date", "question": "text"}),
    "bescheid": Action(
        "casework", f"{_APPLICATION}/decision", {"decided_on": "date", "approved": "bool", "reason": "text"}
    ),
    "massnahmebeginn": Action(
        "casework", f"{_APPLICATION}/measure-start", {"started_on": "date", "provider": "text", "cost_eur": "number"}
    ),
    "massnahmeende": Action("casework", f"{_APPLICATION}/measure-end", {"ended_on": "date", "cost_eur": "number"}),
}

# --- the Produktionswerkstatt: participants on a production order (placement) ---------------

_ORDER_PARTICIPANT = "/production-orders/{pid}/participants/{participant_id}"
WORKSHOP_ACTIONS: dict[str, Action] = {
    "teilnahme": Action("placement", _ORDER_PARTICIPANT, {"assigned_on": "date"}),
    "anwesenheit": Action(
        "placement", f"{_ORDER_PARTICIPANT}/attendance", {"worked_on": "date", "attendance": "text", "hours": "number"}
    ),
    "abmeldung": Action("placement", f"{_ORDER_PARTICIPANT}/release", {"released_on": "date"}),
}


# The key of a refused form's input that names the form (``api._failed``): a page's forms share
# field names (a reason, a date), so what was typed fills only the form that was refused.
FAILED_FORM = "__failed_form__"


def typed(values: Mapping[str, Any], errors: Mapping[str, Any]) -> Mapping[str, Any]:
    """The values a form's fields show: a refused form's input only in that form (the one given
    its errors), any other values (e.g. a filter's query) as they are."""
    if FAILED_FORM in values and not errors:
        return {}
    return values
