"""The portal's pure parts behind the newer pages: reporting's KPI JSON as the German figures
page shows it (suppressed cells kept, never summed away), forms that nest list items and fill
path fields, the read log's filter as the audit APIs' query, and the OIDC flow's PKCE."""

from __future__ import annotations

import base64
import hashlib
from typing import Any

import httpx

from services.portal import figures, forms, i18n, views, vocabulary
from services.portal.auth import User
from services.portal.clients import Backends
from services.portal.oidc import Flow
from shared.principal import Principal
from shared.vocabulary import Role


def _figs(referrals: Any, enrolments: int, k2: Any, einstieg: int = 1) -> dict[str, Any]:
    return {
        "referrals": referrals,
        "eligibility": {"checked": 3, "eligible": 2},
        "enrolments": enrolments,
        "active": {"total": einstieg, "by_phase": {"einstieg": einstieg, "clearing": 0}},
        "integrations": {"total": k2},
        "sustainability": {"6_months": {"rate": 0.5}, "12_months": {"rate": None}},
    }


KPIS = {
    "viewer": "jc-en",
    "quarters": [
        {
            "quarter": "2026-Q1",
            "groups": [{"agency": "jc-en", "project": "pro-aktiv", "figures": _figs(7, 2, 0)}],
            "total": _figs(7, 2, 0),
        },
        {
            "quarter": "2026-Q2",
            "groups": [{"agency": "jc-en", "project": "pro-aktiv", "figures": _figs("< 5", 1, "< 5")}],
            "total": _figs("< 5", 1, "< 5", einstieg=2),
        },
    ],
}


def test_the_figures_page_sums_quarters_but_never_reveals_a_suppressed_cell() -> None:
    d = figures.dashboard(KPIS, vocabulary.PHASES)
    assert d["span"] == ("Q1/2026", "Q2/2026")
    assert dict(d["funnel"]) == {"Zuweisungen": "≥ 7", "Geeignet": 4, "Eintritte": 3, "Integrationen (K2)": "< 5"}
    bars = {(b.category, b.series): b.text for b in d["phases"].bars}
    assert bars[("Q2/2026", "Einstieg")] == "2"
    assert [b.text for b in d["sustainability"].bars] == ["50 %", "\u2013", "50 %", "\u2013"]
    assert d["latest"]["quarter"] == "Q2/2026"
    assert d["latest"]["columns"] == ["jc-en / pro-aktiv", "Gesamt"]
    assert ("Zuweisungen", ["< 5", "< 5"]) in d["latest"]["rows"]
    assert figures.dashboard({"viewer": "jc-en", "quarters": []}, vocabulary.PHASES)["span"] is None


def test_a_stacked_chart_stacks_and_a_missing_value_draws_no_bar() -> None:
    chart = figures.bar_chart("t", ["a"], [("x", [2]), ("y", [2]), ("z", [None])], stacked=True)
    x, y, z = chart.bars
    assert x.y == y.y + y.height  # y sits on x
    assert z.height == 0
    assert z.text == figures.NONE


def test_list_items_and_path_fields_come_from_the_form() -> None:
    employer = forms.body_of(
        forms.EMPLOYER, {"company": "Metallbau", "contact_persons.0.name": "Petra", "contact_persons.0.phone": "1"}
    )
    assert employer["contact_persons"] == [{"name": "Petra", "phone": "1"}]
    assert employer["offers_work_trials"] is False
    vacancy = forms.body_of(
        forms.EMPLOYER_ACTIONS["stelle"],
        {
            "title": "Lager",
            "hours_per_week": "25",
            "possible_adaptations": "Tisch, , Pausenraum",
            "demands.lifting": "light",
        },
        pid="e-1",
    )
    assert vacancy["employer_id"] == "e-1"
    assert vacancy["possible_adaptations"] == ["Tisch", "Pausenraum"]
    assert vacancy["demands"] == {
        "lifting": "light",
        "shift_work": False,
        "night_work": False,
        "customer_contact": False,
    }
    close = forms.EMPLOYER_ACTIONS["schliessen"]
    assert forms.path_of(close, "e-1", {"vacancy_id": "v-1"}) == "/vacancies/v-1/close"
    assert forms.path_of(close, "e-1", {"vacancy_id": "../employers"}) == "/vacancies/..%2Femployers/close"


def test_the_read_log_filter_is_the_audit_apis_query() -> None:
    params = views.read_log_params({"participant_id": " 0190 ", "subject": "", "since": "2026-03-09"})
    assert params == {"participant_id": "0190", "since": "2026-03-09T00:00:00+01:00"}  # midnight in Germany
    assert views.read_log_params({"since": "gestern"}) == {"since": "gestern"}  # the API names the field
    assert i18n.fmt_moment("2026-07-01T10:05:00Z") == "01.07.2026, 12:05"
    assert i18n.fmt_number(25.0) == "25"
    assert i18n.fmt_number(12.5) == "12,5"


def test_the_login_flow_sends_the_s256_challenge_of_its_verifier_and_survives_its_cookie() -> None:
    flow = Flow.new()
    digest = hashlib.sha256(flow.verifier.encode()).digest()
    assert flow.challenge == base64.urlsafe_b64encode(digest).rstrip(b"=").decode()
    assert Flow.of_cookie(flow.cookie()) == flow
    assert Flow.of_cookie("a.b") is None
    assert Flow.of_cookie(None) is None
    assert Flow.new().state != flow.state


def test_a_period_range_and_the_newer_figures_are_rows_with_reportings_marks_kept() -> None:
    figs = {
        **_figs(9, 4, 1),
        "participants": 4,
        "integration_rate": 0.25,
        "declined": "suppressed",
        "health_exits": {"total": "< 5", "by_reason": {"disability-pension": "< 5"}},
        "subsidies": {"total": 2, "by_instrument": {"16e": 2, "16i": 0}},
    }
    doc = {**KPIS, "range": {"from": "2026-Q1", "to": "2026-Q2", "groups": [], "total": figs}}
    d = figures.dashboard(doc, vocabulary.PHASES)
    assert d["range"]["span"] == ("Q1/2026", "Q2/2026")
    assert d["range"]["columns"] == ["Gesamt"]
    rows = dict(d["range"]["rows"])
    assert rows["Integrationsquote (K2 je Teilnehmende)"] == [0.25]
    assert "Integrationsquote (K2 je Teilnehmende)" in d["percent_rows"]
    assert rows["Abgelehnte Eintritte"] == ["suppressed"]
    assert rows["Austritte aus gesundheitlichen Gründen"] == ["< 5"]
    assert rows["davon § 16e SGB II (Eingliederung von Langzeitarbeitslosen)"] == [2]
    assert rows["davon Übergang in Rehabilitation"] == [None]
    assert figures.dashboard(KPIS, vocabulary.PHASES)["range"] is None


def test_a_cell_says_what_reportings_marks_mean() -> None:
    assert figures.mark(3) == ("number", "")
    assert figures.mark(0.5) == ("number", "")
    assert figures.mark(None) == ("none", "")
    assert figures.mark("suppressed") == ("suppressed", "")
    assert figures.mark("< 5") == ("small", "5")
    assert figures.mark("< 3") == ("small", "3")
    assert figures.mark("≥ 7") == ("at-least", "7")


def test_targets_and_budget_only_for_a_configured_project() -> None:
    targets = {"project": "pro-aktiv", "configured": True, "agencies": ["jc-en"], "whole_project": False,
               "run": {"starts_on": "2026-01-01", "ends_on": "2026-12-31"},
               "participants": {"target": 10, "enrolled": 1, "of_target": 0.1}}  # fmt: skip
    budget = {"configured": True, "budget_eur": 100.0, "spent_eur": 5.0, "forecast_eur": 9.0,
              "categories": [{"category": "therapeutic", "suppressed": True}], "wage_subsidies": {}}  # fmt: skip
    plan = figures.plans(targets, budget)
    assert plan is not None
    assert plan["participants"]["target"] == 10
    assert plan["budget"]["categories"] == [{"category": "therapeutic", "suppressed": True}]
    assert figures.plans({"project": "pro-aktiv", "configured": False}, budget) is None
    assert figures.plans(targets, None)["budget"] is None  # type: ignore[index]


def _casework(cases: list[dict[str, Any]], caps: dict[str, int | None]) -> Backends:
    """casework's ``/caseload`` and ``/projects/{project}`` as the workspace asks for them."""

    def answer(request: httpx.Request) -> httpx.Response:
        path = request.url.path
        if path == "/caseload":
            return httpx.Response(200, json={"count": len(cases), "cases": cases})
        if path.startswith("/projects/"):
            project = path.rsplit("/", 1)[1]
            return httpx.Response(200, json={"project": project, "caseload_cap": caps.get(project)})
        return httpx.Response(200, json=[])

    transport = httpx.MockTransport(answer)
    return Backends(
        urls={s: f"http://{s}" for s in ("intake", "casework")}, transports={"intake": transport, "casework": transport}
    )


async def test_the_workspace_counts_my_active_cases_as_case_manager_against_each_projects_cap() -> None:
    case = {"participant_id": "p", "project": "pro-aktiv", "status": "open", "my_role": "case-manager"}
    cases = [
        case,
        {**case, "status": "interrupted"},
        {**case, "my_role": "psychologist"},  # on the team, not the guide: not under the cap
        {**case, "project": "pluspunkt"},  # a case of another project still counts there
    ]
    cm = User(Principal("cm-1", Role.CASE_MANAGER, "jc-en"), "token")
    page = await views.workspace(_casework(cases, {"pro-aktiv": 2}), cm, None)
    caps = {c["project"]: c for c in page.data["caps"]}
    assert (caps["pro-aktiv"]["active"], caps["pro-aktiv"]["cap"], caps["pro-aktiv"]["free"]) == (2, 2, 0)
    assert caps["pro-aktiv"]["at_cap"]
    assert (caps["pluspunkt"]["active"], caps["pluspunkt"]["cap"], caps["pluspunkt"]["at_cap"]) == (1, None, False)
    therapist = User(Principal("ot-1", Role.OCCUPATIONAL_THERAPIST, "jc-en"), "token")
    assert (await views.workspace(_casework(cases, {}), therapist, None)).data["caps"] is None


def test_a_refused_forms_input_fills_only_that_form() -> None:
    """A page's forms share field names: the transfer's typed reason must not land in the phase
    form's reason, while the refused form keeps what was typed (and a filter keeps its query)."""
    from services.portal.rendering import Renderer

    env = Renderer().envs["de"]
    typed = {"reason": "Umzug nach Schwelm", forms.FAILED_FORM: "uebergabe"}
    page = env.from_string(
        '{% from "_forms.html" import field %}'
        '{{ field("phase", "reason", "Begründung", errors={}, values=v) }}'
        '{{ field("uebergabe", "reason", "Grund", errors={"to_agency": "unknown"}, values=v) }}'
        '{{ field("filter", "subject", "Wer", errors={}, values={"subject": "cm-1"}) }}'
    ).render(v=typed)
    assert 'id="phase-reason" name="reason" type="text" value=""' in page
    assert 'id="uebergabe-reason" name="reason" type="text" value="Umzug nach Schwelm"' in page
    assert 'id="filter-subject" name="subject" type="text" value="cm-1"' in page
