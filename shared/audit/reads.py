"""The access log on the topics: a service's append-only read records (intake's ``data_reads``,
casework's ``health_data_reads``, written by the HTTP layer before an answer leaves) are turned
into ``DataRead`` events in its own event store, stream ``audit-reads:<service>``, so they leave
through the outbox, hash-chained and covered by the signed checkpoints. The relay sends that
stream to the service's audit topic (``<prefix><service>.audit``), not its event topic: the
consumers, which need no reads, never fetch them; ``verify`` follows the stream there.

publish = read the last published row -> read the rows after it that no transaction in flight
can still precede -> append one event per row (optimistic on the stream: of two replicas one wins).
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import asyncpg
import structlog

from shared.contracts.audit import DataRead
from shared.db import Conn
from shared.envelope import GENESIS_HASH, Actor, Envelope, new_id
from shared.eventstore import CommandContext, ConcurrencyConflict, PostgresEventStore
from shared.recorded import Recorded

log = structlog.get_logger(__name__)

READS_STREAM_TYPE = "read-audit"  # not "audit": the checkpoints cover these


READS_STREAM_PREFIX = "audit-reads:"


def reads_stream(service: str) -> str:
    return f"{READS_STREAM_PREFIX}{service}"


def reads_route(audit_topic: str) -> Callable[[str], str | None]:
    """The relay's route: the read stream to the audit topic, every other stream to its default."""

    def route(stream_id: str) -> str | None:
        return audit_topic if stream_id.startswith(READS_STREAM_PREFIX) else None

    return route


@dataclass(frozen=True)
class ReadTable:
    """Where a service keeps its read records, and the names of its person columns."""

    table: str
    participant: str
    participant_agency: str

    @property
    def query(self) -> str:
        """Rows after the resume point in id order, each flagged ``safe`` if its transaction is
        older than every one still in flight (as the relay holds back events: a row that commits
        late must not be skipped)."""
        return _NEW_READS.format(table=self.table, participant=self.participant, agency=self.participant_agency)


READ_TABLES = {
    "intake": ReadTable("data_reads", "participant_id", "participant_agency"),
    "casework": ReadTable("health_data_reads", "case_id", "case_agency"),
}

_NEW_READS = """
SELECT id, read_id, read_at, subject, role, agency, {participant} AS participant_id,
       {agency} AS participant_agency, what, correlation_id,
       age(xmin) > age(xid(pg_snapshot_xmin(pg_current_snapshot()))) AS safe
FROM {table} WHERE id > $1 ORDER BY id LIMIT $2
"""
_LAST_EVENT = "SELECT envelope FROM events WHERE stream_id = $1 ORDER BY version DESC LIMIT 1"


def safe_prefix(rows: Sequence[asyncpg.Record]) -> list[asyncpg.Record]:
    """Up to the first row a transaction in flight may still precede."""
    out = []
    for row in rows:
        if not row["safe"]:
            break
        out.append(row)
    return out


def to_event(service: str, row: asyncpg.Record) -> DataRead:
    return DataRead(
        reader=service, read_id=row["read_id"], row_id=row["id"], read_at=row["read_at"], subject=row["subject"],
        role=row["role"], agency=row["agency"], participant_id=row["participant_id"],
        participant_agency=row["participant_agency"], what=row["what"], correlation_id=row["correlation_id"],
    )  # fmt: skip


class ReadPublisher:
    def __init__(self, store: PostgresEventStore, service: str, table: ReadTable, *, batch: int = 500,
                 poll_seconds: float = 1.0) -> None:  # fmt: skip
        self.store = store
        self.service = service
        self.table = table
        self.batch = batch
        self.poll_seconds = poll_seconds
        self.context = CommandContext(
            actor=Actor(id=f"{service}-read-publisher", role="service"), agency="platform", project=None,
            correlation_id=new_id(),
        )  # fmt: skip

    async def run(self) -> None:
        while True:
            try:
                while await self.publish() == self.batch:
                    pass
            except asyncio.CancelledError:
                raise
            except ConcurrencyConflict:
                log.info("reads.conflict", service=self.service)
            except Exception as exc:
                log.warning("reads.failed", service=self.service, error=repr(exc))
            await asyncio.sleep(self.poll_seconds)

    async def publish(self) -> int:
        """One batch of read records as events; how many."""
        async with self.store.pool.acquire() as conn, conn.transaction():
            version, head_hash, after = await self._head(conn)
            rows = safe_prefix(await conn.fetch(self.table.query, after, self.batch))
            if not rows:
                return 0
            await self.store.append(
                conn, stream_id=reads_stream(self.service), stream_type=READS_STREAM_TYPE, expected_version=version,
                events=[to_event(self.service, r) for r in rows], context=self.context, head_hash=head_hash,
            )  # fmt: skip
        return len(rows)

    async def _head(self, conn: Conn) -> tuple[int, str, int]:
        raw = await conn.fetchval(_LAST_EVENT, reads_stream(self.service))
        if raw is None:
            return 0, GENESIS_HASH, 0
        env = Envelope.from_bytes(raw)
        last = Recorded.decode(env).payload
        assert isinstance(last, DataRead)
        return env.version, env.hash, last.row_id
