"""The officer's daily views: work trials, proposals and employments by status, follow-ups
due, and the day's board. Planning views take an optional ``today`` (the day to plan for,
kept for compatibility); it defaults to ``ctx.today``."""

from __future__ import annotations

from datetime import date
from typing import Any

import asyncpg

from services.placement import access
from services.placement.domain import followups
from services.placement.views.candidates import visible_candidates
from services.placement.views.ranking import open_vacancies, proposed_pairs, rank_candidates, vacancy_json
from services.placement.views.reads import Reads, rows_json
from shared.bus import Context

_TRIALS = """
SELECT t.*, e.company FROM work_trials t JOIN employers e USING (employer_id)
WHERE t.agency = $1 AND ($2 = 'all' OR t.status = $2) ORDER BY t.started_on, t.trial_id
"""
_PROPOSALS = """
SELECT p.*, v.title, e.company FROM proposals p JOIN vacancies v USING (vacancy_id)
JOIN employers e ON e.employer_id = p.employer_id
WHERE p.agency = $1 AND ($2 = 'all' OR p.status = $2) ORDER BY p.proposed_on, p.proposal_id
"""
_EMPLOYMENTS = """
SELECT * FROM employments WHERE agency = $1 AND (NOT $2 OR ended_on IS NULL) ORDER BY started_on, employment_id
"""
_STARTED_JOBS = """
SELECT e.employment_id, e.participant_id, e.started_on, e.employer_id, e.type,
       coalesce(array_agg(f.months) FILTER (WHERE f.months IS NOT NULL), '{}') AS verified
FROM employments e LEFT JOIN follow_ups f USING (employment_id)
WHERE e.agency = $1 GROUP BY e.employment_id
"""
_TO_CONTACT = """
SELECT employer_id, company, next_contact_on FROM employers
WHERE agency = $1 AND next_contact_on IS NOT NULL AND next_contact_on <= $2 ORDER BY next_contact_on, company
"""


async def list_work_trials(db: Reads, ctx: Context, *, status: str) -> list[dict[str, Any]]:
    access.require_role(ctx.principal, access.JOURNEY_ROLES)
    return rows_json(list(await db.pool.fetch(_TRIALS, ctx.principal.agency, status)))


async def list_proposals(db: Reads, ctx: Context, *, status: str) -> list[dict[str, Any]]:
    access.require_role(ctx.principal, access.JOURNEY_ROLES)
    return rows_json(list(await db.pool.fetch(_PROPOSALS, ctx.principal.agency, status)))


async def list_employments(db: Reads, ctx: Context, *, current: bool) -> list[dict[str, Any]]:
    access.require_role(ctx.principal, access.JOURNEY_ROLES)
    return rows_json(list(await db.pool.fetch(_EMPLOYMENTS, ctx.principal.agency, current)))


async def due_follow_ups(
    pool: asyncpg.Pool, agency: str, today: date, until: date | None = None
) -> list[dict[str, Any]]:
    rows = await pool.fetch(_STARTED_JOBS, agency)
    info = {r["employment_id"]: r for r in rows}
    jobs = [
        followups.StartedJob(r["employment_id"], r["participant_id"], r["started_on"], frozenset(r["verified"]))
        for r in rows
    ]
    return [
        {
            "employment_id": str(d.employment_id),
            "participant_id": str(d.participant_id),
            "employer_id": str(info[d.employment_id]["employer_id"]) if info[d.employment_id]["employer_id"] else None,
            "type": info[d.employment_id]["type"],
            "started_on": info[d.employment_id]["started_on"].isoformat(),
            "months_after_start": d.months_after_start,
            "due_on": d.due_on.isoformat(),
            "overdue": d.overdue,
        }
        for d in followups.due(jobs, today, until)
    ]


async def follow_ups_due(db: Reads, ctx: Context, *, today: date | None, until: date | None) -> dict[str, Any]:
    """6- and 12-month follow-ups not yet recorded whose date falls on or before ``until``."""
    access.require_role(ctx.principal, access.JOURNEY_ROLES)
    day = today or ctx.today
    horizon = until or followups.end_of_week(day)
    return {
        "today": day.isoformat(),
        "until": horizon.isoformat(),
        "due": await due_follow_ups(db.pool, ctx.principal.agency, day, horizon),
    }


async def today_board(db: Reads, ctx: Context, *, today: date | None, best: int) -> dict[str, Any]:
    """Everything an employer-acquisition officer works through in a day, for their agency.
    Who is visible is decided on ``ctx.today``; ``today`` only moves the planning horizon."""
    access.require_role(ctx.principal, access.JOURNEY_ROLES)
    day = today or ctx.today
    p, principal = db.pool, ctx.principal
    candidates = await visible_candidates(p, principal, ctx.today)
    proposed = await proposed_pairs(p)
    vacancies = [
        {**vacancy_json(v), "best_candidates": rank_candidates(v, candidates, proposed, best)}
        for v in await open_vacancies(p, principal, own_only=True)
    ]
    trials = await p.fetch(_TRIALS, principal.agency, "running")
    week_end = followups.end_of_week(day)
    contacts = await p.fetch(_TO_CONTACT, principal.agency, week_end)
    return {
        "today": day.isoformat(),
        "agency": principal.agency,
        "open_vacancies": vacancies,
        "work_trials_running": rows_json(list(trials)),
        "follow_ups_due": await due_follow_ups(p, principal.agency, day, week_end),
        "employers_to_contact": rows_json(list(contacts)),
        "candidates_in_pool": len(candidates),
    }
