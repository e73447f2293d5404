"""Reporting periods (quarters, half-years, any range of days) and reporting's own aggregate:
a closed reporting period per agency view and quarter. Pure: no infrastructure imports."""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass, replace
from datetime import date, datetime, timedelta
from typing import Any

import orjson

from shared.contracts.base import DomainEvent
from shared.contracts.reporting import KpiSnapshotComputed, ReportingPeriodClosed
from shared.domain import Decider, DomainError, InvalidTransition


@dataclass(frozen=True, slots=True, order=True)
class Quarter:
    year: int
    q: int

    @classmethod
    def parse(cls, text: str, *, field: str = "period") -> Quarter:
        m = re.fullmatch(r"(\d{4})-Q([1-4])", text)
        if not m:
            raise DomainError("expected a quarter like 2025-Q1", field=field)
        return cls(int(m[1]), int(m[2]))

    @classmethod
    def of(cls, day: date) -> Quarter:
        return cls(day.year, (day.month - 1) // 3 + 1)

    @property
    def start(self) -> date:
        return date(self.year, 3 * self.q - 2, 1)

    @property
    def end(self) -> date:
        return self.next().start - timedelta(days=1)

    def next(self) -> Quarter:
        return Quarter(self.year + (self.q == 4), self.q % 4 + 1)

    def __contains__(self, day: object) -> bool:
        return isinstance(day, date) and self.start <= day <= self.end

    def __str__(self) -> str:
        return f"{self.year}-Q{self.q}"


@dataclass(frozen=True, slots=True)
class DateRange:
    """Any stretch of days (a half-year, the whole dashboard range), used like a quarter."""

    start: date
    end: date
    label: str = ""

    def __contains__(self, day: object) -> bool:
        return isinstance(day, date) and self.start <= day <= self.end

    def __str__(self) -> str:
        return self.label or f"{self.start}..{self.end}"


# what figures can be computed for: a quarter or any other range of days
Window = Quarter | DateRange


def half_year(text: str) -> DateRange:
    """``2025-H2`` → 2025-07-01..2025-12-31 (the monitoring export's period)."""
    m = re.fullmatch(r"(\d{4})-H([12])", text)
    if not m:
        raise DomainError("expected a half-year like 2025-H2", field="half_year")
    year, half = int(m[1]), int(m[2])
    if half == 1:
        return DateRange(date(year, 1, 1), date(year, 6, 30), text)
    return DateRange(date(year, 7, 1), date(year, 12, 31), text)


# --- the reporting period aggregate ----------------------------------------------------------


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


def check_cutoff(quarter: Quarter, cutoff: datetime, now: datetime) -> datetime:
    """An explicit cutoff lies after the quarter's last day and not after now (a report frozen
    "as of tomorrow" would change under its readers)."""
    if cutoff > now:
        raise DomainError(f"the cutoff {cutoff.isoformat()} is after now", field="cutoff")
    if cutoff.date() <= quarter.end:
        raise DomainError(f"the cutoff must be after the end of {quarter} ({quarter.end})", field="cutoff")
    return cutoff


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
