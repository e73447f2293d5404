"""Access and consent on the paths a curious colleague or a new user would try (issue 12), on
the real stack: each was a way around the rules before."""

from __future__ import annotations

import time
from datetime import UTC, date, datetime
from typing import Any

import asyncpg
import httpx
import pytest

from shared.auth import SERVICES, audience, dev_issuer, signing_keys
from shared.vocabulary import Role
from tests import support
from tests.e2e.conftest import Stack

pytestmark = pytest.mark.e2e

REFERRAL = {
    "project": "pro-aktiv",
    "received_on": "2026-02-02",
    "sex": "female",
    "identity": {"first_name": "Clara", "last_name": "Probe", "birth_date": "1981-04-02"},
    "reason": "anxiety disorder",
}
DIAGNOSIS = "F41.1 generalised anxiety disorder"


async def ok(response: httpx.Response, status: int = 200) -> Any:
    assert response.status_code == status, response.text
    return response.json()


class Case:
    """One enrolled jc-en participant with a case manager and a psychologist on the team."""

    def __init__(self, stack: Stack, pid: str) -> None:
        self.stack, self.pid = stack, pid
        self.cm = stack.token(Role.CASE_MANAGER, "jc-en", "cm-anna")
        self.psy = stack.token(Role.PSYCHOLOGIST, "jc-en", "psy-paula")
        self.intake, self.casework = stack.clients["intake"], stack.clients["casework"]

    @property
    def c(self) -> str:
        return f"/cases/{self.pid}"

    @property
    def p(self) -> str:
        return f"/participants/{self.pid}"

    async def grant(self, purpose: str, **extra: Any) -> str:
        body = {"purpose": purpose, "granted_on": "2026-02-09", "form": "written"} | extra
        granted = await ok(await self.intake.post(f"{self.p}/consents", json=body, headers=self.cm), 201)
        return str(granted["consent_id"])


async def enrolled(stack: Stack, *, release: str | None = "Dr. Weber, Hagen") -> tuple[Case, str]:
    """A case open in casework; returns it and the participation consent's id."""
    cm = stack.token(Role.CASE_MANAGER, "jc-en", "cm-anna")
    intake = stack.clients["intake"]
    pid = (await ok(await intake.post("/referrals", json=REFERRAL, headers=cm), 201))["participant_id"]
    case = Case(stack, pid)
    await ok(await intake.post(f"{case.p}/information-meeting", json={"held_on": "2026-02-05"}, headers=cm))
    eligibility = {"checked_on": "2026-02-09", "voluntary": True, "willing_to_address_impairments": True}
    await ok(await intake.post(f"{case.p}/eligibility", json=eligibility, headers=cm))
    participation = await case.grant("participation")
    if release:
        await case.grant("medical-release", scope=release)
    await ok(await intake.post(f"{case.p}/enrolment", json={"start_date": "2026-02-16"}, headers=cm))
    await support.eventually(lambda: case.casework.get(case.c, headers=cm), lambda r: r.status_code == 200)
    assign = {"case_manager": "cm-anna", "assigned_on": "2026-02-16"}
    await ok(await case.casework.post(f"{case.c}/case-manager", json=assign, headers=cm))
    member = {"member": "psy-paula", "role": "psychologist", "added_on": "2026-02-16"}
    await ok(await case.casework.post(f"{case.c}/team", json=member, headers=cm), 201)
    return case, participation


async def report(case: Case, source: str = "Dr. Weber", **extra: Any) -> httpx.Response:
    body = {"received_on": "2026-03-11", "source": source, "summary": DIAGNOSIS} | extra
    return await case.casework.post(f"{case.c}/medical-reports", json=body, headers=case.psy)


async def test_the_past_is_judged_on_todays_case(stack: Stack) -> None:
    """A psychologist removed from the team and a former case manager after a hand-over read
    no health records through ``as_of`` (before: the reconstructed past team let them in)."""
    case, _ = await enrolled(stack)
    await ok(await report(case), 201)
    note = {"written_on": "2026-03-12", "text": "panic attacks at the job centre", "confidential": True}
    await ok(await case.casework.post(f"{case.c}/notes", json=note, headers=case.cm), 201)
    then = datetime.now(UTC).isoformat()
    past = await ok(await case.casework.get(f"{case.c}/timeline", params={"as_of": then}, headers=case.psy))
    assert any(e["event_type"] == "MedicalReportReceived" for e in past["events"])  # on the team: shown

    removal = {"removed_on": "2026-03-20"}
    await ok(await case.casework.post(f"{case.c}/team/psy-paula/removal", json=removal, headers=case.cm))
    handover = {"to_case_manager": "cm-bert", "handed_over_on": "2026-03-21"}
    await ok(await case.casework.post(f"{case.c}/handover", json=handover, headers=case.cm))

    for former in (case.psy, case.cm):
        assert (await case.casework.get(f"{case.c}/health", headers=former)).status_code == 403
        past = await ok(await case.casework.get(f"{case.c}/timeline", params={"as_of": then}, headers=former))
        kinds = {e["event_type"] for e in past["events"]}
        assert not kinds & {"MedicalReportReceived", "CaseNoteAdded"}, kinds
        assert any(e.get("redacted") for e in past["events"])
        glance = await ok(await case.casework.get(case.c, params={"as_of": then}, headers=former))
        assert glance["health_access"] is False
    new_cm = stack.token(Role.CASE_MANAGER, "jc-en", "cm-bert")
    past = await ok(await case.casework.get(f"{case.c}/timeline", params={"as_of": then}, headers=new_cm))
    assert "MedicalReportReceived" in {e["event_type"] for e in past["events"]}  # today's case manager


async def test_withdrawn_participation_consent_exits_the_case(stack: Stack) -> None:
    """Withdrawal ends participation: casework exits the case as of the effective day, and then
    takes no new note and no medical report (409 naming ``consent``)."""
    case, participation = await enrolled(stack)
    withdrawal = {"effective_on": "2026-04-02"}
    await ok(await case.intake.post(f"{case.p}/consents/{participation}/withdrawal", json=withdrawal, headers=case.cm))
    exited = await support.eventually(
        lambda: case.casework.get(case.c, headers=case.cm), lambda r: r.json()["status"] == "exited"
    )
    assert (exited.json()["exit_reason"], exited.json()["exited_on"]) == ("consent-withdrawn", "2026-04-02")
    note = await case.casework.post(
        f"{case.c}/notes", json={"written_on": "2026-04-03", "text": "still here"}, headers=case.cm
    )
    assert note.status_code == 409, note.text
    assert note.json()["errors"][0]["field"] == "consent"
    late = await report(case, received_on="2026-04-03")
    assert late.status_code == 409, late.text


async def test_a_medical_report_needs_a_release_naming_its_doctor(stack: Stack) -> None:
    """No release at all, a release for another doctor, or one not yet granted on the report's
    day: 409 naming ``consent``. A release naming the doctor lets it in."""
    case, _ = await enrolled(stack, release=None)
    for response in (
        await report(case),
        await report(case, source="Dr. Weber"),
    ):
        assert response.status_code == 409, response.text
        assert response.json()["errors"][0]["field"] == "consent"
    other = await case.grant("medical-release", scope="Klinik Hagen")
    await support.eventually(lambda: report(case, source="Klinik Hagen"), lambda r: r.status_code == 201)
    wrong_doctor = await report(case, source="Dr. Weber", consent_id=other)
    assert (wrong_doctor.status_code, wrong_doctor.json()["errors"][0]["field"]) == (409, "consent")
    before_grant = await report(case, source="Klinik Hagen", received_on="2026-02-01")
    assert (before_grant.status_code, before_grant.json()["errors"][0]["field"]) == (409, "consent")


async def test_lists_show_exactly_the_cases_the_detail_shows(stack: Stack) -> None:
    """A DRV adviser on the team whose drv-exchange consent was withdrawn: GET /cases/{id} is
    404 (no longer opened to DRV), and so the case is in none of the adviser's lists (before:
    caseload and tasks had it)."""
    case, _ = await enrolled(stack)
    exchange = await case.grant("drv-exchange")
    drv = stack.token(Role.DRV_ADVISER, "drv-westfalen", "drv-dora")
    member = {"member": "drv-dora", "role": "drv-adviser", "agency": "drv-westfalen", "added_on": "2026-02-16"}
    await ok(await case.casework.post(f"{case.c}/team", json=member, headers=case.cm), 201)
    appointment = {"scheduled_for": "2026-12-01", "with_member": "drv-dora", "kind": "counselling"}
    await ok(await case.casework.post(f"{case.c}/appointments", json=appointment, headers=case.cm), 201)

    async def listed() -> dict[str, bool]:
        caseload = await ok(await case.casework.get("/caseload", headers=drv))
        tasks = await ok(await case.casework.get("/tasks", params={"within_days": 30}, headers=drv))
        cases = await ok(await case.casework.get("/cases", headers=drv))
        return {
            "detail": (await case.casework.get(case.c, headers=drv)).status_code == 200,
            "caseload": any(c["participant_id"] == case.pid for c in caseload["cases"]),
            "tasks": any(t["participant_id"] == case.pid for t in tasks["tasks"]),
            "cases": any(str(c["participant_id"]) == case.pid for c in cases),
        }

    seen = await support.eventually(listed, lambda v: all(v.values()))
    assert all(seen.values())
    withdrawal = {"effective_on": "2026-03-01"}
    await ok(await case.intake.post(f"{case.p}/consents/{exchange}/withdrawal", json=withdrawal, headers=case.cm))
    # the detail and the lists are read apart: wait for all four (the detail going first says
    # nothing of when the next read of a list is made)
    hidden = {"detail": False, "caseload": False, "tasks": False, "cases": False}
    gone = await support.eventually(listed, lambda v: v == hidden)
    assert gone == hidden


def forged(claims: dict[str, Any]) -> dict[str, str]:
    """A correctly signed development token with the given claims (over a valid base)."""
    now = int(time.time())
    base: dict[str, Any] = {
        "sub": "cm-anna",
        "role": "case-manager",
        "agency": "jc-en",
        "iss": dev_issuer("jc-en"),
        "aud": [audience(s) for s in SERVICES],
    }
    body = {k: v for k, v in (base | {"iat": now, "exp": now + 600} | claims).items() if v is not None}
    return {"Authorization": f"Bearer {signing_keys().sign(body)}"}


BAD_CLAIMS: list[dict[str, Any]] = [
    {"sub": ""},
    {"sub": "   "},
    {"sub": None},
    {"role": ""},
    {"role": None},
    {"agency": ""},
    {"agency": None},
]


async def test_a_token_without_subject_role_or_agency_is_401(stack: Stack) -> None:
    """Empty or missing ``sub``, ``role`` or ``agency``: 401 at every service (before: an empty
    ``sub`` was accepted)."""
    paths = {"intake": "/participants", "casework": "/cases", "placement": "/employers", "reporting": "/kpis/counts"}
    for service, path in paths.items():
        assert (await stack.clients[service].get(path, headers=forged({}))).status_code == 200, service
        for claims in BAD_CLAIMS:
            r = await stack.clients[service].get(path, headers=forged(claims))
            assert r.status_code == 401, (service, claims, r.text)


async def test_the_consent_expiry_drill_is_for_the_own_agency_and_never_the_future(stack: Stack) -> None:
    """A jc-en administrator's drill expires jc-en's due consents only; a ``today`` after today
    is 422 naming ``today`` (before: it ran for every agency, with any day)."""
    stack.runtime("intake").clock = lambda: date(2027, 3, 1)
    intake = stack.clients["intake"]
    mine: dict[str, str] = {}
    for agency in ("jc-en", "jc-mk"):
        cm = stack.token(Role.CASE_MANAGER, agency, f"cm-{agency}")
        pid = (await ok(await intake.post("/referrals", json=REFERRAL, headers=cm), 201))["participant_id"]
        body = {"purpose": "monitoring", "granted_on": "2027-01-04", "form": "written", "expires_on": "2027-02-01"}
        await ok(await intake.post(f"/participants/{pid}/consents", json=body, headers=cm), 201)
        mine[agency] = pid
    admin = stack.token(Role.ADMINISTRATOR, "jc-en", "admin-en")
    future = await intake.post("/admin/consent-expiry", json={"today": "2027-03-02"}, headers=admin)
    assert (future.status_code, future.json()["errors"][0]["field"]) == (422, "today")

    async def expired(agency: str) -> int:
        cm = stack.token(Role.CASE_MANAGER, agency, f"cm-{agency}")
        consents = await ok(await intake.get(f"/participants/{mine[agency]}/consents", headers=cm))
        return sum(c["ended_by"] == "expired" for c in consents)

    run = await support.eventually(
        lambda: intake.post("/admin/consent-expiry", json={}, headers=admin), lambda r: r.json().get("expired") == 1
    )
    assert run.json() == {"agency": "jc-en", "expired": 1}
    assert (await expired("jc-en"), await expired("jc-mk")) == (1, 0)


async def test_an_objection_withholds_exactly_its_doctor_and_can_be_withdrawn(stack: Stack) -> None:
    """§ 76 SGB X: an objection to passing on Klinik Hagen's data withholds Klinik Hagen's report
    from the DRV adviser, not Dr. Weber's; withdrawn, it holds no more (before: any objection
    withheld every report, for ever)."""
    case, _ = await enrolled(stack)
    await case.grant("medical-release", scope="Klinik Hagen")
    await case.grant("drv-exchange")
    drv = stack.token(Role.DRV_ADVISER, "drv-westfalen", "drv-dora")
    member = {"member": "drv-dora", "role": "drv-adviser", "agency": "drv-westfalen", "added_on": "2026-02-16"}
    await ok(await case.casework.post(f"{case.c}/team", json=member, headers=case.cm), 201)
    await ok(await report(case, source="Dr. Weber"), 201)
    await support.eventually(lambda: report(case, source="Klinik Hagen"), lambda r: r.status_code == 201)
    objection = await ok(
        await case.intake.post(
            f"{case.p}/objections", json={"recorded_on": "2026-03-20", "scope": "Klinik Hagen"}, headers=case.cm
        ),
        201,
    )

    async def sources(headers: dict[str, str]) -> tuple[list[str], int]:
        response = await case.casework.get(f"{case.c}/health", headers=headers)
        if response.status_code == 404:  # the drv-exchange consent has not reached casework yet
            return [], -1
        health = await ok(response)
        return sorted(r["data"]["source"] for r in health["medical_reports"]), health["withheld_under_objection"]

    withheld = await support.eventually(lambda: sources(drv), lambda v: v[1] == 1)
    assert withheld == (["Dr. Weber"], 1)
    assert await sources(case.cm) == (["Dr. Weber", "Klinik Hagen"], 0)  # the case's own agency
    timeline = await ok(await case.casework.get(f"{case.c}/timeline", headers=drv))
    shown = [e["data"]["source"] for e in timeline["events"] if e["event_type"] == "MedicalReportReceived"]
    assert shown == ["Dr. Weber"]

    detail = await ok(await case.intake.get(case.p, headers=case.cm))
    [on_record] = detail["objections"]
    assert (on_record["objection_id"], on_record["holds"]) == (objection["objection_id"], True)
    early = await case.intake.post(
        f"{case.p}/objections/{objection['objection_id']}/withdrawal",
        json={"withdrawn_on": "2026-03-19"},
        headers=case.cm,
    )
    assert (early.status_code, early.json()["errors"][0]["field"]) == (422, "withdrawn_on")
    await ok(
        await case.intake.post(
            f"{case.p}/objections/{objection['objection_id']}/withdrawal",
            json={"withdrawn_on": "2026-04-01"},
            headers=case.cm,
        )
    )
    released = await support.eventually(lambda: sources(drv), lambda v: v[1] == 0)
    assert released == (["Dr. Weber", "Klinik Hagen"], 0)


async def test_notes_and_doctor_contacts_are_not_shown_in_clear_by_role(stack: Stack) -> None:
    """Field visibility: a non-confidential note and a doctor contact's summary are not in clear
    for a financial adviser on the team or a project lead (before: both were); the employer
    acquisition officer on the team reads the note, not the doctor's summary; the note's author
    reads it."""
    case, _ = await enrolled(stack)
    for member, role in (("fin-frank", "financial-adviser"), ("eao-emil", "employer-acquisition-officer")):
        body = {"member": member, "role": role, "added_on": "2026-02-16"}
        await ok(await case.casework.post(f"{case.c}/team", json=body, headers=case.cm), 201)
    note = {"written_on": "2026-03-02", "text": "sister helps with the children"}
    await ok(await case.casework.post(f"{case.c}/notes", json=note, headers=case.cm), 201)
    contact = {"contacted_on": "2026-03-03", "channel": "phone", "counterpart": "doctor", "summary": "dose raised"}
    await ok(await case.casework.post(f"{case.c}/contacts", json=contact, headers=case.cm), 201)
    fin = stack.token(Role.FINANCIAL_ADVISER, "jc-en", "fin-frank")
    own = {"written_on": "2026-03-04", "text": "debts settled"}
    await ok(await case.casework.post(f"{case.c}/notes", json=own, headers=fin), 201)

    async def seen(headers: dict[str, str]) -> dict[str, bool]:
        text = (await ok(await case.casework.get(f"{case.c}/timeline", headers=headers))).get("events")
        body = str(text)
        return {"note": "sister helps" in body, "doctor": "dose raised" in body, "own": "debts settled" in body}

    lead = stack.token(Role.PROJECT_LEAD, "jc-en", "lead-lena")
    eao = stack.token(Role.EMPLOYER_ACQUISITION, "jc-en", "eao-emil")
    assert await seen(fin) == {"note": False, "doctor": False, "own": True}
    assert await seen(lead) == {"note": False, "doctor": False, "own": False}
    assert await seen(eao) == {"note": True, "doctor": False, "own": True}
    assert await seen(case.psy) == {"note": True, "doctor": True, "own": True}
    timeline = await ok(await case.casework.get(f"{case.c}/timeline", headers=lead))
    [logged] = [e for e in timeline["events"] if e["event_type"] == "ContactLogged"]
    assert (logged["data"]["summary"], logged["withheld"], logged["data"]["counterpart"]) == (
        None,
        ["summary"],
        "doctor",
    )


async def test_identity_reason_and_health_reads_are_audited_append_only(stack: Stack) -> None:
    """Every identity and referral-reason read (intake, also through casework's /person) and
    every health read (casework) leaves a row: who, role, agency, what, when, correlation id;
    the DPO and auditors of the agency query them; UPDATE and DELETE are refused (before:
    identity reads left no trace, the health log could be rewritten)."""
    case, _ = await enrolled(stack)
    await ok(await report(case), 201)
    await ok(await case.intake.get(case.p, headers=case.cm))  # identity
    await ok(await case.intake.get(case.p, headers=case.psy))  # identity + referral reason
    correlation = "01a2312f-0000-7000-8000-000000000042"
    person = await case.casework.get(f"{case.c}/person", headers=case.cm | {"X-Correlation-ID": correlation})
    await ok(person)
    await ok(await case.casework.get(f"{case.c}/health", headers=case.psy))

    dpo = stack.token(Role.DATA_PROTECTION_OFFICER, "jc-en", "dpo-dora")
    reads = await ok(await case.intake.get("/audit/data-reads", params={"participant_id": case.pid}, headers=dpo))
    got = sorted((r["subject"], r["role"], r["agency"], r["what"]) for r in reads["reads"])
    assert got == [  # the case manager reads the reason too (a health role of the running agency)
        ("cm-anna", "case-manager", "jc-en", "identity"),
        ("cm-anna", "case-manager", "jc-en", "identity"),
        ("cm-anna", "case-manager", "jc-en", "referral-reason"),
        ("cm-anna", "case-manager", "jc-en", "referral-reason"),
        ("psy-paula", "psychologist", "jc-en", "identity"),
        ("psy-paula", "psychologist", "jc-en", "referral-reason"),
    ]
    assert correlation in {r["correlation_id"] for r in reads["reads"]}
    assert all(r["read_id"] and r["read_at"] and r["participant_agency"] == "jc-en" for r in reads["reads"])
    auditor = stack.token(Role.AUDITOR, "jc-en", "aud-axel")
    health = await ok(
        await case.casework.get("/audit/health-reads", params={"participant_id": case.pid}, headers=auditor)
    )
    assert [(r["subject"], r["what"]) for r in health["reads"]] == [("psy-paula", "health-records")]
    assert all(r["read_id"] for r in health["reads"])
    assert (await case.intake.get("/audit/data-reads", headers=case.cm)).status_code == 403
    other = stack.token(Role.AUDITOR, "jc-mk", "aud-mk")
    assert (await ok(await case.intake.get("/audit/data-reads", headers=other)))["count"] == 0

    for service, table in (("intake", "data_reads"), ("casework", "health_data_reads")):
        pool = stack.runtime(service).pool
        assert pool is not None
        for statement in (f"UPDATE {table} SET subject = 'nobody'", f"DELETE FROM {table}"):
            with pytest.raises(asyncpg.RaiseError, match="append-only"):
                await pool.execute(statement)


async def test_enrolment_needs_the_information_meeting_first_by_default(stack: Stack) -> None:
    """Both projects hold one (the setting ``information_meeting_optional`` is empty by
    default): eligible and consented, but no meeting yet, is 409 naming ``information_meeting``."""
    cm = stack.token(Role.CASE_MANAGER, "jc-en", "cm-anna")
    intake = stack.clients["intake"]
    pid = (await ok(await intake.post("/referrals", json=REFERRAL, headers=cm), 201))["participant_id"]
    eligibility = {"checked_on": "2026-02-09", "voluntary": True, "willing_to_address_impairments": True}
    await ok(await intake.post(f"/participants/{pid}/eligibility", json=eligibility, headers=cm))
    consent = {"purpose": "participation", "granted_on": "2026-02-09", "form": "written"}
    await ok(await intake.post(f"/participants/{pid}/consents", json=consent, headers=cm), 201)
    early = await intake.post(f"/participants/{pid}/enrolment", json={"start_date": "2026-02-16"}, headers=cm)
    assert (early.status_code, early.json()["errors"][0]["field"]) == (409, "information_meeting")
    await ok(await intake.post(f"/participants/{pid}/information-meeting", json={"held_on": "2026-02-10"}, headers=cm))
    await ok(await intake.post(f"/participants/{pid}/enrolment", json={"start_date": "2026-02-16"}, headers=cm))
