"""Events of the reporting service (topic ``reporting.events``).

Reporting derives everything from the other topics; its own events record what it *published*:
a closed quarter with the exact (already suppressed) figures of that report, and every
monitoring export. They carry no participant ids and no identifying data.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Any, ClassVar, Literal
from uuid import UUID

from pydantic import Field

from shared.contracts.base import AgencyCode, Code, DomainEvent, Plain, StaffId, event


class ReportingEvent(DomainEvent):
    service: ClassVar[str] = "reporting"


@event
class ReportingPeriodClosed(ReportingEvent):
    """A quarter's report for one agency's view is final; later events become corrections."""

    agency: AgencyCode = Field(description="whose view of the figures (the agency of the closing lead)")
    quarter: Code = Field(pattern=r"^\d{4}-Q[1-4]$")
    cutoff: datetime = Field(description="facts recorded at their source after this are corrections")
    closed_by: StaffId


@event
class KpiSnapshotComputed(ReportingEvent):
    """The figures of the closed report exactly as published (small cells already suppressed)."""

    agency: AgencyCode
    quarter: Code = Field(pattern=r"^\d{4}-Q[1-4]$")
    cutoff: datetime
    figures: Annotated[dict[str, Any], Plain("aggregate figures, small cells suppressed")]
    facts: int = Field(ge=0, description="number of facts the snapshot was computed from")
    digest: Code = Field(description="sha256 of the canonical JSON of ``figures``")


@event
class MonitoringExportProduced(ReportingEvent):
    """A monitoring export for the programme evaluation left the system (who, what, how many)."""

    export_id: UUID
    agency: AgencyCode
    half_year: Code = Field(pattern=r"^\d{4}-H[12]$")
    period_start: date
    period_end: date
    requested_by: StaffId
    format: Literal["csv", "json"]
    rows: int = Field(ge=0)
    withheld: int = Field(ge=0, description="participants intake did not release (no active monitoring consent)")
