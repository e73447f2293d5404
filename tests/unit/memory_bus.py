"""The command bus on in-memory units of work, as the handler tests build it."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping

from shared.bus import Command, Handlers, MessageBus, Result, inject
from shared.memory import MemoryEventStore
from shared.unit_of_work import MemoryUnitOfWork, UnitOfWork


def memory_bus(handlers: Handlers, store: MemoryEventStore) -> MessageBus:
    """A bus whose units of work all use ``store`` and one table of stored idempotency
    responses, as every unit of work of a service shares one database."""
    responses = MemoryUnitOfWork(store).responses

    def unit_of_work(transactional: bool) -> UnitOfWork:
        uow = MemoryUnitOfWork(store, transactional=transactional)
        uow.responses = responses
        return uow

    return MessageBus(handlers, unit_of_work)


class MemoryService:
    """A service's command handlers, with their ports, on a fresh in-memory store: what a
    handler test drives (``bus``) and reads back (``store``)."""

    def __init__(self, handlers: Mapping[type[Command], Callable[..., Awaitable[Result]]], **ports: object) -> None:
        self.store = MemoryEventStore()
        self.bus = memory_bus(inject(handlers, **ports), self.store)
