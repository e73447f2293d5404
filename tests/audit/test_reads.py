"""The read publisher never steps past a read record whose transaction is still in flight: a row
that commits late is published in its place, not skipped (the relay's rule, for the access log)."""

from __future__ import annotations

from uuid import uuid4

import asyncpg

from shared.audit.reads import ReadPublisher, ReadTable, reads_stream
from shared.contracts.audit import DataRead
from shared.eventstore import PostgresEventStore
from shared.migrations import EVENTSTORE_SQL, migrate
from shared.recorded import Recorded
from tests import support

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


async def test_a_read_committing_late_is_published_in_order_not_skipped(pg_url: str) -> None:
    pool = await asyncpg.create_pool(pg_url, min_size=1, max_size=4)
    try:
        async with pool.acquire() as conn:
            await migrate(conn, EVENTSTORE_SQL)
            await conn.execute(_TABLE)
        store = PostgresEventStore(pool)
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
        await support.eventually(publisher.publish, lambda n: n == 2)
        events = await store.read_stream(reads_stream("test"))
        reads = [Recorded.decode(e).payload for e in events]
        assert [(r.row_id, r.subject) for r in reads if isinstance(r, DataRead)] == [
            (1, "early-but-slow"), (2, "late-but-fast")]  # fmt: skip
        assert await publisher.publish() == 0  # nothing twice
    finally:
        await pool.close()
