"""An in-memory event store with the PostgreSQL store's behaviour, for unit tests.

It passes the same contract suite (``tests/contracts/event_store.py``) as the real one, so a
handler test on it says something about production.
"""

from __future__ import annotations

from datetime import datetime

from shared.db import Conn
from shared.envelope import GENESIS_HASH, Envelope
from shared.eventstore import AppendBatch, ConcurrencyConflict, EventStore


class MemoryEventStore(EventStore):
    def __init__(self) -> None:
        self.streams: dict[str, list[Envelope]] = {}
        self.log: list[Envelope] = []  # every event in append order (what a relay would publish)

    async def _append(self, conn: Conn | None, batch: AppendBatch) -> list[Envelope]:
        head = self.check_head(batch.stream_id, batch.expected_version, batch.head_hash)
        sealed = batch.seal(head)
        self.insert(sealed, expected_version=batch.expected_version)
        return sealed

    def check_head(self, stream_id: str, expected_version: int, head_hash: str | None = None) -> str:
        """The head's hash if the stream is at ``expected_version`` (and ``head_hash``)."""
        stream = self.streams.get(stream_id, [])
        head = stream[-1].hash if stream else GENESIS_HASH
        if len(stream) != expected_version or (head_hash is not None and head_hash != head):
            raise ConcurrencyConflict(stream_id, expected_version, len(stream))
        return head

    def insert(self, sealed: list[Envelope], *, expected_version: int) -> None:
        """Store already sealed events after ``expected_version`` (all or none)."""
        if not sealed:
            return
        stream_id = sealed[0].stream_id
        self.check_head(stream_id, expected_version, sealed[0].prev_hash)
        self.streams[stream_id] = [*self.streams.get(stream_id, []), *sealed]
        self.log.extend(sealed)

    async def read_stream(
        self, stream_id: str, *, conn: Conn | None = None, up_to: datetime | None = None
    ) -> list[Envelope]:
        events = self.streams.get(stream_id, [])
        return [e for e in events if up_to is None or e.recorded_at <= up_to]
