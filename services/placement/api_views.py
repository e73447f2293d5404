"""The officer's daily views: open vacancies with their best candidates, work trials running,
follow-ups due this week, employers to contact, open proposals."""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query, Request

from services.placement import access, followups, queries
from services.placement.api_support import Today, pool, today_or
from shared.auth import CurrentPrincipal

router = APIRouter(tags=["daily views"])


@router.get("/work-trials")
async def list_work_trials(
    request: Request,
    principal: CurrentPrincipal,
    status: Literal["running", "completed", "aborted", "all"] = "running",
) -> list[dict[str, Any]]:
    access.require(principal, access.JOURNEY_ROLES)
    rows = await pool(request).fetch(
        "SELECT t.*, e.company FROM work_trials t JOIN employers e USING (employer_id)"
        " WHERE t.agency = $1 AND ($2 = 'all' OR t.status = $2) ORDER BY t.started_on, t.trial_id",
        principal.agency,
        status,
    )
    return queries.rows_json(list(rows))


@router.get("/proposals")
async def list_proposals(
    request: Request,
    principal: CurrentPrincipal,
    status: Literal["open", "trial", "employed", "declined", "void", "all"] = "open",
) -> list[dict[str, Any]]:
    access.require(principal, access.JOURNEY_ROLES)
    rows = await pool(request).fetch(
        "SELECT p.*, v.title, e.company FROM proposals p JOIN vacancies v USING (vacancy_id)"
        " JOIN employers e ON e.employer_id = p.employer_id"
        " WHERE p.agency = $1 AND ($2 = 'all' OR p.status = $2) ORDER BY p.proposed_on, p.proposal_id",
        principal.agency,
        status,
    )
    return queries.rows_json(list(rows))


@router.get("/employments")
async def list_employments(
    request: Request, principal: CurrentPrincipal, current: Annotated[bool, Query(description="not yet ended")] = True
) -> list[dict[str, Any]]:
    access.require(principal, access.JOURNEY_ROLES)
    rows = await pool(request).fetch(
        "SELECT * FROM employments WHERE agency = $1 AND (NOT $2 OR ended_on IS NULL)"
        " ORDER BY started_on, employment_id",
        principal.agency,
        current,
    )
    return queries.rows_json(list(rows))


@router.get("/follow-ups/due")
async def follow_ups_due(
    request: Request,
    principal: CurrentPrincipal,
    today: Today = None,
    until: Annotated[date | None, Query(description="default: the end of today's week")] = None,
) -> dict[str, Any]:
    """6- and 12-month follow-ups not yet recorded whose date falls on or before ``until``."""
    access.require(principal, access.JOURNEY_ROLES)
    day = today_or(today)
    horizon = until or followups.end_of_week(day)
    return {
        "today": day.isoformat(),
        "until": horizon.isoformat(),
        "due": await queries.due_follow_ups(pool(request), principal.agency, day, horizon),
    }


@router.get("/today")
async def today_board(
    request: Request,
    principal: CurrentPrincipal,
    today: Today = None,
    best: Annotated[int, Query(ge=1, le=20, description="candidates shown per vacancy")] = 3,
) -> dict[str, Any]:
    """Everything an employer-acquisition officer works through in a day, for their agency."""
    access.require(principal, access.JOURNEY_ROLES)
    day = today_or(today)
    p = pool(request)
    candidates = await queries.visible_candidates(p, principal, day)
    proposed = await queries.proposed_pairs(p)
    vacancies = [
        {
            **queries.vacancy_json(v),
            "best_candidates": queries.rank_candidates(v, candidates, proposed, best),
        }
        for v in await queries.open_vacancies(p, principal, own_only=True)
    ]
    trials = await p.fetch(
        "SELECT t.*, e.company FROM work_trials t JOIN employers e USING (employer_id)"
        " WHERE t.agency = $1 AND t.status = 'running' ORDER BY t.started_on, t.trial_id",
        principal.agency,
    )
    week_end = followups.end_of_week(day)
    contacts = await p.fetch(
        "SELECT employer_id, company, next_contact_on FROM employers"
        " WHERE agency = $1 AND next_contact_on IS NOT NULL AND next_contact_on <= $2"
        " ORDER BY next_contact_on, company",
        principal.agency,
        week_end,
    )
    return {
        "today": day.isoformat(),
        "agency": principal.agency,
        "open_vacancies": vacancies,
        "work_trials_running": queries.rows_json(list(trials)),
        "follow_ups_due": await queries.due_follow_ups(p, principal.agency, day, week_end),
        "employers_to_contact": queries.rows_json(list(contacts)),
        "candidates_in_pool": len(candidates),
    }
