"""Guard clauses the aggregates of every service share: the same refusal for the same rule,
so a participant who is gone, a thing that was never recorded, or a date that runs backwards
is refused alike (same error class, same ``field``) wherever it happens. Pure; no infrastructure.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date
from typing import TypeVar
from uuid import UUID

from shared.domain import DomainError, NotFound

K = TypeVar("K")
V = TypeVar("V")


def require_existing(entity_id: UUID | None, status: str, *, what: str, field: str | None = None) -> UUID:
    """The id of an aggregate that exists and still has its data: one never started (status
    ``none``) is unknown, one erased is gone for good; both are NotFound, told apart by message."""
    if status == "none" or entity_id is None:
        raise NotFound(f"no such {what}", field=field)
    if status == "erased":
        raise NotFound("the participant's data was erased", field=field)
    return entity_id


def found(items: Mapping[K, V], key: K, *, what: str, field: str) -> V:
    """The item of an aggregate a command names (a goal, a consent …), or NotFound on ``field``."""
    item = items.get(key)
    if item is None:
        raise NotFound(f"no such {what}", field=field)
    return item


def not_before(day: date | None, since: date | None, message: str, *, field: str) -> None:
    """Dates run forward: ``day`` before ``since`` is refused with ``message`` on ``field``;
    a date not given is not checked."""
    if day is not None and since is not None and day < since:
        raise DomainError(message, field=field)
