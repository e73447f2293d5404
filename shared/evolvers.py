"""Class-based dispatch for an aggregate's ``evolve``: a table from event class to one small
function (the ``eventsourcing`` library's style), instead of one long ``match`` over every event
type. Each evolver stays short and can be read (and tested) on its own. Pure; no infrastructure.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Generic, TypeVar

from shared.contracts.base import DomainEvent

S = TypeVar("S")
Step = TypeVar("Step", bound=Callable[..., Any])


class Evolver(Generic[S]):
    """``evolve(state, event)`` for one aggregate. Register a function per event class with
    ``@evolve.on(SomeEvent)``; an event no function is registered for leaves the state as it is
    (a newer event the aggregate does not care about must not break folding its stream)."""

    def __init__(self) -> None:
        self._steps: dict[type[DomainEvent], Callable[[S, Any], S]] = {}

    def on(self, *classes: type[DomainEvent]) -> Callable[[Step], Step]:
        """Register ``fn(state, event) -> state`` for events of these classes."""

        def register(step: Step) -> Step:
            for cls in classes:
                self._steps[cls] = step
            return step

        return register

    def __call__(self, state: S, event: DomainEvent) -> S:
        step = self._steps.get(type(event))
        return state if step is None else step(state, event)
