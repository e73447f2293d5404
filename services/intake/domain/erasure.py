"""Erasure of a participant's data and the legal holds that pause it. Pure: each command
decides its events or refuses with a DomainError."""

from __future__ import annotations

from datetime import date
from uuid import UUID

from services.intake.domain.state import (
    Participant,
    _existing,
)
from shared.contracts.base import DomainEvent
from shared.contracts.intake import (
    LegalHoldLifted,
    LegalHoldPlaced,
    ParticipantDataErased,
)
from shared.domain import DomainError, InvalidTransition
from shared.guards import found


def erase(state: Participant, erased_on: date, legal_basis: str) -> list[DomainEvent]:
    """Refused while a legal hold holds (lift it first): a hold pauses every deletion."""
    if state.status == "erased":
        raise InvalidTransition("the participant's data was already erased")
    pid = _existing(state)
    hold = state.hold_on(erased_on)
    if hold is not None:
        raise InvalidTransition(f"a legal hold pauses deletion until {hold.until.isoformat()}", field="legal_hold")
    return [ParticipantDataErased(participant_id=pid, erased_on=erased_on, legal_basis=legal_basis)]


def place_hold(
    state: Participant, hold_id: UUID, placed_on: date, until: date, sealed_reason: str
) -> list[DomainEvent]:
    """Pause deletion from today up to, excluding, ``until`` (a day after today)."""
    pid = _existing(state)
    if until <= placed_on:
        raise DomainError(f"until must be after today ({placed_on.isoformat()})", field="until")
    return [
        LegalHoldPlaced(
            participant_id=pid, hold_id=hold_id, placed_on=placed_on, until=until, sealed_reason=sealed_reason
        )
    ]


def lift_hold(state: Participant, hold_id: UUID, lifted_on: date) -> list[DomainEvent]:
    """End a hold before its end date; one that no longer holds cannot be lifted (409)."""
    pid = _existing(state)
    hold = found(state.holds, hold_id, what="legal hold", field="hold_id")
    if not hold.holds_on(lifted_on):
        raise InvalidTransition("the legal hold no longer holds", field="hold_id")
    return [LegalHoldLifted(participant_id=pid, hold_id=hold_id, lifted_on=lifted_on)]
