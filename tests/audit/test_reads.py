"""The read publisher never steps past a read record whose transaction is still in flight: a row
that commits late is published in its place, not skipped (the relay's rule, for the access log);
the read records travel on the service's audit topic, signed by the event topic's checkpoints."""

from __future__ import annotations

from collections.abc import AsyncIterator
from uuid import uuid4

import asyncpg
import pytest

from shared.audit.checkpoints import Checkpointer, CheckpointSettings
from shared.audit.reads import ReadPublisher, ReadTable, reads_route, reads_stream
from shared.audit.schemas import PublishedSchemas
from shared.audit.signing import SigningKey
from shared.audit.topics import TopicReader
from shared.audit.verify import Verifier
from shared.contracts.audit import DataRead
from shared.envelope import Envelope
from shared.eventstore import PostgresEventStore
from shared.migrations import EVENTSTORE_SQL, migrate
from shared.recorded import Recorded
from tests import support
from tests.audit.topics import SCHEMAS, append_events, publish_all, read_topic, verify

_TABLE = """
CREATE TABLE test_reads (
    id bigserial PRIMARY KEY, read_id uuid NOT NULL DEFAULT gen_random_uuid(),
    read_at timestamptz NOT NULL DEFAULT now(), subject text NOT NULL, role text NOT NULL,
    agency text NOT NULL, participant_id uuid NOT NULL, participant_agency text NOT NULL,
    what text NOT NULL, correlation_id uuid
)
"""
_READ = (
    "INSERT INTO test_reads (subject, role, agency, participant_id, participant_agency, what)"
    " VALUES ($1, 'case-manager', 'jc-en', $2, 'jc-en', 'identity')"
)


@pytest.fixture
async def store(pg_url: str) -> AsyncIterator[PostgresEventStore]:
    """An event store and a read-record table of a service called ``test``."""
    pool = await asyncpg.create_pool(pg_url, min_size=1, max_size=4)
    try:
        async with pool.acquire() as conn:
            await migrate(conn, EVENTSTORE_SQL)
            await conn.execute(_TABLE)
        yield PostgresEventStore(pool)
    finally:
        await pool.close()


async def published(publisher: ReadPublisher, expected: int) -> None:
    """Publish until ``expected`` reads are out, in as many batches as it takes: a transaction
    in flight anywhere on the server (another test's, another database's) holds back the rows
    after it, so the reads may come out in more than one batch, never twice."""
    total = 0

    async def more() -> int:
        nonlocal total
        total += await publisher.publish()
        return total

    assert await support.eventually(more, lambda n: n >= expected) == expected


async def test_a_read_committing_late_is_published_in_order_not_skipped(store: PostgresEventStore) -> None:
    pool = store.pool
    publisher = ReadPublisher(store, "test", ReadTable("test_reads", "participant_id", "participant_agency"))
    person = uuid4()
    slow = await pool.acquire()
    try:
        tx = slow.transaction()
        await tx.start()
        await slow.execute(_READ, "early-but-slow", person)  # id 1, not committed yet
        await pool.execute(_READ, "late-but-fast", person)  # id 2, committed
        assert await publisher.publish() == 0  # id 2 waits: id 1 may still commit
        await tx.commit()
    finally:
        await pool.release(slow)
    await published(publisher, 2)
    events = await store.read_stream(reads_stream("test"))
    reads = [Recorded.decode(e).payload for e in events]
    assert [(r.row_id, r.subject) for r in reads if isinstance(r, DataRead)] == [
        (1, "early-but-slow"), (2, "late-but-fast")]  # fmt: skip
    assert await publisher.publish() == 0  # nothing twice


async def test_reads_travel_on_the_audit_topic_signed_by_the_event_topics_checkpoints(
    store: PostgresEventStore,
) -> None:
    """The relay sends the read stream to ``<service>.audit``: the event topic (what consumers
    read) holds none; ``verify`` follows the checkpoint there, and without the audit topic the
    signed read stream is reported missing, not passed."""
    pool = store.pool
    await append_events(store, 2, 2)
    for subject in ("cm-a", "cm-b", "cm-a"):
        await pool.execute(_READ, subject, uuid4())
    publisher = ReadPublisher(store, "test", ReadTable("test_reads", "participant_id", "participant_agency"))
    await published(publisher, 3)  # once no transaction precedes them
    key = SigningKey.generate()
    assert await Checkpointer(store, "test", [key], CheckpointSettings(checkpoint_events=50)).write() is not None
    run = support.run_id()
    events, audit = f"{run}.test.events", f"{run}.test.audit"
    await support.create_topics([events, audit])
    assert await publish_all(pool, events, route=reads_route(audit)) == 4 + 3 + 2  # events, reads, key, checkpoint

    on_events = [Envelope.from_bytes(r.value) for rows in (await read_topic(events)).values() for r in rows]
    on_audit = [Envelope.from_bytes(r.value) for rows in (await read_topic(audit)).values() for r in rows]
    assert all(e.stream_id != reads_stream("test") for e in on_events)
    assert [e.stream_id for e in on_audit] == [reads_stream("test")] * 3

    report = await verify([events], {"test": {key.public_key}})  # the audit topic is read along
    assert report.ok, report.breaks
    assert report.checkpoints_verified == 1
    assert (report.signed_events, report.unsigned_events) == (7, 0)
    assert report.coverage[audit].signed == 3

    verifier = Verifier(PublishedSchemas.load(SCHEMAS), {"test": {key.public_key}})
    async with TopicReader(support.KAFKA, [events]) as reader:  # the event topic alone
        async for batch in reader.batches():
            verifier.feed(batch)
    (missing,) = verifier.finish().breaks
    assert missing.stream_id == reads_stream("test")
    assert "nor its audit topic" in missing.reason


async def test_a_read_stream_moved_from_the_event_topic_to_the_audit_topic_verifies_as_one(
    store: PostgresEventStore,
) -> None:
    """Reads published before the audit topics stay on the event topic; the stream goes on on the
    audit topic; ``verify`` reads the audit topic after the event topic, so the chain holds."""
    publisher = ReadPublisher(store, "test", ReadTable("test_reads", "participant_id", "participant_agency"))
    key = SigningKey.generate()
    run = support.run_id()
    events, audit = f"{run}.test.events", f"{run}.test.audit"
    await support.create_topics([events, audit])
    for subject in ("before-1", "before-2"):
        await store.pool.execute(_READ, subject, uuid4())
    await published(publisher, 2)
    await publish_all(store.pool, events)  # the relay of old: every stream on the event topic
    for subject in ("after-1", "after-2"):
        await store.pool.execute(_READ, subject, uuid4())
    await published(publisher, 2)
    assert await Checkpointer(store, "test", [key], CheckpointSettings(checkpoint_events=50)).write() is not None
    await publish_all(store.pool, events, route=reads_route(audit))

    on_audit = [r for rows in (await read_topic(audit)).values() for r in rows]
    assert [Envelope.from_bytes(r.value).version for r in on_audit] == [3, 4]
    report = await verify([events], {"test": {key.public_key}})
    assert report.ok, report.breaks
    assert (report.streams, report.signed_events, report.unsigned_events) == (3, 4, 0)  # reads, checkpoint, key
