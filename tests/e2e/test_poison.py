"""Poison on a real topic: undecodable bytes, an unknown type, a contract failure and forged
hashes are parked (dead-letter topic and ``parked`` table); every other stream flows; the
operator retries or skips them; readiness and answers under outages tell the truth."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from typing import Any

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer

from shared import parking
from shared.envelope import GENESIS_HASH, Actor, Envelope, new_id
from shared.projections import ProjectionRunner
from shared.vocabulary import Role
from tests import support
from tests.e2e.conftest import Stack
from tests.support import REFERRAL


def envelope(stream: str, version: int, event_type: str, payload: dict[str, Any], prev: str = GENESIS_HASH) -> Envelope:
    now = datetime.now(UTC)
    return Envelope(
        event_id=new_id(), event_type=event_type, schema_version=1, stream_id=stream, stream_type="participant",
        version=version, occurred_at=now, recorded_at=now, agency="jc-en", project="pro-aktiv",
        actor=Actor(id="intruder", role="case-manager"), correlation_id=new_id(), causation_id=None,
        payload=payload, prev_hash=prev,
    ).sealed()  # fmt: skip


async def publish(topic: str, records: list[tuple[bytes, bytes]]) -> None:
    producer = AIOKafkaProducer(bootstrap_servers=support.KAFKA)
    await producer.start()
    try:
        for key, value in records:
            await producer.send_and_wait(topic, value, key=key)
    finally:
        await producer.stop()


async def dead_letters(topic: str, expected: int) -> list[dict[str, str]]:
    consumer = AIOKafkaConsumer(topic, bootstrap_servers=support.KAFKA, auto_offset_reset="earliest")
    await consumer.start()
    found: list[dict[str, str]] = []
    try:
        async with asyncio.timeout(30):
            while len(found) < expected:
                for records in (await consumer.getmany(timeout_ms=500)).values():
                    found += [{k: v.decode() for k, v in r.headers} | {"value": r.value.decode()} for r in records]
    finally:
        await consumer.stop()
    return found


def runner_of(stack: Stack, service: str, projection: str) -> ProjectionRunner:
    return next(r for r in stack.runtime(service).runners if r.projection.name == projection)


async def test_poison_is_parked_and_every_other_stream_flows(stack: Stack) -> None:
    topic = f"{stack.prefix}intake.events"
    bad_stream = f"participant-{new_id()}"
    invalid = envelope(bad_stream, 1, "ReferralReceived", {"participant_id": "not-a-uuid"})
    after_invalid = envelope(bad_stream, 2, "ConsentGranted", {}, prev=invalid.hash)
    altered = envelope(f"participant-{new_id()}", 1, "NobodyKnowsThis", {}).model_copy(update={"agency": "forged"})
    wrong_link = envelope(f"participant-{new_id()}", 1, "NobodyKnowsThis", {}, prev="f" * 64)
    unknown = envelope(f"participant-{new_id()}", 1, "NobodyKnowsThis", {})
    await publish(topic, [
        (b"poison", b"not json"), (invalid.stream_id.encode(), invalid.to_bytes()),
        (after_invalid.stream_id.encode(), after_invalid.to_bytes()), (altered.stream_id.encode(), altered.to_bytes()),
        (wrong_link.stream_id.encode(), wrong_link.to_bytes()), (unknown.stream_id.encode(), unknown.to_bytes()),
    ])  # fmt: skip
    cm = stack.token(Role.CASE_MANAGER, "jc-en")
    created = await stack.clients["intake"].post("/referrals", json=REFERRAL, headers=cm)
    assert created.status_code == 201, created.text
    good_stream = f"participant-{created.json()['participant_id']}"
    runner = runner_of(stack, "reporting", "counts")
    pool = runner.pool

    async def probe() -> tuple[list[tuple[str, str]], bool]:
        rows = await pool.fetch('SELECT reason, stream_id FROM proj_counts.parked ORDER BY topic, partition, "offset"')
        good = await pool.fetchval(
            "SELECT count(*) FROM proj_counts.projection_streams WHERE stream_id = $1", good_stream
        )
        return sorted((r["reason"], r["stream_id"]) for r in rows), bool(good)

    parked, _ = await support.eventually(probe, lambda x: len(x[0]) == 5 and x[1])
    assert parked == sorted([
        ("undecodable", "poison"), ("contract", bad_stream), ("behind-parked", bad_stream),
        ("tampered", altered.stream_id), ("tampered", wrong_link.stream_id),
    ])  # fmt: skip
    # (its partition may be another than the good stream's: wait for it too)
    applied = "SELECT version FROM proj_counts.projection_streams WHERE stream_id = $1"
    ignored = await support.eventually(lambda: pool.fetchval(applied, unknown.stream_id), lambda v: v is not None)
    assert ignored == 1  # kept in its stream's order, not parked
    group = f"{stack.prefix}reporting.counts"
    letters = await dead_letters(f"{group}.dlq", 5)
    assert {(d["reason"], d["source-topic"]) for d in letters} >= {("undecodable", topic), ("tampered", topic)}
    assert all({"source-partition", "source-offset", "error"} <= d.keys() for d in letters)
    assert any(d["value"] == "not json" for d in letters)

    # the operator: skip the undecodable one (audited), retry the others (they fail again)
    poison_id = next(r["id"] for r in await parking.list_parked(runner) if r["reason"] == "undecodable")
    rt = stack.runtime("reporting")
    skipped = await parking.skip_parked(
        runner, rt.store, int(str(poison_id)), reason="garbage from a test producer",
        actor=Actor(id="op", role="operator"), agency="platform",
    )  # fmt: skip
    assert skipped.reason == "garbage from a test producer"
    audit = await rt.pool.fetch("SELECT event_type FROM events WHERE stream_id LIKE 'parked-counts-%'")
    assert [r["event_type"] for r in audit] == ["ParkedRecordSkipped"]
    again = await runner.retry()
    assert {p.reason for p in again.parked} == {"contract", "behind-parked", "tampered"}
    ready = await stack.clients["reporting"].get("/health/ready")
    assert ready.json()["parked"]["counts"] == 4
