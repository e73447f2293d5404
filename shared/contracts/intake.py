"""Events of the intake service (topic ``intake.events``).

People are identified by a random participant id. Identity and the referral reason are
sealed per participant (``shared.crypto``): unreadable anywhere but in intake, and erasable.
"""

from __future__ import annotations

from datetime import date
from typing import ClassVar, Literal
from uuid import UUID

from pydantic import Field

from shared.contracts.base import DomainEvent, event

AgeBand = Literal["<25", "25-34", "35-44", "45-54", "55+", "unknown"]
Sex = Literal["female", "male", "diverse", "unknown"]


class IntakeEvent(DomainEvent):
    service: ClassVar[str] = "intake"


@event
class ReferralReceived(IntakeEvent):
    """Zuweisung from a Jobcenter or DRV. ``sealed_identity``/``sealed_reason`` are ciphertext."""

    event_type: ClassVar[str] = "ReferralReceived"
    health_data: ClassVar[bool] = True  # the (sealed) referral reason

    participant_id: UUID
    source_agency: str
    project: str
    referred_by: str = Field(description="referring person (staff id)")
    received_on: date
    age_band: AgeBand
    sex: Sex
    sealed_identity: str = Field(description="name, birth date, address, contact, insurance number; sealed")
    sealed_reason: str = Field(description="referral reason; health data; sealed")


@event
class ParticipantEnrolled(IntakeEvent):
    """Eintritt: the participant joins the project (requires participation consent)."""

    event_type: ClassVar[str] = "ParticipantEnrolled"

    participant_id: UUID
    project: str
    agency: str
    start_date: date
    age_band: AgeBand
    sex: Sex
