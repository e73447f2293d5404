"""How a policy (a reaction to another service's event) appends its service's own events.

Casework's and placement's policies append on the runner's connection, in the transaction that
also stores the consumer position, so a redelivered event can never act twice; the event that
caused them is the causation and its correlation id carries on.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from shared.contracts.base import DomainEvent
from shared.db import Conn
from shared.envelope import Actor
from shared.eventstore import CommandContext, PostgresEventStore
from shared.recorded import Recorded
from shared.unit_of_work import Loaded


async def append_reaction(
    store: PostgresEventStore,
    conn: Conn,
    cause: Recorded[Any],
    loaded: Loaded[Any],
    events: Sequence[DomainEvent],
    *,
    actor: Actor,
    agency: str,
    project: str | None,
) -> None:
    """Append ``events`` to the loaded stream after its version, as ``actor`` for ``agency``
    and ``project``, caused by ``cause``."""
    context = CommandContext(
        actor=actor, agency=agency, project=project, correlation_id=cause.correlation_id, causation_id=cause.event_id
    )
    await store.append(
        conn,
        stream_id=loaded.stream_id,
        stream_type=loaded.stream_type,
        expected_version=loaded.version,
        events=events,
        context=context,
    )
