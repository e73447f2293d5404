"""Which 6- and 12-month follow-ups are due, computed from employment start dates.

Pure and driven by an injected ``today``, so the due-list is testable for any date and
needs no scheduler: a follow-up is due from its date on until it is recorded.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, timedelta
from uuid import UUID

from services.placement.domain.journey import FOLLOW_UP_MONTHS, add_months


@dataclass(frozen=True)
class StartedJob:
    employment_id: UUID
    participant_id: UUID
    started_on: date
    verified_months: frozenset[int] = frozenset()


@dataclass(frozen=True)
class DueFollowUp:
    employment_id: UUID
    participant_id: UUID
    months_after_start: int
    due_on: date
    overdue: bool


def end_of_week(today: date) -> date:
    """The Sunday of ``today``'s ISO week."""
    return today + timedelta(days=6 - today.weekday())


def due(jobs: Iterable[StartedJob], today: date, until: date | None = None) -> list[DueFollowUp]:
    """Follow-ups not yet recorded whose date is on or before ``until`` (default: the end of
    this week), oldest first; those before ``today`` are marked overdue."""
    horizon = until or end_of_week(today)
    out = [
        DueFollowUp(job.employment_id, job.participant_id, months, when, when < today)
        for job in jobs
        for months in FOLLOW_UP_MONTHS
        if months not in job.verified_months and (when := add_months(job.started_on, months)) <= horizon
    ]
    return sorted(out, key=lambda f: (f.due_on, str(f.employment_id), f.months_after_start))
