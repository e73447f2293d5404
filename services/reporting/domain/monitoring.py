"""The programme monitoring export (twice a year): which participants, the rows reporting can
build on its own, and the aggregate recording each export. Identifying fields come from intake
at export time and are merged in memory only (see README). Pure: no infrastructure here."""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from datetime import date
from typing import Any, Literal
from uuid import UUID

from services.reporting.domain.journey import Journey
from services.reporting.domain.periods import DateRange
from shared.contracts.base import DomainEvent
from shared.contracts.common import ConsentPurpose
from shared.contracts.reporting import MonitoringExportProduced
from shared.domain import Decider

COLUMNS = (
    "project",
    "agency",
    "insurance_number",
    "age",
    "sex",
    "employment_status",
    "entry_date",
    "exit_date",
    "measures",
    "employment_status_after_exit",
)

Format = Literal["csv", "json"]


def employment_status(j: Journey, day: date) -> str:
    """``employed-<kind>`` for an employment running on ``day`` (K2 kinds first), else not-employed."""
    running = [e for e in j.employments.values() if e.started <= day and (e.ended is None or e.ended > day)]
    running.sort(key=lambda e: (not e.integration, e.started))
    return f"employed:{running[0].kind}" if running else "not-employed"


def measures(j: Journey, period: DateRange) -> list[str]:
    """Types of measure during the period: intervention categories, work trials, phases."""
    out = {str(i.category) for i in j.interventions.values() if (i.started or date.max) <= period.end}
    if any((t.started or date.max) <= period.end for t in j.trials.values()):
        out.add("work-trial")
    out |= {f"phase:{s.phase}" for s in j.spans if s.entered <= period.end}
    return sorted(out)


def _included(j: Journey, agency: str, period: DateRange, today: date) -> bool:
    """Own agency's participants whose participation overlaps the half-year and whose
    monitoring consent reporting knows to be active today."""
    if j.erased or j.agency_on(period.end) != agency or j.enrolled_on is None or j.enrolled_on > period.end:
        return False
    if j.exited_on is not None and j.exited_on < period.start:
        return False
    return j.consent_active(ConsentPurpose.MONITORING, today)


def rows(journeys: Iterable[Journey], agency: str, period: DateRange, today: date) -> dict[str, dict[str, Any]]:
    """Export rows by participant id (see ``_included`` for who is in)."""
    out: dict[str, dict[str, Any]] = {}
    for j in journeys:
        if not _included(j, agency, period, today):
            continue
        assert j.enrolled_on is not None
        exited = j.exited_on if j.exited_on is not None and j.exited_on <= period.end else None
        reference = exited or period.end
        out[j.participant_id] = {
            "project": j.project,
            "agency": j.agency_on(period.end),
            "sex": j.sex,
            "employment_status": employment_status(j, reference),
            "entry_date": j.enrolled_on.isoformat(),
            "exit_date": exited.isoformat() if exited else None,
            "measures": measures(j, period),
            "employment_status_after_exit": employment_status(j, period.end) if exited else None,
        }
    return out


def merge(built: Mapping[str, dict[str, Any]], identities: Iterable[Mapping[str, Any]]) -> Iterator[dict[str, Any]]:
    """Rows for which intake released an identity, in a stable order; the others are withheld."""
    by_id = {str(i["participant_id"]): i for i in identities}
    for pid in sorted(built):
        ident = by_id.get(pid)
        if ident is None:
            continue
        yield {c: built[pid].get(c) for c in COLUMNS} | {
            "insurance_number": ident.get("insurance_number"),
            "age": ident.get("age"),
        }


# --- the export aggregate: one stream per export ----------------------------------------------

export = Decider[bool](stream_type="monitoring-export", initial=lambda: False, evolve=lambda _s, _e: True)


def export_stream(export_id: UUID) -> str:
    return f"monitoring-export-{export_id}"


def produce(
    *, export_id: UUID, agency: str, period: DateRange, requested_by: str, format: Format, rows: int, withheld: int
) -> list[DomainEvent]:
    """What is recorded of an export: who, which half-year, how many rows; no participant."""
    return [
        MonitoringExportProduced(
            export_id=export_id,
            agency=agency,
            half_year=str(period),
            period_start=period.start,
            period_end=period.end,
            requested_by=requested_by,
            format=format,
            rows=rows,
            withheld=withheld,
        )
    ]
