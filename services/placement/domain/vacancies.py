"""Vacancies and production orders: what an employer offers, each on its own stream."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date
from types import MappingProxyType
from uuid import UUID

from services.placement.domain.employers import Employer, require_employer
from shared.contracts.base import DomainEvent
from shared.contracts.placement import (
    ProductionOrderAccepted,
    ProductionOrderCompleted,
    VacancyClosed,
    VacancyRecorded,
)
from shared.domain import Decider, Forbidden, InvalidTransition, NotFound
from shared.evolvers import Evolver
from shared.guards import not_before

# --- vacancy ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Vacancy:
    vacancy_id: UUID | None = None
    employer_id: UUID | None = None
    agency: str = ""
    status: str = "none"  # none → open → closed

    @property
    def exists(self) -> bool:
        return self.vacancy_id is not None


evolve_vacancy = Evolver[Vacancy]()


evolve_vacancy.takes(VacancyRecorded, "vacancy_id", "employer_id", "agency", status="open")
evolve_vacancy.sets(VacancyClosed, status="closed")


vacancy = Decider[Vacancy](stream_type="vacancy", initial=Vacancy, evolve=evolve_vacancy)


def vacancy_stream(vacancy_id: UUID) -> str:
    return f"vacancy-{vacancy_id}"


def record_vacancy(state: Vacancy, of: Employer, recorded: VacancyRecorded) -> list[DomainEvent]:
    require_employer(of)
    if state.exists:
        raise InvalidTransition("this vacancy was already recorded")
    if of.agency != recorded.agency:
        raise Forbidden("vacancies are recorded by the employer's agency", field="employer_id")
    return [recorded]


def close_vacancy(state: Vacancy, closed: VacancyClosed) -> list[DomainEvent]:
    if not state.exists:
        raise NotFound("no such vacancy")
    if state.status == "closed":
        raise InvalidTransition("the vacancy is already closed")
    return [closed]


# --- production order ------------------------------------------------------------------------


@dataclass(frozen=True)
class Assignment:
    """A participant on an order (``domain.workshop``): since when, until when, the days recorded."""

    agency: str
    assigned_on: date
    released_on: date | None = None
    days: frozenset[date] = frozenset()


@dataclass(frozen=True)
class ProductionOrder:
    order_id: UUID | None = None
    agency: str = ""
    accepted_on: date | None = None
    status: str = "none"  # none → accepted → completed
    completed_on: date | None = None
    assignments: Mapping[UUID, Assignment] = field(default_factory=lambda: MappingProxyType({}))


evolve_order = Evolver[ProductionOrder]()


evolve_order.takes(ProductionOrderAccepted, "order_id", "agency", "accepted_on", status="accepted")
evolve_order.takes(ProductionOrderCompleted, "completed_on", status="completed")


production_order = Decider[ProductionOrder](
    stream_type="production-order", initial=ProductionOrder, evolve=evolve_order
)


def order_stream(order_id: UUID) -> str:
    return f"production-order-{order_id}"


def accept_order(state: ProductionOrder, of: Employer, accepted: ProductionOrderAccepted) -> list[DomainEvent]:
    require_employer(of)
    if state.status != "none":
        raise InvalidTransition("this order was already accepted")
    not_before(accepted.due_on, accepted.accepted_on, "the due date cannot be before acceptance", field="due_on")
    return [accepted]


def complete_order(state: ProductionOrder, completed: ProductionOrderCompleted) -> list[DomainEvent]:
    if state.status == "none":
        raise NotFound("no such production order")
    if state.status == "completed":
        raise InvalidTransition("the order is already completed")
    assert state.accepted_on is not None
    not_before(
        completed.completed_on, state.accepted_on, "completion cannot be before acceptance", field="completed_on"
    )
    return [completed]
