"""Placement's HTTP routes: a command route is one ``command_route`` declaration (the command
from path and body, handed to the bus, answered with the handler's body); read routes call
``views``. No SQL and no rules here."""

from __future__ import annotations

from functools import partial
from typing import Annotated, Any, Literal
from uuid import UUID

from fastapi import APIRouter, Depends, Query, Request

from services.placement import commands as placement
from services.placement import views
from services.placement.commands import PlacementAnswer
from shared.http import QueryCtx
from shared.values import BusinessDate, Name, PlanDate
from shared.web import access, command_route

employers = APIRouter(tags=["employers"])
candidates = APIRouter(tags=["candidates"])
daily = APIRouter(tags=["daily views"])
employers_command = partial(command_route, employers, answer=PlacementAnswer)
candidates_command = partial(command_route, candidates, answer=PlacementAnswer)

# The access decisions (shared.web.access; the README's access table is made of them).
OWN_EMPLOYER = access("employer", "require_role(EMPLOYER_ROLES) & own_employer")
READ = access("employer", "require_role(READ_ROLES)")
JOURNEY = access("candidate", "require_role(JOURNEY_ROLES)")
SEE_CANDIDATE = access("candidate", "require_role(READ_ROLES) & see_candidate")
READ_VACANCY = access("vacancy", "require_role(READ_ROLES) & readable_vacancy")
# the journey: the candidate first (404 if not visible), then the vacancy or employer it names
ACT = access("candidate", "act_for_candidate")
ACT_ON_VACANCY = access("candidate", "act_for_candidate & partner_vacancy")
ACT_ON_EMPLOYER = access("candidate", "act_for_candidate & partner_employer")


async def _reads(request: Request) -> views.Reads:
    return request.app.state.reads  # type: ignore[no-any-return]


Reads = Annotated[views.Reads, Depends(_reads)]
PlanningDay = Annotated[
    BusinessDate | None,
    Query(description="the day to plan for (default: today); moves the horizon, not who is visible"),
]


# --- employers, vacancies, production orders -------------------------------------------------


employers_command(
    "/employers", placement.AcquireEmployer, status_code=201, **access("employer", "require_role(EMPLOYER_ROLES)")
)
employers_command("/employers/{employer_id}/contacts", placement.LogContact, status_code=201, **OWN_EMPLOYER)
employers_command(
    "/employers/{employer_id}/contact-data-erasure",
    placement.EraseContactData,
    **access("employer", "require_role(ERASURE_ROLES) & own_employer"),
)
employers_command(
    "/vacancies",
    placement.RecordVacancy,
    status_code=201,
    **access("vacancy", "require_role(EMPLOYER_ROLES) & own_employer"),
)
employers_command(
    "/vacancies/{vacancy_id}/close",
    placement.CloseVacancy,
    **access("vacancy", "require_role(EMPLOYER_ROLES) & own_vacancy"),
)
employers_command(
    "/production-orders",
    placement.AcceptOrder,
    status_code=201,
    **access("production order", "require_role(EMPLOYER_ROLES) & own_employer"),
)
employers_command(
    "/production-orders/{order_id}/complete",
    placement.CompleteOrder,
    **access("production order", "require_role(EMPLOYER_ROLES) & own_order"),
)


WORKSHOP = access("production order", "require_role(JOURNEY_ROLES) & own_order")
employers_command(
    "/production-orders/{order_id}/participants/{participant_id}",
    placement.AssignToOrder,
    status_code=201,
    **WORKSHOP,
)
employers_command(
    "/production-orders/{order_id}/participants/{participant_id}/attendance",
    placement.RecordOrderAttendance,
    status_code=201,
    **WORKSHOP,
)
employers_command(
    "/production-orders/{order_id}/participants/{participant_id}/release", placement.ReleaseFromOrder, **WORKSHOP
)


@employers.get("/employers", **READ)
async def list_employers(
    ctx: QueryCtx,
    db: Reads,
    region: Annotated[Name | None, Query(max_length=100)] = None,
    sector: Annotated[Name | None, Query(max_length=100)] = None,
    offers_work_trials: bool | None = None,
) -> list[dict[str, Any]]:
    """Employers of the caller's agency and its project partners (company data, no contacts)."""
    return await views.list_employers(db, ctx, region=region, sector=sector, offers_work_trials=offers_work_trials)


@employers.get("/employers/{employer_id}", **access("employer", "require_role(READ_ROLES) & readable_employer"))
async def get_employer(employer_id: UUID, ctx: QueryCtx, db: Reads) -> dict[str, Any]:
    """One employer from its stream; contact persons opened only for the owning agency."""
    return await views.get_employer(db, ctx, employer_id)


@employers.get("/employers/{employer_id}/contacts", **access("employer", "require_role(READ_ROLES) & own_employer"))
async def list_contacts(employer_id: UUID, ctx: QueryCtx, db: Reads) -> list[dict[str, Any]]:
    """The contact log of an employer of the caller's own agency, notes opened."""
    return await views.list_contacts(db, ctx, employer_id)


@employers.get("/vacancies", **access("vacancy", "require_role(READ_ROLES)"))
async def list_vacancies(
    ctx: QueryCtx,
    db: Reads,
    status: Literal["open", "closed", "all"] = "open",
    employer_id: UUID | None = None,
) -> list[dict[str, Any]]:
    """Vacancies of the caller's agency and its project partners."""
    return await views.list_vacancies(db, ctx, status=status, employer_id=employer_id)


@employers.get("/vacancies/{vacancy_id}", **READ_VACANCY)
async def get_vacancy(vacancy_id: UUID, ctx: QueryCtx, db: Reads) -> dict[str, Any]:
    return await views.get_vacancy(db, ctx, vacancy_id)


@employers.get("/vacancies/{vacancy_id}/candidates", **READ_VACANCY)
async def rank_candidates_for_vacancy(
    vacancy_id: UUID, ctx: QueryCtx, db: Reads, limit: Annotated[int, Query(ge=1, le=200)] = 20
) -> dict[str, Any]:
    """Candidates the caller may see, best fit first, each with the reasons for its score."""
    return await views.rank_candidates_for_vacancy(db, ctx, vacancy_id, limit=limit)


@employers.get("/production-orders", **access("production order", "require_role(READ_ROLES)"))
async def list_orders(
    ctx: QueryCtx, db: Reads, status: Literal["accepted", "completed", "all"] = "accepted"
) -> list[dict[str, Any]]:
    return await views.list_orders(db, ctx, status=status)


@employers.get(
    "/production-orders/{order_id}/participants",
    **access("production order", "require_role(READ_ROLES) & readable_order"),
)
async def order_participants(order_id: UUID, ctx: QueryCtx, db: Reads) -> dict[str, Any]:
    """Who works on the order, each with their days (hours, present / excused / absent)."""
    return await views.order_participants(db, ctx, order_id)


@employers.get(
    "/participants/{participant_id}/production-orders",
    **access("participant", "require_role(READ_ROLES) & own_participant"),
)
async def participant_orders(participant_id: UUID, ctx: QueryCtx, db: Reads) -> dict[str, Any]:
    """The production orders one participant works or worked on, with their days."""
    return await views.participant_orders(db, ctx, participant_id)


# --- candidate pool and journey --------------------------------------------------------------


@candidates.get("/candidates", **access("candidate", "require_role(READ_ROLES)"))
async def list_candidates(ctx: QueryCtx, db: Reads) -> list[dict[str, Any]]:
    """The pool: participants whose capacity profile is shared under employer-disclosure consent."""
    return await views.list_candidates(db, ctx)


@candidates.get("/candidates/{participant_id}", **SEE_CANDIDATE)
async def get_candidate(participant_id: UUID, ctx: QueryCtx, db: Reads) -> dict[str, Any]:
    """Pool status, the profile while in the pool, and the placement history."""
    return await views.get_candidate(db, ctx, participant_id)


@candidates.get("/candidates/{participant_id}/subject-access", **access("candidate", "require_subject_access"))
async def subject_access(participant_id: UUID, ctx: QueryCtx, db: Reads) -> dict[str, Any]:
    """Everything placement holds about the person (GDPR Art. 15): the owning agency's DPO; audited."""
    return await views.subject_access(db, ctx, participant_id)


@candidates.get("/candidates/{participant_id}/vacancies", **SEE_CANDIDATE)
async def rank_vacancies_for_candidate(participant_id: UUID, ctx: QueryCtx, db: Reads) -> dict[str, Any]:
    """Open vacancies (own agency and project partners), best fit first, with reasons."""
    return await views.rank_vacancies_for_candidate(db, ctx, participant_id)


candidates_command(
    "/candidates/{participant_id}/proposals", placement.ProposeCandidate, status_code=201, **ACT_ON_VACANCY
)
candidates_command("/candidates/{participant_id}/proposals/{proposal_id}/decline", placement.DeclineProposal, **ACT)
candidates_command(
    "/candidates/{participant_id}/work-trials", placement.StartWorkTrial, status_code=201, **ACT_ON_EMPLOYER
)
candidates_command("/candidates/{participant_id}/work-trials/{trial_id}/complete", placement.CompleteWorkTrial, **ACT)
candidates_command("/candidates/{participant_id}/work-trials/{trial_id}/abort", placement.AbortWorkTrial, **ACT)
candidates_command(
    "/candidates/{participant_id}/adaptation-requests", placement.RequestAdaptation, status_code=201, **ACT_ON_EMPLOYER
)
candidates_command(
    "/candidates/{participant_id}/employments", placement.StartEmployment, status_code=201, **ACT_ON_EMPLOYER
)
candidates_command("/candidates/{participant_id}/employments/{employment_id}/end", placement.EndEmployment, **ACT)
candidates_command(
    "/candidates/{participant_id}/employments/{employment_id}/wage-subsidies",
    placement.GrantWageSubsidy,
    status_code=201,
    **ACT,
)
candidates_command(
    "/candidates/{participant_id}/employments/{employment_id}/aftercare", placement.StartAftercare, **ACT
)
candidates_command(
    "/candidates/{participant_id}/employments/{employment_id}/aftercare/end", placement.EndAftercare, **ACT
)
candidates_command(
    "/candidates/{participant_id}/employments/{employment_id}/follow-ups",
    placement.RecordFollowUp,
    status_code=201,
    **ACT,
)


# --- daily views -----------------------------------------------------------------------------


@daily.get("/work-trials", **JOURNEY)
async def list_work_trials(
    ctx: QueryCtx, db: Reads, status: Literal["running", "completed", "aborted", "all"] = "running"
) -> list[dict[str, Any]]:
    return await views.list_work_trials(db, ctx, status=status)


@daily.get("/proposals", **JOURNEY)
async def list_proposals(
    ctx: QueryCtx, db: Reads, status: Literal["open", "trial", "employed", "declined", "void", "all"] = "open"
) -> list[dict[str, Any]]:
    return await views.list_proposals(db, ctx, status=status)


@daily.get("/employments", **JOURNEY)
async def list_employments(
    ctx: QueryCtx, db: Reads, current: Annotated[bool, Query(description="not yet ended")] = True
) -> list[dict[str, Any]]:
    return await views.list_employments(db, ctx, current=current)


@daily.get("/follow-ups/due", **JOURNEY)
async def follow_ups_due(
    ctx: QueryCtx,
    db: Reads,
    today: PlanningDay = None,
    until: Annotated[PlanDate | None, Query(description="default: the end of today's week")] = None,
) -> dict[str, Any]:
    """6- and 12-month follow-ups not yet recorded whose date falls on or before ``until``."""
    return await views.follow_ups_due(db, ctx, today=today, until=until)


@daily.get("/today", **JOURNEY)
async def today_board(
    ctx: QueryCtx,
    db: Reads,
    today: PlanningDay = None,
    best: Annotated[int, Query(ge=1, le=20, description="candidates shown per vacancy")] = 3,
) -> dict[str, Any]:
    """Everything an employer-acquisition officer works through in a day, for their agency."""
    return await views.today_board(db, ctx, today=today, best=best)


routers = (employers, candidates, daily)
