"""Checkpoints written by a service's store: they verify across a key rotation (the new key
endorsed by the old one), a retired key signs nothing after the rotation, and the projection
runner passes checkpoint and key events by without parking or applying them."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import asyncpg
import pytest

from shared.audit.checkpoints import Checkpointer, CheckpointSettings, checkpoint_stream
from shared.audit.cli import kafka_options
from shared.audit.merkle import EMPTY_ROOT, merkle_root
from shared.audit.rebuild import scratch_settings
from shared.audit.signing import SigningKey, load_keyring, rotate
from shared.contracts.platform import ParkedRecordSkipped
from shared.eventstore import PostgresEventStore
from shared.migrations import EVENTSTORE_SQL, migrate
from shared.projections import Projection, ProjectionRunner
from shared.recorded import Recorded
from tests import support
from tests.audit.topics import append_events, publish_all, read_topic, verify

SIGNER = "test"
SETTINGS = CheckpointSettings(checkpoint_events=5)


@pytest.fixture
async def store(pg_url: str) -> AsyncIterator[PostgresEventStore]:
    pool = await asyncpg.create_pool(pg_url, min_size=1, max_size=4)
    async with pool.acquire() as conn:
        await migrate(conn, EVENTSTORE_SQL)
    yield PostgresEventStore(pool)
    await pool.close()


async def checkpoint_all(store: PostgresEventStore, keys: list[SigningKey]) -> int:
    checkpointer = Checkpointer(store, SIGNER, keys, SETTINGS)
    written = 0
    while await checkpointer.write() is not None:
        written += 1
    return written


async def published(store: PostgresEventStore) -> str:
    topic = f"{support.run_id()}.test.events"
    await support.create_topics([topic])
    await publish_all(store.pool, topic)
    return topic


async def test_checkpoints_verify_across_a_key_rotation(store: PostgresEventStore, tmp_path: Path) -> None:
    ring = tmp_path / "test.json"
    first = rotate(ring)
    await append_events(store, 3, 4)
    assert await checkpoint_all(store, load_keyring(ring)) == 3  # 12 events, 5 per checkpoint
    second = rotate(ring)
    await append_events(store, 3, 4, start=4)
    assert await checkpoint_all(store, load_keyring(ring)) == 3  # the key event moves the resume point too
    topic = await published(store)

    report = await verify([topic], {SIGNER: {first.public_key}})  # only the first key is pinned
    assert report.breaks == []
    assert report.keys == {SIGNER: [first.key_id, second.key_id]}
    assert report.checkpoints == report.checkpoints_verified == 6
    assert (report.signed_events, report.unsigned_events) == (24, 0)


async def test_a_retired_key_signs_nothing_after_the_rotation(store: PostgresEventStore, tmp_path: Path) -> None:
    ring = tmp_path / "test.json"
    first = rotate(ring)
    await append_events(store, 2, 2)
    await checkpoint_all(store, load_keyring(ring))
    rotate(ring)
    await append_events(store, 2, 2, start=2)
    await checkpoint_all(store, load_keyring(ring))
    await append_events(store, 2, 2, start=4)
    await checkpoint_all(store, [first])  # whoever still holds the old key
    topic = await published(store)

    report = await verify([topic], {SIGNER: {first.public_key}})
    assert len(report.breaks) == 1
    (found,) = report.breaks
    assert found.stream_id == checkpoint_stream(SIGNER)
    assert "is not signed by the key in force" in found.reason
    assert report.unsigned_events == 4  # what only the retired key signed


async def test_a_key_nobody_endorsed_is_not_trusted(store: PostgresEventStore, tmp_path: Path) -> None:
    first = rotate(tmp_path / "test.json")
    await append_events(store, 1, 3)
    await checkpoint_all(store, [first])
    await append_events(store, 1, 3, start=3)
    await checkpoint_all(store, [first, SigningKey.generate()][1:])  # a new ring without the old key
    report = await verify([await published(store)], {SIGNER: {first.public_key}})
    assert next(b.reason for b in report.breaks).endswith("is neither pinned nor endorsed")
    assert report.signed_events == 3


async def test_projection_runners_pass_checkpoints_by(store: PostgresEventStore, pg_url: str) -> None:
    """The runner decodes them (known contracts) and calls no handler; nothing is parked."""
    seen: list[int] = []
    projection = Projection("audit_test", sql=[])

    @projection.on(ParkedRecordSkipped)
    async def count(conn: Any, event: Recorded[ParkedRecordSkipped]) -> None:
        seen.append(event.version)

    await append_events(store, 2, 6)
    assert await checkpoint_all(store, [SigningKey.generate()]) == 3
    topic = await published(store)
    records = [r for rows in (await read_topic(topic)).values() for r in rows]
    runner = ProjectionRunner(store.pool, projection, "proj_audit_test")
    await runner.setup()
    result = await runner.apply(records)
    assert result.parked == []
    assert result.gaps == 0
    assert len(seen) == 12
    assert result.applied == len(records)  # checkpoints and the key: applied as "nothing to do"


def test_merkle_root_is_order_sensitive_and_prefixed() -> None:
    a, b, c = ("a" * 64), ("b" * 64), ("c" * 64)
    assert merkle_root([]) == EMPTY_ROOT
    assert merkle_root([a, b, c]) != merkle_root([b, a, c])
    assert merkle_root([a, b]) != merkle_root([a, b, c])
    assert merkle_root([a]) != a  # a leaf is hashed with its prefix


def test_the_auditor_connects_like_the_services(monkeypatch: pytest.MonkeyPatch) -> None:
    """SASL over TLS from the same variables the services read (the k8s brokers need it)."""
    monkeypatch.setenv("AUDIT_KAFKA_SECURITY_PROTOCOL", "SASL_SSL")
    monkeypatch.setenv("AUDIT_KAFKA_SASL_USERNAME", "auditor")
    monkeypatch.setenv("AUDIT_KAFKA_SASL_PASSWORD", "secret")
    options = kafka_options()
    assert options["security_protocol"] == "SASL_SSL"
    assert (options["sasl_plain_username"], options["sasl_plain_password"]) == ("auditor", "secret")
    assert options["ssl_context"] is not None
    rebuild = scratch_settings("casework", "postgresql://127.0.0.1/scratch", "broker:9093", "en.")
    assert (rebuild.kafka_security_protocol, rebuild.kafka_sasl_username) == ("SASL_SSL", "auditor")
