"""The behaviour every event store must have, written once (the ``eventsourcing`` library's
recorder-test pattern): ``tests/unit/test_memory_store.py`` runs it on the in-memory store the
handler tests use, ``tests/integration/test_eventstore.py`` on real PostgreSQL."""

from __future__ import annotations

import asyncio
from datetime import timedelta

import pytest

from shared.envelope import GENESIS_HASH, utcnow, verify_chain
from shared.eventstore import ConcurrencyConflict, EventStore, UnstorableEvent
from tests.integration.fakes import Noted, ctx


class EventStoreContract:
    """Subclasses provide the ``store`` fixture."""

    @staticmethod
    async def append(store: EventStore, stream: str, expected: int, *texts: str, head: str | None = None) -> None:
        await store.append(
            stream_id=stream, stream_type="note", expected_version=expected,
            events=[Noted(text=t) for t in texts], context=ctx(), head_hash=head,
        )  # fmt: skip

    async def test_append_and_read_back_a_chained_stream(self, store: EventStore) -> None:
        await self.append(store, "s-1", 0, "a", "b")
        await self.append(store, "s-1", 2, "c")
        events = await store.read_stream("s-1")
        assert [e.version for e in events] == [1, 2, 3]
        assert [e.payload["text"] for e in events] == ["a", "b", "c"]
        assert verify_chain(events) == []
        assert events[0].prev_hash == GENESIS_HASH
        assert {e.actor.id for e in events} == {"cm-1"}

    async def test_stale_version_conflicts(self, store: EventStore) -> None:
        await self.append(store, "s-1", 0, "a")
        with pytest.raises(ConcurrencyConflict):
            await self.append(store, "s-1", 0, "b")
        with pytest.raises(ConcurrencyConflict):
            await self.append(store, "s-1", 2, "b")

    async def test_nothing_written_on_conflict(self, store: EventStore) -> None:
        await self.append(store, "s-1", 0, "a")
        with pytest.raises(ConcurrencyConflict):
            await self.append(store, "s-1", 0, "b", "c")
        assert [e.payload["text"] for e in await store.read_stream("s-1")] == ["a"]

    async def test_a_stale_head_hash_conflicts(self, store: EventStore) -> None:
        await self.append(store, "s-1", 0, "a")
        first = (await store.read_stream("s-1"))[0]
        await self.append(store, "s-1", 1, "b", head=first.hash)
        with pytest.raises(ConcurrencyConflict):
            await self.append(store, "s-1", 1, "c", head=first.hash)
        assert [e.payload["text"] for e in await store.read_stream("s-1")] == ["a", "b"]

    async def test_streams_are_independent(self, store: EventStore) -> None:
        await self.append(store, "s-1", 0, "a")
        await self.append(store, "s-2", 0, "x", "y")
        assert [e.version for e in await store.read_stream("s-2")] == [1, 2]
        assert await store.read_stream("s-unknown") == []

    async def test_reading_up_to_a_moment_leaves_out_later_events(self, store: EventStore) -> None:
        await self.append(store, "s-1", 0, "a")
        await asyncio.sleep(0.01)
        between = utcnow()
        await asyncio.sleep(0.01)
        await self.append(store, "s-1", 1, "b")
        assert [e.payload["text"] for e in await store.read_stream("s-1", up_to=between)] == ["a"]
        assert await store.read_stream("s-1", up_to=between - timedelta(days=1)) == []

    async def test_appending_nothing_writes_nothing(self, store: EventStore) -> None:
        assert (
            await store.append(stream_id="s-1", stream_type="note", expected_version=0, events=[], context=ctx()) == []
        )
        assert await store.read_stream("s-1") == []

    async def test_an_event_no_consumer_could_store_is_refused_and_nothing_written(self, store: EventStore) -> None:
        await self.append(store, "s-1", 0, "a")
        for poison in ("nul\u0000here", "lone \ud800 surrogate"):
            with pytest.raises(UnstorableEvent) as refused:
                await self.append(store, "s-1", 1, "fine", poison)
            assert refused.value.field == "text"
        assert [e.payload["text"] for e in await store.read_stream("s-1")] == ["a"]
