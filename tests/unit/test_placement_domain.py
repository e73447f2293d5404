"""The candidate journey decider: consent gates proposals and trials; follow-ups and jobs
follow their rules; withdrawal voids open proposals; erasure is final."""

from __future__ import annotations

from datetime import date
from uuid import UUID, uuid4

import pytest

from services.placement import domain
from shared.contracts.base import DomainEvent
from shared.contracts.common import CapacityProfile, EmploymentType, Level
from shared.contracts.placement import (
    CandidateProfilePublished,
    CandidateProposed,
    EmployerAcquired,
    EmploymentStarted,
    EmploymentStatusVerified,
    JobDemands,
    VacancyRecorded,
    WageSubsidyGranted,
    WorkTrialCompleted,
    WorkTrialStarted,
)
from shared.domain import DomainError, InvalidTransition, NotFound

PID = uuid4()
PROFILE = CapacityProfile(max_hours_per_week=30, lifting=Level.LIGHT, mental_load=Level.MODERATE)


def published(profile: CapacityProfile = PROFILE) -> CandidateProfilePublished:
    return CandidateProfilePublished(
        participant_id=PID, agency="jc-en", project="pro-aktiv", profile=profile, published_on=date(2026, 4, 1)
    )


def employer_state() -> tuple[UUID, domain.Employer]:
    eid = uuid4()
    acquired = EmployerAcquired(
        employer_id=eid,
        agency="jc-en",
        company="Hagener Metallbau GmbH",
        sector="metal",
        size="small",
        region="Hagen",
        acquired_on=date(2026, 3, 1),
    )
    return eid, domain.employer.fold(domain.acquire_employer(domain.employer.initial(), acquired))


def open_vacancy(employer_id: UUID) -> domain.Vacancy:
    recorded = VacancyRecorded(
        vacancy_id=uuid4(),
        employer_id=employer_id,
        agency="jc-en",
        title="Lagerhelfer",
        hours_per_week=25,
        demands=JobDemands(),
        recorded_on=date(2026, 4, 1),
    )
    emp = domain.Employer(employer_id=employer_id, agency="jc-en")
    return domain.vacancy.fold(domain.record_vacancy(domain.vacancy.initial(), emp, recorded))


def apply(state: domain.Candidate, events: list[DomainEvent]) -> domain.Candidate:
    for e in events:
        state = domain.evolve_candidate(state, e)
    return state


def active() -> domain.Candidate:
    return apply(domain.candidate.initial(), domain.publish(domain.candidate.initial(), published()))


def proposal(vacancy: domain.Vacancy) -> CandidateProposed:
    assert vacancy.vacancy_id is not None
    assert vacancy.employer_id is not None
    return CandidateProposed(
        proposal_id=uuid4(),
        participant_id=PID,
        vacancy_id=vacancy.vacancy_id,
        employer_id=vacancy.employer_id,
        proposed_on=date(2026, 4, 2),
    )


def test_republishing_an_unchanged_profile_is_a_no_op_but_a_change_is_published() -> None:
    state = active()
    assert domain.publish(state, published()) == []
    changed = PROFILE.model_copy(update={"max_hours_per_week": 20})
    assert len(domain.publish(state, published(changed))) == 1


def test_withdrawal_voids_open_proposals_and_blocks_new_ones() -> None:
    eid, _ = employer_state()
    vacancy = open_vacancy(eid)
    p = proposal(vacancy)
    state = apply(active(), domain.propose(active(), vacancy, p))
    [withdrawn] = domain.withdraw(state, "consent-withdrawn", date(2026, 4, 5))
    assert withdrawn.voided_proposals == [p.proposal_id]  # type: ignore[attr-defined]
    state = apply(state, [withdrawn])
    assert state.status == "withdrawn"
    assert state.profile is None
    assert state.proposals[p.proposal_id].status == "void"
    with pytest.raises(InvalidTransition) as err:
        domain.propose(state, vacancy, proposal(vacancy))
    assert err.value.field == "participant_id"
    assert domain.withdraw(state, "consent-withdrawn", date(2026, 4, 6)) == []  # once is enough


def test_a_candidate_is_proposed_once_per_vacancy_and_only_for_open_ones() -> None:
    eid, _ = employer_state()
    vacancy = open_vacancy(eid)
    state = apply(active(), domain.propose(active(), vacancy, proposal(vacancy)))
    with pytest.raises(InvalidTransition):
        domain.propose(state, vacancy, proposal(vacancy))
    closed = domain.Vacancy(vacancy.vacancy_id, vacancy.employer_id, "jc-en", "closed")
    with pytest.raises(InvalidTransition):
        domain.propose(active(), closed, proposal(vacancy))


def test_one_running_trial_at_a_time_and_completion_after_start() -> None:
    eid, emp = employer_state()
    tid = uuid4()
    started = WorkTrialStarted(trial_id=tid, participant_id=PID, employer_id=eid, started_on=date(2026, 5, 4))
    state = apply(active(), domain.start_trial(active(), emp, started))
    again = WorkTrialStarted(trial_id=uuid4(), participant_id=PID, employer_id=eid, started_on=date(2026, 5, 5))
    with pytest.raises(InvalidTransition):
        domain.start_trial(state, emp, again)
    early = WorkTrialCompleted(trial_id=tid, participant_id=PID, completed_on=date(2026, 5, 1), outcome="offer")
    with pytest.raises(DomainError) as err:
        domain.complete_trial(state, early)
    assert err.value.field == "completed_on"
    done = WorkTrialCompleted(trial_id=tid, participant_id=PID, completed_on=date(2026, 5, 29), outcome="offer")
    state = apply(state, domain.complete_trial(state, done))
    with pytest.raises(InvalidTransition):
        domain.complete_trial(state, done)


def employment(state: domain.Candidate, **kw: object) -> tuple[UUID, domain.Candidate]:
    eid = uuid4()
    started = EmploymentStarted(
        **(
            {
                "employment_id": eid,
                "participant_id": PID,
                "agency": "jc-en",
                "project": "pro-aktiv",
                "started_on": date(2026, 6, 1),
                "type": EmploymentType.SOCIAL_INSURANCE,
                "hours_per_week": 25,
            }
            | kw
        )
    )
    return eid, apply(state, domain.start_employment(state, started))


def test_employment_survives_withdrawal_but_not_erasure() -> None:
    state = apply(active(), domain.withdraw(active(), "participant-exited", date(2026, 5, 1)))
    _, state = employment(state)  # a job found after exit is still recorded
    erased = apply(state, domain.withdraw(state, "data-erased", date(2026, 7, 1)))
    assert erased.status == "erased"
    with pytest.raises(NotFound):
        employment(erased)


def test_only_vocational_training_is_fully_qualifying() -> None:
    with pytest.raises(DomainError) as err:
        employment(active(), type=EmploymentType.MINI_JOB, fully_qualifying=True)
    assert err.value.field == "fully_qualifying"
    employment(active(), type=EmploymentType.VOCATIONAL_TRAINING, fully_qualifying=True)


def test_follow_ups_at_6_and_12_months_each_once_and_not_too_early() -> None:
    eid, state = employment(active())

    def verify(months: int, on: date) -> EmploymentStatusVerified:
        return EmploymentStatusVerified(
            employment_id=eid, participant_id=PID, months_after_start=months, verified_on=on, still_employed=True
        )

    with pytest.raises(DomainError) as err:
        domain.verify_status(state, verify(6, date(2026, 9, 1)))
    assert err.value.field == "verified_on"
    state = apply(state, domain.verify_status(state, verify(6, date(2026, 11, 20))))  # within 14 days before
    with pytest.raises(InvalidTransition):
        domain.verify_status(state, verify(6, date(2026, 12, 3)))
    with pytest.raises(DomainError):
        domain.verify_status(state, verify(9, date(2027, 3, 1)))
    state = apply(state, domain.verify_status(state, verify(12, date(2027, 6, 1))))
    assert state.employments[eid].verified == frozenset({6, 12})


def test_wage_subsidy_limits() -> None:
    eid, state = employment(active())
    ok = WageSubsidyGranted(
        subsidy_id=uuid4(),
        participant_id=PID,
        employment_id=eid,
        instrument="16e",
        granted_on=date(2026, 6, 1),
        months=24,
        percent_first_year=75,
    )
    assert domain.grant_subsidy(state, ok) == [ok]
    with pytest.raises(DomainError) as err:
        domain.grant_subsidy(state, ok.model_copy(update={"months": 36}))
    assert err.value.field == "months"
    mini_id, mini = employment(active(), type=EmploymentType.MINI_JOB)
    with pytest.raises(DomainError):
        domain.grant_subsidy(mini, ok.model_copy(update={"employment_id": mini_id}))


def test_aftercare_once_per_employment() -> None:
    from shared.contracts.placement import AftercareEnded, AftercareStarted

    eid, state = employment(active())
    start = AftercareStarted(participant_id=PID, employment_id=eid, started_on=date(2026, 6, 1))
    state = apply(state, domain.start_aftercare(state, start))
    with pytest.raises(InvalidTransition):
        domain.start_aftercare(state, start)
    state = apply(
        state,
        domain.end_aftercare(state, AftercareEnded(participant_id=PID, employment_id=eid, ended_on=date(2026, 12, 1))),
    )
    assert state.employments[eid].aftercare == "ended"
