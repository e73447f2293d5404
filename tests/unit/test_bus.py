"""The bus contract on the in-memory unit of work (no PostgreSQL)."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from shared.memory import MemoryEventStore
from shared.unit_of_work import MemoryUnitOfWork, UnitOfWork
from tests.contracts.bus import BusContract


class TestMemoryBus(BusContract):
    @pytest.fixture
    def store(self) -> MemoryEventStore:
        return MemoryEventStore()

    @pytest.fixture
    def make_uow(self, store: MemoryEventStore) -> Callable[[bool], UnitOfWork]:
        shared = MemoryUnitOfWork(store)  # one set of stored responses, like one database

        def make(transactional: bool) -> UnitOfWork:
            uow = MemoryUnitOfWork(store, transactional=transactional)
            uow.responses = shared.responses
            return uow

        return make


async def test_inject_binds_keyword_only_dependencies_by_name() -> None:
    from shared.bus import Context, Result, inject
    from tests.contracts.bus import CM, AddNotes

    async def handler(cmd: AddNotes, uow: UnitOfWork, ctx: Context, *, clock: str) -> Result:
        return Result("n", None, {"clock": clock})

    bound = inject({AddNotes: handler}, clock="tick", unused=1)
    result = await bound[AddNotes](AddNotes(texts=[]), MemoryUnitOfWork(), Context(principal=CM))
    assert result.body == {"clock": "tick"}
    with pytest.raises(TypeError, match="needs clock"):
        inject({AddNotes: handler})
