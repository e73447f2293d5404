"""Employment the participant found without placement, recorded by the case manager, and its
6- and 12-month follow-ups by the one rule placement follows too (``shared.followups``).

One running job per case: while a job (placement's or a self-found one) runs, another is
refused, so the same job is not recorded twice on the case; reporting still drops a self-found
job that placement recorded as well (the two may reach it in either order).
"""

from __future__ import annotations

from datetime import date
from uuid import UUID

from services.casework.domain.state import Case, OwnJob, not_before, require_active, require_known
from shared.contracts.base import DomainEvent
from shared.contracts.casework import (
    EmploymentEndReason,
    SelfFoundEmploymentEnded,
    SelfFoundEmploymentRecorded,
    SelfFoundEmploymentVerified,
)
from shared.contracts.common import EmploymentType, ExitReason
from shared.contracts.placement import SubsidyInstrument
from shared.domain import DomainError, InvalidTransition
from shared.followups import check_follow_up
from shared.guards import found


def record(
    state: Case,
    employment_id: UUID,
    started_on: date,
    type: EmploymentType,
    hours_per_week: float,
    *,
    subsidy: SubsidyInstrument | None = None,
    fully_qualifying: bool = False,
) -> list[DomainEvent]:
    """Open or interrupted cases only; not before the case opened; one running job at a time."""
    cid = require_active(state)
    assert state.participant_id is not None
    not_before(started_on, state.opened_on, "started_on", "the case opening")
    if state.employment_id is not None:
        source = "recorded on the case" if state.employment_id in state.own_jobs else "reported by placement"
        raise InvalidTransition(
            f"a job {source} runs since {state.employed_since}: record its end first", field="employment_id"
        )
    if fully_qualifying and type is not EmploymentType.VOCATIONAL_TRAINING:
        raise DomainError("only vocational training can be fully qualifying", field="fully_qualifying")
    if subsidy is not None and type is not EmploymentType.SOCIAL_INSURANCE:
        raise DomainError(
            "wage subsidies (§ 16e / § 16i) are for employment subject to social insurance", field="subsidy"
        )
    return [
        SelfFoundEmploymentRecorded(
            case_id=cid,
            participant_id=state.participant_id,
            employment_id=employment_id,
            agency=state.agency,
            project=state.project,
            started_on=started_on,
            type=type,
            subsidy=subsidy,
            fully_qualifying=fully_qualifying,
            hours_per_week=hours_per_week,
        )
    ]


def _job(state: Case, employment_id: UUID) -> tuple[UUID, OwnJob]:
    """The case's id (= the participant's) and a self-found job of it; also after the exit
    (follow-ups come after it), never after participation consent was withdrawn (nothing new
    is recorded then)."""
    cid = require_known(state)
    if state.status == "exited" and state.exit_reason is ExitReason.CONSENT_WITHDRAWN:
        raise InvalidTransition("participation consent was withdrawn: the case takes no new content", field="consent")
    return cid, found(state.own_jobs, employment_id, what="self-found employment", field="employment_id")


def verify(
    state: Case, employment_id: UUID, months_after_start: int, verified_on: date, still_employed: bool
) -> list[DomainEvent]:
    """The 6- or 12-month follow-up, due and early-recordable exactly as placement's."""
    cid, job = _job(state, employment_id)
    check_follow_up(job.started_on, months_after_start, verified_on, job.verified)
    return [
        SelfFoundEmploymentVerified(
            case_id=cid,
            participant_id=cid,
            employment_id=employment_id,
            months_after_start=months_after_start,
            verified_on=verified_on,
            still_employed=still_employed,
        )
    ]


def end(state: Case, employment_id: UUID, ended_on: date, reason: EmploymentEndReason) -> list[DomainEvent]:
    cid, job = _job(state, employment_id)
    if job.ended_on is not None:
        raise InvalidTransition(f"the employment already ended on {job.ended_on}", field="employment_id")
    not_before(ended_on, job.started_on, "ended_on", "the start")
    return [
        SelfFoundEmploymentEnded(
            case_id=cid,
            participant_id=cid,
            employment_id=employment_id,
            ended_on=ended_on,
            reason=reason,
        )
    ]
