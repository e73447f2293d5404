"""The message bus and unit of work, written once and run on both backends: the in-memory
unit of work (``tests/unit/test_bus.py``) and PostgreSQL (``tests/integration/test_bus.py``)."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass

import pytest

from shared import unit_of_work
from shared.bus import Command, Context, Handlers, IdempotencyMismatch, MessageBus, Result
from shared.contracts.base import DomainEvent, EventRegistry
from shared.domain import Decider, DomainError
from shared.envelope import verify_chain
from shared.eventstore import ConcurrencyConflict, EventStore
from shared.principal import Principal
from shared.unit_of_work import Loaded, UnitOfWork
from shared.vocabulary import Role
from tests.integration.fakes import Noted


@dataclass(frozen=True)
class Notes:
    texts: tuple[str, ...] = ()


def _evolve(state: Notes, event: DomainEvent) -> Notes:
    assert isinstance(event, Noted)
    return Notes((*state.texts, event.text))


notes = Decider("note", Notes, _evolve)


class AddNotes(Command):
    stream: str = "n-1"
    texts: list[str]
    new_stream: bool = False
    pause: bool = False  # yield between load and append (lets racing commands interleave)
    fail_after_append: bool = False


async def add_notes(cmd: AddNotes, uow: UnitOfWork, ctx: Context) -> Result:
    loaded = Loaded.new(notes, cmd.stream) if cmd.new_stream else await uow.load(notes, cmd.stream)
    if cmd.pause:
        await asyncio.sleep(0.01)
    appended = await uow.append(
        loaded, [Noted(text=t) for t in cmd.texts], ctx.metadata(agency=ctx.principal.agency, project=None),
        expected_version=ctx.expected_version,
    )  # fmt: skip
    if cmd.fail_after_append:
        raise DomainError("refused after the append", field="texts")
    version = appended[-1].version
    return Result(cmd.stream, version, {"texts": [*loaded.state.texts, *cmd.texts], "version": version})


HANDLERS: Handlers = {AddNotes: add_notes}

CM = Principal("cm-1", Role.CASE_MANAGER, "jc-en")


def ctx(**kw: object) -> Context:
    return Context(principal=kw.pop("principal", CM), **kw)  # type: ignore[arg-type]


class BusContract:
    """Subclasses provide ``store`` (an EventStore) and ``make_uow`` (transactional -> UnitOfWork)."""

    @pytest.fixture(autouse=True)
    def registry(self, monkeypatch: pytest.MonkeyPatch) -> None:
        """The throwaway contract is known only to these tests."""
        local = EventRegistry()
        local.register(Noted)
        monkeypatch.setattr(unit_of_work, "registry", local)

    @pytest.fixture
    def bus(self, make_uow: Callable[[bool], UnitOfWork]) -> MessageBus:
        return MessageBus(HANDLERS, make_uow, retries=10)

    async def texts(self, store: EventStore, stream: str = "n-1") -> list[str]:
        return [e.payload["text"] for e in await store.read_stream(stream)]

    async def test_a_command_appends_and_answers(self, bus: MessageBus, store: EventStore) -> None:
        result = await bus.handle(AddNotes(texts=["a", "b"]), ctx())
        assert (result.stream_id, result.version, result.replayed) == ("n-1", 2, False)
        assert result.body == {"texts": ["a", "b"], "version": 2}
        assert verify_chain(await store.read_stream("n-1")) == []

    async def test_racing_commands_all_land_in_some_order(self, bus: MessageBus, store: EventStore) -> None:
        await bus.handle(AddNotes(texts=["start"]), ctx())
        results = await asyncio.gather(*(bus.handle(AddNotes(texts=[f"r{i}"], pause=True), ctx()) for i in range(6)))
        assert sorted((await self.texts(store))[1:]) == sorted(f"r{i}" for i in range(6))
        assert sorted(r.version or 0 for r in results) == list(range(2, 8))
        assert verify_chain(await store.read_stream("n-1")) == []

    async def test_a_stale_client_version_is_a_conflict_and_writes_nothing(
        self, bus: MessageBus, store: EventStore
    ) -> None:
        await bus.handle(AddNotes(texts=["a"]), ctx())
        await bus.handle(AddNotes(texts=["b"]), ctx())
        with pytest.raises(ConcurrencyConflict) as info:
            await bus.handle(AddNotes(texts=["c"]), ctx(expected_version=1))
        assert info.value.actual == 2
        assert await self.texts(store) == ["a", "b"]

    async def test_a_new_stream_that_exists_after_all_conflicts_and_writes_nothing(
        self, bus: MessageBus, store: EventStore
    ) -> None:
        await bus.handle(AddNotes(texts=["a"], new_stream=True), ctx())
        with pytest.raises(ConcurrencyConflict):
            await bus.handle(AddNotes(texts=["b"], new_stream=True), ctx())
        assert await self.texts(store) == ["a"]

    async def test_a_refused_command_writes_nothing(self, bus: MessageBus, store: EventStore) -> None:
        with pytest.raises(DomainError):
            await bus.handle(AddNotes(texts=["a"], fail_after_append=True), ctx(idempotency_key="k-1"))
        assert await self.texts(store) == []

    async def test_an_idempotency_key_acts_once(self, bus: MessageBus, store: EventStore) -> None:
        first = await bus.handle(AddNotes(texts=["a"]), ctx(idempotency_key="k-1"))
        again = await bus.handle(AddNotes(texts=["a"]), ctx(idempotency_key="k-1"))
        assert again.replayed
        assert not first.replayed
        assert (again.body, again.version, again.stream_id) == (first.body, first.version, first.stream_id)
        with pytest.raises(IdempotencyMismatch):
            await bus.handle(AddNotes(texts=["other"]), ctx(idempotency_key="k-1"))
        assert await self.texts(store) == ["a"]

    async def test_idempotency_keys_are_scoped_by_agency_and_subject(self, bus: MessageBus, store: EventStore) -> None:
        """A jc-mk user with the same subject and key must not receive jc-en's stored answer."""
        await bus.handle(AddNotes(texts=["a"]), ctx(idempotency_key="k-1"))
        other = Principal("cm-1", Role.CASE_MANAGER, "jc-mk")
        result = await bus.handle(AddNotes(texts=["a"]), ctx(principal=other, idempotency_key="k-1"))
        assert not result.replayed
        assert await self.texts(store) == ["a", "a"]
