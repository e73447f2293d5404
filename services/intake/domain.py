"""The participant aggregate of intake: referral → eligibility → consent → enrolment.

Pure: it decides which events a command produces, or refuses with a DomainError.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import date
from uuid import UUID

from shared.contracts.base import DomainEvent
from shared.contracts.intake import AgeBand, ParticipantEnrolled, ReferralReceived, Sex
from shared.domain import Decider, InvalidTransition, NotFound


@dataclass(frozen=True)
class Participant:
    participant_id: UUID | None = None
    status: str = "none"  # none → referred → enrolled
    agency: str = ""
    project: str = ""
    age_band: AgeBand = "unknown"
    sex: Sex = "unknown"
    start_date: date | None = None


def evolve(state: Participant, event: DomainEvent) -> Participant:
    match event:
        case ReferralReceived():
            return replace(
                state,
                participant_id=event.participant_id,
                status="referred",
                agency=event.source_agency,
                project=event.project,
                age_band=event.age_band,
                sex=event.sex,
            )
        case ParticipantEnrolled():
            return replace(state, status="enrolled", start_date=event.start_date)
    return state


participant = Decider[Participant](stream_type="participant", initial=Participant, evolve=evolve)


def stream_id(participant_id: UUID) -> str:
    return f"participant-{participant_id}"


def receive_referral(state: Participant, referral: ReferralReceived) -> list[DomainEvent]:
    if state.status != "none":
        raise InvalidTransition("this participant has already been referred")
    return [referral]


def enrol(state: Participant, start_date: date) -> list[DomainEvent]:
    if state.status == "none" or state.participant_id is None:
        raise NotFound("no such participant")
    if state.status == "enrolled":
        raise InvalidTransition("the participant is already enrolled")
    return [
        ParticipantEnrolled(
            participant_id=state.participant_id,
            project=state.project,
            agency=state.agency,
            start_date=start_date,
            age_band=state.age_band,
            sex=state.sex,
        )
    ]
