"""Events of the placement service (topic ``placement.events``), Betriebsakquise.

Placement never holds diagnoses; candidates are keyed by participant id and described only
by the capacity profile casework shared under consent. Contact persons of employers are
personal data: sealed per employer.
"""

from __future__ import annotations

from datetime import date
from typing import ClassVar
from uuid import UUID

from pydantic import Field

from shared.contracts.base import DomainEvent, event
from shared.contracts.common import EmploymentType


class PlacementEvent(DomainEvent):
    service: ClassVar[str] = "placement"


@event
class WorkTrialStarted(PlacementEvent):
    event_type: ClassVar[str] = "WorkTrialStarted"

    trial_id: UUID
    participant_id: UUID
    employer_id: UUID
    vacancy_id: UUID | None = None
    started_on: date
    planned_end: date | None = None


@event
class WorkTrialCompleted(PlacementEvent):
    event_type: ClassVar[str] = "WorkTrialCompleted"

    trial_id: UUID
    participant_id: UUID
    completed_on: date
    outcome: str = Field(description="e.g. offer, suitable, not-suitable")


@event
class WorkTrialAborted(PlacementEvent):
    event_type: ClassVar[str] = "WorkTrialAborted"

    trial_id: UUID
    participant_id: UUID
    aborted_on: date
    reason: str = Field(max_length=500, description="non-medical reason")


@event
class EmploymentStarted(PlacementEvent):
    """Integration counts by the Jobcenter ratio K2 rules (see reporting)."""

    event_type: ClassVar[str] = "EmploymentStarted"

    employment_id: UUID
    participant_id: UUID
    employer_id: UUID | None = None
    agency: str
    project: str
    started_on: date
    type: EmploymentType
    subsidised: bool = False
    fully_qualifying: bool = Field(default=False, description="vocational training: leads to a full qualification")
    hours_per_week: float = Field(gt=0, le=60)


@event
class EmploymentEnded(PlacementEvent):
    event_type: ClassVar[str] = "EmploymentEnded"

    employment_id: UUID
    participant_id: UUID
    ended_on: date
    reason: str = Field(max_length=500)


@event
class EmploymentStatusVerified(PlacementEvent):
    """Follow-up at 6 or 12 months after the start (sustainability)."""

    event_type: ClassVar[str] = "EmploymentStatusVerified"

    employment_id: UUID
    participant_id: UUID
    months_after_start: int = Field(description="6 or 12")
    verified_on: date
    still_employed: bool


@event
class AftercareStarted(PlacementEvent):
    event_type: ClassVar[str] = "AftercareStarted"

    participant_id: UUID
    employment_id: UUID
    started_on: date


@event
class AftercareEnded(PlacementEvent):
    event_type: ClassVar[str] = "AftercareEnded"

    participant_id: UUID
    employment_id: UUID
    ended_on: date
