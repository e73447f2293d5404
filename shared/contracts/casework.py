"""Events of the casework service (topic ``casework.events``)."""

from __future__ import annotations

from datetime import date
from typing import ClassVar
from uuid import UUID

from shared.contracts.base import DomainEvent, event


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
