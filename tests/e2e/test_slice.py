"""A referral travels intake → Kafka → casework, placement and reporting."""

from __future__ import annotations

import functools
from typing import Any

import pytest
from aiokafka import AIOKafkaProducer

from shared.vocabulary import Role
from tests import support
from tests.e2e.conftest import Stack
from tests.support import REFERRAL

pytestmark = pytest.mark.e2e


async def refer_and_enrol(stack: Stack, agency: str = "jc-en") -> str:
    cm = stack.token(Role.CASE_MANAGER, agency)
    r = await stack.clients["intake"].post("/referrals", json=REFERRAL, headers=cm)
    assert r.status_code == 201, r.text
    pid: str = r.json()["participant_id"]
    meeting = {"held_on": "2026-03-05"}
    m = await stack.clients["intake"].post(f"/participants/{pid}/information-meeting", json=meeting, headers=cm)
    assert m.status_code == 200, m.text
    eligibility = {"checked_on": "2026-03-09", "voluntary": True, "willing_to_address_impairments": True}
    c = await stack.clients["intake"].post(f"/participants/{pid}/eligibility", json=eligibility, headers=cm)
    assert c.status_code == 200, c.text
    consent = {"purpose": "participation", "granted_on": "2026-03-09", "form": "written"}
    g = await stack.clients["intake"].post(f"/participants/{pid}/consents", json=consent, headers=cm)
    assert g.status_code == 201, g.text
    e = await stack.clients["intake"].post(
        f"/participants/{pid}/enrolment", json={"start_date": "2026-03-16"}, headers=cm
    )
    assert e.status_code == 200, e.text
    return pid


async def counts(stack: Stack, agency: str = "jc-en") -> dict[str, Any]:
    r = await stack.clients["reporting"].get("/kpis/counts", headers=stack.token(Role.PROJECT_LEAD, agency))
    assert r.status_code == 200, r.text
    return r.json()["projects"].get("pro-aktiv", {})  # type: ignore[no-any-return]


async def test_enrolment_reaches_casework_placement_and_reporting(stack: Stack) -> None:
    pid = await refer_and_enrol(stack)
    cm = stack.token(Role.CASE_MANAGER, "jc-en")

    case = await support.eventually(
        lambda: stack.clients["casework"].get(f"/cases/{pid}", headers=cm), lambda r: r.status_code == 200
    )
    assert case.json()["status"] == "open"
    assert case.json()["agency"] == "jc-en"

    listed = await support.eventually(
        lambda: stack.clients["casework"].get("/cases", headers=cm), lambda r: len(r.json()) == 1
    )
    assert listed.json()[0]["participant_id"] == pid

    # open_cases comes from casework's topic, the others from intake's: wait for all three
    expected = {"referrals": 1, "enrolments": 1, "open_cases": 1}
    figures = await support.eventually(lambda: counts(stack), lambda c: c == expected)
    assert figures == expected

    # being a participant reveals health data: placement learns of a person only through a
    # capacity profile shared under employer-disclosure consent (tests/e2e/test_placement.py)
    placement = stack.runtime("placement")
    assert placement.pool is not None
    await support.eventually(
        lambda: placement.pool.fetchval("SELECT count(*) FROM proj_access.projection_streams"),
        lambda n: n == 1,
    )  # placement has consumed the intake stream of this participant ...
    pool = await stack.clients["placement"].get("/candidates", headers=stack.token(Role.EMPLOYER_ACQUISITION, "jc-en"))
    assert pool.json() == []  # ... and knows no candidate
    # another agency sees none of it
    assert await counts(stack, "jc-mk") == {}


async def test_topic_carries_no_identity_or_referral_reason(stack: Stack) -> None:
    await refer_and_enrol(stack)
    rt = stack.runtime("intake")
    assert rt.pool is not None
    raw = b"".join(r["envelope"] for r in await rt.pool.fetch("SELECT envelope FROM events"))
    for secret in (b"Anna", b"Beispiel", b"12170584B123", b"back pain", b"1984-05-17"):
        assert secret not in raw


async def test_duplicate_delivery_changes_no_projection(stack: Stack) -> None:
    await refer_and_enrol(stack)
    await support.eventually(lambda: counts(stack), lambda c: c.get("open_cases") == 1)
    rt = stack.runtime("intake")
    assert rt.pool is not None
    rows = await rt.pool.fetch("SELECT stream_id, envelope FROM events ORDER BY position")
    producer = AIOKafkaProducer(bootstrap_servers=support.KAFKA)
    await producer.start()
    try:
        metas = [
            await producer.send_and_wait(f"{stack.prefix}intake.events", r["envelope"], key=r["stream_id"].encode())
            for r in rows
        ]
    finally:
        await producer.stop()
    reporting = stack.runtime("reporting")
    assert reporting.pool is not None
    [runner] = [r for r in reporting.runners if r.projection.name == "counts"]

    async def caught_up() -> bool:
        pos = await runner.positions()
        return all(pos.get((m.topic, m.partition), 0) > m.offset for m in metas)

    await support.eventually(caught_up, bool)
    assert await counts(stack) == {"referrals": 1, "enrolments": 1, "open_cases": 1}
    cases = await support.eventually(
        lambda: stack.clients["casework"].get("/cases", headers=stack.token(Role.CASE_MANAGER, "jc-en")),
        lambda r: r.status_code == 200,
    )
    assert len(cases.json()) == 1


async def test_idempotency_key_makes_a_retry_act_once(stack: Stack) -> None:
    cm = stack.token(Role.CASE_MANAGER, "jc-en") | {"Idempotency-Key": "ref-42"}
    first = await stack.clients["intake"].post("/referrals", json=REFERRAL, headers=cm)
    again = await stack.clients["intake"].post("/referrals", json=REFERRAL, headers=cm)
    assert first.status_code == again.status_code == 201
    assert first.json() == again.json()
    other = await stack.clients["intake"].post("/referrals", json=REFERRAL | {"sex": "male"}, headers=cm)
    assert other.status_code == 422
    await support.eventually(lambda: counts(stack), lambda c: c.get("referrals") == 1)


async def test_bad_input_names_the_field(stack: Stack) -> None:
    cm = stack.token(Role.CASE_MANAGER, "jc-en")
    bad = REFERRAL | {"received_on": "not-a-date"}
    r = await stack.clients["intake"].post("/referrals", json=bad, headers=cm)
    assert r.status_code == 422
    assert r.json()["errors"][0]["field"] == "received_on"
    assert "Traceback" not in r.text
    assert (await stack.clients["intake"].post("/referrals", json=REFERRAL)).status_code == 401
    forbidden = await stack.clients["intake"].post(
        "/referrals", json=REFERRAL, headers=stack.token(Role.EMPLOYER_ACQUISITION, "jc-en")
    )
    assert forbidden.status_code == 403


async def test_stale_if_match_is_a_conflict(stack: Stack) -> None:
    cm = stack.token(Role.CASE_MANAGER, "jc-en")
    r = await stack.clients["intake"].post("/referrals", json=REFERRAL, headers=cm)
    pid = r.json()["participant_id"]
    stale = await stack.clients["intake"].post(
        f"/participants/{pid}/enrolment", json={"start_date": "2026-03-16"}, headers=cm | {"If-Match": "0"}
    )
    assert stale.status_code == 409
    other_agency = await stack.clients["intake"].post(
        f"/participants/{pid}/enrolment",
        json={"start_date": "2026-03-16"},
        headers=stack.token(Role.CASE_MANAGER, "jc-mk"),
    )
    assert other_agency.status_code == 404  # another agency's participant: "no such participant"


async def test_health_and_metrics(stack: Stack) -> None:
    for name, client in stack.clients.items():
        assert (await client.get("/health/live")).status_code == 200
        ready = await support.eventually(functools.partial(client.get, "/health/ready"), lambda r: r.status_code == 200)
        assert ready.json()["database"] == "ok", name
        metrics = await client.get("/metrics")
        assert "relay_events_published_total" in metrics.text
    spec = await stack.clients["reporting"].get("/asyncapi.json")
    assert spec.status_code == 200
    assert f"{stack.prefix}intake.events" in spec.text


async def test_kafka_committed_offsets_catch_up_with_the_stored_positions(stack: Stack) -> None:
    """Offsets go to Kafka at most once a second (they only inform lag tools); what a batch
    left uncommitted is committed by the lag loop's ``commit_pending`` (and on shutdown)."""
    from aiokafka import TopicPartition

    for agency in ("jc-en", "jc-mk", "jc-en"):  # several batches within a second
        await refer_and_enrol(stack, agency)
    await support.eventually(lambda: counts(stack), lambda c: c.get("open_cases") == 2)
    for consumer in stack.runtime("reporting").consumers:

        async def lag(c: Any = consumer) -> int:
            return int(await c.refresh_lag())

        await support.eventually(lag, lambda n: n == 0)
        await consumer.commit_pending()
        kafka = consumer.consumer
        assert kafka is not None
        stored = await consumer.runner.positions(consumer.topics)
        assert stored
        for (topic, partition), position in stored.items():
            assert await kafka.committed(TopicPartition(topic, partition)) == position
