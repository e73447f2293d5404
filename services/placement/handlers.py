"""One handler per placement command: load -> authorise (access) -> decide (domain) -> append.

Each aggregate a command needs is loaded once, and the access rules run on that state.
Ports: ``keys`` (per-employer keys sealing contact data), ``offers`` (a vacancy as the
board projection knows it, for the match score of a proposal), ``enrolments`` (who is
enrolled, for the Produktionswerkstatt's orders) and ``projects`` (every project's members as
casework configured them: who are partners).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping, Sequence
from functools import partial
from typing import Any, Protocol, TypeVar
from uuid import UUID

from services.placement import access, domain
from services.placement.commands import (
    AbortWorkTrial,
    AcceptOrder,
    AcquireEmployer,
    AssignToOrder,
    CloseVacancy,
    CompleteOrder,
    CompleteWorkTrial,
    DeclineProposal,
    EndAftercare,
    EndEmployment,
    EraseContactData,
    GrantWageSubsidy,
    LogContact,
    ProposeCandidate,
    RecordFollowUp,
    RecordOrderAttendance,
    RecordVacancy,
    ReleaseFromOrder,
    RequestAdaptation,
    StartAftercare,
    StartEmployment,
    StartWorkTrial,
)
from services.placement.domain.matching import JobOffer, match
from services.placement.domain.workshop import Enrolled
from shared.bus import Command, Context, Result
from shared.contracts import placement as contract
from shared.contracts.base import DomainEvent
from shared.domain import Decider, DomainError
from shared.envelope import new_id
from shared.unit_of_work import Loaded, UnitOfWork
from shared.vocabulary import memberships

S = TypeVar("S")


class KeyStore(Protocol):
    """Per-subject keys: contact persons and notes are sealed under the employer's key;
    destroying it erases them without touching history."""

    async def seal(self, subject_id: str, value: Any, uow: UnitOfWork) -> str: ...

    async def open(self, subject_id: str, token: str) -> Any: ...

    async def erase(self, subject_id: str, uow: UnitOfWork) -> None: ...


class Enrolments(Protocol):
    """Who is enrolled (intake's enrolments, kept by the ``workshop`` projection), or None."""

    async def enrolled(self, participant_id: UUID, uow: UnitOfWork) -> Enrolled | None: ...


class Projects(Protocol):
    """Every project's members as casework configured them (the ``projects`` projection)."""

    async def memberships(self, uow: UnitOfWork) -> Mapping[str, tuple[str, ...]]: ...


async def _memberships(uow: UnitOfWork, projects: Projects | None) -> Mapping[str, tuple[str, ...]]:
    """The configured memberships; without the projection wired in (unit tests) the closed list's."""
    return memberships({}) if projects is None else await projects.memberships(uow)


class VacancyOffers(Protocol):
    """What the match looks at for a vacancy (from the board), or None if not projected yet."""

    async def offer(self, vacancy_id: UUID, uow: UnitOfWork) -> JobOffer | None: ...


async def _append(
    uow: UnitOfWork,
    ctx: Context,
    loaded: Loaded[Any],
    events: Sequence[DomainEvent],
    body: dict[str, Any],
    *,
    agency: str,
    project: str | None,
    if_match: bool = True,
) -> Result:
    """Append and answer with the body plus the stream's new version. Commands that create a
    stream ignore If-Match (as they always did)."""
    sealed = await uow.append(
        loaded,
        events,
        ctx.metadata(agency=agency, project=project),
        expected_version=ctx.expected_version if if_match else None,
    )
    version = sealed[-1].version if sealed else loaded.version
    return Result(loaded.stream_id, version, {**body, "version": version})


async def _agency_append(
    uow: UnitOfWork,
    ctx: Context,
    loaded: Loaded[Any],
    events: Sequence[DomainEvent],
    body: dict[str, Any],
    projects: Projects | None,
    **kw: Any,
) -> Result:
    """Employer-side records carry the caller's agency and its project (as configured)."""
    agency = ctx.principal.agency
    project = access.project_of(agency, await _memberships(uow, projects))
    return await _append(uow, ctx, loaded, events, body, agency=agency, project=project, **kw)


async def _employer_side(uow: UnitOfWork, ctx: Context, decider: Decider[S], stream_id: str) -> Loaded[S]:
    """An employer, vacancy or order stream: only the roles that look after employers load one."""
    access.require_role(ctx.principal, access.EMPLOYER_ROLES)
    return await uow.load(decider, stream_id)


async def _new_for_employer(
    uow: UnitOfWork,
    ctx: Context,
    employer_id: UUID,
    decider: Decider[S],
    stream_id: str,
    decide: Callable[[S, domain.Employer], Sequence[DomainEvent]],
    body: dict[str, Any],
    projects: Projects | None,
) -> Result:
    """A new vacancy or order: recorded under the caller's own employer, in a new stream."""
    of = await _employer_side(uow, ctx, domain.employer, domain.employer_stream(employer_id))
    employer = access.own_employer(ctx.principal, of.state)
    return await _new_stream(uow, ctx, decider, stream_id, lambda state: decide(state, employer), body, projects)


async def _new_stream(
    uow: UnitOfWork,
    ctx: Context,
    decider: Decider[S],
    stream_id: str,
    decide: Callable[[S], Sequence[DomainEvent]],
    body: dict[str, Any],
    projects: Projects | None,
) -> Result:
    """Decide on a stream that does not exist yet and append under the caller's agency (a new
    stream ignores If-Match, as it always did)."""
    loaded = Loaded.new(decider, stream_id)
    return await _agency_append(uow, ctx, loaded, decide(loaded.state), body, projects, if_match=False)


# --- employers -------------------------------------------------------------------------------


async def acquire_employer(
    cmd: AcquireEmployer, uow: UnitOfWork, ctx: Context, *, keys: KeyStore, projects: Projects | None = None
) -> Result:
    """A company won for the project; contact persons are sealed under its own key."""
    access.require_role(ctx.principal, access.EMPLOYER_ROLES)
    employer_id = new_id()
    sealed = await keys.seal(str(employer_id), [p.model_dump() for p in cmd.contact_persons], uow)
    acquired = contract.EmployerAcquired(
        employer_id=employer_id,
        agency=ctx.principal.agency,
        sealed_contacts=sealed,
        **cmd.model_dump(exclude={"contact_persons"}),
    )
    decide = partial(domain.acquire_employer, acquired=acquired)
    stream_id = domain.employer_stream(employer_id)
    return await _new_stream(uow, ctx, domain.employer, stream_id, decide, {"employer_id": str(employer_id)}, projects)


async def log_contact(
    cmd: LogContact, uow: UnitOfWork, ctx: Context, *, keys: KeyStore, projects: Projects | None = None
) -> Result:
    loaded = await _employer_side(uow, ctx, domain.employer, domain.employer_stream(cmd.employer_id))
    state = access.own_employer(ctx.principal, loaded.state)
    contact_id = new_id()
    sealed = await keys.seal(str(cmd.employer_id), cmd.notes, uow) if cmd.notes else ""
    logged = contract.EmployerContactLogged(
        contact_id=contact_id, sealed_notes=sealed, **cmd.model_dump(exclude={"notes"})
    )
    events = domain.log_contact(state, logged)
    body = {"employer_id": str(cmd.employer_id), "contact_id": str(contact_id)}
    return await _agency_append(uow, ctx, loaded, events, body, projects)


async def erase_contact_data(
    cmd: EraseContactData, uow: UnitOfWork, ctx: Context, *, keys: KeyStore, projects: Projects | None = None
) -> Result:
    """Destroy the employer's key: contact persons and notes become unreadable for good."""
    access.require_role(ctx.principal, access.ERASURE_ROLES)
    loaded = await uow.load(domain.employer, domain.employer_stream(cmd.employer_id))
    state = access.own_employer(ctx.principal, loaded.state)
    await keys.erase(str(cmd.employer_id), uow)  # with the event (in a transaction, both or neither)
    events = domain.erase_contacts(state, cmd.erased_on)
    body = {"employer_id": str(cmd.employer_id), "contacts_erased": True}
    return await _agency_append(uow, ctx, loaded, events, body, projects, if_match=False)


# --- vacancies and production orders ---------------------------------------------------------


async def record_vacancy(
    cmd: RecordVacancy, uow: UnitOfWork, ctx: Context, *, projects: Projects | None = None
) -> Result:
    vacancy_id = new_id()
    recorded = contract.VacancyRecorded(vacancy_id=vacancy_id, agency=ctx.principal.agency, **cmd.model_dump())
    decide = partial(domain.record_vacancy, recorded=recorded)
    stream_id = domain.vacancy_stream(vacancy_id)
    body = {"vacancy_id": str(vacancy_id)}
    return await _new_for_employer(uow, ctx, cmd.employer_id, domain.vacancy, stream_id, decide, body, projects)


async def close_vacancy(
    cmd: CloseVacancy, uow: UnitOfWork, ctx: Context, *, projects: Projects | None = None
) -> Result:
    loaded = await _employer_side(uow, ctx, domain.vacancy, domain.vacancy_stream(cmd.vacancy_id))
    events = domain.close_vacancy(
        access.own_vacancy(ctx.principal, loaded.state), contract.VacancyClosed(**cmd.model_dump())
    )
    return await _agency_append(
        uow, ctx, loaded, events, {"vacancy_id": str(cmd.vacancy_id), "status": "closed"}, projects
    )


async def accept_order(cmd: AcceptOrder, uow: UnitOfWork, ctx: Context, *, projects: Projects | None = None) -> Result:
    """An order taken on for the Produktionswerkstatt."""
    order_id = new_id()
    accepted = contract.ProductionOrderAccepted(order_id=order_id, agency=ctx.principal.agency, **cmd.model_dump())
    decide = partial(domain.accept_order, accepted=accepted)
    stream_id = domain.order_stream(order_id)
    body = {"order_id": str(order_id)}
    return await _new_for_employer(
        uow, ctx, cmd.employer_id, domain.production_order, stream_id, decide, body, projects
    )


async def complete_order(
    cmd: CompleteOrder, uow: UnitOfWork, ctx: Context, *, projects: Projects | None = None
) -> Result:
    loaded = await _employer_side(uow, ctx, domain.production_order, domain.order_stream(cmd.order_id))
    state = access.own_order(ctx.principal, loaded.state, loaded.exists)
    events = domain.complete_order(state, contract.ProductionOrderCompleted(**cmd.model_dump()))
    return await _agency_append(
        uow, ctx, loaded, events, {"order_id": str(cmd.order_id), "status": "completed"}, projects
    )


# --- candidate journey -----------------------------------------------------------------------


async def _candidate(uow: UnitOfWork, ctx: Context, participant_id: UUID) -> Loaded[domain.Candidate]:
    """The candidate's stream, if the caller may act for them."""
    loaded = await uow.load(domain.candidate, domain.candidate_stream(participant_id))
    access.act_for_candidate(ctx.principal, loaded.state)
    return loaded


async def _journey(
    uow: UnitOfWork,
    ctx: Context,
    loaded: Loaded[domain.Candidate],
    decide: Callable[[domain.Candidate], Sequence[DomainEvent]],
    body: dict[str, Any],
) -> Result:
    """Decide on the loaded journey and append under the case's agency and project."""
    state = loaded.state
    events = decide(state)
    assert state.participant_id is not None
    return await _append(
        uow, ctx, loaded, events, {"participant_id": str(state.participant_id), **body},
        agency=state.agency, project=state.project,
    )  # fmt: skip


class _ForCandidate(Protocol):
    @property
    def participant_id(self) -> UUID: ...

    def model_dump(self, *, mode: str = ..., include: set[str] | None = ...) -> dict[str, Any]: ...


C = TypeVar("C", bound=_ForCandidate)
E = TypeVar("E", bound=DomainEvent)


def _journey_step(
    command: type[C],
    event: type[E],
    decide: Callable[[domain.Candidate, E], Sequence[DomainEvent]],
    *named: str,
    **fixed: object,
) -> Callable[[C, UnitOfWork, Context], Awaitable[Result]]:
    """The handler of a journey command that only states its event: the candidate's stream (if
    the caller may act for them), the event from the command's fields, the decision on the
    journey; the answer names the command's fields ``named`` (as JSON) and the ``fixed`` ones."""
    answered = set(named)

    async def handle(cmd: C, uow: UnitOfWork, ctx: Context) -> Result:
        loaded = await _candidate(uow, ctx, cmd.participant_id)
        happened = event(**cmd.model_dump())
        answer = {**cmd.model_dump(mode="json", include=answered), **fixed}
        return await _journey(uow, ctx, loaded, lambda state: decide(state, happened), answer)

    handle.__name__ = handle.__qualname__ = f"handle_{command.__name__}"
    return handle


async def _employer(uow: UnitOfWork, ctx: Context, employer_id: UUID, projects: Projects | None) -> domain.Employer:
    state = (await uow.load(domain.employer, domain.employer_stream(employer_id))).state
    return access.partner_employer(ctx.principal, state, await _memberships(uow, projects))


async def _vacancy(uow: UnitOfWork, ctx: Context, vacancy_id: UUID, projects: Projects | None) -> domain.Vacancy:
    state = (await uow.load(domain.vacancy, domain.vacancy_stream(vacancy_id))).state
    return access.partner_vacancy(ctx.principal, state, await _memberships(uow, projects))


async def propose(
    cmd: ProposeCandidate, uow: UnitOfWork, ctx: Context, *, offers: VacancyOffers, projects: Projects | None = None
) -> Result:
    """Propose a candidate in the pool to an employer for an open vacancy."""
    loaded = await _candidate(uow, ctx, cmd.participant_id)
    vacancy = await _vacancy(uow, ctx, cmd.vacancy_id, projects)
    assert vacancy.employer_id is not None
    score = None
    offer = await offers.offer(cmd.vacancy_id, uow)
    if offer is not None and loaded.state.profile is not None:
        score = match(offer, loaded.state.profile).score
    proposal_id = new_id()
    proposed = contract.CandidateProposed(
        proposal_id=proposal_id, employer_id=vacancy.employer_id, match_score=score, **cmd.model_dump()
    )
    body = {"proposal_id": str(proposal_id), "match_score": score}
    return await _journey(uow, ctx, loaded, lambda s: domain.propose(s, vacancy, proposed), body)


async def start_trial(
    cmd: StartWorkTrial, uow: UnitOfWork, ctx: Context, *, projects: Projects | None = None
) -> Result:
    loaded = await _candidate(uow, ctx, cmd.participant_id)
    employer = await _employer(uow, ctx, cmd.employer_id, projects)
    if cmd.vacancy_id is not None:
        vacancy = await _vacancy(uow, ctx, cmd.vacancy_id, projects)
        if vacancy.employer_id != cmd.employer_id:
            raise DomainError("the vacancy is not one of this employer's", field="vacancy_id")
    trial_id = new_id()
    started = contract.WorkTrialStarted(trial_id=trial_id, **cmd.model_dump())
    body = {"trial_id": str(trial_id), "status": "running"}
    return await _journey(uow, ctx, loaded, lambda s: domain.start_trial(s, employer, started), body)


async def request_adaptation(
    cmd: RequestAdaptation, uow: UnitOfWork, ctx: Context, *, keys: KeyStore, projects: Projects | None = None
) -> Result:
    """What the person needs is sealed under placement's key for the participant."""
    loaded = await _candidate(uow, ctx, cmd.participant_id)
    employer = await _employer(uow, ctx, cmd.employer_id, projects)
    request_id = new_id()
    sealed = await keys.seal(str(cmd.participant_id), cmd.adaptation, uow)
    fields = cmd.model_dump(exclude={"adaptation"})
    requested = contract.WorkplaceAdaptationRequested(request_id=request_id, sealed_adaptation=sealed, **fields)
    body = {"request_id": str(request_id)}
    return await _journey(uow, ctx, loaded, lambda s: domain.request_adaptation(s, employer, requested), body)


async def start_employment(
    cmd: StartEmployment, uow: UnitOfWork, ctx: Context, *, projects: Projects | None = None
) -> Result:
    """A job started (casework sees it; reporting counts K2 integrations from it)."""
    loaded = await _candidate(uow, ctx, cmd.participant_id)
    if cmd.employer_id is not None:
        await _employer(uow, ctx, cmd.employer_id, projects)
    employment_id = new_id()
    started = contract.EmploymentStarted(
        employment_id=employment_id, agency=loaded.state.agency, project=loaded.state.project, **cmd.model_dump()
    )
    body = {"employment_id": str(employment_id)}
    return await _journey(uow, ctx, loaded, lambda s: domain.start_employment(s, started), body)


async def grant_subsidy(cmd: GrantWageSubsidy, uow: UnitOfWork, ctx: Context) -> Result:
    loaded = await _candidate(uow, ctx, cmd.participant_id)
    subsidy_id = new_id()
    granted = contract.WageSubsidyGranted(subsidy_id=subsidy_id, **cmd.model_dump())
    body = {"subsidy_id": str(subsidy_id)}
    return await _journey(uow, ctx, loaded, lambda s: domain.grant_subsidy(s, granted), body)


decline_proposal = _journey_step(
    DeclineProposal, contract.ProposalDeclined, domain.decline_proposal, "proposal_id", status="declined"
)
complete_trial = _journey_step(
    CompleteWorkTrial, contract.WorkTrialCompleted, domain.complete_trial, "trial_id", "outcome", status="completed"
)
abort_trial = _journey_step(AbortWorkTrial, contract.WorkTrialAborted, domain.abort_trial, "trial_id", status="aborted")
end_employment = _journey_step(
    EndEmployment, contract.EmploymentEnded, domain.end_employment, "employment_id", "ended_on"
)
start_aftercare = _journey_step(
    StartAftercare, contract.AftercareStarted, domain.start_aftercare, "employment_id", aftercare="running"
)
end_aftercare = _journey_step(
    EndAftercare, contract.AftercareEnded, domain.end_aftercare, "employment_id", aftercare="ended"
)
# the 6- or 12-month follow-up: still employed or not (sustainability)
record_follow_up = _journey_step(
    RecordFollowUp, contract.EmploymentStatusVerified, domain.verify_status, "employment_id", "months_after_start"
)


# --- the Produktionswerkstatt ------------------------------------------------------------------


async def _workshop_order(uow: UnitOfWork, ctx: Context, order_id: UUID) -> Loaded[domain.ProductionOrder]:
    """An order of the caller's agency, for the roles that run the workshop's days."""
    access.require_role(ctx.principal, access.JOURNEY_ROLES)
    loaded = await uow.load(domain.production_order, domain.order_stream(order_id))
    access.own_order(ctx.principal, loaded.state, loaded.exists)
    return loaded


def _on_order(order_id: UUID, participant_id: UUID, **extra: Any) -> dict[str, Any]:
    return {"order_id": str(order_id), "participant_id": str(participant_id), **extra}


async def assign_to_order(
    cmd: AssignToOrder, uow: UnitOfWork, ctx: Context, *, enrolments: Enrolments, projects: Projects | None = None
) -> Result:
    """An enrolled participant of the order's project joins it."""
    loaded = await _workshop_order(uow, ctx, cmd.order_id)
    enrolled = await enrolments.enrolled(cmd.participant_id, uow)
    who = access.order_participant(loaded.state.agency, enrolled, await _memberships(uow, projects))
    events = domain.workshop.assign(loaded.state, who, cmd.assigned_on)
    return await _agency_append(uow, ctx, loaded, events, _on_order(cmd.order_id, cmd.participant_id), projects)


async def record_order_attendance(
    cmd: RecordOrderAttendance, uow: UnitOfWork, ctx: Context, *, projects: Projects | None = None
) -> Result:
    loaded = await _workshop_order(uow, ctx, cmd.order_id)
    events = domain.workshop.record_day(loaded.state, cmd.participant_id, cmd.worked_on, cmd.attendance, cmd.hours)
    body = _on_order(cmd.order_id, cmd.participant_id, worked_on=cmd.worked_on.isoformat())
    return await _agency_append(uow, ctx, loaded, events, body, projects)


async def release_from_order(
    cmd: ReleaseFromOrder, uow: UnitOfWork, ctx: Context, *, projects: Projects | None = None
) -> Result:
    loaded = await _workshop_order(uow, ctx, cmd.order_id)
    events = domain.workshop.release(loaded.state, cmd.participant_id, cmd.released_on)
    return await _agency_append(uow, ctx, loaded, events, _on_order(cmd.order_id, cmd.participant_id), projects)


HANDLERS: dict[type[Command], Callable[..., Awaitable[Result]]] = {
    AcquireEmployer: acquire_employer,
    LogContact: log_contact,
    EraseContactData: erase_contact_data,
    RecordVacancy: record_vacancy,
    CloseVacancy: close_vacancy,
    AcceptOrder: accept_order,
    CompleteOrder: complete_order,
    ProposeCandidate: propose,
    DeclineProposal: decline_proposal,
    StartWorkTrial: start_trial,
    CompleteWorkTrial: complete_trial,
    AbortWorkTrial: abort_trial,
    RequestAdaptation: request_adaptation,
    StartEmployment: start_employment,
    EndEmployment: end_employment,
    GrantWageSubsidy: grant_subsidy,
    StartAftercare: start_aftercare,
    EndAftercare: end_aftercare,
    RecordFollowUp: record_follow_up,
    AssignToOrder: assign_to_order,
    RecordOrderAttendance: record_order_attendance,
    ReleaseFromOrder: release_from_order,
}
