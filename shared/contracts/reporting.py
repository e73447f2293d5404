"""Events of the reporting service (topic ``reporting.events``).

Reporting derives everything from the other topics; its own events record what it *published*:
a closed quarter with the exact (already suppressed) figures of that report, and every
monitoring export. They carry no participant ids and no identifying data.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any, ClassVar, Literal
from uuid import UUID

from pydantic import Field

from shared.contracts.base import DomainEvent, event


class ReportingEvent(DomainEvent):
    service: ClassVar[str] = "reporting"


@event
class ReportingPeriodClosed(ReportingEvent):
    """A quarter's report for one agency's view is final; later events become corrections."""

    event_type: ClassVar[str] = "ReportingPeriodClosed"

    agency: str = Field(description="whose view of the figures (the agency of the closing lead)")
    quarter: str = Field(pattern=r"^\d{4}-Q[1-4]$")
    cutoff: datetime = Field(description="facts recorded at their source after this are corrections")
    closed_by: str


@event
class KpiSnapshotComputed(ReportingEvent):
    """The figures of the closed report exactly as published (small cells already suppressed)."""

    event_type: ClassVar[str] = "KpiSnapshotComputed"

    agency: str
    quarter: str = Field(pattern=r"^\d{4}-Q[1-4]$")
    cutoff: datetime
    figures: dict[str, Any]
    facts: int = Field(ge=0, description="number of facts the snapshot was computed from")
    digest: str = Field(description="sha256 of the canonical JSON of ``figures``")


@event
class MonitoringExportProduced(ReportingEvent):
    """A monitoring export for the programme evaluation left the system (who, what, how many)."""

    event_type: ClassVar[str] = "MonitoringExportProduced"

    export_id: UUID
    agency: str
    half_year: str = Field(pattern=r"^\d{4}-H[12]$")
    period_start: date
    period_end: date
    requested_by: str
    format: Literal["csv", "json"]
    rows: int = Field(ge=0)
    withheld: int = Field(ge=0, description="participants intake did not release (no active monitoring consent)")
