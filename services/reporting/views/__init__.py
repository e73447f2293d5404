"""reporting's read side: queries over the projections and its own event store, and their
renderings (JSON documents, CSV, the dashboard's HTML and SVG, the monitoring export)."""

from services.reporting.views.reports import (
    Ask,
    Reads,
    aware,
    dashboard_page,
    funnel_counts,
    kpi_csv,
    kpi_figures,
    report_document,
    reports,
)
from services.reporting.views.subject_access import subject_access

__all__ = [
    "Ask",
    "Reads",
    "aware",
    "dashboard_page",
    "funnel_counts",
    "kpi_csv",
    "kpi_figures",
    "report_document",
    "reports",
    "subject_access",
]
