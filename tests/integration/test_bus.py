"""The bus contract on real PostgreSQL (one connection per attempt, a transaction with a key)."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from shared.eventstore import PostgresEventStore
from shared.unit_of_work import PostgresUnitOfWork, UnitOfWork
from tests.contracts.bus import BusContract


class TestPostgresBus(BusContract):
    @pytest.fixture
    def make_uow(self, store: PostgresEventStore) -> Callable[[bool], UnitOfWork]:
        return lambda transactional: PostgresUnitOfWork(store, transactional=transactional)
