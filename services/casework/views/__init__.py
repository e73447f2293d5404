"""casework's reads: one case (glance, person, timeline, health records), the lists over the
``cases`` projection, the health-read log; and the PostgreSQL adapter of the consent port."""

from __future__ import annotations

from services.casework.views.audit import health_reads
from services.casework.views.case import (
    FROM_DOCTORS,
    HEALTH_SECTIONS,
    IntakeUnavailable,
    get_case,
    health_records,
    is_health,
    person,
    timeline,
)
from services.casework.views.common import PostgresConsents, Reader, audit_health_read, visible_case
from services.casework.views.employment import due_follow_ups, employments
from services.casework.views.lists import caseload, list_cases, open_tasks
from services.casework.views.rehab import rehab_queue
from services.casework.views.subject_access import subject_access

__all__ = [
    "FROM_DOCTORS",
    "HEALTH_SECTIONS",
    "IntakeUnavailable",
    "PostgresConsents",
    "Reader",
    "audit_health_read",
    "caseload",
    "due_follow_ups",
    "employments",
    "get_case",
    "health_reads",
    "health_records",
    "is_health",
    "list_cases",
    "open_tasks",
    "person",
    "rehab_queue",
    "subject_access",
    "timeline",
    "visible_case",
]
