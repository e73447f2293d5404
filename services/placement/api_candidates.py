"""HTTP API for the candidate pool and each candidate's way into work: matching, proposals,
work trials, adaptations, employment, wage subsidies, aftercare and follow-ups."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import date
from typing import Any, Literal
from uuid import UUID

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field

from services.placement import access, domain, matching, queries
from services.placement.api_support import Today, command, current, pool, today_or
from shared import http
from shared.auth import CurrentPrincipal, Principal
from shared.contracts.base import DomainEvent
from shared.contracts.common import EmploymentType
from shared.contracts.placement import (
    AftercareEnded,
    AftercareStarted,
    CandidateProposed,
    EmploymentEnded,
    EmploymentStarted,
    EmploymentStatusVerified,
    ProposalDeclined,
    SubsidyInstrument,
    WageSubsidyGranted,
    WorkplaceAdaptationRequested,
    WorkTrialAborted,
    WorkTrialCompleted,
    WorkTrialStarted,
)
from shared.domain import DomainError, Forbidden, NotFound
from shared.envelope import new_id

router = APIRouter(tags=["candidates"])


class _In(BaseModel):
    model_config = ConfigDict(extra="forbid")


class ProposalIn(_In):
    vacancy_id: UUID
    proposed_on: date


class DeclineIn(_In):
    declined_on: date
    by: Literal["employer", "participant"]
    reason: str = Field(min_length=1, max_length=500, description="non-medical reason")


class TrialIn(_In):
    employer_id: UUID
    vacancy_id: UUID | None = None
    started_on: date
    planned_end: date | None = None


class TrialCompleteIn(_In):
    completed_on: date
    outcome: Literal["offer", "suitable", "not-suitable"]


class TrialAbortIn(_In):
    aborted_on: date
    reason: str = Field(min_length=1, max_length=500, description="non-medical reason")


class AdaptationIn(_In):
    employer_id: UUID
    adaptation: str = Field(min_length=1, max_length=300)
    requested_on: date
    funding: str | None = Field(default=None, max_length=200)


class EmploymentIn(_In):
    employer_id: UUID | None = None
    started_on: date
    type: EmploymentType
    subsidised: bool = False
    fully_qualifying: bool = False
    hours_per_week: float = Field(gt=0, le=60)


class EmploymentEndIn(_In):
    ended_on: date
    reason: str = Field(min_length=1, max_length=500)


class SubsidyIn(_In):
    instrument: SubsidyInstrument
    granted_on: date
    months: int = Field(ge=1, le=60)
    percent_first_year: int = Field(ge=1, le=100)


class AftercareIn(_In):
    started_on: date


class AftercareEndIn(_In):
    ended_on: date


class FollowUpIn(_In):
    months_after_start: Literal[6, 12]
    verified_on: date
    still_employed: bool


# --- helpers ---------------------------------------------------------------------------------


def _stream(pid: UUID) -> str:
    return domain.candidate_stream(pid)


async def _for_action(request: Request, principal: Principal, pid: UUID) -> domain.Candidate:
    """The candidate if the caller may act for them (404 unknown or erased, 403 otherwise)."""
    access.require(principal, access.JOURNEY_ROLES)
    state = (await current(request, domain.candidate, _stream(pid))).state
    if state.status in ("none", "erased"):
        raise NotFound("no such candidate")
    if not access.can_act_for_candidate(principal, state.agency):
        raise Forbidden(f"the candidate is cared for by {state.agency}")
    return state


async def _partner_employer(request: Request, principal: Principal, employer_id: UUID) -> domain.Employer:
    state = (await current(request, domain.employer, domain.employer_stream(employer_id))).state
    if not state.exists:
        raise NotFound("no such employer", field="employer_id")
    if state.agency not in access.partners(principal.agency):
        raise Forbidden(f"the employer belongs to {state.agency}", field="employer_id")
    return state


async def _partner_vacancy(request: Request, principal: Principal, vacancy_id: UUID) -> domain.Vacancy:
    state = (await current(request, domain.vacancy, domain.vacancy_stream(vacancy_id))).state
    if not state.exists:
        raise NotFound("no such vacancy", field="vacancy_id")
    if state.agency not in access.partners(principal.agency):
        raise Forbidden(f"the vacancy belongs to {state.agency}", field="vacancy_id")
    return state


async def _visible(request: Request, principal: Principal, pid: UUID, today: date) -> domain.Candidate:
    access.require(principal, access.READ_ROLES)
    state = (await current(request, domain.candidate, _stream(pid))).state
    if state.status in ("none", "erased"):
        raise NotFound("no such candidate")
    drv = await queries.drv_exchange_active(pool(request), pid, principal, today)
    if not access.can_see_candidate(principal, state.agency, state.project, drv):
        raise Forbidden("the candidate is not visible to you")
    return state


# --- pool and matching -----------------------------------------------------------------------


@router.get("/candidates")
async def list_candidates(request: Request, principal: CurrentPrincipal, today: Today = None) -> list[dict[str, Any]]:
    """The pool: participants whose capacity profile is shared under employer-disclosure consent."""
    access.require(principal, access.READ_ROLES)
    rows = await queries.visible_candidates(pool(request), principal, today_or(today))
    return [
        r | {"participant_id": str(r["participant_id"]), "published_on": r["published_on"].isoformat()} for r in rows
    ]


@router.get("/candidates/{participant_id}")
async def get_candidate(
    participant_id: UUID, request: Request, principal: CurrentPrincipal, today: Today = None
) -> dict[str, Any]:
    """Pool status, the profile while in the pool, and the placement history."""
    state = await _visible(request, principal, participant_id, today_or(today))
    loaded = await current(request, domain.candidate, _stream(participant_id))
    p = pool(request)
    out: dict[str, Any] = {
        "participant_id": str(participant_id),
        "agency": state.agency,
        "project": state.project,
        "in_pool": state.status == "active",
        "profile": state.profile.model_dump(mode="json") if state.profile is not None else None,
        "version": loaded.version,
    }
    for key, sql in (
        ("proposals", "SELECT * FROM proposals WHERE participant_id = $1 ORDER BY proposed_on, proposal_id"),
        ("work_trials", "SELECT * FROM work_trials WHERE participant_id = $1 ORDER BY started_on, trial_id"),
        (
            "adaptation_requests",
            "SELECT * FROM adaptation_requests WHERE participant_id = $1 ORDER BY requested_on, request_id",
        ),
        ("employments", "SELECT * FROM employments WHERE participant_id = $1 ORDER BY started_on, employment_id"),
        ("wage_subsidies", "SELECT * FROM wage_subsidies WHERE participant_id = $1 ORDER BY granted_on, subsidy_id"),
        ("follow_ups", "SELECT * FROM follow_ups WHERE participant_id = $1 ORDER BY verified_on, months"),
    ):
        out[key] = queries.rows_json(list(await p.fetch(sql, participant_id)))
    return out


@router.get("/candidates/{participant_id}/vacancies")
async def rank_vacancies_for_candidate(
    participant_id: UUID, request: Request, principal: CurrentPrincipal, today: Today = None
) -> dict[str, Any]:
    """Open vacancies (own agency and project partners), best fit first, with reasons."""
    state = await _visible(request, principal, participant_id, today_or(today))
    if state.profile is None:
        raise NotFound("the candidate is not in the pool")
    p = pool(request)
    ranked = queries.rank_vacancies(
        state.profile,
        await queries.open_vacancies(p, principal),
        participant_id,
        await queries.proposed_pairs(p),
    )
    return {"participant_id": str(participant_id), "vacancies": ranked}


# --- proposals and work trials ---------------------------------------------------------------


@router.post("/candidates/{participant_id}/proposals", status_code=201)
async def propose(
    participant_id: UUID,
    body: ProposalIn,
    request: Request,
    principal: CurrentPrincipal,
    idempotency_key: http.IdempotencyKey = None,
    if_match: http.IfMatch = None,
) -> JSONResponse:
    """Propose a candidate in the pool to an employer for an open vacancy."""
    state = await _for_action(request, principal, participant_id)
    vacancy = await _partner_vacancy(request, principal, body.vacancy_id)
    assert vacancy.employer_id is not None
    score = None
    row = await queries.vacancy_row(pool(request), body.vacancy_id)
    if row is not None and state.profile is not None:
        score = matching.match(queries.offer_from_row(row), state.profile).score
    proposal_id = new_id()
    proposed = CandidateProposed(
        proposal_id=proposal_id,
        participant_id=participant_id,
        vacancy_id=body.vacancy_id,
        employer_id=vacancy.employer_id,
        proposed_on=body.proposed_on,
        match_score=score,
    )
    return await _journey(
        request,
        principal,
        state,
        participant_id,
        lambda s: domain.propose(s, vacancy, proposed),
        "proposals",
        body,
        {"proposal_id": str(proposal_id), "match_score": score},
        idempotency_key,
        if_match,
        201,
    )


@router.post("/candidates/{participant_id}/proposals/{proposal_id}/decline")
async def decline(
    participant_id: UUID,
    proposal_id: UUID,
    body: DeclineIn,
    request: Request,
    principal: CurrentPrincipal,
    idempotency_key: http.IdempotencyKey = None,
    if_match: http.IfMatch = None,
) -> JSONResponse:
    state = await _for_action(request, principal, participant_id)
    declined = ProposalDeclined(proposal_id=proposal_id, participant_id=participant_id, **body.model_dump())
    return await _journey(
        request,
        principal,
        state,
        participant_id,
        lambda s: domain.decline_proposal(s, declined),
        f"decline:{proposal_id}",
        body,
        {"proposal_id": str(proposal_id), "status": "declined"},
        idempotency_key,
        if_match,
    )


@router.post("/candidates/{participant_id}/work-trials", status_code=201)
async def start_trial(
    participant_id: UUID,
    body: TrialIn,
    request: Request,
    principal: CurrentPrincipal,
    idempotency_key: http.IdempotencyKey = None,
    if_match: http.IfMatch = None,
) -> JSONResponse:
    state = await _for_action(request, principal, participant_id)
    employer = await _partner_employer(request, principal, body.employer_id)
    if body.vacancy_id is not None:
        vacancy = await _partner_vacancy(request, principal, body.vacancy_id)
        if vacancy.employer_id != body.employer_id:
            raise DomainError("the vacancy is not one of this employer's", field="vacancy_id")
    trial_id = new_id()
    started = WorkTrialStarted(trial_id=trial_id, participant_id=participant_id, **body.model_dump())
    return await _journey(
        request,
        principal,
        state,
        participant_id,
        lambda s: domain.start_trial(s, employer, started),
        "work-trials",
        body,
        {"trial_id": str(trial_id), "status": "running"},
        idempotency_key,
        if_match,
        201,
    )


@router.post("/candidates/{participant_id}/work-trials/{trial_id}/complete")
async def complete_trial(
    participant_id: UUID,
    trial_id: UUID,
    body: TrialCompleteIn,
    request: Request,
    principal: CurrentPrincipal,
    idempotency_key: http.IdempotencyKey = None,
    if_match: http.IfMatch = None,
) -> JSONResponse:
    state = await _for_action(request, principal, participant_id)
    completed = WorkTrialCompleted(trial_id=trial_id, participant_id=participant_id, **body.model_dump())
    return await _journey(
        request,
        principal,
        state,
        participant_id,
        lambda s: domain.complete_trial(s, completed),
        f"complete-trial:{trial_id}",
        body,
        {"trial_id": str(trial_id), "status": "completed", "outcome": body.outcome},
        idempotency_key,
        if_match,
    )


@router.post("/candidates/{participant_id}/work-trials/{trial_id}/abort")
async def abort_trial(
    participant_id: UUID,
    trial_id: UUID,
    body: TrialAbortIn,
    request: Request,
    principal: CurrentPrincipal,
    idempotency_key: http.IdempotencyKey = None,
    if_match: http.IfMatch = None,
) -> JSONResponse:
    state = await _for_action(request, principal, participant_id)
    aborted = WorkTrialAborted(trial_id=trial_id, participant_id=participant_id, **body.model_dump())
    return await _journey(
        request,
        principal,
        state,
        participant_id,
        lambda s: domain.abort_trial(s, aborted),
        f"abort-trial:{trial_id}",
        body,
        {"trial_id": str(trial_id), "status": "aborted"},
        idempotency_key,
        if_match,
    )


@router.post("/candidates/{participant_id}/adaptation-requests", status_code=201)
async def request_adaptation(
    participant_id: UUID,
    body: AdaptationIn,
    request: Request,
    principal: CurrentPrincipal,
    idempotency_key: http.IdempotencyKey = None,
    if_match: http.IfMatch = None,
) -> JSONResponse:
    state = await _for_action(request, principal, participant_id)
    employer = await _partner_employer(request, principal, body.employer_id)
    request_id = new_id()
    requested = WorkplaceAdaptationRequested(request_id=request_id, participant_id=participant_id, **body.model_dump())
    return await _journey(
        request,
        principal,
        state,
        participant_id,
        lambda s: domain.request_adaptation(s, employer, requested),
        "adaptation-requests",
        body,
        {"request_id": str(request_id)},
        idempotency_key,
        if_match,
        201,
    )


# --- employment, subsidies, aftercare, follow-ups --------------------------------------------


@router.post("/candidates/{participant_id}/employments", status_code=201)
async def start_employment(
    participant_id: UUID,
    body: EmploymentIn,
    request: Request,
    principal: CurrentPrincipal,
    idempotency_key: http.IdempotencyKey = None,
    if_match: http.IfMatch = None,
) -> JSONResponse:
    """A job started (casework sees it; reporting counts K2 integrations from it)."""
    state = await _for_action(request, principal, participant_id)
    if body.employer_id is not None:
        await _partner_employer(request, principal, body.employer_id)
    employment_id = new_id()
    started = EmploymentStarted(
        employment_id=employment_id,
        participant_id=participant_id,
        agency=state.agency,
        project=state.project,
        **body.model_dump(),
    )
    return await _journey(
        request,
        principal,
        state,
        participant_id,
        lambda s: domain.start_employment(s, started),
        "employments",
        body,
        {"employment_id": str(employment_id)},
        idempotency_key,
        if_match,
        201,
    )


@router.post("/candidates/{participant_id}/employments/{employment_id}/end")
async def end_employment(
    participant_id: UUID,
    employment_id: UUID,
    body: EmploymentEndIn,
    request: Request,
    principal: CurrentPrincipal,
    idempotency_key: http.IdempotencyKey = None,
    if_match: http.IfMatch = None,
) -> JSONResponse:
    state = await _for_action(request, principal, participant_id)
    ended = EmploymentEnded(employment_id=employment_id, participant_id=participant_id, **body.model_dump())
    return await _journey(
        request,
        principal,
        state,
        participant_id,
        lambda s: domain.end_employment(s, ended),
        f"end:{employment_id}",
        body,
        {"employment_id": str(employment_id), "ended_on": body.ended_on.isoformat()},
        idempotency_key,
        if_match,
    )


@router.post("/candidates/{participant_id}/employments/{employment_id}/wage-subsidies", status_code=201)
async def grant_subsidy(
    participant_id: UUID,
    employment_id: UUID,
    body: SubsidyIn,
    request: Request,
    principal: CurrentPrincipal,
    idempotency_key: http.IdempotencyKey = None,
    if_match: http.IfMatch = None,
) -> JSONResponse:
    state = await _for_action(request, principal, participant_id)
    subsidy_id = new_id()
    granted = WageSubsidyGranted(
        subsidy_id=subsidy_id, participant_id=participant_id, employment_id=employment_id, **body.model_dump()
    )
    return await _journey(
        request,
        principal,
        state,
        participant_id,
        lambda s: domain.grant_subsidy(s, granted),
        f"subsidy:{employment_id}",
        body,
        {"subsidy_id": str(subsidy_id)},
        idempotency_key,
        if_match,
        201,
    )


@router.post("/candidates/{participant_id}/employments/{employment_id}/aftercare")
async def start_aftercare(
    participant_id: UUID,
    employment_id: UUID,
    body: AftercareIn,
    request: Request,
    principal: CurrentPrincipal,
    idempotency_key: http.IdempotencyKey = None,
    if_match: http.IfMatch = None,
) -> JSONResponse:
    state = await _for_action(request, principal, participant_id)
    started = AftercareStarted(participant_id=participant_id, employment_id=employment_id, **body.model_dump())
    return await _journey(
        request,
        principal,
        state,
        participant_id,
        lambda s: domain.start_aftercare(s, started),
        f"aftercare:{employment_id}",
        body,
        {"employment_id": str(employment_id), "aftercare": "running"},
        idempotency_key,
        if_match,
    )


@router.post("/candidates/{participant_id}/employments/{employment_id}/aftercare/end")
async def end_aftercare(
    participant_id: UUID,
    employment_id: UUID,
    body: AftercareEndIn,
    request: Request,
    principal: CurrentPrincipal,
    idempotency_key: http.IdempotencyKey = None,
    if_match: http.IfMatch = None,
) -> JSONResponse:
    state = await _for_action(request, principal, participant_id)
    ended = AftercareEnded(participant_id=participant_id, employment_id=employment_id, **body.model_dump())
    return await _journey(
        request,
        principal,
        state,
        participant_id,
        lambda s: domain.end_aftercare(s, ended),
        f"aftercare-end:{employment_id}",
        body,
        {"employment_id": str(employment_id), "aftercare": "ended"},
        idempotency_key,
        if_match,
    )


@router.post("/candidates/{participant_id}/employments/{employment_id}/follow-ups", status_code=201)
async def record_follow_up(
    participant_id: UUID,
    employment_id: UUID,
    body: FollowUpIn,
    request: Request,
    principal: CurrentPrincipal,
    idempotency_key: http.IdempotencyKey = None,
    if_match: http.IfMatch = None,
) -> JSONResponse:
    """The 6- or 12-month follow-up: still employed or not (sustainability)."""
    state = await _for_action(request, principal, participant_id)
    verified = EmploymentStatusVerified(employment_id=employment_id, participant_id=participant_id, **body.model_dump())
    return await _journey(
        request,
        principal,
        state,
        participant_id,
        lambda s: domain.verify_status(s, verified),
        f"follow-up:{employment_id}",
        body,
        {"employment_id": str(employment_id), "months_after_start": body.months_after_start},
        idempotency_key,
        if_match,
        201,
    )


async def _journey(
    request: Request,
    principal: Principal,
    state: domain.Candidate,
    participant_id: UUID,
    decide: Callable[[domain.Candidate], Sequence[DomainEvent]],
    route: str,
    body: BaseModel,
    result: dict[str, Any],
    idempotency_key: str | None,
    if_match: int | None,
    status_code: int = 200,
) -> JSONResponse:
    return await command(
        request,
        principal,
        domain.candidate,
        _stream(participant_id),
        decide,
        agency=state.agency,
        project=state.project,
        route=f"{route}:{participant_id}",
        payload=body.model_dump(mode="json"),
        result={"participant_id": str(participant_id), **result},
        idempotency_key=idempotency_key,
        if_match=if_match,
        status_code=status_code,
    )
