"""HTTP API for employers, their contact log, vacancies and production orders."""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any, Literal
from uuid import UUID

from fastapi import APIRouter, Query, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field

from services.placement import access, domain, queries
from services.placement.api_support import Today, command, current, pool, today_or
from shared import http
from shared.auth import CurrentPrincipal, Principal
from shared.contracts.placement import (
    CompanySize,
    ContactChannel,
    EmployerAcquired,
    EmployerContactLogged,
    JobDemands,
    ProductionOrderAccepted,
    ProductionOrderCompleted,
    VacancyClosed,
    VacancyRecorded,
)
from shared.crypto import ERASED, SubjectKeys
from shared.domain import Forbidden, NotFound
from shared.envelope import new_id
from shared.vocabulary import Role

router = APIRouter(tags=["employers"])
keys = SubjectKeys()


class ContactPerson(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str = Field(min_length=1, max_length=200)
    position: str = Field(default="", max_length=200)
    phone: str = Field(default="", max_length=50)
    email: str = Field(default="", max_length=200)


class EmployerIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    company: str = Field(min_length=1, max_length=200)
    sector: str = Field(min_length=1, max_length=100)
    size: CompanySize
    region: str = Field(min_length=1, max_length=100)
    contact_persons: list[ContactPerson] = Field(default_factory=list, max_length=20)
    offers_work_trials: bool = False
    offers_adapted_workplaces: bool = False
    acquired_on: date


class ContactIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    contacted_on: date
    channel: ContactChannel
    topic: str = Field(min_length=1, max_length=200, description="what it was about, no personal data")
    notes: str = Field(default="", max_length=2000, description="sealed under the employer's key")
    next_contact_on: date | None = None


class ErasureIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    erased_on: date


class VacancyIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    employer_id: UUID
    title: str = Field(min_length=1, max_length=200)
    tasks: str = Field(default="", max_length=2000)
    hours_per_week: float = Field(gt=0, le=60)
    flexible_hours: bool = False
    demands: JobDemands
    possible_adaptations: list[str] = Field(default_factory=list, max_length=30)
    positions: int = Field(default=1, ge=1, le=100)
    recorded_on: date


class VacancyCloseIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    closed_on: date
    reason: Literal["filled", "withdrawn-by-employer", "expired", "other"]


class OrderIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    employer_id: UUID
    description: str = Field(min_length=1, max_length=1000)
    quantity: int = Field(ge=1, le=1_000_000)
    accepted_on: date
    due_on: date | None = None


class OrderCompleteIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    completed_on: date
    delivered_quantity: int = Field(ge=0, le=1_000_000)


async def _own_employer(request: Request, principal: Principal, employer_id: UUID) -> domain.Employer:
    """The employer, if the caller's agency owns it (404 unknown, 403 another agency's)."""
    loaded = await current(request, domain.employer, domain.employer_stream(employer_id))
    if not loaded.state.exists:
        raise NotFound("no such employer", field="employer_id")
    if loaded.state.agency != principal.agency:
        raise Forbidden(f"the employer belongs to {loaded.state.agency}", field="employer_id")
    return loaded.state


# --- employers -------------------------------------------------------------------------------


@router.post("/employers", status_code=201)
async def acquire_employer(
    body: EmployerIn, request: Request, principal: CurrentPrincipal, idempotency_key: http.IdempotencyKey = None
) -> JSONResponse:
    """Record a company won for the project; contact persons are sealed under its own key."""
    access.require(principal, access.EMPLOYER_ROLES)
    employer_id = new_id()
    async with pool(request).acquire() as conn:
        sealed = await keys.seal(conn, str(employer_id), [p.model_dump() for p in body.contact_persons])
    acquired = EmployerAcquired(
        employer_id=employer_id,
        agency=principal.agency,
        company=body.company,
        sector=body.sector,
        size=body.size,
        region=body.region,
        sealed_contacts=sealed,
        offers_work_trials=body.offers_work_trials,
        offers_adapted_workplaces=body.offers_adapted_workplaces,
        acquired_on=body.acquired_on,
    )
    return await command(
        request,
        principal,
        domain.employer,
        domain.employer_stream(employer_id),
        lambda s: domain.acquire_employer(s, acquired),
        agency=principal.agency,
        project=access.project_of(principal.agency),
        route="employers",
        payload=body.model_dump(mode="json"),
        result={"employer_id": str(employer_id)},
        idempotency_key=idempotency_key,
        if_match=None,
        status_code=201,
    )


@router.get("/employers")
async def list_employers(
    request: Request,
    principal: CurrentPrincipal,
    region: str | None = None,
    sector: str | None = None,
    offers_work_trials: bool | None = None,
) -> list[dict[str, Any]]:
    """Employers of the caller's agency and its project partners (company data, no contacts)."""
    access.require(principal, access.READ_ROLES)
    rows = await pool(request).fetch(
        "SELECT employer_id, agency, company, sector, size, region, offers_work_trials, offers_adapted_workplaces,"
        " acquired_on, last_contact_on, next_contact_on FROM employers"
        " WHERE agency = ANY($1::text[]) AND ($2::text IS NULL OR region = $2) AND ($3::text IS NULL OR sector = $3)"
        " AND ($4::boolean IS NULL OR offers_work_trials = $4) ORDER BY company, employer_id",
        sorted(access.partners(principal.agency)),
        region,
        sector,
        offers_work_trials,
    )
    return queries.rows_json(list(rows))


@router.get("/employers/{employer_id}")
async def get_employer(employer_id: UUID, request: Request, principal: CurrentPrincipal) -> dict[str, Any]:
    """One employer, read from its stream (so a just-made change is always visible); contact
    persons are opened only for the owning agency."""
    access.require(principal, access.READ_ROLES)
    loaded = await current(request, domain.employer, domain.employer_stream(employer_id))
    if not loaded.state.exists:
        raise NotFound("no such employer")
    if not access.can_read_agency_record(principal, loaded.state.agency):
        raise Forbidden(f"the employer belongs to {loaded.state.agency}")
    acquired = EmployerAcquired.model_validate(loaded.events[0].payload)
    out: dict[str, Any] = acquired.model_dump(mode="json", exclude={"sealed_contacts"})
    contacts = [e.payload for e in loaded.events if e.event_type == "EmployerContactLogged"]
    out["last_contact_on"] = max((c["contacted_on"] for c in contacts), default=None)
    out["next_contact_on"] = contacts[-1]["next_contact_on"] if contacts else None
    out["contacts_erased"] = loaded.state.contacts_erased
    out["contact_persons"] = None
    if loaded.state.contacts_erased:
        out["contact_persons"] = ERASED
    elif loaded.state.agency == principal.agency and acquired.sealed_contacts:
        async with pool(request).acquire() as conn:
            out["contact_persons"] = await keys.open(conn, str(employer_id), acquired.sealed_contacts)
    out["version"] = loaded.version
    return out


@router.post("/employers/{employer_id}/contacts", status_code=201)
async def log_contact(
    employer_id: UUID,
    body: ContactIn,
    request: Request,
    principal: CurrentPrincipal,
    idempotency_key: http.IdempotencyKey = None,
    if_match: http.IfMatch = None,
) -> JSONResponse:
    access.require(principal, access.EMPLOYER_ROLES)
    await _own_employer(request, principal, employer_id)
    contact_id = new_id()
    sealed = ""
    if body.notes:
        async with pool(request).acquire() as conn:
            sealed = await keys.seal(conn, str(employer_id), body.notes)
    logged = EmployerContactLogged(
        employer_id=employer_id,
        contact_id=contact_id,
        contacted_on=body.contacted_on,
        channel=body.channel,
        topic=body.topic,
        sealed_notes=sealed,
        next_contact_on=body.next_contact_on,
    )
    return await command(
        request,
        principal,
        domain.employer,
        domain.employer_stream(employer_id),
        lambda s: domain.log_contact(s, logged),
        agency=principal.agency,
        project=access.project_of(principal.agency),
        route=f"contacts:{employer_id}",
        payload=body.model_dump(mode="json"),
        result={"employer_id": str(employer_id), "contact_id": str(contact_id)},
        idempotency_key=idempotency_key,
        if_match=if_match,
        status_code=201,
    )


@router.get("/employers/{employer_id}/contacts")
async def list_contacts(employer_id: UUID, request: Request, principal: CurrentPrincipal) -> list[dict[str, Any]]:
    """The contact log of an employer of the caller's own agency, notes opened."""
    access.require(principal, access.READ_ROLES)
    await _own_employer(request, principal, employer_id)
    rows = await pool(request).fetch(
        "SELECT * FROM employer_contacts WHERE employer_id = $1 ORDER BY contacted_on, contact_id", employer_id
    )
    out = queries.rows_json(list(rows))
    async with pool(request).acquire() as conn:
        for item in out:
            sealed = item.pop("sealed_notes")
            item["notes"] = await keys.open(conn, str(employer_id), sealed) if sealed else ""
    return out


@router.post("/employers/{employer_id}/contact-data-erasure")
async def erase_contact_data(
    employer_id: UUID,
    body: ErasureIn,
    request: Request,
    principal: CurrentPrincipal,
    idempotency_key: http.IdempotencyKey = None,
) -> JSONResponse:
    """Destroy the employer's key: contact persons and contact notes become unreadable for good."""
    access.require(principal, frozenset({Role.EMPLOYER_ACQUISITION, Role.DATA_PROTECTION_OFFICER}))
    await _own_employer(request, principal, employer_id)
    async with pool(request).acquire() as conn:  # key first: erasure never waits on the event
        await keys.erase(conn, str(employer_id))
    return await command(
        request,
        principal,
        domain.employer,
        domain.employer_stream(employer_id),
        lambda s: domain.erase_contacts(s, body.erased_on),
        agency=principal.agency,
        project=access.project_of(principal.agency),
        route=f"erase:{employer_id}",
        payload=body.model_dump(mode="json"),
        result={"employer_id": str(employer_id), "contacts_erased": True},
        idempotency_key=idempotency_key,
        if_match=None,
    )


# --- vacancies -------------------------------------------------------------------------------


@router.post("/vacancies", status_code=201)
async def record_vacancy(
    body: VacancyIn, request: Request, principal: CurrentPrincipal, idempotency_key: http.IdempotencyKey = None
) -> JSONResponse:
    access.require(principal, access.EMPLOYER_ROLES)
    employer = await _own_employer(request, principal, body.employer_id)
    vacancy_id = new_id()
    recorded = VacancyRecorded(
        vacancy_id=vacancy_id,
        agency=principal.agency,
        **body.model_dump(),
    )
    return await command(
        request,
        principal,
        domain.vacancy,
        domain.vacancy_stream(vacancy_id),
        lambda s: domain.record_vacancy(s, employer, recorded),
        agency=principal.agency,
        project=access.project_of(principal.agency),
        route="vacancies",
        payload=body.model_dump(mode="json"),
        result={"vacancy_id": str(vacancy_id)},
        idempotency_key=idempotency_key,
        if_match=None,
        status_code=201,
    )


@router.post("/vacancies/{vacancy_id}/close")
async def close_vacancy(
    vacancy_id: UUID,
    body: VacancyCloseIn,
    request: Request,
    principal: CurrentPrincipal,
    idempotency_key: http.IdempotencyKey = None,
    if_match: http.IfMatch = None,
) -> JSONResponse:
    access.require(principal, access.EMPLOYER_ROLES)
    loaded = await current(request, domain.vacancy, domain.vacancy_stream(vacancy_id))
    if not loaded.state.exists:
        raise NotFound("no such vacancy")
    if loaded.state.agency != principal.agency:
        raise Forbidden(f"the vacancy belongs to {loaded.state.agency}")
    closed = VacancyClosed(vacancy_id=vacancy_id, closed_on=body.closed_on, reason=body.reason)
    return await command(
        request,
        principal,
        domain.vacancy,
        domain.vacancy_stream(vacancy_id),
        lambda s: domain.close_vacancy(s, closed),
        agency=principal.agency,
        project=access.project_of(principal.agency),
        route=f"close:{vacancy_id}",
        payload=body.model_dump(mode="json"),
        result={"vacancy_id": str(vacancy_id), "status": "closed"},
        idempotency_key=idempotency_key,
        if_match=if_match,
    )


@router.get("/vacancies")
async def list_vacancies(
    request: Request,
    principal: CurrentPrincipal,
    status: Literal["open", "closed", "all"] = "open",
    employer_id: UUID | None = None,
) -> list[dict[str, Any]]:
    """Vacancies of the caller's agency and its project partners."""
    access.require(principal, access.READ_ROLES)
    rows = await pool(request).fetch(
        "SELECT v.*, e.company, e.offers_adapted_workplaces, e.offers_work_trials"
        " FROM vacancies v JOIN employers e USING (employer_id)"
        " WHERE v.agency = ANY($1::text[]) AND ($2 = 'all' OR v.status = $2)"
        " AND ($3::uuid IS NULL OR v.employer_id = $3) ORDER BY v.recorded_on, v.vacancy_id",
        sorted(access.partners(principal.agency)),
        status,
        employer_id,
    )
    return [queries.vacancy_json(r) for r in rows]


async def _readable_vacancy(request: Request, principal: Principal, vacancy_id: UUID) -> Any:
    access.require(principal, access.READ_ROLES)
    row = await queries.vacancy_row(pool(request), vacancy_id)
    if row is None:
        raise NotFound("no such vacancy")
    if not access.can_read_agency_record(principal, row["agency"]):
        raise Forbidden(f"the vacancy belongs to {row['agency']}")
    return row


@router.get("/vacancies/{vacancy_id}")
async def get_vacancy(vacancy_id: UUID, request: Request, principal: CurrentPrincipal) -> dict[str, Any]:
    row = await _readable_vacancy(request, principal, vacancy_id)
    loaded = await current(request, domain.vacancy, domain.vacancy_stream(vacancy_id))
    return queries.vacancy_json(row) | {"version": loaded.version}


@router.get("/vacancies/{vacancy_id}/candidates")
async def rank_candidates_for_vacancy(
    vacancy_id: UUID,
    request: Request,
    principal: CurrentPrincipal,
    limit: Annotated[int, Query(ge=1, le=200)] = 20,
    today: Today = None,
) -> dict[str, Any]:
    """Candidates the caller may see, best fit first, each with the reasons for its score."""
    row = await _readable_vacancy(request, principal, vacancy_id)
    p = pool(request)
    candidates = await queries.visible_candidates(p, principal, today_or(today))
    ranked = queries.rank_candidates(row, candidates, await queries.proposed_pairs(p), limit)
    return {"vacancy": queries.vacancy_json(row), "candidates": ranked}


# --- production orders -----------------------------------------------------------------------


@router.post("/production-orders", status_code=201)
async def accept_order(
    body: OrderIn, request: Request, principal: CurrentPrincipal, idempotency_key: http.IdempotencyKey = None
) -> JSONResponse:
    """An order taken on for the Produktionswerkstatt."""
    access.require(principal, access.EMPLOYER_ROLES)
    employer = await _own_employer(request, principal, body.employer_id)
    order_id = new_id()
    accepted = ProductionOrderAccepted(order_id=order_id, agency=principal.agency, **body.model_dump())
    return await command(
        request,
        principal,
        domain.production_order,
        domain.order_stream(order_id),
        lambda s: domain.accept_order(s, employer, accepted),
        agency=principal.agency,
        project=access.project_of(principal.agency),
        route="production-orders",
        payload=body.model_dump(mode="json"),
        result={"order_id": str(order_id)},
        idempotency_key=idempotency_key,
        if_match=None,
        status_code=201,
    )


@router.post("/production-orders/{order_id}/complete")
async def complete_order(
    order_id: UUID,
    body: OrderCompleteIn,
    request: Request,
    principal: CurrentPrincipal,
    idempotency_key: http.IdempotencyKey = None,
    if_match: http.IfMatch = None,
) -> JSONResponse:
    access.require(principal, access.EMPLOYER_ROLES)
    loaded = await current(request, domain.production_order, domain.order_stream(order_id))
    if loaded.version == 0:
        raise NotFound("no such production order")
    if loaded.state.agency != principal.agency:
        raise Forbidden(f"the order belongs to {loaded.state.agency}")
    completed = ProductionOrderCompleted(order_id=order_id, **body.model_dump())
    return await command(
        request,
        principal,
        domain.production_order,
        domain.order_stream(order_id),
        lambda s: domain.complete_order(s, completed),
        agency=principal.agency,
        project=access.project_of(principal.agency),
        route=f"complete:{order_id}",
        payload=body.model_dump(mode="json"),
        result={"order_id": str(order_id), "status": "completed"},
        idempotency_key=idempotency_key,
        if_match=if_match,
    )


@router.get("/production-orders")
async def list_orders(
    request: Request, principal: CurrentPrincipal, status: Literal["accepted", "completed", "all"] = "accepted"
) -> list[dict[str, Any]]:
    access.require(principal, access.READ_ROLES)
    rows = await pool(request).fetch(
        "SELECT o.*, e.company FROM production_orders o JOIN employers e USING (employer_id)"
        " WHERE o.agency = $1 AND ($2 = 'all' OR o.status = $2) ORDER BY o.due_on NULLS LAST, o.order_id",
        principal.agency,
        status,
    )
    return queries.rows_json(list(rows))
