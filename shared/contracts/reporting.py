"""Events of the reporting service (topic ``reporting.events``)."""

from __future__ import annotations

from typing import ClassVar

from shared.contracts.base import DomainEvent


class ReportingEvent(DomainEvent):
    service: ClassVar[str] = "reporting"
