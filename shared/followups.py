"""The 6- and 12-month follow-ups of a job start (sustainability), one rule for every service
that records jobs: placement (jobs it placed) and casework (jobs a participant found on their
own). When a follow-up is due, how early it may be recorded, and which are due this week.

Pure and driven by an injected ``today``, so the due-list is testable for any date and needs
no scheduler: a follow-up is due from its date on until it is recorded.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable
from dataclasses import dataclass
from datetime import date, timedelta
from uuid import UUID

from shared.domain import DomainError, InvalidTransition

FOLLOW_UP_MONTHS = (6, 12)
# A follow-up may be recorded this many days before it is due (the call is made in that week).
FOLLOW_UP_EARLY_DAYS = 14


def add_months(d: date, months: int) -> date:
    """Same day ``months`` later, clamped to the month's end (31 Aug + 6 → 28/29 Feb)."""
    y, m = divmod(d.month - 1 + months, 12)
    year, month = d.year + y, m + 1
    for day in (d.day, 30, 29, 28):
        try:
            return date(year, month, min(d.day, day))
        except ValueError:
            continue
    raise ValueError(d)  # pragma: no cover


def due_on(started_on: date, months: int) -> date:
    return add_months(started_on, months)


def check_follow_up(started_on: date, months: int, verified_on: date, recorded: Collection[int]) -> None:
    """A follow-up may be recorded once per month mark (6 or 12), from two weeks before it is
    due; raises the DomainError naming the field otherwise."""
    if months not in FOLLOW_UP_MONTHS:
        raise DomainError("follow-ups are at 6 or 12 months after the start", field="months_after_start")
    if months in recorded:
        raise InvalidTransition(f"the {months}-month follow-up was already recorded", field="months_after_start")
    due = due_on(started_on, months)
    if verified_on < due - timedelta(days=FOLLOW_UP_EARLY_DAYS):
        raise DomainError(f"the {months}-month follow-up is due on {due.isoformat()}", field="verified_on")


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
        if months not in job.verified_months and (when := due_on(job.started_on, months)) <= horizon
    ]
    return sorted(out, key=lambda f: (f.due_on, str(f.employment_id), f.months_after_start))
