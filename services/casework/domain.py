"""The case aggregate: opened on enrolment; phases and the rest of the journey follow."""

from __future__ import annotations

from dataclasses import dataclass, replace
from uuid import UUID

from shared.contracts.base import DomainEvent
from shared.contracts.casework import CaseOpened
from shared.contracts.intake import ParticipantEnrolled
from shared.domain import Decider, InvalidTransition


@dataclass(frozen=True)
class Case:
    case_id: UUID | None = None
    participant_id: UUID | None = None
    agency: str = ""
    project: str = ""
    status: str = "none"


def evolve(state: Case, event: DomainEvent) -> Case:
    match event:
        case CaseOpened():
            return replace(
                state,
                case_id=event.case_id,
                participant_id=event.participant_id,
                agency=event.agency,
                project=event.project,
                status="open",
            )
    return state


case = Decider[Case](stream_type="case", initial=Case, evolve=evolve)


def stream_id(participant_id: UUID) -> str:
    """One case per participant and project: the stream is keyed by the participant id."""
    return f"case-{participant_id}"


def open_case(state: Case, enrolled: ParticipantEnrolled) -> list[DomainEvent]:
    if state.status != "none":
        raise InvalidTransition("a case is already open for this participant")
    return [
        CaseOpened(
            case_id=enrolled.participant_id,
            participant_id=enrolled.participant_id,
            agency=enrolled.agency,
            project=enrolled.project,
            opened_on=enrolled.start_date,
        )
    ]
