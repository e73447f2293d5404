"""Subject access (GDPR Art. 15) on the real stack: a scripted person (referral, consents, a
case with a health item and a note, a placement record, two reads by staff), then the DPO of
the owning agency gets one document — JSON and HTML, through the portal — with exactly that;
a case manager and another agency's DPO are refused; the request is in every read log after."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from services.portal import subject_access
from services.portal.app import build as build_portal
from services.portal.auth import SESSION_COOKIE
from shared.auth import issue_token
from shared.settings import load_settings
from shared.vocabulary import Role
from tests import support
from tests.e2e.conftest import Stack
from tests.e2e.test_placement import EMPLOYER, WAREHOUSE, enrolled_with_open_case, ok, share_profile

pytestmark = pytest.mark.e2e

FINDINGS = "Lumbalgie, depressive Episode (F32.1)"
NOTE = "Termin beim Schuldnerberater vereinbart"


async def _scripted_person(stack: Stack) -> tuple[str, str]:
    """Referral, consents, case with an assessment and a note, a proposal; two staff reads."""
    pid = await enrolled_with_open_case(stack)
    intake, casework, placement = (stack.clients[s] for s in ("intake", "casework", "placement"))
    cm = stack.token(Role.CASE_MANAGER, "jc-en", "cm-1")
    consent = {"purpose": "medical-release", "granted_on": "2026-03-10", "form": "written", "scope": "Dr. Weber, Hagen"}
    ok(await intake.post(f"/participants/{pid}/consents", json=consent, headers=cm), 201)
    c = f"/cases/{pid}"
    ok(await casework.post(f"{c}/case-manager", json={"case_manager": "cm-1", "assigned_on": "2026-03-16"}, headers=cm))
    assessment = {"kind": "clearing", "completed_on": "2026-03-20", "findings": FINDINGS}
    ok(await casework.post(f"{c}/assessments", json=assessment, headers=cm), 201)
    ok(await casework.post(f"{c}/notes", json={"written_on": "2026-03-21", "text": NOTE}, headers=cm), 201)

    officer = stack.token(Role.EMPLOYER_ACQUISITION, "jc-en", "bak-1")
    employer = ok(await placement.post("/employers", json=EMPLOYER, headers=officer), 201)["employer_id"]
    vacancy = ok(await placement.post("/vacancies", json=WAREHOUSE | {"employer_id": employer}, headers=officer), 201)
    await share_profile(stack, pid)
    proposal = {"vacancy_id": vacancy["vacancy_id"], "proposed_on": "2026-04-02"}
    await support.eventually(
        lambda: placement.post(f"/candidates/{pid}/proposals", json=proposal, headers=officer),
        lambda r: r.status_code == 201,
    )
    await support.eventually(  # the proposal in placement's read model, where its answer reads it
        lambda: placement.get(f"/candidates/{pid}", headers=officer),
        lambda r: r.status_code == 200 and len(r.json()["proposals"]) == 1,
    )
    # the two reads by staff: identity in intake, health records in casework
    ok(await intake.get(f"/participants/{pid}", headers=cm))
    ok(await casework.get(f"{c}/health", headers=cm))
    await support.eventually(
        lambda: stack.clients["reporting"].get(
            f"/participants/{pid}/subject-access", headers=stack.token(Role.DATA_PROTECTION_OFFICER, "jc-en")
        ),
        lambda r: r.status_code == 200,
    )
    return pid, vacancy["vacancy_id"]


def _portal(stack: Stack, token: str) -> httpx.AsyncClient:
    transports = {name: httpx.ASGITransport(app=app) for name, app in stack.apps.items()}
    app = build_portal(transports=transports, jwt_secret=load_settings("test").jwt_secret)
    client = httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://portal")
    client.cookies.set(SESSION_COOKIE, token)
    return client


def _token(role: Role, agency: str, subject: str) -> str:
    return issue_token(load_settings("test").jwt_secret, subject=subject, role=role, agency=agency)


def _records(part: dict[str, Any], event_type: str) -> list[dict[str, Any]]:
    return [r for r in part["data"]["records"] if r["event_type"] == event_type]


async def test_the_dpo_gets_everything_as_json_and_html_and_the_request_is_audited(stack: Stack) -> None:
    pid, vacancy = await _scripted_person(stack)
    dpo = _token(Role.DATA_PROTECTION_OFFICER, "jc-en", "dsb-jc-en")
    async with _portal(stack, dpo) as portal:
        r = await portal.get(f"/auskunft/{pid}/json")
        assert r.status_code == 200, r.text
        assert "attachment" in r.headers["content-disposition"]
        doc = r.json()
        html = (await portal.get(f"/auskunft/{pid}")).text
        page = await portal.get(f"/auskunft?participant_id={pid}")
    assert page.status_code == 200
    assert f'href="/auskunft/{pid}/json"' in page.text

    assert doc["document"] == "Auskunft nach Art. 15 DSGVO"
    assert doc["requested_by"] == {"subject": "dsb-jc-en", "role": "data-protection-officer", "agency": "jc-en"}
    assert doc["generated_at"]
    intake, casework, placement, reporting = (
        doc["services"][s] for s in ("intake", "casework", "placement", "reporting")
    )
    assert all(p["status"] == "answered" and p["agency"] == "jc-en" for p in (intake, casework, placement, reporting))

    # intake: identity in clear, the referral reason, consents with their state
    identity = intake["data"]["identity"]
    assert {k: v for k, v in identity.items() if v} == support.REFERRAL["identity"]  # the rest: empty optional fields
    assert intake["data"]["referral_reason"] == support.REFERRAL["reason"]
    consents = {c["purpose"]: c for c in intake["data"]["consents"]}
    assert set(consents) == {"participation", "medical-release"}
    assert consents["medical-release"]["scope"] == "Dr. Weber, Hagen"
    assert consents["participation"]["active"] is True
    assert consents["participation"]["ended_on"] is None
    referral = _records(intake, "ReferralReceived")[0]["data"]
    assert referral["identity"] == identity

    # casework: the health item and the note, opened
    [assessment] = casework["data"]["health_records"]["assessments"]
    assert assessment["data"]["findings"] == FINDINGS
    assert assessment["actor"] == {"id": "cm-1", "role": "case-manager"}
    [note] = _records(casework, "CaseNoteAdded")
    assert note["data"]["text"] == NOTE
    assert casework["data"]["case"]["case_manager"] == "cm-1"

    # placement: the proposal and the shared profile
    [proposal] = placement["data"]["proposals"]
    assert proposal["vacancy_id"] == vacancy
    assert placement["data"]["profile"]["max_hours_per_week"] == 30
    assert {r["event_type"] for r in placement["data"]["records"]} >= {"CandidateProfilePublished", "CandidateProposed"}

    # reporting: its facts, no identity
    assert "ReferralReceived" in {f["event_type"] for f in reporting["data"]["facts"]}
    assert "Beispiel" not in str(reporting)

    # the read log: the two staff reads (who, role, agency, when), and this request in every service
    staff = [
        (x["service"], x["subject"], x["role"], x["agency"], x["what"]) for x in doc["reads"] if x["subject"] == "cm-1"
    ]
    assert ("intake", "cm-1", "case-manager", "jc-en", "identity") in staff
    assert ("casework", "cm-1", "case-manager", "jc-en", "health-records") in staff
    assert all(x["read_at"] for x in doc["reads"])
    mine = {x["service"] for x in doc["reads"] if x["subject"] == "dsb-jc-en" and x["what"] == "subject-access"}
    assert mine == {"intake", "casework", "placement", "reporting"}
    assert {x["correlation_id"] for x in doc["reads"] if x["what"] == "subject-access"} >= {doc["correlation_id"]}

    # the HTML shows the same sections and values
    for text in ("Aufnahme (Intake)", "Fallarbeit (Casework)", "Vermittlung (Placement)", "Auswertung (Reporting)",
                 "Protokoll der Zugriffe", "Einwilligungen", "Gesundheitsdaten", "Beispiel", "Dr. Weber, Hagen",
                 FINDINGS, NOTE, "dsb-jc-en"):  # fmt: skip
        assert text in html, text
    assert html.count("<tr><td>") >= len(doc["reads"])
    assert doc["correlation_id"] in subject_access.to_html(doc)  # rendered from the JSON document alone

    # afterwards the subject-access read is in the services' read logs (auditor's view)
    auditor = stack.token(Role.AUDITOR, "jc-en")
    data_reads = ok(await stack.clients["intake"].get(f"/audit/data-reads?participant_id={pid}", headers=auditor))
    assert ("dsb-jc-en", "subject-access") in {(x["subject"], x["what"]) for x in data_reads["reads"]}
    health_reads = ok(await stack.clients["casework"].get(f"/audit/health-reads?participant_id={pid}", headers=auditor))
    assert ("dsb-jc-en", "subject-access") in {(x["subject"], x["what"]) for x in health_reads["reads"]}


async def test_only_the_owning_agencys_dpo_gets_subject_access(stack: Stack) -> None:
    pid = await enrolled_with_open_case(stack)
    routes = {
        "intake": f"/participants/{pid}/subject-access",
        "casework": f"/cases/{pid}/subject-access",
    }
    cm = stack.token(Role.CASE_MANAGER, "jc-en")
    other_dpo = stack.token(Role.DATA_PROTECTION_OFFICER, "jc-mk")
    for service, path in routes.items():
        assert (await stack.clients[service].get(path, headers=cm)).status_code == 403, service
        assert (await stack.clients[service].get(path, headers=other_dpo)).status_code == 404, service
    async with _portal(stack, _token(Role.CASE_MANAGER, "jc-en", "cm-1")) as portal:
        assert (await portal.get(f"/auskunft/{pid}/json")).status_code == 403
        refused = await portal.get(f"/auskunft/{pid}")
    assert refused.status_code == 403
    assert "verweigert" in refused.text
    async with _portal(stack, _token(Role.DATA_PROTECTION_OFFICER, "jc-mk", "dsb-jc-mk")) as portal:
        assert (await portal.get(f"/auskunft/{pid}/json")).status_code == 404


async def test_an_erased_person_gets_an_explicit_erased_answer(stack: Stack) -> None:
    pid = await enrolled_with_open_case(stack)
    dpo = stack.token(Role.DATA_PROTECTION_OFFICER, "jc-en", "dsb-jc-en")
    erasure = {"legal_basis": "Art. 17 GDPR"}
    ok(await stack.clients["intake"].post(f"/participants/{pid}/erasure", json=erasure, headers=dpo))
    case = await support.eventually(
        lambda: stack.clients["casework"].get(f"/cases/{pid}/subject-access", headers=dpo),
        lambda r: r.status_code == 200 and r.json()["erased"],
    )
    assert case.json()["erased_on"]
    assert case.json()["data"] is None
    async with _portal(stack, _token(Role.DATA_PROTECTION_OFFICER, "jc-en", "dsb-jc-en")) as portal:
        doc = (await portal.get(f"/auskunft/{pid}/json")).json()
    assert doc["services"]["intake"]["erased"] is True
    assert doc["services"]["intake"]["erased_on"] == case.json()["erased_on"]
    assert "Beispiel" not in str(doc)
    assert "gelöscht" in subject_access.to_html(doc)
