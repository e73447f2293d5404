"""Class-based dispatch for an aggregate's ``evolve``: a table from event class to one small
function (the ``eventsourcing`` library's style), instead of one long ``match`` over every event
type. Each evolver stays short and can be read (and tested) on its own; events that only copy
fields or set fixed values are registered as data (``takes``, ``sets``). Pure; no infrastructure.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from typing import TYPE_CHECKING, Any, Generic, TypeVar

from shared.contracts.base import DomainEvent

if TYPE_CHECKING:
    from _typeshed import DataclassInstance

S = TypeVar("S", bound="DataclassInstance")
Step = TypeVar("Step", bound=Callable[..., Any])


def taken(state: S, event: DomainEvent, *names: str, **changes: Any) -> S:
    """``state`` with the event's fields of these ``names`` (state and event call them the
    same), and fixed ``changes``: how an aggregate's state takes the event that creates it."""
    return replace(state, **{name: getattr(event, name) for name in names}, **changes)


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

    def takes(self, cls: type[DomainEvent], *names: str, **changes: Any) -> None:
        """Register an event whose fields of these ``names`` the state takes (see ``taken``)."""
        self._steps[cls] = lambda state, event: taken(state, event, *names, **changes)

    def sets(self, cls: type[DomainEvent], **changes: Any) -> None:
        """Register an event that only sets fixed values (a final status, a flag)."""
        self._steps[cls] = lambda state, _event: replace(state, **changes)

    def __call__(self, state: S, event: DomainEvent) -> S:
        step = self._steps.get(type(event))
        return state if step is None else step(state, event)
