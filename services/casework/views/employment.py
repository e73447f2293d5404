"""Employment found without placement: a case's self-found jobs with their follow-ups, and the
follow-ups due for a case manager's tasks, both by ``shared.followups`` (placement's rule)."""

from __future__ import annotations

from datetime import date
from typing import Any
from uuid import UUID

from services.casework.views.common import Reader, visible_case
from shared import followups
from shared.bus import Context
from shared.contracts.casework import SelfFoundEmploymentRecorded
from shared.recorded import Recorded
from shared.vocabulary import Role

# The self-found jobs of the cases I manage at my agency (also after the exit: the follow-ups
# come after it); erased cases are gone from the projection.
_MY_JOBS = (
    "SELECT j.employment_id, j.case_id, j.started_on, j.verified FROM case_jobs j"
    " JOIN cases c ON c.case_id = j.case_id WHERE c.case_manager = $1 AND c.agency = $2"
)


def _started(employment_id: UUID, case_id: UUID, started_on: date, verified: list[int]) -> followups.StartedJob:
    return followups.StartedJob(employment_id, case_id, started_on, frozenset(verified))


async def due_follow_ups(db: Reader, ctx: Context, until: date) -> list[dict[str, Any]]:
    """Tasks: the follow-ups of self-found jobs of my cases due by ``until`` (case managers)."""
    if ctx.principal.role is not Role.CASE_MANAGER:
        return []
    rows = await db.pool.fetch(_MY_JOBS, ctx.principal.subject, ctx.principal.agency)
    jobs = [_started(r["employment_id"], r["case_id"], r["started_on"], r["verified"]) for r in rows]
    return [
        {
            "kind": "employment-follow-up",
            "participant_id": str(d.participant_id),
            "due": d.due_on,
            "employment_id": str(d.employment_id),
            "months_after_start": d.months_after_start,
            "overdue": d.overdue,
        }
        for d in followups.due(jobs, ctx.today, until)
    ]


def _follow_up(started_on: date, months: int, recorded: frozenset[int]) -> dict[str, Any]:
    due = followups.due_on(started_on, months)
    return {"months_after_start": months, "due_on": due, "recorded": months in recorded}


async def employments(db: Reader, ctx: Context, participant_id: UUID) -> dict[str, Any]:
    """The case's self-found jobs (kind, hours, start, end) and each one's follow-ups: due on,
    recorded or not; whoever may see the case (it holds no health data)."""
    view = await visible_case(db, ctx, participant_id)
    state = view.now.state
    jobs: list[dict[str, Any]] = []
    for rec in map(Recorded.decode, view.now.events):
        e = rec.payload
        if not isinstance(e, SelfFoundEmploymentRecorded):
            continue
        job = state.own_jobs[e.employment_id]
        jobs.append(
            {
                "employment_id": str(e.employment_id),
                "started_on": e.started_on,
                "type": e.type.value,
                "subsidy": e.subsidy,
                "fully_qualifying": e.fully_qualifying,
                "hours_per_week": e.hours_per_week,
                "ended_on": job.ended_on,
                "follow_ups": [_follow_up(e.started_on, m, job.verified) for m in followups.FOLLOW_UP_MONTHS],
            }
        )
    return {"participant_id": str(participant_id), "employments": jobs}
