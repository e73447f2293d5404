"""Goals, the cooperation plan (Kooperationsplan) and interventions."""

from __future__ import annotations

from datetime import date
from uuid import UUID

from services.casework.domain.state import (
    GOALS,
    Case,
    Intervention,
    require_active,
)
from shared.contracts import casework as contract
from shared.contracts.base import DomainEvent
from shared.contracts.common import InterventionCategory
from shared.domain import InvalidTransition
from shared.guards import found, not_before

# ---------------------------------------------------------------- goals and plan


def set_goal(state: Case, goal_id: UUID, on: date, target_date: date | None, sealed_text: str) -> list[DomainEvent]:
    cid = require_active(state)
    not_before(target_date, on, "the target date cannot be before the goal is set", field="target_date")
    return [contract.GoalSet(case_id=cid, goal_id=goal_id, set_on=on, target_date=target_date, sealed_text=sealed_text)]


def revise_goal(state: Case, goal_id: UUID, on: date, target_date: date | None, sealed_text: str) -> list[DomainEvent]:
    cid = GOALS.require(state, goal_id, "open")
    return [
        contract.GoalRevised(
            case_id=cid, goal_id=goal_id, revised_on=on, target_date=target_date, sealed_text=sealed_text
        )
    ]


def achieve_goal(state: Case, goal_id: UUID, on: date) -> list[DomainEvent]:
    return [contract.GoalAchieved(case_id=GOALS.require(state, goal_id, "open"), goal_id=goal_id, achieved_on=on)]


def drop_goal(state: Case, goal_id: UUID, on: date, sealed_reason: str) -> list[DomainEvent]:
    cid = GOALS.require(state, goal_id, "open")
    return [contract.GoalDropped(case_id=cid, goal_id=goal_id, dropped_on=on, sealed_reason=sealed_reason)]


def update_plan(
    state: Case, on: date, review_on: date | None, participant_agreed: bool, sealed_steps: str
) -> list[DomainEvent]:
    """Kooperationsplan: a new version each time; not binding, so nothing else follows from it."""
    cid = require_active(state)
    not_before(review_on, on, "the review cannot be before the update", field="review_on")
    return [
        contract.CooperationPlanUpdated(
            case_id=cid,
            updated_on=on,
            plan_version=state.plan_version + 1,
            review_on=review_on,
            participant_agreed=participant_agreed,
            sealed_steps=sealed_steps,
        )
    ]


# ---------------------------------------------------------------- interventions


def plan_intervention(
    state: Case,
    intervention_id: UUID,
    category: InterventionCategory,
    sealed_provider: str,
    planned_start: date,
    planned_end: date | None,
    cost_eur: float | None,
    sealed_details: str,
) -> list[DomainEvent]:
    cid = require_active(state)
    not_before(planned_end, planned_start, "the end cannot be before the start", field="planned_end")
    return [
        contract.InterventionPlanned(
            case_id=cid,
            intervention_id=intervention_id,
            category=category,
            sealed_provider=sealed_provider,
            planned_start=planned_start,
            planned_end=planned_end,
            cost_eur=cost_eur,
            sealed_details=sealed_details,
        )
    ]


def _intervention(state: Case, intervention_id: UUID, *allowed: str) -> tuple[UUID, Intervention]:
    cid = require_active(state)
    iv = found(state.interventions, intervention_id, what="intervention", field="intervention_id")
    if iv.status not in allowed:
        raise InvalidTransition(f"the intervention is {iv.status}", field="intervention_id")
    return cid, iv


def start_intervention(state: Case, intervention_id: UUID, on: date) -> list[DomainEvent]:
    cid, iv = _intervention(state, intervention_id, "planned")
    return [
        contract.InterventionStarted(case_id=cid, intervention_id=intervention_id, category=iv.category, started_on=on)
    ]


def complete_intervention(state: Case, intervention_id: UUID, on: date, cost_eur: float | None) -> list[DomainEvent]:
    cid, iv = _intervention(state, intervention_id, "started")
    return [
        contract.InterventionCompleted(
            case_id=cid, intervention_id=intervention_id, category=iv.category, completed_on=on, cost_eur=cost_eur
        )
    ]


def abort_intervention(state: Case, intervention_id: UUID, on: date, sealed_reason: str) -> list[DomainEvent]:
    cid, iv = _intervention(state, intervention_id, "planned", "started")
    return [
        contract.InterventionAborted(
            case_id=cid,
            intervention_id=intervention_id,
            category=iv.category,
            aborted_on=on,
            sealed_reason=sealed_reason,
        )
    ]
