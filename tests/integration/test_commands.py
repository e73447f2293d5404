"""``shared.commands.execute`` on real PostgreSQL: lost races are retried on fresh state,
stale client versions are 409s, idempotency keys act once, and nothing is half-written."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from dataclasses import dataclass

import pytest

from shared import commands
from shared.commands import Loaded, execute, load
from shared.contracts.base import DomainEvent, EventRegistry
from shared.domain import Decider
from shared.envelope import verify_chain
from shared.eventstore import ConcurrencyConflict, EventStore
from tests.integration.fakes import Noted, ctx


@dataclass(frozen=True)
class Notes:
    texts: tuple[str, ...] = ()


def _evolve(state: Notes, event: DomainEvent) -> Notes:
    assert isinstance(event, Noted)
    return Notes((*state.texts, event.text))


notes = Decider[Notes]("note", Notes, _evolve)


@pytest.fixture(autouse=True)
def registry(monkeypatch: pytest.MonkeyPatch) -> None:
    """The throwaway contract is known only to these tests."""
    local = EventRegistry()
    local.register(Noted)
    monkeypatch.setattr(commands, "registry", local)


def add(*texts: str) -> object:
    def decide(_state: Notes, _version: int) -> Sequence[DomainEvent]:
        return [Noted(text=t) for t in texts]

    return decide


async def run(store: EventStore, *texts: str, **kw: object) -> commands.Outcome:
    return await execute(
        store, notes, stream_id="n-1", context=ctx(), decide=add(*texts),  # type: ignore[arg-type]
        respond=lambda state, events: {"texts": list(state.texts), "version": events[-1].version},
        **kw,  # type: ignore[arg-type]
    )  # fmt: skip


async def test_a_command_on_a_stale_preload_is_retried_on_the_fresh_stream(store: EventStore) -> None:
    await run(store, "a")
    stale = await load(store, notes, "n-1")
    await run(store, "b")  # another request moves the stream on
    outcome = await run(store, "c", "d", preloaded=stale)
    assert outcome.body == {"texts": ["a", "b", "c", "d"], "version": 4}
    events = await store.read_stream("n-1")
    assert [e.payload["text"] for e in events] == ["a", "b", "c", "d"]
    assert verify_chain(events) == []


async def test_racing_commands_all_land_in_some_order(store: EventStore) -> None:
    await run(store, "start")
    results = await asyncio.gather(*(run(store, f"r{i}", retries=10) for i in range(8)))
    events = await store.read_stream("n-1")
    assert sorted(e.payload["text"] for e in events[1:]) == sorted(f"r{i}" for i in range(8))
    assert sorted(r.body["version"] for r in results) == list(range(2, 10))
    assert verify_chain(events) == []


async def test_a_stale_client_version_is_a_conflict_and_writes_nothing(store: EventStore) -> None:
    await run(store, "a")
    await run(store, "b")
    with pytest.raises(ConcurrencyConflict) as info:
        await run(store, "c", expected_version=1)
    assert info.value.actual == 2
    assert [e.payload["text"] for e in await store.read_stream("n-1")] == ["a", "b"]


async def test_a_new_stream_needs_no_read_and_an_existing_id_still_conflicts(store: EventStore) -> None:
    await run(store, "a", preloaded=Loaded.new(notes))
    outcome = await run(store, "b", preloaded=Loaded.new(notes))  # the id existed after all: retried
    assert outcome.body == {"texts": ["a", "b"], "version": 2}


async def test_an_idempotency_key_acts_once(store: EventStore) -> None:
    first = await run(store, "a", idempotency_key="k-1", fingerprint="f")
    again = await run(store, "a", idempotency_key="k-1", fingerprint="f")
    assert again.replayed
    assert again.body == first.body
    with pytest.raises(commands.IdempotencyMismatch):
        await run(store, "other", idempotency_key="k-1", fingerprint="g")
    assert [e.payload["text"] for e in await store.read_stream("n-1")] == ["a"]
