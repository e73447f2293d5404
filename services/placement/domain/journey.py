"""The candidate journey: one stream per participant in placement.

Pure: each command function takes the folded state (and facts the caller looked up, such as
the vacancy a proposal is for) and returns the new events or raises a DomainError.
The candidate stream holds everything about one participant in placement (pool membership,
proposals, work trials, employments, aftercare, follow-ups), so consent rules are checked in
one place: no proposal, trial or adaptation request without an active pool entry.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import date
from uuid import UUID

from services.placement.domain.employers import Employer, require_employer
from services.placement.domain.vacancies import Vacancy
from shared.contracts.base import DomainEvent
from shared.contracts.common import CapacityProfile, EmploymentType
from shared.contracts.placement import (
    AftercareEnded,
    AftercareStarted,
    CandidateProfilePublished,
    CandidateProfileWithdrawn,
    CandidateProposed,
    EmploymentEnded,
    EmploymentStarted,
    EmploymentStatusVerified,
    ProposalDeclined,
    WageSubsidyGranted,
    WithdrawalReason,
    WorkplaceAdaptationRequested,
    WorkTrialAborted,
    WorkTrialCompleted,
    WorkTrialStarted,
)
from shared.domain import Decider, DomainError, InvalidTransition, NotFound
from shared.evolvers import Evolver
from shared.followups import check_follow_up
from shared.guards import found, not_before

SUBSIDY_MAX_MONTHS = {"16e": 24, "16i": 60}


@dataclass(frozen=True)
class Proposal:
    vacancy_id: UUID
    employer_id: UUID
    status: str = "open"  # open → trial | employed | declined | void


@dataclass(frozen=True)
class Trial:
    employer_id: UUID
    vacancy_id: UUID | None
    started_on: date
    status: str = "running"  # running → completed | aborted


@dataclass(frozen=True)
class Employment:
    employer_id: UUID | None
    type: EmploymentType
    started_on: date
    ended_on: date | None = None
    aftercare: str = "none"  # none → running → ended
    verified: frozenset[int] = frozenset()


@dataclass(frozen=True)
class Candidate:
    participant_id: UUID | None = None
    agency: str = ""
    project: str = ""
    status: str = "none"  # none → active ⇄ withdrawn; → erased (final)
    profile: CapacityProfile | None = None
    proposals: dict[UUID, Proposal] = field(default_factory=dict)
    trials: dict[UUID, Trial] = field(default_factory=dict)
    employments: dict[UUID, Employment] = field(default_factory=dict)

    @property
    def open_proposals(self) -> list[UUID]:
        return [pid for pid, p in self.proposals.items() if p.status == "open"]


evolve_candidate = Evolver[Candidate]()
"""How a candidate takes each of its events (one small function per event class)."""

# Events that only move one work trial to a status.
TRIAL_STATUS: dict[type[DomainEvent], str] = {WorkTrialCompleted: "completed", WorkTrialAborted: "aborted"}

evolve_candidate.takes(CandidateProfilePublished, "participant_id", "agency", "project", "profile", status="active")


@evolve_candidate.on(CandidateProfileWithdrawn)
def _withdrawn(state: Candidate, e: CandidateProfileWithdrawn) -> Candidate:
    voided = {p: replace(state.proposals[p], status="void") for p in e.voided_proposals}
    return replace(
        state,
        status="erased" if e.reason == "data-erased" else "withdrawn",
        profile=None,
        proposals={**state.proposals, **voided},
    )


@evolve_candidate.on(CandidateProposed)
def _proposed(state: Candidate, e: CandidateProposed) -> Candidate:
    return replace(state, proposals={**state.proposals, e.proposal_id: Proposal(e.vacancy_id, e.employer_id)})


@evolve_candidate.on(ProposalDeclined)
def _declined(state: Candidate, e: ProposalDeclined) -> Candidate:
    declined = replace(state.proposals[e.proposal_id], status="declined")
    return replace(state, proposals={**state.proposals, e.proposal_id: declined})


@evolve_candidate.on(WorkTrialStarted)
def _trial_started(state: Candidate, e: WorkTrialStarted) -> Candidate:
    trial = Trial(e.employer_id, e.vacancy_id, e.started_on)
    return replace(
        state, trials={**state.trials, e.trial_id: trial}, proposals=_advance(state.proposals, e.vacancy_id, "trial")
    )


@evolve_candidate.on(*TRIAL_STATUS)
def _trial_ended(state: Candidate, e: WorkTrialCompleted | WorkTrialAborted) -> Candidate:
    ended = replace(state.trials[e.trial_id], status=TRIAL_STATUS[type(e)])
    return replace(state, trials={**state.trials, e.trial_id: ended})


@evolve_candidate.on(EmploymentStarted)
def _employment_started(state: Candidate, e: EmploymentStarted) -> Candidate:
    """The job's proposals at that employer (open or in a trial) count as employed."""
    job = Employment(e.employer_id, e.type, e.started_on)
    proposals = state.proposals
    if e.employer_id is not None:
        proposals = {
            k: replace(p, status="employed") if p.employer_id == e.employer_id and p.status in ("open", "trial") else p
            for k, p in proposals.items()
        }
    return replace(state, employments={**state.employments, e.employment_id: job}, proposals=proposals)


@evolve_candidate.on(EmploymentEnded)
def _employment_ended(state: Candidate, e: EmploymentEnded) -> Candidate:
    return _job(state, e.employment_id, ended_on=e.ended_on)


@evolve_candidate.on(AftercareStarted, AftercareEnded)
def _aftercare(state: Candidate, e: AftercareStarted | AftercareEnded) -> Candidate:
    return _job(state, e.employment_id, aftercare="running" if isinstance(e, AftercareStarted) else "ended")


@evolve_candidate.on(EmploymentStatusVerified)
def _verified(state: Candidate, e: EmploymentStatusVerified) -> Candidate:
    job = state.employments[e.employment_id]
    return _job(state, e.employment_id, verified=job.verified | {e.months_after_start})


def _advance(proposals: dict[UUID, Proposal], vacancy_id: UUID | None, status: str) -> dict[UUID, Proposal]:
    if vacancy_id is None:
        return proposals
    return {
        k: replace(p, status=status) if p.vacancy_id == vacancy_id and p.status == "open" else p
        for k, p in proposals.items()
    }


def _job(state: Candidate, employment_id: UUID, **changes: object) -> Candidate:
    job = replace(state.employments[employment_id], **changes)  # type: ignore[arg-type]
    return replace(state, employments={**state.employments, employment_id: job})


candidate = Decider[Candidate](stream_type="candidate", initial=Candidate, evolve=evolve_candidate)


def candidate_stream(participant_id: UUID) -> str:
    return f"candidate-{participant_id}"


# Pool membership: decided by the consent policy, never by a person.


def publish(state: Candidate, published: CandidateProfilePublished) -> list[DomainEvent]:
    """Publish (or republish a changed profile). A no-op when nothing changed; never after erasure."""
    if state.status == "erased":
        return []
    if state.status == "active" and state.profile == published.profile and state.agency == published.agency:
        return []
    return [published]


def withdraw(state: Candidate, reason: WithdrawalReason, on: date) -> list[DomainEvent]:
    """Take the candidate out of the pool; open proposals become void. Erasure is also
    recorded for a candidate already withdrawn, so every projection forgets the person."""
    if state.participant_id is None or state.status == "erased":
        return []
    if state.status == "withdrawn" and reason != "data-erased":
        return []
    return [
        CandidateProfileWithdrawn(
            participant_id=state.participant_id, withdrawn_on=on, reason=reason, voided_proposals=state.open_proposals
        )
    ]


def _known(state: Candidate) -> Candidate:
    if state.participant_id is None or state.status in ("none", "erased"):
        raise NotFound("no such candidate", field="participant_id")
    return state


def _in_pool(state: Candidate) -> Candidate:
    _known(state)
    if state.status != "active":
        raise InvalidTransition(
            "the candidate is not in the pool (no active employer-disclosure consent)", field="participant_id"
        )
    return state


def propose(state: Candidate, to: Vacancy, proposed: CandidateProposed) -> list[DomainEvent]:
    _in_pool(state)
    if to.status != "open":
        raise InvalidTransition("the vacancy is not open", field="vacancy_id")
    if any(p.vacancy_id == to.vacancy_id and p.status in ("open", "trial") for p in state.proposals.values()):
        raise InvalidTransition("the candidate is already proposed for this vacancy", field="vacancy_id")
    return [proposed]


def decline_proposal(state: Candidate, declined: ProposalDeclined) -> list[DomainEvent]:
    _known(state)
    p = found(state.proposals, declined.proposal_id, what="proposal", field="proposal_id")
    if p.status != "open":
        raise InvalidTransition(f"the proposal is {p.status}, not open", field="proposal_id")
    return [declined]


def start_trial(state: Candidate, at: Employer, started: WorkTrialStarted) -> list[DomainEvent]:
    _in_pool(state)
    require_employer(at)
    if any(t.status == "running" for t in state.trials.values()):
        raise InvalidTransition("a work trial is already running for this candidate")
    not_before(
        started.planned_end, started.started_on, "the planned end cannot be before the start", field="planned_end"
    )
    return [started]


def _running_trial(state: Candidate, trial_id: UUID, on: date, field_name: str) -> Trial:
    _known(state)
    t = found(state.trials, trial_id, what="work trial", field="trial_id")
    if t.status != "running":
        raise InvalidTransition(f"the work trial is {t.status}")
    not_before(on, t.started_on, "cannot end before the work trial started", field=field_name)
    return t


def complete_trial(state: Candidate, completed: WorkTrialCompleted) -> list[DomainEvent]:
    _running_trial(state, completed.trial_id, completed.completed_on, "completed_on")
    return [completed]


def abort_trial(state: Candidate, aborted: WorkTrialAborted) -> list[DomainEvent]:
    _running_trial(state, aborted.trial_id, aborted.aborted_on, "aborted_on")
    return [aborted]


def request_adaptation(state: Candidate, at: Employer, requested: WorkplaceAdaptationRequested) -> list[DomainEvent]:
    _in_pool(state)  # the request tells the employer what the person needs
    require_employer(at)
    return [requested]


def start_employment(state: Candidate, started: EmploymentStarted) -> list[DomainEvent]:
    """A job can be recorded for anyone placement knows (also after consent was withdrawn:
    the job is a fact casework and reporting need), never after erasure."""
    _known(state)
    if started.employment_id in state.employments:
        raise InvalidTransition("this employment was already recorded")
    if started.fully_qualifying and started.type != EmploymentType.VOCATIONAL_TRAINING:
        raise DomainError("only vocational training can be fully qualifying", field="fully_qualifying")
    return [started]


def _employment(state: Candidate, employment_id: UUID) -> Employment:
    _known(state)
    return found(state.employments, employment_id, what="employment", field="employment_id")


def end_employment(state: Candidate, ended: EmploymentEnded) -> list[DomainEvent]:
    job = _employment(state, ended.employment_id)
    if job.ended_on is not None:
        raise InvalidTransition("the employment has already ended")
    not_before(ended.ended_on, job.started_on, "the end cannot be before the start", field="ended_on")
    return [ended]


def grant_subsidy(state: Candidate, granted: WageSubsidyGranted) -> list[DomainEvent]:
    job = _employment(state, granted.employment_id)
    if job.type != EmploymentType.SOCIAL_INSURANCE:
        raise DomainError("wage subsidies (§ 16e / § 16i) are for employment subject to social insurance")
    if job.ended_on is not None:
        raise InvalidTransition("the employment has ended")
    limit = SUBSIDY_MAX_MONTHS[granted.instrument]
    if granted.months > limit:
        raise DomainError(f"§ {granted.instrument} SGB II allows at most {limit} months", field="months")
    return [granted]


def start_aftercare(state: Candidate, started: AftercareStarted) -> list[DomainEvent]:
    job = _employment(state, started.employment_id)
    if job.aftercare != "none":
        raise InvalidTransition(f"aftercare is already {job.aftercare} for this employment")
    if started.started_on < job.started_on:
        raise DomainError("aftercare cannot start before the employment", field="started_on")
    return [started]


def end_aftercare(state: Candidate, ended: AftercareEnded) -> list[DomainEvent]:
    job = _employment(state, ended.employment_id)
    if job.aftercare != "running":
        raise InvalidTransition("no aftercare is running for this employment")
    return [ended]


def verify_status(state: Candidate, verified: EmploymentStatusVerified) -> list[DomainEvent]:
    job = _employment(state, verified.employment_id)
    check_follow_up(job.started_on, verified.months_after_start, verified.verified_on, job.verified)
    return [verified]
