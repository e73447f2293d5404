"""Events of the casework service (topic ``casework.events``).

Health data stays in casework: diagnoses, findings, report and therapy content and note text
are ``sealed_*`` fields (ciphertext under the participant's casework key). What is in clear
on the topic are codes needed for KPIs (phase, category, exit reason) and the capacity
profile, which is shared only through ``CapacityProfileShared`` under employer-disclosure
consent. Contracts with ``health_data = True`` reveal health information even in their codes:
reporting shows them only as suppressed aggregates.
"""

from __future__ import annotations

from datetime import date
from typing import ClassVar
from uuid import UUID

from pydantic import Field

from shared.contracts.base import DomainEvent, event
from shared.contracts.common import CapacityProfile, ExitReason, InterventionCategory, Phase


class CaseworkEvent(DomainEvent):
    service: ClassVar[str] = "casework"


@event
class CaseOpened(CaseworkEvent):
    event_type: ClassVar[str] = "CaseOpened"

    case_id: UUID
    participant_id: UUID
    agency: str
    project: str
    opened_on: date


@event
class CaseManagerAssigned(CaseworkEvent):
    event_type: ClassVar[str] = "CaseManagerAssigned"

    case_id: UUID
    case_manager: str = Field(description="staff id")
    assigned_on: date


@event
class TeamMemberAdded(CaseworkEvent):
    event_type: ClassVar[str] = "TeamMemberAdded"

    case_id: UUID
    member: str
    role: str
    agency: str
    added_on: date


@event
class TeamMemberRemoved(CaseworkEvent):
    event_type: ClassVar[str] = "TeamMemberRemoved"

    case_id: UUID
    member: str
    removed_on: date


@event
class PhaseEntered(CaseworkEvent):
    """``reason`` is required when a phase is skipped or the case goes back."""

    event_type: ClassVar[str] = "PhaseEntered"

    case_id: UUID
    phase: Phase
    entered_on: date
    previous: Phase | None = None
    reason: str | None = Field(default=None, max_length=500)


@event
class PhaseCompleted(CaseworkEvent):
    event_type: ClassVar[str] = "PhaseCompleted"

    case_id: UUID
    phase: Phase
    completed_on: date


@event
class ParticipationInterrupted(CaseworkEvent):
    event_type: ClassVar[str] = "ParticipationInterrupted"
    health_data: ClassVar[bool] = True  # e.g. a clinic stay

    case_id: UUID
    interrupted_on: date
    sealed_reason: str = ""


@event
class ParticipationResumed(CaseworkEvent):
    event_type: ClassVar[str] = "ParticipationResumed"

    case_id: UUID
    resumed_on: date


@event
class CapacityProfileShared(CaseworkEvent):
    """The capacity profile made available to placement: emitted only while the participant's
    employer-disclosure consent is active, again after every change of the profile."""

    event_type: ClassVar[str] = "CapacityProfileShared"

    case_id: UUID
    participant_id: UUID
    agency: str
    project: str
    profile: CapacityProfile
    shared_on: date


@event
class CapacityProfileRetracted(CaseworkEvent):
    """Placement must drop the candidate everywhere (consent withdrawn/expired, exit, erasure)."""

    event_type: ClassVar[str] = "CapacityProfileRetracted"

    case_id: UUID
    participant_id: UUID
    retracted_on: date
    reason: str


@event
class InterventionPlanned(CaseworkEvent):
    event_type: ClassVar[str] = "InterventionPlanned"
    health_data: ClassVar[bool] = True

    case_id: UUID
    intervention_id: UUID
    category: InterventionCategory
    provider: str
    planned_start: date
    planned_end: date | None = None
    cost_eur: float | None = Field(default=None, ge=0)
    sealed_details: str = ""


@event
class InterventionStarted(CaseworkEvent):
    event_type: ClassVar[str] = "InterventionStarted"
    health_data: ClassVar[bool] = True

    case_id: UUID
    intervention_id: UUID
    category: InterventionCategory
    started_on: date


@event
class InterventionCompleted(CaseworkEvent):
    event_type: ClassVar[str] = "InterventionCompleted"
    health_data: ClassVar[bool] = True

    case_id: UUID
    intervention_id: UUID
    category: InterventionCategory
    completed_on: date
    cost_eur: float | None = Field(default=None, ge=0)


@event
class InterventionAborted(CaseworkEvent):
    event_type: ClassVar[str] = "InterventionAborted"
    health_data: ClassVar[bool] = True

    case_id: UUID
    intervention_id: UUID
    category: InterventionCategory
    aborted_on: date
    sealed_reason: str = ""


@event
class RehabApplicationFiled(CaseworkEvent):
    event_type: ClassVar[str] = "RehabApplicationFiled"
    health_data: ClassVar[bool] = True

    case_id: UUID
    application_id: UUID
    filed_on: date
    carrier: str = Field(description="e.g. drv-westfalen")
    kind: str = Field(description="medical or vocational (LTA) rehabilitation")


@event
class RehabApplicationDecided(CaseworkEvent):
    event_type: ClassVar[str] = "RehabApplicationDecided"
    health_data: ClassVar[bool] = True

    case_id: UUID
    application_id: UUID
    decided_on: date
    approved: bool


@event
class ParticipantExited(CaseworkEvent):
    """Austritt. A disability-pension exit is health data: reporting shows aggregates only."""

    event_type: ClassVar[str] = "ParticipantExited"

    case_id: UUID
    participant_id: UUID
    exited_on: date
    reason: ExitReason
    last_phase: Phase | None = None
