"""Reporting's own aggregates: a closed reporting period (per agency view and quarter) and a
monitoring export. Pure: no infrastructure imports."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, replace
from datetime import date, datetime
from typing import Any

import orjson

from services.reporting.kpis import Quarter
from shared.contracts.base import DomainEvent
from shared.contracts.reporting import KpiSnapshotComputed, ReportingPeriodClosed
from shared.domain import Decider, InvalidTransition


def period_stream(agency: str, quarter: Quarter) -> str:
    return f"period-{agency}-{quarter}"


@dataclass(frozen=True)
class Period:
    closed: bool = False
    snapshot: KpiSnapshotComputed | None = None
    closed_by: str | None = None


def _evolve(state: Period, event: DomainEvent) -> Period:
    if isinstance(event, ReportingPeriodClosed):
        return replace(state, closed=True, closed_by=event.closed_by)
    if isinstance(event, KpiSnapshotComputed):
        return replace(state, snapshot=event)
    return state


period = Decider[Period](stream_type="reporting-period", initial=Period, evolve=_evolve)


def canonical(doc: Any) -> bytes:
    """The one byte form of a report (sorted keys), so a rebuilt report compares byte for byte."""
    return orjson.dumps(doc, option=orjson.OPT_SORT_KEYS)


def close(
    state: Period,
    *,
    agency: str,
    quarter: Quarter,
    today: date,
    cutoff: datetime,
    closed_by: str,
    figures: dict[str, Any],
    facts: int,
) -> list[DomainEvent]:
    """A quarter can be closed once, after it has ended; the snapshot freezes its figures."""
    if state.closed:
        raise InvalidTransition(f"{quarter} is already closed for {agency}", field="quarter")
    if today <= quarter.end:
        raise InvalidTransition(f"{quarter} has not ended yet", field="quarter")
    return [
        ReportingPeriodClosed(agency=agency, quarter=str(quarter), cutoff=cutoff, closed_by=closed_by),
        KpiSnapshotComputed(
            agency=agency,
            quarter=str(quarter),
            cutoff=cutoff,
            figures=figures,
            facts=facts,
            digest=hashlib.sha256(canonical(figures)).hexdigest(),
        ),
    ]
