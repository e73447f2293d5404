"""Placement's HTTP routes: build the command from path and body, hand it to the bus, answer
with the handler's body; read routes call ``views``. No SQL and no rules here."""

from __future__ import annotations

from typing import Annotated, Any, Literal
from uuid import UUID

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import JSONResponse

from services.placement import views
from services.placement.commands import (
    AbortWorkTrial,
    AcceptOrder,
    AcquireEmployer,
    AdaptationIn,
    AftercareEndIn,
    AftercareIn,
    CloseVacancy,
    CompleteOrder,
    CompleteWorkTrial,
    ContactIn,
    DeclineIn,
    DeclineProposal,
    EmploymentEndIn,
    EmploymentIn,
    EndAftercare,
    EndEmployment,
    EraseContactData,
    ErasureIn,
    FollowUpIn,
    GrantWageSubsidy,
    LogContact,
    OrderCompleteIn,
    PlacementAnswer,
    ProposalIn,
    ProposeCandidate,
    RecordFollowUp,
    RecordVacancy,
    RequestAdaptation,
    StartAftercare,
    StartEmployment,
    StartWorkTrial,
    SubsidyIn,
    TrialAbortIn,
    TrialCompleteIn,
    TrialIn,
    VacancyCloseIn,
)
from shared.http import Bus, CommandCtx, QueryCtx, respond
from shared.values import BusinessDate, Name, PlanDate

employers = APIRouter(tags=["employers"])
candidates = APIRouter(tags=["candidates"])
daily = APIRouter(tags=["daily views"])


def _reads(request: Request) -> views.Reads:
    return request.app.state.reads  # type: ignore[no-any-return]


Reads = Annotated[views.Reads, Depends(_reads)]
PlanningDay = Annotated[
    BusinessDate | None,
    Query(description="the day to plan for (default: today); moves the horizon, not who is visible"),
]


# --- employers, vacancies, production orders -------------------------------------------------


@employers.post("/employers", status_code=201, response_model=PlacementAnswer)
async def acquire_employer(body: AcquireEmployer, ctx: CommandCtx, bus: Bus) -> JSONResponse:
    """Record a company won for the project; contact persons are sealed under its own key."""
    return respond(await bus.handle(body, ctx), 201)


@employers.post("/employers/{employer_id}/contacts", status_code=201, response_model=PlacementAnswer)
async def log_contact(employer_id: UUID, body: ContactIn, ctx: CommandCtx, bus: Bus) -> JSONResponse:
    """Log a contact with an employer of the caller's agency; notes are sealed."""
    return respond(await bus.handle(LogContact(employer_id=employer_id, **body.model_dump()), ctx), 201)


@employers.post("/employers/{employer_id}/contact-data-erasure", response_model=PlacementAnswer)
async def erase_contact_data(employer_id: UUID, body: ErasureIn, ctx: CommandCtx, bus: Bus) -> JSONResponse:
    """Destroy the employer's key: contact persons and contact notes become unreadable for good."""
    return respond(await bus.handle(EraseContactData(employer_id=employer_id, **body.model_dump()), ctx))


@employers.post("/vacancies", status_code=201, response_model=PlacementAnswer)
async def record_vacancy(body: RecordVacancy, ctx: CommandCtx, bus: Bus) -> JSONResponse:
    """Record a vacancy of an employer of the caller's agency."""
    return respond(await bus.handle(body, ctx), 201)


@employers.post("/vacancies/{vacancy_id}/close", response_model=PlacementAnswer)
async def close_vacancy(vacancy_id: UUID, body: VacancyCloseIn, ctx: CommandCtx, bus: Bus) -> JSONResponse:
    """Close a vacancy of the caller's agency."""
    return respond(await bus.handle(CloseVacancy(vacancy_id=vacancy_id, **body.model_dump()), ctx))


@employers.post("/production-orders", status_code=201, response_model=PlacementAnswer)
async def accept_order(body: AcceptOrder, ctx: CommandCtx, bus: Bus) -> JSONResponse:
    """An order taken on for the Produktionswerkstatt."""
    return respond(await bus.handle(body, ctx), 201)


@employers.post("/production-orders/{order_id}/complete", response_model=PlacementAnswer)
async def complete_order(order_id: UUID, body: OrderCompleteIn, ctx: CommandCtx, bus: Bus) -> JSONResponse:
    """Complete a production order."""
    return respond(await bus.handle(CompleteOrder(order_id=order_id, **body.model_dump()), ctx))


@employers.get("/employers")
async def list_employers(
    ctx: QueryCtx,
    db: Reads,
    region: Annotated[Name | None, Query(max_length=100)] = None,
    sector: Annotated[Name | None, Query(max_length=100)] = None,
    offers_work_trials: bool | None = None,
) -> list[dict[str, Any]]:
    """Employers of the caller's agency and its project partners (company data, no contacts)."""
    return await views.list_employers(db, ctx, region=region, sector=sector, offers_work_trials=offers_work_trials)


@employers.get("/employers/{employer_id}")
async def get_employer(employer_id: UUID, ctx: QueryCtx, db: Reads) -> dict[str, Any]:
    """One employer from its stream; contact persons opened only for the owning agency."""
    return await views.get_employer(db, ctx, employer_id)


@employers.get("/employers/{employer_id}/contacts")
async def list_contacts(employer_id: UUID, ctx: QueryCtx, db: Reads) -> list[dict[str, Any]]:
    """The contact log of an employer of the caller's own agency, notes opened."""
    return await views.list_contacts(db, ctx, employer_id)


@employers.get("/vacancies")
async def list_vacancies(
    ctx: QueryCtx,
    db: Reads,
    status: Literal["open", "closed", "all"] = "open",
    employer_id: UUID | None = None,
) -> list[dict[str, Any]]:
    """Vacancies of the caller's agency and its project partners."""
    return await views.list_vacancies(db, ctx, status=status, employer_id=employer_id)


@employers.get("/vacancies/{vacancy_id}")
async def get_vacancy(vacancy_id: UUID, ctx: QueryCtx, db: Reads) -> dict[str, Any]:
    return await views.get_vacancy(db, ctx, vacancy_id)


@employers.get("/vacancies/{vacancy_id}/candidates")
async def rank_candidates_for_vacancy(
    vacancy_id: UUID, ctx: QueryCtx, db: Reads, limit: Annotated[int, Query(ge=1, le=200)] = 20
) -> dict[str, Any]:
    """Candidates the caller may see, best fit first, each with the reasons for its score."""
    return await views.rank_candidates_for_vacancy(db, ctx, vacancy_id, limit=limit)


@employers.get("/production-orders")
async def list_orders(
    ctx: QueryCtx, db: Reads, status: Literal["accepted", "completed", "all"] = "accepted"
) -> list[dict[str, Any]]:
    return await views.list_orders(db, ctx, status=status)


# --- candidate pool and journey --------------------------------------------------------------


@candidates.get("/candidates")
async def list_candidates(ctx: QueryCtx, db: Reads) -> list[dict[str, Any]]:
    """The pool: participants whose capacity profile is shared under employer-disclosure consent."""
    return await views.list_candidates(db, ctx)


@candidates.get("/candidates/{participant_id}")
async def get_candidate(participant_id: UUID, ctx: QueryCtx, db: Reads) -> dict[str, Any]:
    """Pool status, the profile while in the pool, and the placement history."""
    return await views.get_candidate(db, ctx, participant_id)


@candidates.get("/candidates/{participant_id}/vacancies")
async def rank_vacancies_for_candidate(participant_id: UUID, ctx: QueryCtx, db: Reads) -> dict[str, Any]:
    """Open vacancies (own agency and project partners), best fit first, with reasons."""
    return await views.rank_vacancies_for_candidate(db, ctx, participant_id)


@candidates.post("/candidates/{participant_id}/proposals", status_code=201, response_model=PlacementAnswer)
async def propose(participant_id: UUID, body: ProposalIn, ctx: CommandCtx, bus: Bus) -> JSONResponse:
    """Propose a candidate in the pool to an employer for an open vacancy."""
    return respond(await bus.handle(ProposeCandidate(participant_id=participant_id, **body.model_dump()), ctx), 201)


@candidates.post("/candidates/{participant_id}/proposals/{proposal_id}/decline", response_model=PlacementAnswer)
async def decline(participant_id: UUID, proposal_id: UUID, body: DeclineIn, ctx: CommandCtx, bus: Bus) -> JSONResponse:
    """The employer or the participant declined a proposal."""
    return respond(
        await bus.handle(
            DeclineProposal(participant_id=participant_id, proposal_id=proposal_id, **body.model_dump()), ctx
        )
    )


@candidates.post("/candidates/{participant_id}/work-trials", status_code=201, response_model=PlacementAnswer)
async def start_trial(participant_id: UUID, body: TrialIn, ctx: CommandCtx, bus: Bus) -> JSONResponse:
    """Start a work trial (candidates in the pool only)."""
    return respond(await bus.handle(StartWorkTrial(participant_id=participant_id, **body.model_dump()), ctx), 201)


@candidates.post("/candidates/{participant_id}/work-trials/{trial_id}/complete", response_model=PlacementAnswer)
async def complete_trial(
    participant_id: UUID, trial_id: UUID, body: TrialCompleteIn, ctx: CommandCtx, bus: Bus
) -> JSONResponse:
    """A work trial ended as planned, with its outcome."""
    return respond(
        await bus.handle(CompleteWorkTrial(participant_id=participant_id, trial_id=trial_id, **body.model_dump()), ctx)
    )


@candidates.post("/candidates/{participant_id}/work-trials/{trial_id}/abort", response_model=PlacementAnswer)
async def abort_trial(
    participant_id: UUID, trial_id: UUID, body: TrialAbortIn, ctx: CommandCtx, bus: Bus
) -> JSONResponse:
    """A work trial was broken off."""
    return respond(
        await bus.handle(AbortWorkTrial(participant_id=participant_id, trial_id=trial_id, **body.model_dump()), ctx)
    )


@candidates.post("/candidates/{participant_id}/adaptation-requests", status_code=201, response_model=PlacementAnswer)
async def request_adaptation(participant_id: UUID, body: AdaptationIn, ctx: CommandCtx, bus: Bus) -> JSONResponse:
    """A workplace adaptation requested from an employer (candidates in the pool only)."""
    return respond(await bus.handle(RequestAdaptation(participant_id=participant_id, **body.model_dump()), ctx), 201)


@candidates.post("/candidates/{participant_id}/employments", status_code=201, response_model=PlacementAnswer)
async def start_employment(participant_id: UUID, body: EmploymentIn, ctx: CommandCtx, bus: Bus) -> JSONResponse:
    """A job started (casework sees it; reporting counts K2 integrations from it)."""
    return respond(await bus.handle(StartEmployment(participant_id=participant_id, **body.model_dump()), ctx), 201)


@candidates.post("/candidates/{participant_id}/employments/{employment_id}/end", response_model=PlacementAnswer)
async def end_employment(
    participant_id: UUID, employment_id: UUID, body: EmploymentEndIn, ctx: CommandCtx, bus: Bus
) -> JSONResponse:
    """An employment ended."""
    return respond(
        await bus.handle(
            EndEmployment(participant_id=participant_id, employment_id=employment_id, **body.model_dump()), ctx
        )
    )


@candidates.post(
    "/candidates/{participant_id}/employments/{employment_id}/wage-subsidies",
    status_code=201,
    response_model=PlacementAnswer,
)
async def grant_subsidy(
    participant_id: UUID, employment_id: UUID, body: SubsidyIn, ctx: CommandCtx, bus: Bus
) -> JSONResponse:
    """A wage subsidy (§ 16e / § 16i SGB II) granted for an employment."""
    return respond(
        await bus.handle(
            GrantWageSubsidy(participant_id=participant_id, employment_id=employment_id, **body.model_dump()), ctx
        ),
        201,
    )


@candidates.post("/candidates/{participant_id}/employments/{employment_id}/aftercare", response_model=PlacementAnswer)
async def start_aftercare(
    participant_id: UUID, employment_id: UUID, body: AftercareIn, ctx: CommandCtx, bus: Bus
) -> JSONResponse:
    """Aftercare started for an employment."""
    return respond(
        await bus.handle(
            StartAftercare(participant_id=participant_id, employment_id=employment_id, **body.model_dump()), ctx
        )
    )


@candidates.post(
    "/candidates/{participant_id}/employments/{employment_id}/aftercare/end", response_model=PlacementAnswer
)
async def end_aftercare(
    participant_id: UUID, employment_id: UUID, body: AftercareEndIn, ctx: CommandCtx, bus: Bus
) -> JSONResponse:
    """Aftercare ended."""
    return respond(
        await bus.handle(
            EndAftercare(participant_id=participant_id, employment_id=employment_id, **body.model_dump()), ctx
        )
    )


@candidates.post(
    "/candidates/{participant_id}/employments/{employment_id}/follow-ups",
    status_code=201,
    response_model=PlacementAnswer,
)
async def record_follow_up(
    participant_id: UUID, employment_id: UUID, body: FollowUpIn, ctx: CommandCtx, bus: Bus
) -> JSONResponse:
    """The 6- or 12-month follow-up: still employed or not (sustainability)."""
    return respond(
        await bus.handle(
            RecordFollowUp(participant_id=participant_id, employment_id=employment_id, **body.model_dump()), ctx
        ),
        201,
    )


# --- daily views -----------------------------------------------------------------------------


@daily.get("/work-trials")
async def list_work_trials(
    ctx: QueryCtx, db: Reads, status: Literal["running", "completed", "aborted", "all"] = "running"
) -> list[dict[str, Any]]:
    return await views.list_work_trials(db, ctx, status=status)


@daily.get("/proposals")
async def list_proposals(
    ctx: QueryCtx, db: Reads, status: Literal["open", "trial", "employed", "declined", "void", "all"] = "open"
) -> list[dict[str, Any]]:
    return await views.list_proposals(db, ctx, status=status)


@daily.get("/employments")
async def list_employments(
    ctx: QueryCtx, db: Reads, current: Annotated[bool, Query(description="not yet ended")] = True
) -> list[dict[str, Any]]:
    return await views.list_employments(db, ctx, current=current)


@daily.get("/follow-ups/due")
async def follow_ups_due(
    ctx: QueryCtx,
    db: Reads,
    today: PlanningDay = None,
    until: Annotated[PlanDate | None, Query(description="default: the end of today's week")] = None,
) -> dict[str, Any]:
    """6- and 12-month follow-ups not yet recorded whose date falls on or before ``until``."""
    return await views.follow_ups_due(db, ctx, today=today, until=until)


@daily.get("/today")
async def today_board(
    ctx: QueryCtx,
    db: Reads,
    today: PlanningDay = None,
    best: Annotated[int, Query(ge=1, le=20, description="candidates shown per vacancy")] = 3,
) -> dict[str, Any]:
    """Everything an employer-acquisition officer works through in a day, for their agency."""
    return await views.today_board(db, ctx, today=today, best=best)


routers = (employers, candidates, daily)
