"""A case transfer as intake records it (issue 15, item 8): casework decides the transfer
(consent, partner agency, staff); intake follows, so that the participant's register row, its
access rules and every later intake event belong to the receiving agency. Pure."""

from __future__ import annotations

from services.intake.domain.state import Participant
from shared.contracts.base import DomainEvent
from shared.contracts.casework import CaseTransferred
from shared.contracts.intake import ParticipantTransferred


def follow_transfer(state: Participant, moved: CaseTransferred) -> list[DomainEvent]:
    """The participant moves with the case; nothing for an unknown or erased participant or
    one already at the receiving agency (a redelivered or replayed transfer)."""
    if state.participant_id is None or state.status in ("none", "erased") or state.agency == moved.to_agency:
        return []
    return [
        ParticipantTransferred(
            participant_id=state.participant_id,
            from_agency=state.agency,
            to_agency=moved.to_agency,
            project=moved.project,
            transferred_on=moved.transferred_on,
        )
    ]
