"""The auditor's toolkit on the four services: with checkpoint keys configured every service
signs its events, ``rehapro-audit verify`` passes on the four topics with nothing unsigned, and a
projection rebuilt from the topics into a scratch database equals the live one (``diff``); the
read records travel on the audit topics; ``case`` opens sealed fields only with a key grant."""

from __future__ import annotations

import asyncio
import json
import os
import sys
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from uuid import UUID

import asyncpg
import pytest

from shared.audit import signing
from shared.audit.cli import load_pins
from shared.envelope import Envelope
from shared.vocabulary import Role
from tests import support
from tests.audit.topics import edited, read_topic, verify, with_value, write_copy
from tests.e2e.conftest import Stack
from tests.e2e.test_slice import counts as kpi_counts
from tests.e2e.test_slice import refer_and_enrol

pytestmark = pytest.mark.e2e
CLI = str(Path(sys.executable).with_name("rehapro-audit"))


@pytest.fixture
def audit_keys(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A checkpoint key ring per service, checkpointing every half second; requested before
    ``stack`` so the services start with it. Returns the auditors' pins file."""
    pins = {s: [signing.rotate(tmp_path / f"{s}.json").public_key] for s in support.SERVICES}
    (tmp_path / "pins.json").write_text(json.dumps(pins))
    monkeypatch.setenv("AUDIT_KEY_FILE", str(tmp_path / "{service}.json"))
    monkeypatch.setenv("AUDIT_CHECKPOINT_SECONDS", "0.5")
    monkeypatch.setenv("AUDIT_POLL_SECONDS", "0.2")
    return tmp_path / "pins.json"


@pytest.fixture
def every_five(audit_keys: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The checkpoint keys, with a checkpoint due every 5 events only (no time limit in a test)."""
    monkeypatch.setenv("AUDIT_CHECKPOINT_EVENTS", "5")
    monkeypatch.setenv("AUDIT_CHECKPOINT_SECONDS", "3600")
    return audit_keys


async def audit(*args: str, program: tuple[str, ...] = (CLI,), env: dict[str, str] | None = None) -> tuple[int, str]:
    """Run the installed ``rehapro-audit`` (or ``program``): exit status and stdout (stderr, the
    progress bar and logs, is shown if a check fails)."""
    proc = await asyncio.create_subprocess_exec(
        *program, *args, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
        env=None if env is None else os.environ | env,
    )  # fmt: skip
    out, errors = await proc.communicate()
    assert proc.returncode is not None
    print(errors.decode())
    return proc.returncode, out.decode()


@pytest.fixture
async def scratch() -> AsyncIterator[str]:
    name = support.run_id()
    yield await support.create_database(name)
    support.drop_database_later(name)


async def lag(stack: Stack, service: str) -> int:
    return sum([await c.refresh_lag() for c in stack.runtime(service).consumers])


async def test_signed_topics_verify_and_rebuilt_projections_equal_the_live_ones(
    audit_keys: Path, stack: Stack, scratch: str
) -> None:
    audited = stack
    for agency in ("jc-en", "jc-en", "jc-mk"):
        await refer_and_enrol(audited, agency)
    await support.eventually(lambda: kpi_counts(audited), lambda c: c.get("open_cases") == 2)
    # jc-en's two cases say nothing of jc-mk's: a case opened (and published) between the
    # rebuild and the diff below would be a difference
    await audited.settled()
    topics = [f"{audited.prefix}{s}.events" for s in support.SERVICES]
    pins = load_pins([], audit_keys)
    report = await support.eventually(
        lambda: verify(topics, pins), lambda r: r.ok and r.unsigned_events == 0 and r.signed_events > 0, timeout=60
    )
    assert set(report.keys) == {"intake", "casework"}  # placement and reporting wrote no events here

    code, output = await audit("verify", "--bootstrap", support.KAFKA, *[a for t in topics for a in ("--topic", t)],
                               "--pins", str(audit_keys), "--json", "--quiet")  # fmt: skip
    assert code == 0, output
    assert json.loads(output)["breaks"] == []

    for projection, service in (("casework.cases", "casework"), ("reporting.counts", "reporting")):
        await support.eventually(lambda s=service: lag(audited, s), lambda n: n == 0)  # type: ignore[misc]
        code, output = await audit("rebuild", "--projection", projection, "--into", scratch,
                                   "--bootstrap", support.KAFKA, "--topic-prefix", audited.prefix)  # fmt: skip
        assert code == 0, output
        assert json.loads(output)["events"] > 0
        code, output = await audit("diff", "--projection", projection, "--live", audited.urls[service],
                                   "--rebuilt", scratch)  # fmt: skip
        assert code == 0, output

    conn = await asyncpg.connect(scratch)
    try:
        await conn.execute("DELETE FROM proj_cases.cases WHERE ctid = (SELECT min(ctid) FROM proj_cases.cases)")
    finally:
        await conn.close()
    code, output = await audit("diff", "--projection", "casework.cases", "--live", audited.urls["casework"],
                               "--rebuilt", scratch, "--json")  # fmt: skip
    assert code == 1, output
    assert {t["table"]: (t["only_live"], t["only_rebuilt"]) for t in json.loads(output)}["cases"] == (1, 0)


async def test_case_as_of_matches_a_scripted_history(stack: Stack) -> None:
    """Referral, meeting, eligibility; then the moment; then consent and enrolment (and casework
    opening the case). As of the moment the case is the first three events, folded by intake's
    aggregate; as of now it is all of it, casework's case included; sealed fields stay sealed."""
    cm = stack.token(Role.CASE_MANAGER, "jc-en")
    intake = stack.clients["intake"]
    r = await intake.post("/referrals", json=support.REFERRAL, headers=cm)
    pid = r.json()["participant_id"]
    for path, body in [("information-meeting", {"held_on": "2026-03-05"}),
                       ("eligibility", {"checked_on": "2026-03-09", "voluntary": True,
                                        "willing_to_address_impairments": True})]:  # fmt: skip
        assert (await intake.post(f"/participants/{pid}/{path}", json=body, headers=cm)).status_code == 200
    await asyncio.sleep(0.01)
    moment = datetime.now(UTC)
    await asyncio.sleep(0.01)
    consent = {"purpose": "participation", "granted_on": "2026-03-09", "form": "written"}
    assert (await intake.post(f"/participants/{pid}/consents", json=consent, headers=cm)).status_code == 201
    enrolment = {"start_date": "2026-03-16"}
    assert (await intake.post(f"/participants/{pid}/enrolment", json=enrolment, headers=cm)).status_code == 200
    await support.eventually(
        lambda: stack.clients["casework"].get(f"/cases/{pid}", headers=cm), lambda r: r.status_code == 200
    )
    topics = [a for s in support.SERVICES for a in ("--topic", f"{stack.prefix}{s}.events")]

    async def case(*args: str) -> dict[str, Any]:
        code, output = await audit("case", pid, "--bootstrap", support.KAFKA, *topics, "--json", *args)
        assert code == 0, output
        return json.loads(output)  # type: ignore[no-any-return]

    then = await case("--as-of", moment.isoformat())
    assert [e["event_type"] for e in then["timeline"]] == ["ReferralReceived", "InformationMeetingHeld",
                                                           "EligibilityChecked"]  # fmt: skip
    (participant,) = then["state"].values()
    assert participant["state"]["eligible"] is True
    assert participant["state"]["start_date"] is None
    assert participant["state"]["sealed_reason"] == "<sealed>"
    assert then["timeline"][0]["payload"]["sealed_identity"] == "<sealed>"

    now = await support.eventually(lambda: case(), lambda c: len(c["timeline"]) == 7)
    assert [e["event_type"] for e in now["timeline"]][3:5] == ["ConsentGranted", "ParticipantEnrolled"]
    assert {e["event_type"] for e in now["timeline"][5:]} == {"CaseOpened", "PhaseEntered"}
    assert now["state"][f"participant-{pid}"]["state"]["status"] == "enrolled"
    assert now["state"][f"case-{pid}"]["state"]["phase"] == "einstieg"


async def test_the_access_log_of_scripted_reads_lists_exactly_those_reads(audit_keys: Path, stack: Stack) -> None:
    """Two users read a participant at intake, a third of another agency is refused: the topic's
    access log holds exactly the reads intake recorded, signed like every other event."""
    pid = await refer_and_enrol(stack)
    for subject, agency in (("cm-a", "jc-en"), ("cm-b", "jc-en"), ("cm-a", "jc-en"), ("cm-c", "jc-mk")):
        r = await stack.clients["intake"].get(
            f"/participants/{pid}", headers=stack.token(Role.CASE_MANAGER, agency, subject)
        )
        assert r.status_code == (200 if agency == "jc-en" else 404), r.text
    conn = await asyncpg.connect(stack.urls["intake"])
    try:
        rows = await conn.fetch(
            "SELECT subject, role, agency, what FROM data_reads WHERE participant_id = $1 ORDER BY id", UUID(pid)
        )
    finally:
        await conn.close()
    recorded = [tuple(r) for r in rows]
    assert {r[0] for r in recorded} == {"cm-a", "cm-b"}
    topics = [a for s in support.SERVICES for a in ("--topic", f"{stack.prefix}{s}.events")]

    async def accesses(*args: str) -> list[dict[str, Any]]:
        code, output = await audit("access", "--bootstrap", support.KAFKA, *topics, "--json", *args)
        assert code == 0, output
        return json.loads(output)  # type: ignore[no-any-return]

    def intake_writes(log: list[dict[str, Any]]) -> list[str]:
        return [a["what"] for a in log if a["kind"] == "write" and a["topic"].endswith("intake.events")]

    # the reads (audit topic) and the writes (events topic) are on different topics: wait for both
    log = await support.eventually(
        lambda: accesses("--participant", pid),
        lambda a: sum(x["kind"] == "read" for x in a) == len(recorded) and len(intake_writes(a)) >= 5,
    )
    reads = [(a["subject"], a["role"], a["agency"], a["what"]) for a in log if a["kind"] == "read"]
    assert reads == recorded
    writes = intake_writes(log)
    assert writes == ["ReferralReceived", "InformationMeetingHeld", "EligibilityChecked", "ConsentGranted",
                      "ParticipantEnrolled"]  # fmt: skip
    by_b = await accesses("--user", "cm-b")
    assert [(a["kind"], a["participant"]) for a in by_b] == [("read", pid)] * sum(r[0] == "cm-b" for r in recorded)

    pins = load_pins([], audit_keys)
    report = await support.eventually(
        lambda: verify([f"{stack.prefix}{s}.events" for s in support.SERVICES], pins),
        lambda r: r.ok and r.unsigned_events == 0, timeout=60,
    )  # fmt: skip
    assert report.signed_events >= len(log)


async def grant_key(stack: Stack, pid: str, auditor_pub: Path, out: Path) -> tuple[int, str]:
    """``python -m services.intake grant-audit-key`` on the stack's intake database (same KEK file)."""
    return await audit(
        "grant-audit-key", "--participant", pid, "--auditor-key", str(auditor_pub), "--reason", "audit 2026-07: sample",
        "--granted-by", "dpo-1", "--out", str(out), program=(sys.executable, "-m", "services.intake"),
        env={"INTAKE_DATABASE_URL": stack.urls["intake"]},
    )  # fmt: skip


async def test_case_opens_sealed_fields_only_for_the_auditor_granted_that_participants_key(
    stack: Stack, tmp_path: Path
) -> None:
    """A data protection officer grants one participant's intake key to one auditor (recorded as
    ``AuditKeyGranted`` on the topic); that auditor's ``case`` shows the identity and reason; without
    the grant, for the other participant, or with another identity they stay sealed; after an
    erasure no grant is made."""
    cm = stack.token(Role.CASE_MANAGER, "jc-en")
    intake = stack.clients["intake"]
    pids = [(await intake.post("/referrals", json=support.REFERRAL, headers=cm)).json()["participant_id"]
            for _ in range(2)]  # fmt: skip
    granted, other = pids
    for name in ("auditor", "stranger"):
        code, public = await audit("identity", "--out", str(tmp_path / f"{name}.key"))
        assert code == 0, public
        (tmp_path / f"{name}.pub").write_text(public)
    code, output = await grant_key(stack, granted, tmp_path / "auditor.pub", tmp_path / "grant.json")
    assert code == 0, output
    grant_id = json.loads(output)["grant_id"]
    topics = [a for s in support.SERVICES for a in ("--topic", f"{stack.prefix}{s}.events")]

    async def case(pid: str, *args: str) -> dict[str, Any]:
        code, output = await audit("case", pid, "--bootstrap", support.KAFKA, *topics, "--json", *args)
        assert code == 0, output
        return json.loads(output)  # type: ignore[no-any-return]

    with_grant = ("--grant", str(tmp_path / "grant.json"), "--identity", str(tmp_path / "auditor.key"))
    opened = await support.eventually(lambda: case(granted, *with_grant), lambda c: len(c["timeline"]) == 2)
    referral, recorded = opened["timeline"]
    identity = referral["payload"]["sealed_identity"]
    assert identity == json.loads(json.dumps(support.REFERRAL["identity"])) | {"address": "", "email": "", "phone": ""}
    assert opened["state"][f"participant-{granted}"]["state"]["sealed_reason"] == support.REFERRAL["reason"]
    assert (recorded["event_type"], recorded["actor"]) == (
        "AuditKeyGranted",
        {"id": "dpo-1", "role": "data-protection-officer"},
    )
    assert recorded["payload"]["grant_id"] == grant_id
    assert recorded["payload"]["reason"] == "audit 2026-07: sample"

    sealed = "<sealed>"
    assert (await case(granted))["timeline"][0]["payload"]["sealed_identity"] == sealed
    assert (await case(other, *with_grant))["timeline"][0]["payload"]["sealed_identity"] == sealed
    stranger = ("--grant", str(tmp_path / "grant.json"), "--identity", str(tmp_path / "stranger.key"))
    assert (await case(granted, *stranger))["timeline"][0]["payload"]["sealed_identity"] == sealed

    dpo = stack.token(Role.DATA_PROTECTION_OFFICER, "jc-en")
    erased = await intake.post(f"/participants/{other}/erasure", json={"legal_basis": "Art. 17 GDPR"}, headers=dpo)
    assert erased.status_code == 200, erased.text
    code, output = await grant_key(stack, other, tmp_path / "auditor.pub", tmp_path / "erased.json")
    assert code == 1, output
    assert not (tmp_path / "erased.json").exists()


async def test_checkpoints_every_five_events_verify_and_a_tampered_copy_breaks_at_the_edited_offset(
    every_five: Path, stack: Stack
) -> None:
    """Services checkpointing every 5 events; referrals, enrolments and reads; ``verify`` of the
    topics (the reads on the audit topics, none on the event topics) passes with every checkpoint
    verified (fewer than 5 events per service left as the unsigned tail); a copy of intake's topics
    with one event edited fails, at that event's offset."""
    cm = stack.token(Role.CASE_MANAGER, "jc-en")
    pids = [await refer_and_enrol(stack) for _ in range(3)]
    for pid in pids:
        assert (await stack.clients["intake"].get(f"/participants/{pid}", headers=cm)).status_code == 200
    events = {s: f"{stack.prefix}{s}.events" for s in support.SERVICES}
    pins = load_pins([], every_five)
    audit_topic = f"{stack.prefix}intake.audit"
    report = await support.eventually(
        lambda: verify(list(events.values()), pins),
        lambda r: r.ok and audit_topic in r.coverage and r.coverage[audit_topic].events >= len(pids)
        and r.checkpoints >= 4 and r.unsigned_events < 5 * len(support.SERVICES),
        timeout=60,
    )  # fmt: skip
    assert report.checkpoints == report.checkpoints_verified
    sizes = [row.events for row in report.checkpoint_rows]
    # due by count (5 events; the checkpoint and key events not counted): a checkpoint covers at
    # most 5, and fewer when only part of what was counted is committed in publish order yet
    # (a transaction still open below it): the rest goes into the next one
    assert 1 <= min(sizes) <= max(sizes) <= 5
    topics = [a for t in events.values() for a in ("--topic", t)]
    code, output = await audit("verify", "--bootstrap", support.KAFKA, *topics, "--pins", str(every_five), "--json",
                               "--quiet")  # fmt: skip
    assert code == 0, output
    found = json.loads(output)
    assert found["checkpoints"] == found["checkpoints_verified"] >= report.checkpoints
    assert found["breaks"] == []
    assert found["coverage"][audit_topic]["events"] >= len(pids)

    on_events = await read_topic(events["intake"])
    on_topic = [Envelope.from_bytes(r.value) for rows in on_events.values() for r in rows]
    assert {e.event_type for e in on_topic} >= {"ReferralReceived", "CheckpointSigned"}
    assert "DataRead" not in {e.event_type for e in on_topic}  # the consumers never fetch a read
    forged = f"{stack.prefix}intake-forged"
    await write_copy(await read_topic(f"{stack.prefix}intake.audit"), f"{forged}.audit")
    partition, victim = next(
        (p, i) for p, rows in on_events.items() for i, r in enumerate(rows)
        if Envelope.from_bytes(r.value).event_type == "ReferralReceived"
    )  # fmt: skip
    rows = on_events[partition]
    envelope = Envelope.from_bytes(rows[victim].value)
    rows[victim] = with_value(rows[victim], edited(envelope, lambda d: d["payload"].update(sex="male")))
    await write_copy(on_events, f"{forged}.events")
    code, output = await audit("verify", "--bootstrap", support.KAFKA, "--topic", f"{forged}.events",
                               "--pins", str(every_five), "--json", "--quiet")  # fmt: skip
    assert code == 1, output
    (first,) = json.loads(output)["breaks"]
    assert (first["topic"], first["partition"], first["offset"]) == (f"{forged}.events", partition, victim)
    assert (first["stream_id"], first["reason"]) == (envelope.stream_id, "content does not match its hash")
