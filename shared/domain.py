"""Domain-layer building blocks: errors and the decider shape. No infrastructure here."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Generic, TypeVar

from shared.contracts.base import DomainEvent

S = TypeVar("S")


class DomainError(Exception):
    """A command the domain refuses. ``status`` maps it to HTTP; ``field`` names the culprit."""

    status = 422

    def __init__(self, message: str, *, field: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.field = field


class InvalidTransition(DomainError):
    """The aggregate's current state does not allow this (e.g. a phase jump): 409."""

    status = 409


class NotFound(DomainError):
    status = 404


class Forbidden(DomainError):
    status = 403


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
