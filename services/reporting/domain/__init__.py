"""Reporting's domain: periods and its two aggregates (a closed reporting period, a monitoring
export), the per-participant journey folded from the facts, and the KPI definitions. Pure."""

from services.reporting.domain.journey import Fact, Journey, build_participants
from services.reporting.domain.kpis import corrections, figures, flatten, quarters, report, suppress
from services.reporting.domain.monitoring import export, export_stream, produce
from services.reporting.domain.periods import (
    DateRange,
    Period,
    Quarter,
    Window,
    canonical,
    close,
    half_year,
    period,
    period_stream,
)

__all__ = [
    "DateRange",
    "Fact",
    "Journey",
    "Period",
    "Quarter",
    "Window",
    "build_participants",
    "canonical",
    "close",
    "corrections",
    "export",
    "export_stream",
    "figures",
    "flatten",
    "half_year",
    "period",
    "period_stream",
    "produce",
    "quarters",
    "report",
    "suppress",
]
