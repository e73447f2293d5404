"""Domain-layer building blocks: errors and the decider shape. No infrastructure here.

Errors say *what kind* of refusal it is, never an HTTP status: the web layer maps error
classes to statuses in one table (``shared.web.ERROR_STATUS``).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Generic, TypeVar

from shared.contracts.base import DomainEvent

S = TypeVar("S")


class DomainError(Exception):
    """A command the domain refuses (invalid in itself); ``field`` names the culprit."""

    def __init__(self, message: str, *, field: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.field = field


class InvalidTransition(DomainError):
    """The aggregate's current state does not allow this (e.g. a phase jump)."""


class NotFound(DomainError):
    """The thing asked for does not exist (or may not be known to the caller)."""


class Forbidden(DomainError):
    """The caller may not do or see this."""


@dataclass(frozen=True)
class Decider(Generic[S]):
    """How an aggregate folds its events into state. Commands are plain functions
    ``(state, ...) -> list[DomainEvent]`` next to it."""

    stream_type: str
    initial: Callable[[], S]
    evolve: Callable[[S, DomainEvent], S]

    def fold(self, events: Sequence[DomainEvent]) -> S:
        state = self.initial()
        for e in events:
            state = self.evolve(state, e)
        return state
