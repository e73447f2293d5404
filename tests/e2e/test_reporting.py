"""Reporting on the real stack: scripted journeys are appended to each service's event store,
travel through the relays and Kafka, and every KPI is checked against the hand count; a closed
quarter survives a rebuild byte for byte; the monitoring export joins intake's identities."""

from __future__ import annotations

import asyncio
import csv
import functools
import io
import os
import shutil
import socket
from pathlib import Path
from typing import Any

import orjson
import pytest
import uvicorn

from services.reporting.projections import FACT_TYPES as FIELDS
from services.reporting.projections import facts as facts_projection
from shared.auth import issue_token
from shared.crypto import SubjectKeys
from shared.envelope import Actor, new_id
from shared.eventstore import CommandContext, ConcurrencyConflict, PostgresEventStore
from shared.rebuild import rebuild_from_kafka
from shared.settings import load_settings
from shared.vocabulary import Role
from tests import reporting_scenario as sc
from tests import support
from tests.e2e.conftest import Stack

pytestmark = pytest.mark.e2e


async def _case_events(stack: Stack, stream_id: str) -> list[str]:
    rt = stack.runtime("casework")
    assert rt.pool is not None
    rows = await rt.pool.fetch(
        "SELECT event_type, envelope FROM events WHERE stream_id = $1 ORDER BY version", stream_id
    )
    return [r["event_type"] + ":" + str(orjson.loads(r["envelope"])["payload"].get("phase")) for r in rows]


async def append(stack: Stack, steps: list[sc.Step]) -> None:
    """Append contract events directly to the owning service's event store, in order.

    Casework opens the case itself when it sees the enrolment (and may enter Einstieg): the
    script waits for that case and leaves those two events to casework's own policy.
    """
    keys = SubjectKeys()
    for step in steps:
        rt = stack.runtime(step.service)
        assert rt.pool is not None
        event = step.event
        if event.event_type == "CaseOpened":
            await support.eventually(functools.partial(_case_events, stack, step.stream_id), bool)
            continue
        einstieg = event.event_type == "PhaseEntered" and getattr(event, "phase", None) == "einstieg"
        if einstieg and "PhaseEntered:einstieg" in await _case_events(stack, step.stream_id):
            continue
        while True:
            try:
                async with rt.pool.acquire() as conn, conn.transaction():
                    if event.event_type == "ReferralReceived" and step.participant in sc.IDENTITIES:
                        sealed = await keys.seal(conn, str(step.pid), sc.IDENTITIES[step.participant])
                        event = event.model_copy(update={"sealed_identity": sealed})
                    version = await conn.fetchval(
                        "SELECT max(version) FROM events WHERE stream_id = $1", step.stream_id
                    )
                    await PostgresEventStore().append(
                        conn,
                        stream_id=step.stream_id,
                        stream_type={"intake": "participant", "casework": "case", "placement": "placement"}[
                            step.service
                        ],
                        expected_version=version or 0,
                        events=[event],
                        context=CommandContext(
                            actor=Actor(id="script", role="service"),
                            agency=step.agency,
                            project=step.project,
                            correlation_id=new_id(),
                        ),
                    )
                break
            except ConcurrencyConflict:  # a casework policy appended to the same case meanwhile
                continue


async def facts_count(stack: Stack) -> int:
    rt = stack.runtime("reporting")
    assert rt.pool is not None
    return int(await rt.pool.fetchval("SELECT count(*) FROM proj_facts.facts"))


async def feed(stack: Stack) -> None:
    await append(stack, sc.STEPS)
    counted = [s for s in sc.STEPS if s.event.event_type in FIELDS]  # what the facts projection keeps
    await support.eventually(lambda: facts_count(stack), lambda n: n == len(counted))
    # the facts are one of reporting's read models (and intake's consents answer the monitoring
    # export): all of them done, not only the one counted
    await stack.settled()


def lead(stack: Stack, agency: str, role: Role = Role.PROJECT_LEAD) -> dict[str, str]:
    return stack.token(role, agency, subject=f"lead-{agency}")


async def kpis(stack: Stack, agency: str, **params: str) -> dict[str, Any]:
    r = await stack.clients["reporting"].get("/kpis", params=params, headers=lead(stack, agency))
    assert r.status_code == 200, r.text
    return r.json()  # type: ignore[no-any-return]


async def quarter(stack: Stack, agency: str, q: str) -> dict[str, Any]:
    [doc] = (await kpis(stack, agency, period=q))["quarters"]
    return doc  # type: ignore[no-any-return]


async def test_every_kpi_matches_the_hand_count_and_closed_quarters_are_frozen(stack: Stack) -> None:
    await feed(stack)
    reporting = stack.clients["reporting"]

    q1 = await quarter(stack, "jc-en", "2025-Q1")
    assert q1["total"] == sc.JC_EN_Q1
    assert [(g["agency"], g["project"], g["figures"]) for g in q1["groups"]] == [("jc-en", "pro-aktiv", sc.JC_EN_Q1)]
    assert (await quarter(stack, "jc-en", "2025-Q2"))["total"] == sc.JC_EN_Q2
    assert (await quarter(stack, "jc-en", "2025-Q3"))["total"]["integrations"] == sc.JC_EN_Q3_INTEGRATIONS
    assert (await quarter(stack, "jc-en", "2025-Q4"))["total"]["sustainability"] == sc.JC_EN_Q4_SUSTAINABILITY
    mk = (await quarter(stack, "jc-mk", "2025-Q2"))["total"]["integrations"]
    assert (mk["total"], mk["not_counted"]) == (1, 1)
    drv = await quarter(stack, "drv-westfalen", "2025-Q1")
    assert {(g["agency"], g["project"]): g["figures"]["enrolments"] for g in drv["groups"]} == (
        sc.DRV_Q1_ENROLMENTS_BY_GROUP
    )
    assert (drv["total"]["referrals"], drv["total"]["enrolments"]) == (sc.DRV_Q1_REFERRALS, sc.DRV_Q1_ENROLMENTS)
    drv2 = await quarter(stack, "drv-westfalen", "2025-Q2")
    assert {(g["agency"], g["project"]): g["figures"]["integrations"]["total"] for g in drv2["groups"]} == (
        sc.DRV_Q2_INTEGRATIONS_BY_GROUP
    )
    assert [g["agency"] for g in (await quarter(stack, "jc-unna", "2025-Q1"))["groups"]] == ["jc-unna"]
    assert len((await kpis(stack, "jc-en", period="2025"))["quarters"]) == 4

    # access and bad input
    denied = await reporting.get("/kpis", params={"agency": "jc-mk"}, headers=lead(stack, "jc-en"))
    assert denied.status_code == 403
    assert denied.json()["errors"][0]["field"] == "agency"
    drv_mk = await reporting.get(
        "/kpis", params={"agency": "jc-mk", "period": "2025-Q1"}, headers=lead(stack, "drv-westfalen")
    )
    assert [g["agency"] for g in drv_mk.json()["quarters"][0]["groups"]] == ["jc-mk"]
    bad = await reporting.get("/kpis", params={"period": "2025-Q7"}, headers=lead(stack, "jc-en"))
    assert (bad.status_code, bad.json()["errors"][0]["field"]) == (422, "period")
    assert (await reporting.get("/kpis", headers=stack.token(Role.CASE_MANAGER, "jc-en"))).status_code == 403
    assert (await reporting.get("/kpis")).status_code == 401

    rows = list(
        csv.DictReader(
            io.StringIO(
                (await reporting.get("/kpis.csv", params={"period": "2025-Q2"}, headers=lead(stack, "jc-en"))).text
            )
        )
    )
    assert {
        "quarter": "2025-Q2",
        "agency": "all",
        "project": "all",
        "figure": "interruptions",
        "value": "< 5",
    } in rows

    # close 2025-Q2 for jc-en: the figures are frozen as reporting's own events
    assert (
        await reporting.post("/reports/2025-Q2/close", headers=lead(stack, "jc-en", Role.AUDITOR))
    ).status_code == 403
    closed = await reporting.post("/reports/2025-Q2/close", headers=lead(stack, "jc-en"))
    assert closed.status_code == 201, closed.text
    assert closed.json()["figures"]["total"] == sc.JC_EN_Q2
    assert closed.json()["corrections"] == []
    again = await reporting.post("/reports/2025-Q2/close", headers=lead(stack, "jc-en"))
    assert (again.status_code, again.json()["errors"][0]["field"]) == (409, "quarter")
    early = await reporting.post("/reports/2026-Q4/close", headers=lead(stack, "jc-en"))
    assert early.status_code == 409

    # a late event for the closed quarter is a listed correction, not a silent change
    await append(stack, [sc.LATE])
    await support.eventually(
        lambda: facts_count(stack), lambda n: n == len([s for s in sc.STEPS if s.event.event_type in FIELDS]) + 1
    )
    report = await reporting.get("/reports/2025-Q2", headers=lead(stack, "jc-en"))
    doc = report.json()
    assert doc["status"] == "closed"
    assert doc["figures"]["total"] == sc.JC_EN_Q2
    assert doc["corrections"] == [
        {"figure": "jc-en/pro-aktiv.work_trials.started", "frozen": 1, "corrected": 2},
        {"figure": "total.work_trials.started", "frozen": 1, "corrected": 2},
    ]
    assert doc["late_facts"] == {"WorkTrialStarted": 1}
    auditor = await reporting.get("/reports/2025-Q2", headers=lead(stack, "jc-en", Role.AUDITOR))
    assert auditor.content == report.content
    rt = stack.runtime("reporting")
    assert rt.pool is not None
    stored = await rt.pool.fetch("SELECT event_type FROM events ORDER BY position")
    assert [r["event_type"] for r in stored] == ["ReportingPeriodClosed", "KpiSnapshotComputed"]

    # drop the projection, rebuild it from the topics: the closed report is byte-identical
    await rt.pool.execute("DROP SCHEMA proj_facts CASCADE")
    stats = await rebuild_from_kafka(rt.settings, facts_projection, "proj_facts")
    assert stats.events >= len(sc.STEPS) + 1
    rebuilt = await reporting.get("/reports/2025-Q2", headers=lead(stack, "jc-en"))
    assert rebuilt.content == report.content


async def test_monitoring_export_joins_intake_identities_without_storing_them(stack: Stack) -> None:
    await feed(stack)
    reporting = stack.clients["reporting"]
    r = await reporting.get("/monitoring/export", params={"half_year": "2025-H1"}, headers=lead(stack, "jc-en"))
    assert r.status_code == 200, r.text
    rows = list(csv.DictReader(io.StringIO(r.text)))
    # P1 and P4 have active monitoring consent (P2 withdrew it; the others never gave it)
    assert [(x["insurance_number"], x["age"], x["exit_date"]) for x in rows] == sorted(
        [("12150780A111", "44", ""), ("12300670C444", "55", "2025-06-30")],
        key=lambda t: str(sc.uid("P1" if t[0].startswith("1215") else "P4")),
    )
    as_json = await reporting.get(
        "/monitoring/export", params={"half_year": "2025-H1", "format": "json"}, headers=lead(stack, "jc-en")
    )
    assert sorted(x["insurance_number"] for x in as_json.json()) == ["12150780A111", "12300670C444"]
    assert (
        await reporting.get("/monitoring/export", params={"half_year": "2025-H3"}, headers=lead(stack, "jc-en"))
    ).status_code == 422
    assert (
        await reporting.get(
            "/monitoring/export", params={"half_year": "2025-H1"}, headers=lead(stack, "jc-en", Role.AUDITOR)
        )
    ).status_code == 403

    # reporting stored nothing identifying, only that an export happened
    rt = stack.runtime("reporting")
    assert rt.pool is not None
    dump = b"".join(r["envelope"] for r in await rt.pool.fetch("SELECT envelope FROM events"))
    assert b"MonitoringExportProduced" in dump
    assert b"12150780A111" not in dump
    facts_text = await rt.pool.fetchval("SELECT string_agg(data::text, ' ') FROM proj_facts.facts")
    assert "12150780A111" not in facts_text

    # intake: only the reporting service gets identities, only with active consent, always audited
    intake = stack.clients["intake"]
    body = {"participant_ids": [str(sc.uid("P2")), str(sc.uid("P1"))], "reference_date": "2025-06-30",
            "half_year": "2025-H1", "on_behalf_of": "lead-jc-en"}  # fmt: skip
    cm = await intake.post(
        "/internal/monitoring/identities", json=body, headers=stack.token(Role.CASE_MANAGER, "jc-en")
    )
    assert cm.status_code == 403
    secret = load_settings("test").jwt_secret
    service = {"Authorization": "Bearer " + issue_token(secret, subject="reporting", role=Role.SERVICE, agency="jc-en")}
    answer = (await intake.post("/internal/monitoring/identities", json=body, headers=service)).json()
    assert [i["participant_id"] for i in answer["identities"]] == [str(sc.uid("P1"))]
    assert answer["withheld"] == 1
    other = {"Authorization": "Bearer " + issue_token(secret, subject="reporting", role=Role.SERVICE, agency="jc-mk")}
    assert (await intake.post("/internal/monitoring/identities", json=body, headers=other)).json()["identities"] == []
    irt = stack.runtime("intake")
    assert irt.pool is not None
    audit = await irt.pool.fetch(
        "SELECT service, on_behalf_of, agency, outcome, cardinality(released) AS n"
        " FROM monitoring_disclosures ORDER BY id"
    )
    assert [(a["service"], a["on_behalf_of"], a["agency"], a["outcome"], a["n"]) for a in audit] == [
        ("reporting", "lead-jc-en", "jc-en", "released", 2),
        ("reporting", "lead-jc-en", "jc-en", "released", 2),
        ("user-1", "lead-jc-en", "jc-en", "denied", 0),
        ("reporting", "lead-jc-en", "jc-en", "released", 1),
        ("reporting", "lead-jc-en", "jc-mk", "released", 0),
    ]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


async def _chromium(*args: str) -> bytes:
    binary = shutil.which("chromium") or shutil.which("chromium-browser")
    assert binary is not None
    proc = await asyncio.create_subprocess_exec(
        binary,
        "--headless",
        *support.CHROMIUM_ARGS,
        *args,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.DEVNULL,
    )
    out, _ = await asyncio.wait_for(proc.communicate(), timeout=90)
    assert proc.returncode == 0
    return out


async def test_dashboard_renders_in_headless_chromium(stack: Stack, tmp_path: Path) -> None:
    if not (shutil.which("chromium") or shutil.which("chromium-browser")):
        if os.environ.get("CI") == "true":
            pytest.fail("chromium is not installed: apt-get install chromium chromium-driver (see .ci/run)")
        pytest.skip("chromium is not installed")
    await feed(stack)
    port = _free_port()
    server = uvicorn.Server(
        uvicorn.Config(stack.apps["reporting"], host="127.0.0.1", port=port, lifespan="off", log_config=None)
    )
    task = asyncio.create_task(server.serve())
    try:
        await support.eventually(lambda: asyncio.sleep(0, server.started), bool, timeout=60)
        token = issue_token(load_settings("test").jwt_secret, subject="lead", role=Role.PROJECT_LEAD, agency="jc-en")
        url = f"http://127.0.0.1:{port}/dashboard/login?token={token}"
        profile = tmp_path / "profile"
        dom = (await _chromium(f"--user-data-dir={profile}-dom", "--dump-dom", url)).decode()
        shot = tmp_path / "dashboard.png"
        await _chromium(f"--user-data-dir={profile}-shot", f"--screenshot={shot}", "--window-size=1400,1800", url)
    finally:
        server.should_exit = True
        await task
    for text in (
        "rehapro KPIs",
        "Jobcenter Ennepe-Ruhr-Kreis",
        "Funnel 2024-Q3 to 2025-Q4",
        "Active participants per phase",
        "Integrations (K2) by quarter and agency",
        "Sustainability",
        "Stellensuche",
        "Quarter 2025-Q4",
    ):
        assert text in dom, text
    assert dom.count("<svg") == 4
    # funnel over the whole range for jc-en: 6 referrals, 5 eligible, 5 enrolments, 3 integrations
    assert ">Referrals</text>" in dom
    assert "Integrations (K2)</text>" in dom
    assert ">6</text>" in dom
    assert ">3</text>" in dom
    assert "jc-mk" not in dom  # another agency's figures never reach this view
    assert shot.stat().st_size > 20_000
    if os.environ.get("REPORTING_KEEP_SCREENSHOT"):
        shutil.copy(shot, os.environ["REPORTING_KEEP_SCREENSHOT"])
