"""One participant from referral to exit through every phase, on the real stack: consent
granted and withdrawn on the way, and what each role in each agency can and cannot see."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any

import httpx
import pytest
from aiokafka import AIOKafkaProducer

from shared.contracts.placement import EmploymentStarted
from shared.envelope import GENESIS_HASH, Actor, new_id
from shared.eventstore import CommandContext, seal
from shared.vocabulary import Role
from tests import support
from tests.e2e.conftest import Stack

pytestmark = pytest.mark.e2e

# The usual referral, of another person (her name and diagnosis are checked at the end).
REFERRAL = support.REFERRAL | {
    "received_on": "2026-02-02",
    "identity": {
        "first_name": "Birgit",
        "last_name": "Lehmann",
        "birth_date": "1979-08-11",
        "address": "Hauptstr. 5, 58452 Witten",
        "insurance_number": "12110879L456",
    },
    "reason": "recurrent depressive disorder, long-term sick leave",
}
PROFILE = {
    "max_hours_per_week": 25,
    "lifting": "light",
    "mental_load": "moderate",
    "night_work": False,
    "adaptations": ["quiet workplace"],
}
DIAGNOSIS = "F33.1 recurrent depressive disorder"


class Clock:
    def __init__(self, day: date) -> None:
        self.day = day

    def __call__(self) -> date:
        return self.day


class Actors:
    """Bearer headers for the people in this story."""

    def __init__(self, stack: Stack) -> None:
        self.stack = stack

    def __call__(self, role: Role, agency: str, subject: str) -> dict[str, str]:
        return self.stack.token(role, agency, subject)


async def ok(response: httpx.Response, status: int = 200) -> Any:
    assert response.status_code == status, response.text
    return response.json()


@dataclass(frozen=True)
class Commands:
    """Commands (POSTs) under one resource that must succeed: ``act(path, body, who)`` gives
    the response body, so the story reads as its steps."""

    client: httpx.AsyncClient
    base: str

    async def __call__(self, path: str, body: dict[str, Any], headers: dict[str, str], status: int = 200) -> Any:
        return await ok(await self.client.post(f"{self.base}{path}", json=body, headers=headers), status)


async def publish_employment(stack: Stack, participant_id: str, started_on: str) -> None:
    """What placement will put on its topic when a job starts (its service is built in parallel)."""
    employment_id = new_id()
    started = EmploymentStarted(
        employment_id=employment_id,
        participant_id=participant_id,
        agency="jc-en",
        project="pro-aktiv",
        started_on=date.fromisoformat(started_on),
        type="social-insurance",
        hours_per_week=25,
    )
    officer = Actor(id="eao-emil", role="employer-acquisition-officer")
    [env] = seal(
        [started],
        stream_id=f"employment-{employment_id}",
        stream_type="employment",
        after_version=0,
        head_hash=GENESIS_HASH,
        context=CommandContext(actor=officer, agency="jc-en", project="pro-aktiv", correlation_id=new_id()),
    )
    producer = AIOKafkaProducer(bootstrap_servers=support.KAFKA)
    await producer.start()
    try:
        await producer.send_and_wait(f"{stack.prefix}placement.events", env.to_bytes(), key=env.stream_id.encode())
    finally:
        await producer.stop()


async def casework_events(stack: Stack, participant_id: str) -> list[str]:
    rt = stack.runtime("casework")
    assert rt.pool is not None
    rows = await rt.pool.fetch(
        "SELECT event_type FROM events WHERE stream_id = $1 ORDER BY version", f"case-{participant_id}"
    )
    return [r["event_type"] for r in rows]


async def test_referral_to_exit_through_every_phase(stack: Stack) -> None:
    clock = Clock(date(2026, 2, 20))
    for name in ("intake", "casework"):
        stack.runtime(name).clock = clock  # "today" of every command and view
    intake, casework = stack.clients["intake"], stack.clients["casework"]
    who = Actors(stack)
    cm = who(Role.CASE_MANAGER, "jc-en", "cm-anna")
    ot = who(Role.OCCUPATIONAL_THERAPIST, "jc-en", "ot-otto")
    psy = who(Role.PSYCHOLOGIST, "jc-en", "psy-paula")
    fin = who(Role.FINANCIAL_ADVISER, "jc-en", "fin-frank")
    drv = who(Role.DRV_ADVISER, "drv-westfalen", "drv-dora")

    # ---- intake: referral, information meeting, eligibility, consents, enrolment
    pid = (await ok(await intake.post("/referrals", json=REFERRAL, headers=cm), 201))["participant_id"]
    p = f"/participants/{pid}"
    await ok(await intake.post(f"{p}/information-meeting", json={"held_on": "2026-02-05"}, headers=cm))
    no_consent = await intake.post(f"{p}/enrolment", json={"start_date": "2026-02-16"}, headers=cm)
    assert no_consent.status_code == 409
    assert no_consent.json()["errors"][0]["field"] == "eligibility"
    checked = await ok(
        await intake.post(
            f"{p}/eligibility",
            json={
                "checked_on": "2026-02-09",
                "voluntary": True,
                "willing_to_address_impairments": False,
                "declined_lta": True,
                "findings": DIAGNOSIS,
            },
            headers=cm,
        )
    )
    assert checked["eligible"] is True
    assert "declined LTA" in checked["reasons"]
    no_consent = await intake.post(f"{p}/enrolment", json={"start_date": "2026-02-16"}, headers=cm)
    assert no_consent.status_code == 409
    assert no_consent.json()["errors"][0]["field"] == "consent"

    async def grant(purpose: str, **extra: Any) -> str:
        body = {"purpose": purpose, "granted_on": "2026-02-09", "form": "written"} | extra
        return str((await ok(await intake.post(f"{p}/consents", json=body, headers=cm), 201))["consent_id"])

    await grant("participation")
    drv_exchange = await grant("drv-exchange")
    release = await grant("medical-release", scope="Dr. Weber, Hagen")
    monitoring = await grant("monitoring", expires_on="2026-09-01")
    missing_scope = await intake.post(
        f"{p}/consents", json={"purpose": "medical-release", "granted_on": "2026-02-09", "form": "written"}, headers=cm
    )
    assert missing_scope.status_code == 422
    assert missing_scope.json()["errors"][0]["field"] == "scope"
    await ok(
        await intake.post(f"{p}/objections", json={"recorded_on": "2026-02-09", "scope": "Dr. Weber"}, headers=cm),
        201,
    )
    await ok(await intake.post(f"{p}/enrolment", json={"start_date": "2026-02-16"}, headers=cm))

    # ---- casework: the case opens in Einstieg; team
    c = f"/cases/{pid}"
    act = Commands(casework, c)

    case = await support.eventually(lambda: casework.get(c, headers=cm), lambda r: r.status_code == 200)
    assert case.json()["phase"] == "einstieg"
    await act("/case-manager", {"case_manager": "cm-anna", "assigned_on": "2026-02-16"}, cm)
    for member, role, agency in (
        ("ot-otto", "occupational-therapist", None),
        ("psy-paula", "psychologist", None),
        ("fin-frank", "financial-adviser", None),
        ("eao-emil", "employer-acquisition-officer", None),
        ("drv-dora", "drv-adviser", "drv-westfalen"),
    ):
        body = {"member": member, "role": role, "added_on": "2026-02-16"} | ({"agency": agency} if agency else {})
        await act("/team", body, cm, 201)
    not_manager = await casework.post(f"{c}/phase", json={"phase": "clearing", "entered_on": "2026-02-23"}, headers=fin)
    assert not_manager.status_code == 403

    # ---- Clearing: assessment, medical report, capacity profile
    clock.day = date(2026, 3, 1)
    await act("/phase", {"phase": "clearing", "entered_on": "2026-02-23"}, cm)
    await act("/assessments", {"kind": "clearing", "completed_on": "2026-03-10", "findings": DIAGNOSIS}, ot, 201)
    assert (
        await casework.post(f"{c}/assessments", json={"kind": "clearing", "completed_on": "2026-03-10"}, headers=fin)
    ).status_code == 403
    bad_release = await casework.post(
        f"{c}/medical-reports",
        json={"received_on": "2026-03-11", "consent_id": drv_exchange, "source": "Dr. Weber"},
        headers=psy,
    )
    assert bad_release.status_code == 422
    assert bad_release.json()["errors"][0]["field"] == "consent_id"
    await support.eventually(
        lambda: casework.post(
            f"{c}/medical-reports",
            json={"received_on": "2026-03-11", "consent_id": release, "source": "Dr. Weber", "summary": DIAGNOSIS},
            headers=psy | {"Idempotency-Key": "report-1"},
        ),
        lambda r: r.status_code == 201,
    )
    # § 76 SGB X objection on record: the doctor's report is not passed on to DRV's adviser,
    # while the Jobcenter's own team sees it
    own = await ok(await casework.get(f"{c}/health", headers=cm))
    assert (len(own["medical_reports"]), own["withheld_under_objection"]) == (1, 0)
    other = await support.eventually(
        lambda: casework.get(f"{c}/health", headers=drv), lambda r: r.json()["withheld_under_objection"] == 1
    )
    assert other.json()["medical_reports"] == []
    drv_timeline = await ok(await casework.get(f"{c}/timeline", headers=drv))
    assert "MedicalReportReceived" not in {e["event_type"] for e in drv_timeline["events"]}
    own_timeline = await ok(await casework.get(f"{c}/timeline", headers=cm))
    report_version = next(e["version"] for e in own_timeline["events"] if e["event_type"] == "MedicalReportReceived")
    assert next(e for e in drv_timeline["events"] if e["version"] == report_version)["redacted"] is True
    await act("/capacity-profile", {"recorded_on": "2026-03-12", "profile": PROFILE}, ot, 201)

    # ---- invalid transitions are refused with an explanation
    no_job = await casework.post(f"{c}/phase", json={"phase": "nachbetreuung", "entered_on": "2026-03-20"}, headers=cm)
    assert no_job.status_code == 409
    assert "job" in no_job.json()["error"]
    skip = await casework.post(f"{c}/phase", json={"phase": "stellensuche", "entered_on": "2026-03-20"}, headers=cm)
    assert skip.status_code == 422
    assert skip.json()["errors"][0]["field"] == "reason"
    same = await casework.post(f"{c}/phase", json={"phase": "clearing", "entered_on": "2026-03-20"}, headers=cm)
    assert same.status_code == 409

    # ---- Stabilisierung: goals, plan, therapy, rehab application, interruption, appointments, notes
    await act("/phase", {"phase": "stabilisierung", "entered_on": "2026-03-20"}, cm)
    back_two = await casework.post(
        f"{c}/phase", json={"phase": "einstieg", "entered_on": "2026-03-21", "reason": "x"}, headers=cm
    )
    assert back_two.status_code == 409
    goal = (await act("/goals", {"set_on": "2026-03-20", "text": "stable daily routine"}, cm, 201))["goal_id"]
    plan = {"updated_on": "2026-03-20", "steps": ["weekly talks", "workshop visit"], "review_on": "2026-06-01"}
    await act("/cooperation-plan", plan, cm)
    therapy = (
        await act(
            "/interventions",
            {
                "category": "therapeutic",
                "provider": "Praxis Hagen",
                "planned_start": "2026-03-23",
                "cost_eur": 1200,
                "details": "behavioural therapy for depression",
            },
            psy,
            201,
        )
    )["intervention_id"]
    await act(f"/interventions/{therapy}/start", {"started_on": "2026-03-23"}, psy)
    rehab = (
        await act(
            "/rehab-applications", {"filed_on": "2026-03-25", "carrier": "drv-westfalen", "kind": "medical"}, drv, 201
        )
    )["application_id"]
    await act(f"/rehab-applications/{rehab}/decision", {"decided_on": "2026-04-10", "approved": True}, drv)
    await act("/interruption", {"interrupted_on": "2026-04-20", "reason": "clinic stay"}, cm)
    interrupted = await casework.post(
        f"{c}/phase", json={"phase": "produktionswerkstatt", "entered_on": "2026-05-01"}, headers=cm
    )
    assert interrupted.status_code == 409
    await act("/resumption", {"resumed_on": "2026-05-18"}, cm)
    await act(f"/interventions/{therapy}/completion", {"completed_on": "2026-05-29", "cost_eur": 1150}, psy)
    appt = (
        await act(
            "/appointments", {"scheduled_for": "2026-05-20", "with_member": "cm-anna", "kind": "consultation"}, cm, 201
        )
    )["appointment_id"]
    await act(f"/appointments/{appt}/outcome", {"on": "2026-05-20", "attended": False}, cm)
    await act(
        "/appointments", {"scheduled_for": "2026-06-03", "with_member": "fin-frank", "kind": "debt advice"}, fin, 201
    )
    await act(
        "/contacts",
        {
            "contacted_on": "2026-05-21",
            "channel": "phone",
            "counterpart": "participant",
            "summary": "rescheduled",
        },
        cm,
        201,
    )
    await act("/notes", {"written_on": "2026-05-21", "text": "therapy going well", "confidential": True}, psy, 201)
    await act("/notes", {"written_on": "2026-05-21", "text": "debts settled"}, fin, 201)
    assert (
        await casework.post(
            f"{c}/notes", json={"written_on": "2026-05-21", "text": "x", "confidential": True}, headers=fin
        )
    ).status_code == 403
    await act(f"/goals/{goal}/achievement", {"achieved_on": "2026-05-29"}, cm)

    # ---- Produktionswerkstatt; employer-disclosure consent shares the profile, withdrawal retracts it
    await act("/phase", {"phase": "produktionswerkstatt", "entered_on": "2026-06-01"}, cm)
    disclosure = await grant("employer-disclosure", granted_on="2026-06-01")
    await support.eventually(lambda: casework_events(stack, pid), lambda ev: "CapacityProfileShared" in ev)
    await ok(
        await intake.post(f"{p}/consents/{disclosure}/withdrawal", json={"effective_on": "2026-06-15"}, headers=cm)
    )
    await support.eventually(lambda: casework_events(stack, pid), lambda ev: "CapacityProfileRetracted" in ev)
    await grant("employer-disclosure", granted_on="2026-06-20")
    await support.eventually(lambda: casework_events(stack, pid), lambda ev: ev.count("CapacityProfileShared") == 2)

    # ---- Stellensuche; placement reports a job start: Nachbetreuung is the expected next step
    clock.day = date(2026, 8, 1)
    stale = await casework.post(
        f"{c}/phase", json={"phase": "stellensuche", "entered_on": "2026-07-01"}, headers=cm | {"If-Match": "3"}
    )
    assert stale.status_code == 409
    await act("/phase", {"phase": "stellensuche", "entered_on": "2026-07-01"}, cm)
    await publish_employment(stack, pid, "2026-08-01")
    employed = await support.eventually(
        lambda: casework.get(c, headers=cm), lambda r: r.json()["expected_next_phase"] == "nachbetreuung"
    )
    assert employed.json()["employment"]["since"] == "2026-08-01"
    tasks = await support.eventually(
        lambda: casework.get("/tasks", params={"within_days": 45}, headers=cm),
        lambda r: any(t["kind"] == "enter-nachbetreuung" for t in r.json()["tasks"]),
    )
    kinds = {t["kind"] for t in tasks.json()["tasks"]}
    assert "consent-expiring" in kinds  # monitoring consent ends on 2026-09-01
    assert "record-appointment-outcome" in kinds  # fin-frank's 3 June appointment has no outcome yet
    await act("/phase", {"phase": "nachbetreuung", "entered_on": "2026-08-03"}, cm)

    # ---- caseload
    load = await support.eventually(
        lambda: casework.get("/caseload", headers=cm),
        lambda r: r.json()["count"] == 1 and r.json()["cases"][0]["phase"] == "nachbetreuung",
    )
    assert load.json()["cases"][0]["days_in_phase"] == (clock.day - date(2026, 8, 3)).days

    # ---- what each role in each agency can and cannot see
    await check_visibility(stack, pid)

    # ---- consent expiry (background task with an injected "today")
    expiry = stack.apps["intake"].state.consent_expiry
    assert await expiry.run_once(date(2026, 8, 31)) == 0
    await support.eventually(lambda: expiry.run_once(date(2026, 9, 2)), lambda n: n == 1)
    consents = await ok(await intake.get(f"{p}/consents", headers=cm))
    assert next(x for x in consents if x["consent_id"] == monitoring)["ended_by"] == "expired"

    # ---- drv-exchange withdrawn: DRV loses the case from the effective date on
    clock.day = date(2026, 9, 2)
    await ok(
        await intake.post(f"{p}/consents/{drv_exchange}/withdrawal", json={"effective_on": "2026-09-02"}, headers=cm)
    )
    # (no longer opened to DRV: the case and the person are "not found" for it)
    await support.eventually(lambda: casework.get(c, headers=drv), lambda r: r.status_code == 404)
    assert (await intake.get(p, headers=drv)).status_code == 404

    # ---- exit: the profile is retracted with it
    await act("/exit", {"exited_on": "2026-12-31", "reason": "integrated-into-work"}, cm)
    events = await casework_events(stack, pid)
    assert events[-2:] == ["ParticipantExited", "CapacityProfileRetracted"]
    after = await casework.post(f"{c}/notes", json={"written_on": "2027-01-02", "text": "late"}, headers=cm)
    assert after.status_code == 409
    for phase in ("einstieg", "clearing", "stabilisierung", "produktionswerkstatt", "stellensuche", "nachbetreuung"):
        assert any(e == "PhaseEntered" for e in events), phase
    timeline = (await ok(await casework.get(f"{c}/timeline", headers=cm)))["events"]
    entered = [e["data"]["phase"] for e in timeline if e["event_type"] == "PhaseEntered"]
    assert entered == [
        "einstieg",
        "clearing",
        "stabilisierung",
        "produktionswerkstatt",
        "stellensuche",
        "nachbetreuung",
    ]


async def check_visibility(stack: Stack, pid: str) -> None:
    intake, casework = stack.clients["intake"], stack.clients["casework"]
    c = f"/cases/{pid}"
    # (role, agency, subject) -> (sees case, sees health, sees identity)
    matrix: list[tuple[Role, str, str, int, int, int]] = [
        (Role.CASE_MANAGER, "jc-en", "cm-anna", 200, 200, 200),
        (Role.OCCUPATIONAL_THERAPIST, "jc-en", "ot-otto", 200, 200, 200),
        (Role.PSYCHOLOGIST, "jc-en", "psy-paula", 200, 200, 200),
        (Role.FINANCIAL_ADVISER, "jc-en", "fin-frank", 200, 403, 200),
        (Role.EMPLOYER_ACQUISITION, "jc-en", "eao-emil", 200, 403, 200),
        (Role.CASE_MANAGER, "jc-en", "cm-other", 200, 403, 200),
        (Role.PSYCHOLOGIST, "jc-en", "psy-other", 200, 403, 200),
        (Role.PROJECT_LEAD, "jc-en", "lead", 200, 403, 403),
        (Role.AUDITOR, "jc-en", "auditor", 200, 403, 403),
        (Role.DATA_PROTECTION_OFFICER, "jc-en", "dpo", 200, 403, 200),
        (Role.ADMINISTRATOR, "jc-en", "admin", 403, 403, 403),
        (Role.DRV_ADVISER, "drv-westfalen", "drv-dora", 200, 200, 200),  # on the team, drv-exchange consent
        (Role.DRV_ADVISER, "drv-westfalen", "drv-other", 200, 403, 200),
        (Role.PROJECT_LEAD, "drv-westfalen", "drv-lead", 200, 403, 403),
        (Role.CASE_MANAGER, "jc-mk", "mk-cm", 404, 404, 404),
        (Role.PROJECT_LEAD, "jc-mk", "mk-lead", 404, 404, 403),
        (Role.AUDITOR, "jc-mk", "mk-auditor", 404, 404, 403),
        (Role.CASE_MANAGER, "jc-unna", "unna-cm", 404, 404, 404),
        (Role.PSYCHOLOGIST, "jc-unna", "unna-psy", 404, 404, 404),
    ]
    for role, agency, subject, case_status, health_status, identity_status in matrix:
        h = stack.token(role, agency, subject)
        label = f"{role}@{agency}"
        got = await casework.get(c, headers=h)
        assert got.status_code == case_status, label
        assert (await casework.get(f"{c}/health", headers=h)).status_code == health_status, label
        assert (await intake.get(f"/participants/{pid}", headers=h)).status_code == identity_status, label
        listed = await casework.get("/cases", headers=h)
        if case_status == 200:
            assert got.json()["capacity_profile"]["max_hours_per_week"] == 25, label  # capacity for everyone
            assert [x["participant_id"] for x in listed.json()] == [pid], label
            timeline = await casework.get(f"{c}/timeline", headers=h)
            assert (DIAGNOSIS in timeline.text) == (health_status == 200), label
            assert ("therapy going well" in timeline.text) == (health_status == 200), label
            # a note's text: case-working roles and its author (fin-frank), not leads, auditors, DPOs
            note_readers = role not in (Role.PROJECT_LEAD, Role.AUDITOR, Role.DATA_PROTECTION_OFFICER)
            assert ("debts settled" in timeline.text) == note_readers, label
        elif role is not Role.ADMINISTRATOR:
            assert listed.json() == [], label
        else:
            assert listed.status_code == 403
    # the referral reason (health data) only for health roles of the owning agency
    cm_view = await ok(
        await intake.get(f"/participants/{pid}", headers=stack.token(Role.CASE_MANAGER, "jc-en", "cm-anna"))
    )
    assert cm_view["identity"]["last_name"] == "Lehmann"
    assert "depressive" in cm_view["referral_reason"]
    fin_view = await ok(
        await intake.get(f"/participants/{pid}", headers=stack.token(Role.FINANCIAL_ADVISER, "jc-en", "f"))
    )
    assert "referral_reason" not in fin_view
    # every health read was recorded, and auditors can query them; others cannot
    reads = await ok(
        await casework.get(
            "/audit/health-reads", params={"participant_id": pid}, headers=stack.token(Role.AUDITOR, "jc-en", "a")
        )
    )
    readers = {(r["subject"], r["role"], r["agency"]) for r in reads["reads"]}
    assert {("cm-anna", "case-manager", "jc-en"), ("drv-dora", "drv-adviser", "drv-westfalen")} <= readers
    assert not any(r["subject"] in ("fin-frank", "cm-other") for r in reads["reads"])
    assert (
        await casework.get("/audit/health-reads", headers=stack.token(Role.CASE_MANAGER, "jc-en", "cm-anna"))
    ).status_code == 403
    mk = await ok(await casework.get("/audit/health-reads", headers=stack.token(Role.AUDITOR, "jc-mk", "a")))
    assert mk["count"] == 0


async def test_erasure_makes_every_service_forget(stack: Stack) -> None:
    from tests.e2e.test_slice import refer_and_enrol

    pid = await refer_and_enrol(stack)
    cm = stack.token(Role.CASE_MANAGER, "jc-en", "cm-1")
    intake, casework = stack.clients["intake"], stack.clients["casework"]
    c = f"/cases/{pid}"
    act = Commands(casework, c)
    await support.eventually(lambda: casework.get(c, headers=cm), lambda r: r.status_code == 200)
    await act("/case-manager", {"case_manager": "cm-1", "assigned_on": "2026-03-16"}, cm)
    await act("/capacity-profile", {"recorded_on": "2026-03-20", "profile": PROFILE}, cm, 201)
    await act("/notes", {"written_on": "2026-03-20", "text": "Anna called"}, cm, 201)
    disclosure = {"purpose": "employer-disclosure", "granted_on": "2026-03-20", "form": "electronic"}
    await ok(await intake.post(f"/participants/{pid}/consents", json=disclosure, headers=cm), 201)
    await support.eventually(lambda: casework_events(stack, pid), lambda ev: "CapacityProfileShared" in ev)

    assert (
        await intake.post(f"/participants/{pid}/erasure", json={"legal_basis": "Art. 17 GDPR"}, headers=cm)
    ).status_code == 403
    dpo = stack.token(Role.DATA_PROTECTION_OFFICER, "jc-en", "dpo")
    await ok(await intake.post(f"/participants/{pid}/erasure", json={"legal_basis": "Art. 17 GDPR"}, headers=dpo))
    assert (await intake.get(f"/participants/{pid}", headers=cm)).status_code == 404

    events = await support.eventually(lambda: casework_events(stack, pid), lambda ev: ev[-1] == "CaseDataErased")
    assert events[-2] == "CapacityProfileRetracted"
    assert (await casework.get(c, headers=cm)).status_code == 404
    await support.eventually(lambda: casework.get("/cases", headers=cm), lambda r: r.json() == [])
    cw = stack.runtime("casework")
    assert cw.pool is not None
    assert await cw.pool.fetchval("SELECT wrapped FROM keys.subject_keys WHERE subject_id = $1", pid) is None
    # casework's consent index is its own projection, not the policy that wrote CaseDataErased
    await support.eventually(
        lambda: cw.pool.fetchval("SELECT count(*) FROM consents WHERE participant_id = $1::uuid", pid),
        lambda n: n == 0,
    )
    it = stack.runtime("intake")
    assert it.pool is not None
    assert await it.pool.fetchval("SELECT wrapped FROM keys.subject_keys WHERE subject_id = $1", pid) is None
    await support.eventually(
        lambda: it.pool.fetchval("SELECT count(*) FROM participants WHERE participant_id = $1::uuid", pid),
        lambda n: n == 0,
    )
