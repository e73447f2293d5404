"""The Produktionswerkstatt: enrolled participants on in-house production orders, their hours
and attendance per day (present, excused, absent; never a sanction). Pure; the events live on
the order's stream, so one order's rules (accepted, not yet completed, one record a day per
participant) are checked on one state.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import date
from types import MappingProxyType
from uuid import UUID

from services.placement.domain.vacancies import Assignment, ProductionOrder, evolve_order
from shared.contracts.base import DomainEvent
from shared.contracts.placement import (
    Attendance,
    ProductionOrderAttendanceRecorded,
    ProductionOrderParticipantAssigned,
    ProductionOrderParticipantReleased,
)
from shared.domain import DomainError, InvalidTransition, NotFound
from shared.guards import not_before

MAX_HOURS_A_DAY = 10.0


@dataclass(frozen=True)
class Enrolled:
    """What placement knows of an enrolled participant (intake's ParticipantEnrolled)."""

    participant_id: UUID
    agency: str
    project: str
    enrolled_on: date


def _put(order: ProductionOrder, participant_id: UUID, assignment: Assignment) -> ProductionOrder:
    return replace(order, assignments=MappingProxyType({**order.assignments, participant_id: assignment}))


@evolve_order.on(ProductionOrderParticipantAssigned)
def _assigned(state: ProductionOrder, e: ProductionOrderParticipantAssigned) -> ProductionOrder:
    return _put(state, e.participant_id, Assignment(e.agency, e.assigned_on))


@evolve_order.on(ProductionOrderAttendanceRecorded)
def _attended(state: ProductionOrder, e: ProductionOrderAttendanceRecorded) -> ProductionOrder:
    a = state.assignments[e.participant_id]
    return _put(state, e.participant_id, replace(a, days=a.days | {e.worked_on}))


@evolve_order.on(ProductionOrderParticipantReleased)
def _released(state: ProductionOrder, e: ProductionOrderParticipantReleased) -> ProductionOrder:
    return _put(state, e.participant_id, replace(state.assignments[e.participant_id], released_on=e.released_on))


def _open_order(state: ProductionOrder) -> UUID:
    if state.order_id is None:
        raise NotFound("no such production order", field="order_id")
    if state.status == "completed":
        raise InvalidTransition(f"the order was completed on {state.completed_on}", field="order_id")
    return state.order_id


def assign(state: ProductionOrder, who: Enrolled, assigned_on: date) -> list[DomainEvent]:
    """An enrolled participant joins an accepted order, not before the order or the enrolment;
    once at a time (after a release they may join again)."""
    order_id = _open_order(state)
    not_before(assigned_on, state.accepted_on, "cannot join before the order was accepted", field="assigned_on")
    not_before(assigned_on, who.enrolled_on, "cannot join before the enrolment", field="assigned_on")
    current = state.assignments.get(who.participant_id)
    if current is not None and current.released_on is None:
        raise InvalidTransition(
            f"the participant works on this order since {current.assigned_on}", field="participant_id"
        )
    return [
        ProductionOrderParticipantAssigned(
            order_id=order_id, participant_id=who.participant_id, agency=who.agency, assigned_on=assigned_on
        )
    ]


def _assignment(state: ProductionOrder, participant_id: UUID) -> Assignment:
    if state.order_id is None:
        raise NotFound("no such production order", field="order_id")
    assignment = state.assignments.get(participant_id)
    if assignment is None:
        raise InvalidTransition("the participant does not work on this order", field="participant_id")
    return assignment


def check_hours(attendance: Attendance, hours: float) -> None:
    """Hours belong to a day present (more than 0, at most 10); excused or absent has none."""
    if attendance == "present" and not 0 < hours <= MAX_HOURS_A_DAY:
        raise DomainError(f"a day present has more than 0 and at most {MAX_HOURS_A_DAY:g} hours", field="hours")
    if attendance != "present" and hours != 0:
        raise DomainError(f"a day {attendance} has no hours worked", field="hours")


def record_day(
    state: ProductionOrder, participant_id: UUID, worked_on: date, attendance: Attendance, hours: float
) -> list[DomainEvent]:
    """One record a day per participant, within the assignment and the order's run."""
    a = _assignment(state, participant_id)
    assert state.order_id is not None
    check_hours(attendance, hours)
    not_before(worked_on, a.assigned_on, "the day is before the participant joined the order", field="worked_on")
    if a.released_on is not None and worked_on > a.released_on:
        raise DomainError(f"the participant left the order on {a.released_on}", field="worked_on")
    if state.completed_on is not None and worked_on > state.completed_on:
        raise DomainError(f"the order was completed on {state.completed_on}", field="worked_on")
    if worked_on in a.days:
        raise InvalidTransition(f"{worked_on} was already recorded for this participant", field="worked_on")
    return [
        ProductionOrderAttendanceRecorded(
            order_id=state.order_id, participant_id=participant_id, worked_on=worked_on, attendance=attendance,
            hours=hours,
        )
    ]  # fmt: skip


def release(state: ProductionOrder, participant_id: UUID, released_on: date) -> list[DomainEvent]:
    a = _assignment(state, participant_id)
    assert state.order_id is not None
    if a.released_on is not None:
        raise InvalidTransition(f"the participant left the order on {a.released_on}", field="participant_id")
    last = max(a.days, default=a.assigned_on)
    not_before(released_on, last, "cannot leave before a recorded day", field="released_on")
    released = ProductionOrderParticipantReleased(
        order_id=state.order_id, participant_id=participant_id, released_on=released_on
    )
    return [released]
