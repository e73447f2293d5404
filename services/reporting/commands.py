"""reporting's commands: what a project lead asks reporting to record. Both carry only what
the route takes from the path or the query; the rest comes from the context."""

from __future__ import annotations

from typing import Literal

from pydantic import AwareDatetime, Field

from shared.bus import Command
from shared.values import Name


class CloseQuarter(Command):
    """Freeze a quarter's figures for the caller's agency view."""

    quarter: Name = Field(max_length=20, description="the quarter to close, e.g. 2025-Q2 (must have ended)")
    cutoff: AwareDatetime | None = Field(
        default=None,
        description="freeze the facts recorded by then (after the quarter's end, not after now); default now",
    )


class ProduceMonitoringExport(Command):
    """Build the monitoring rows of the caller's agency for a half-year and record the export."""

    half_year: Name = Field(max_length=20, description="e.g. 2025-H2")
    format: Literal["csv", "json"] = Field(default="csv", description="how the rows are delivered")
