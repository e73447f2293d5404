"""The event-store contract on the in-memory store that handler unit tests use."""

from __future__ import annotations

import pytest

from shared.memory import MemoryEventStore
from tests.contracts.event_store import EventStoreContract


class TestMemoryStore(EventStoreContract):
    @pytest.fixture
    def store(self) -> MemoryEventStore:
        return MemoryEventStore()
