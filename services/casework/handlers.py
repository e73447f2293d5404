"""One handler per casework command: load the case, authorise on it (access.py), seal the free
text, decide (domain), append. The bus runs each in a unit of work (idempotency keys, retries
of lost races); the ports (key store, consent look-ups) are bound by ``inject`` in app.py.

The case is loaded once per command: authorisation and the decision use the same state, and
the append after that version fails if the stream moved on (then the bus retries afresh).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, replace
from datetime import date
from typing import Any, Protocol
from uuid import UUID

from services.casework import access, domain
from services.casework.commands import (
    AbortIntervention,
    AchieveGoal,
    AddNote,
    AddTeamMember,
    AnswerRehabRequest,
    AssignCaseManager,
    CompleteAssessment,
    CompleteIntervention,
    ConfigureProject,
    DecideRehabApplication,
    DropGoal,
    EndEmployment,
    EndRehabMeasure,
    EnterPhase,
    ExitCase,
    FileRehabApplication,
    HandOverCase,
    InterruptParticipation,
    LogContact,
    PlanIntervention,
    ReceiveMedicalReport,
    ReceiveRehabApplication,
    RecordAttendance,
    RecordCapacityProfile,
    RecordEmployment,
    RecordEmploymentFollowUp,
    RemoveTeamMember,
    RequestRehabInformation,
    ResumeParticipation,
    ReviseGoal,
    ScheduleAppointment,
    SetGoal,
    StartIntervention,
    StartRehabMeasure,
    TransferCase,
    UpdateCooperationPlan,
)
from shared.bus import Command, Context, Result
from shared.contracts.base import DomainEvent
from shared.contracts.casework import BudgetLine, RehabMeasureStarted
from shared.domain import DomainError
from shared.envelope import new_id
from shared.eventstore import ConcurrencyConflict
from shared.principal import Principal
from shared.staff import NO_DIRECTORY, StaffRecord, require_member
from shared.unit_of_work import Loaded, UnitOfWork
from shared.vocabulary import AGENCIES, Role

# ------------------------------------------------------------------ ports


# Ports run in the command's unit of work (a PostgreSQL adapter uses its connection): a handler
# that held one pooled connection and waited for a second could starve the pool under load.


class KeyStore(Protocol):
    """The participants' casework keys (crypto-shredding: erasure destroys the key)."""

    async def seal(self, uow: UnitOfWork, participant_id: UUID, *values: Any) -> list[str]:
        """Each value's ciphertext under the participant's key (made if missing)."""
        ...


class Consents(Protocol):
    """Look-ups into the consents casework tracks from intake (policy ``consents``)."""

    async def exchange_agencies(self, uow: UnitOfWork, participant_id: UUID, day: date) -> set[str]:
        """Agencies an active drv-exchange consent of the participant covers on ``day``."""
        ...

    async def medical_releases(self, uow: UnitOfWork, participant_id: UUID, day: date) -> list[domain.Release]:
        """The participant's medical-release consents, each with whether it holds on ``day``."""
        ...


class Staff(Protocol):
    """The staff directory as casework knows it (``shared.staff``'s projection of intake's events)."""

    @property
    def required(self) -> bool:
        """Whether team members must be known staff (setting ``staff_directory``)."""
        ...

    async def member(self, uow: UnitOfWork, agency: str, subject: str) -> StaffRecord | None:
        """The member of ``agency`` whose token subject is ``subject``, if known."""


class Caseloads(Protocol):
    """Look-ups into the caseloads (``cases`` projection) for the project's caseload cap."""

    async def active_cases(self, uow: UnitOfWork, project: str, case_manager: str) -> int:
        """The guide's open or interrupted cases in the project."""
        ...


Case = Loaded[domain.Case]
Authorize = access.Authorize


# ------------------------------------------------------------------ steps


async def visible(uow: UnitOfWork, ctx: Context, participant_id: UUID, consents: Consents) -> Case:
    """The case, if it exists and the caller may see it (their agency, or a drv-exchange
    consent that covers it today)."""
    case = await uow.load(domain.case, domain.stream_id(participant_id))
    domain.require_known(case.state)
    access.require_see(ctx.principal, case.state, await consents.exchange_agencies(uow, participant_id, ctx.today))
    return case


def authorise(ctx: Context, case: Case, rule: Authorize) -> None:
    """The command's own access rule, then the client's If-Match (a stale one is a conflict)."""
    rule(ctx.principal, case.state)
    if ctx.expected_version is not None and ctx.expected_version != case.version:
        raise ConcurrencyConflict(case.stream_id, ctx.expected_version, case.version)


async def loaded_for(uow: UnitOfWork, ctx: Context, participant_id: UUID, consents: Consents, rule: Authorize) -> Case:
    case = await visible(uow, ctx, participant_id, consents)
    authorise(ctx, case, rule)
    return case


async def seal(uow: UnitOfWork, keys: KeyStore, participant_id: UUID, *values: Any) -> list[str]:
    """Ciphertexts in order, "" for nothing. Only called once the caller is authorised, so a
    refused caller never makes a key."""
    wanted = [v for v in values if v not in (None, "", [])]
    tokens = iter(await keys.seal(uow, participant_id, *wanted) if wanted else [])
    return ["" if v in (None, "", []) else next(tokens) for v in values]


async def append(uow: UnitOfWork, ctx: Context, case: Case, events: list[DomainEvent], **extra: Any) -> Result:
    """Append on behalf of the caller, under the case's agency and project, and answer with
    the case's new status and the events written."""
    s = case.state
    sealed = await uow.append(case, events, ctx.metadata(agency=s.agency, project=s.project))
    for e in events:
        s = domain.evolve(s, e)
    body = {
        "participant_id": str(s.participant_id),
        "status": s.status,
        "phase": s.phase.value if s.phase else None,
        "version": sealed[-1].version if sealed else None,
        "events": [e.event_type for e in sealed],
        **extra,
    }
    return Result(case.stream_id, case.version + len(sealed), body)


async def require_staff(
    staff: Staff, uow: UnitOfWork, ctx: Context, case: Case, subject: str, *, agency: str, role: Role, field: str
) -> None:
    """Whoever joins the case's team is current staff of an agency of the case's project,
    holding the role (422 naming ``field`` or ``agency``); off without a directory."""
    if staff.required:
        found = await staff.member(uow, agency, subject)
        require_member(found, field=field, agency=agency, project=case.state.project, role=role, day=ctx.today)


# ------------------------------------------------------------------ team


async def within_cap(
    uow: UnitOfWork, ctx: Context, case: Case, guide: str, reason: str | None, caseloads: Caseloads, keys: KeyStore
) -> domain.CapOverride | None:
    """The project's caseload cap for a new guide of the case: None under it; at it, refused
    (409 naming the cap) unless the project lead gave a reason, then the override to record."""
    if reason is not None:
        access.require_cap_override(ctx.principal)
    code = case.state.project
    loaded = await uow.load(domain.project, domain.project_stream(code))
    if loaded.state.caseload_cap is None:
        return None
    caseload = await caseloads.active_cases(uow, code, guide)
    override = domain.check_cap(loaded.state, code, guide, caseload, reason is not None)
    if override is None or reason is None:
        return override
    (sealed,) = await seal(uow, keys, domain.require_known(case.state), reason)
    return replace(override, by=ctx.principal.subject, sealed_reason=sealed)


@dataclass(frozen=True)
class NewGuide:
    """The case manager a case is assigned or handed over to (``field`` names them in errors):
    known staff first, then the case's own rules, then the project's caseload cap."""

    subject: str
    field: str
    cap_override_reason: str | None

    async def known(self, uow: UnitOfWork, ctx: Context, case: Case, staff: Staff) -> None:
        """Known staff of the case's agency holding the role (checked before the case's rules)."""
        await require_staff(
            staff, uow, ctx, case, self.subject, agency=case.state.agency, role=Role.CASE_MANAGER, field=self.field
        )

    async def within_cap(
        self, uow: UnitOfWork, ctx: Context, case: Case, caseloads: Caseloads, keys: KeyStore
    ) -> domain.CapOverride | None:
        """Within the project's cap, or the lead's recorded override (after the case's rules)."""
        return await within_cap(uow, ctx, case, self.subject, self.cap_override_reason, caseloads, keys)


async def assign_case_manager(
    cmd: AssignCaseManager,
    uow: UnitOfWork,
    ctx: Context,
    *,
    consents: Consents,
    caseloads: Caseloads,
    keys: KeyStore,
    staff: Staff = NO_DIRECTORY,
) -> Result:
    case = await loaded_for(uow, ctx, cmd.participant_id, consents, access.require_manage)
    guide = NewGuide(cmd.case_manager, "case_manager", cmd.cap_override_reason)
    await guide.known(uow, ctx, case, staff)
    domain.assign_case_manager(case.state, cmd.case_manager, cmd.assigned_on)  # the case's own rules
    cap = await guide.within_cap(uow, ctx, case, caseloads, keys)
    return await append(uow, ctx, case, domain.assign_case_manager(case.state, cmd.case_manager, cmd.assigned_on, cap))


async def hand_over(
    cmd: HandOverCase,
    uow: UnitOfWork,
    ctx: Context,
    *,
    consents: Consents,
    caseloads: Caseloads,
    keys: KeyStore,
    staff: Staff = NO_DIRECTORY,
) -> Result:
    """Hand-over between case managers (the note is sealed), held to the caseload cap."""
    case = await loaded_for(uow, ctx, cmd.participant_id, consents, access.require_manage)
    guide = NewGuide(cmd.to_case_manager, "to_case_manager", cmd.cap_override_reason)
    await guide.known(uow, ctx, case, staff)
    domain.hand_over(case.state, cmd.to_case_manager, cmd.handed_over_on, "")  # the case's own rules
    cap = await guide.within_cap(uow, ctx, case, caseloads, keys)
    (note,) = await seal(uow, keys, cmd.participant_id, cmd.note)
    events = domain.hand_over(case.state, cmd.to_case_manager, cmd.handed_over_on, note, cap)
    return await append(uow, ctx, case, events)


async def transfer_case(
    cmd: TransferCase,
    uow: UnitOfWork,
    ctx: Context,
    *,
    consents: Consents,
    caseloads: Caseloads,
    keys: KeyStore,
    staff: Staff = NO_DIRECTORY,
) -> Result:
    """The case moves to another agency of its project under a drv-exchange consent naming it;
    the receiving agency's case manager (known staff there, within the project's cap) takes over."""
    case = await loaded_for(uow, ctx, cmd.participant_id, consents, access.require_manage)
    project = (await uow.load(domain.project, domain.project_stream(case.state.project))).state
    domain.require_partner(case.state, project, cmd.to_agency)
    await require_staff(
        staff,
        uow,
        ctx,
        case,
        cmd.to_case_manager,
        agency=cmd.to_agency,
        role=Role.CASE_MANAGER,
        field="to_case_manager",
    )
    covered = await consents.exchange_agencies(uow, cmd.participant_id, cmd.transferred_on)
    covered &= await consents.exchange_agencies(uow, cmd.participant_id, ctx.today)
    move = domain.Move(cmd.to_agency, cmd.to_case_manager, cmd.transferred_on)
    domain.transfer(case.state, project, move, covered, ctx.today)  # the case's own rules, before the cap
    await within_cap(uow, ctx, case, cmd.to_case_manager, None, caseloads, keys)
    (reason,) = await seal(uow, keys, cmd.participant_id, cmd.reason)
    events = domain.transfer(case.state, project, replace(move, sealed_reason=reason), covered, ctx.today)
    return await append(uow, ctx, case, events)


# ------------------------------------------------------------------ projects


async def configure_project(cmd: ConfigureProject, uow: UnitOfWork, ctx: Context) -> Result:
    """An administrator of the coordinating agency sets the project's whole configuration."""
    loaded = await uow.load(domain.project, domain.project_stream(cmd.project))
    access.require_configure(ctx.principal, domain.coordinator(loaded.state, cmd.project), cmd.project)
    plan = domain.Plan(
        coordinating_agency=cmd.coordinating_agency,
        partner_agencies=tuple(cmd.partner_agencies),
        starts_on=cmd.starts_on,
        ends_on=cmd.ends_on,
        participant_target=cmd.participant_target,
        budget=tuple(BudgetLine(**line.model_dump()) for line in cmd.budget),
        caseload_cap=cmd.caseload_cap,
        info_meeting_required=cmd.info_meeting_required,
    )
    events = domain.configure(loaded.state, cmd.project, plan, cmd.configured_on)
    sealed = await uow.append(loaded, events, ctx.metadata(agency=cmd.coordinating_agency, project=cmd.project))
    body = {"project": cmd.project, "version": sealed[-1].version, "events": [e.event_type for e in sealed]}
    return Result(loaded.stream_id, loaded.version + len(sealed), body)


async def add_team_member(
    cmd: AddTeamMember, uow: UnitOfWork, ctx: Context, *, consents: Consents, staff: Staff = NO_DIRECTORY
) -> Result:
    def rule(p: Principal, c: domain.Case) -> None:
        access.require_manage(p, c)
        if (cmd.agency or c.agency) not in AGENCIES:
            raise DomainError(f"unknown agency {cmd.agency or c.agency}", field="agency")

    case = await loaded_for(uow, ctx, cmd.participant_id, consents, rule)
    agency = cmd.agency or case.state.agency
    await require_staff(staff, uow, ctx, case, cmd.member, agency=agency, role=cmd.role, field="member")
    return await append(uow, ctx, case, domain.add_team_member(case.state, cmd.member, cmd.role, agency, cmd.added_on))


async def remove_team_member(cmd: RemoveTeamMember, uow: UnitOfWork, ctx: Context, *, consents: Consents) -> Result:
    case = await loaded_for(uow, ctx, cmd.participant_id, consents, access.require_manage)
    return await append(uow, ctx, case, domain.remove_team_member(case.state, cmd.member, cmd.removed_on))


# ------------------------------------------------------------------ journey


async def enter_phase(cmd: EnterPhase, uow: UnitOfWork, ctx: Context, *, consents: Consents, keys: KeyStore) -> Result:
    """Phase transition: next in order; skip or back one with a reason (sealed: it may say why);
    Nachbetreuung after a job."""
    case = await loaded_for(uow, ctx, cmd.participant_id, consents, access.require_manage)
    (reason,) = await seal(uow, keys, cmd.participant_id, cmd.reason)
    events = domain.enter_phase(case.state, cmd.phase, cmd.entered_on, cmd.reason, reason)
    return await append(uow, ctx, case, events)


async def interrupt(
    cmd: InterruptParticipation, uow: UnitOfWork, ctx: Context, *, consents: Consents, keys: KeyStore
) -> Result:
    case = await loaded_for(uow, ctx, cmd.participant_id, consents, access.require_manage)
    (reason,) = await seal(uow, keys, cmd.participant_id, cmd.reason)
    return await append(uow, ctx, case, domain.interrupt(case.state, cmd.interrupted_on, reason))


async def resume(cmd: ResumeParticipation, uow: UnitOfWork, ctx: Context, *, consents: Consents) -> Result:
    case = await loaded_for(uow, ctx, cmd.participant_id, consents, access.require_manage)
    return await append(uow, ctx, case, domain.resume(case.state, cmd.resumed_on))


async def exit_case(cmd: ExitCase, uow: UnitOfWork, ctx: Context, *, consents: Consents) -> Result:
    """Austritt with a reason; a shared capacity profile is retracted with it."""
    case = await loaded_for(uow, ctx, cmd.participant_id, consents, access.require_manage)
    return await append(uow, ctx, case, domain.exit_case(case.state, cmd.exited_on, cmd.reason))


# ------------------------------------------------------------------ health records and profile


async def complete_assessment(
    cmd: CompleteAssessment, uow: UnitOfWork, ctx: Context, *, consents: Consents, keys: KeyStore
) -> Result:
    case = await loaded_for(uow, ctx, cmd.participant_id, consents, access.require_health)
    (findings,) = await seal(uow, keys, cmd.participant_id, cmd.findings)
    aid = new_id()
    events = domain.complete_assessment(case.state, aid, cmd.kind, cmd.completed_on, ctx.principal.subject, findings)
    return await append(uow, ctx, case, events, assessment_id=str(aid))


async def record_capacity_profile(
    cmd: RecordCapacityProfile, uow: UnitOfWork, ctx: Context, *, consents: Consents, keys: KeyStore
) -> Result:
    """What the person can do at work, no diagnoses. Goes to placement only under consent."""
    case = await loaded_for(uow, ctx, cmd.participant_id, consents, access.require_health)
    (profile,) = await seal(uow, keys, cmd.participant_id, cmd.profile.model_dump(mode="json"))
    events = domain.record_capacity_profile(case.state, cmd.recorded_on, ctx.principal.subject, profile)
    return await append(uow, ctx, case, events)


async def receive_medical_report(
    cmd: ReceiveMedicalReport, uow: UnitOfWork, ctx: Context, *, consents: Consents, keys: KeyStore
) -> Result:
    """Only under a medical-release consent active on the day the report came in and naming
    its doctor or clinic, checked after the health-access rule: a caller without health access
    learns nothing of the participant's releases (403, never the consent's 409 or 422)."""
    case = await visible(uow, ctx, cmd.participant_id, consents)
    authorise(ctx, case, access.require_health)
    releases = await consents.medical_releases(uow, cmd.participant_id, cmd.received_on)
    consent_id = domain.release_for(releases, cmd.consent_id, cmd.source)
    source, summary = await seal(uow, keys, cmd.participant_id, cmd.source, cmd.summary)
    rid = new_id()
    events = domain.receive_medical_report(case.state, rid, cmd.received_on, consent_id, source, summary)
    return await append(uow, ctx, case, events, report_id=str(rid))


# ------------------------------------------------------------------ goals and plan


async def set_goal(cmd: SetGoal, uow: UnitOfWork, ctx: Context, *, consents: Consents, keys: KeyStore) -> Result:
    case = await loaded_for(uow, ctx, cmd.participant_id, consents, access.require_team)
    (text,) = await seal(uow, keys, cmd.participant_id, cmd.text)
    gid = new_id()
    events = domain.set_goal(case.state, gid, cmd.set_on, cmd.target_date, text)
    return await append(uow, ctx, case, events, goal_id=str(gid))


async def revise_goal(cmd: ReviseGoal, uow: UnitOfWork, ctx: Context, *, consents: Consents, keys: KeyStore) -> Result:
    case = await loaded_for(uow, ctx, cmd.participant_id, consents, access.require_team)
    (text,) = await seal(uow, keys, cmd.participant_id, cmd.text)
    events = domain.revise_goal(case.state, cmd.goal_id, cmd.revised_on, cmd.target_date, text)
    return await append(uow, ctx, case, events)


async def achieve_goal(cmd: AchieveGoal, uow: UnitOfWork, ctx: Context, *, consents: Consents) -> Result:
    case = await loaded_for(uow, ctx, cmd.participant_id, consents, access.require_team)
    return await append(uow, ctx, case, domain.achieve_goal(case.state, cmd.goal_id, cmd.achieved_on))


async def drop_goal(cmd: DropGoal, uow: UnitOfWork, ctx: Context, *, consents: Consents, keys: KeyStore) -> Result:
    case = await loaded_for(uow, ctx, cmd.participant_id, consents, access.require_team)
    (reason,) = await seal(uow, keys, cmd.participant_id, cmd.reason)
    return await append(uow, ctx, case, domain.drop_goal(case.state, cmd.goal_id, cmd.dropped_on, reason))


async def update_plan(
    cmd: UpdateCooperationPlan, uow: UnitOfWork, ctx: Context, *, consents: Consents, keys: KeyStore
) -> Result:
    """Kooperationsplan (§ 15 SGB II): agreed steps; not binding, no sanctions."""
    case = await loaded_for(uow, ctx, cmd.participant_id, consents, access.require_team)
    (steps,) = await seal(uow, keys, cmd.participant_id, list(cmd.steps))
    events = domain.update_plan(case.state, cmd.updated_on, cmd.review_on, cmd.participant_agreed, steps)
    return await append(uow, ctx, case, events)


# ------------------------------------------------------------------ interventions and rehab


async def plan_intervention(
    cmd: PlanIntervention, uow: UnitOfWork, ctx: Context, *, consents: Consents, keys: KeyStore
) -> Result:
    def rule(p: Principal, c: domain.Case) -> None:
        access.require_intervention(p, c, cmd.category)

    case = await loaded_for(uow, ctx, cmd.participant_id, consents, rule)
    details, provider = await seal(uow, keys, cmd.participant_id, cmd.details, cmd.provider)
    iid = new_id()
    events = domain.plan_intervention(
        case.state, iid, cmd.category, provider, cmd.planned_start, cmd.planned_end, cmd.cost_eur, details
    )
    return await append(uow, ctx, case, events, intervention_id=str(iid))


def _on_intervention(intervention_id: UUID) -> Authorize:
    def rule(p: Principal, c: domain.Case) -> None:
        access.require_on_intervention(p, c, intervention_id)

    return rule


async def start_intervention(cmd: StartIntervention, uow: UnitOfWork, ctx: Context, *, consents: Consents) -> Result:
    case = await loaded_for(uow, ctx, cmd.participant_id, consents, _on_intervention(cmd.intervention_id))
    return await append(uow, ctx, case, domain.start_intervention(case.state, cmd.intervention_id, cmd.started_on))


async def complete_intervention(
    cmd: CompleteIntervention, uow: UnitOfWork, ctx: Context, *, consents: Consents
) -> Result:
    case = await loaded_for(uow, ctx, cmd.participant_id, consents, _on_intervention(cmd.intervention_id))
    events = domain.complete_intervention(case.state, cmd.intervention_id, cmd.completed_on, cmd.cost_eur)
    return await append(uow, ctx, case, events)


async def abort_intervention(
    cmd: AbortIntervention, uow: UnitOfWork, ctx: Context, *, consents: Consents, keys: KeyStore
) -> Result:
    case = await loaded_for(uow, ctx, cmd.participant_id, consents, _on_intervention(cmd.intervention_id))
    (reason,) = await seal(uow, keys, cmd.participant_id, cmd.reason)
    events = domain.abort_intervention(case.state, cmd.intervention_id, cmd.aborted_on, reason)
    return await append(uow, ctx, case, events)


async def file_rehab_application(
    cmd: FileRehabApplication, uow: UnitOfWork, ctx: Context, *, consents: Consents
) -> Result:
    """To a DRV carrier only under the participant's drv-exchange consent covering it (409)."""
    case = await loaded_for(uow, ctx, cmd.participant_id, consents, access.require_health)
    domain.require_exchange_consent(cmd.carrier, await consents.exchange_agencies(uow, cmd.participant_id, ctx.today))
    aid = new_id()
    events = domain.file_rehab_application(case.state, aid, cmd.filed_on, cmd.carrier, cmd.kind)
    return await append(uow, ctx, case, events, application_id=str(aid))


async def decide_rehab_application(
    cmd: DecideRehabApplication, uow: UnitOfWork, ctx: Context, *, consents: Consents, keys: KeyStore
) -> Result:
    """A DRV carrier's decision by its adviser (under the consent); another carrier's by the
    case's health roles. The reason is sealed."""

    def rule(p: Principal, c: domain.Case) -> None:
        access.require_decider(p, c, cmd.application_id)

    case = await carrier_case(uow, ctx, cmd.participant_id, cmd.application_id, consents, rule)
    (reason,) = await seal(uow, keys, cmd.participant_id, cmd.reason)
    by = ctx.principal.subject if ctx.principal.role is Role.DRV_ADVISER else None
    events = domain.decide_rehab_application(case.state, cmd.application_id, cmd.decided_on, cmd.approved, reason, by)
    return await append(uow, ctx, case, events)


async def carrier_case(
    uow: UnitOfWork, ctx: Context, participant_id: UUID, application_id: UUID, consents: Consents, rule: Authorize
) -> Case:
    """The case for a step on one of its rehab applications. An application to a DRV carrier
    moves only under the participant's drv-exchange consent covering it today: without one,
    the carrier's adviser (who has had the application) is told so (409 ``consent``); everyone
    else learns nothing beyond the usual visibility (404)."""
    case = await uow.load(domain.case, domain.stream_id(participant_id))
    domain.require_known(case.state)
    agencies = await consents.exchange_agencies(uow, participant_id, ctx.today)
    file = case.state.rehab.get(application_id)
    if file is not None and file.carrier == ctx.principal.agency and ctx.principal.role is Role.DRV_ADVISER:
        domain.require_exchange_consent(file.carrier, agencies)
    access.require_see(ctx.principal, case.state, agencies)
    authorise(ctx, case, rule)
    if file is not None:
        domain.require_exchange_consent(file.carrier, agencies)
    return case


def _carrier(application_id: UUID) -> Authorize:
    def rule(p: Principal, c: domain.Case) -> None:
        access.require_carrier(p, c, application_id)

    return rule


async def receive_rehab_application(
    cmd: ReceiveRehabApplication, uow: UnitOfWork, ctx: Context, *, consents: Consents
) -> Result:
    case = await carrier_case(uow, ctx, cmd.participant_id, cmd.application_id, consents, _carrier(cmd.application_id))
    events = domain.receive(case.state, cmd.application_id, cmd.received_on, ctx.principal.subject)
    return await append(uow, ctx, case, events)


async def request_rehab_information(
    cmd: RequestRehabInformation, uow: UnitOfWork, ctx: Context, *, consents: Consents, keys: KeyStore
) -> Result:
    case = await carrier_case(uow, ctx, cmd.participant_id, cmd.application_id, consents, _carrier(cmd.application_id))
    (question,) = await seal(uow, keys, cmd.participant_id, cmd.question)
    rid = new_id()
    events = domain.request_information(
        case.state, cmd.application_id, rid, cmd.requested_on, ctx.principal.subject, question
    )
    return await append(uow, ctx, case, events, request_id=str(rid))


async def answer_rehab_request(
    cmd: AnswerRehabRequest, uow: UnitOfWork, ctx: Context, *, consents: Consents, keys: KeyStore
) -> Result:
    case = await carrier_case(uow, ctx, cmd.participant_id, cmd.application_id, consents, access.require_rehab_answerer)
    (answer,) = await seal(uow, keys, cmd.participant_id, cmd.answer)
    events = domain.provide_information(
        case.state, cmd.application_id, cmd.request_id, cmd.answered_on, ctx.principal.subject, answer
    )
    return await append(uow, ctx, case, events)


async def start_rehab_measure(
    cmd: StartRehabMeasure, uow: UnitOfWork, ctx: Context, *, consents: Consents, keys: KeyStore
) -> Result:
    """A medical stay interrupts the participation; an LTA measure runs as an intervention."""
    case = await carrier_case(uow, ctx, cmd.participant_id, cmd.application_id, consents, _carrier(cmd.application_id))
    (provider,) = await seal(uow, keys, cmd.participant_id, cmd.provider)
    iid = new_id()
    events = domain.start_measure(case.state, cmd.application_id, cmd.started_on, iid, provider, cmd.cost_eur)
    started = [e for e in events if isinstance(e, RehabMeasureStarted)]
    extra = {"intervention_id": str(iid)} if started and started[0].intervention_id else {}
    return await append(uow, ctx, case, events, **extra)


async def end_rehab_measure(cmd: EndRehabMeasure, uow: UnitOfWork, ctx: Context, *, consents: Consents) -> Result:
    case = await carrier_case(uow, ctx, cmd.participant_id, cmd.application_id, consents, _carrier(cmd.application_id))
    events = domain.end_measure(case.state, cmd.application_id, cmd.ended_on, cmd.cost_eur)
    return await append(uow, ctx, case, events)


# ------------------------------------------------------------------ appointments, contacts, notes


async def schedule_appointment(
    cmd: ScheduleAppointment, uow: UnitOfWork, ctx: Context, *, consents: Consents
) -> Result:
    case = await loaded_for(uow, ctx, cmd.participant_id, consents, access.require_team)
    aid = new_id()
    events = domain.schedule_appointment(case.state, aid, cmd.scheduled_for, cmd.with_member, cmd.kind)
    return await append(uow, ctx, case, events, appointment_id=str(aid))


async def record_attendance(cmd: RecordAttendance, uow: UnitOfWork, ctx: Context, *, consents: Consents) -> Result:
    """Attended or missed. A missed appointment is never a sanction."""
    case = await loaded_for(uow, ctx, cmd.participant_id, consents, access.require_team)
    events = domain.record_attendance(case.state, cmd.appointment_id, cmd.on, cmd.attended, cmd.excused)
    return await append(uow, ctx, case, events)


async def log_contact(cmd: LogContact, uow: UnitOfWork, ctx: Context, *, consents: Consents, keys: KeyStore) -> Result:
    case = await loaded_for(uow, ctx, cmd.participant_id, consents, access.require_team)
    (summary,) = await seal(uow, keys, cmd.participant_id, cmd.summary)
    cid = new_id()
    events = domain.log_contact(case.state, cid, cmd.contacted_on, cmd.channel, cmd.counterpart, summary)
    return await append(uow, ctx, case, events, contact_id=str(cid))


async def add_note(cmd: AddNote, uow: UnitOfWork, ctx: Context, *, consents: Consents, keys: KeyStore) -> Result:
    """A case note; confidential notes are readable only with health access."""

    def rule(p: Principal, c: domain.Case) -> None:
        access.require_note(p, c, cmd.confidential)

    case = await loaded_for(uow, ctx, cmd.participant_id, consents, rule)
    (text,) = await seal(uow, keys, cmd.participant_id, cmd.text)
    nid = new_id()
    events = domain.add_note(case.state, nid, cmd.written_on, ctx.principal.subject, cmd.confidential, text)
    return await append(uow, ctx, case, events, note_id=str(nid))


# ------------------------------------------------------------------ employment found without placement


async def record_employment(cmd: RecordEmployment, uow: UnitOfWork, ctx: Context, *, consents: Consents) -> Result:
    """A self-found job, by the case manager of the running agency; answers its new id."""
    case = await loaded_for(uow, ctx, cmd.participant_id, consents, access.require_case_manager)
    eid = new_id()
    events = domain.employment.record(
        case.state,
        eid,
        cmd.started_on,
        cmd.type,
        cmd.hours_per_week,
        subsidy=cmd.subsidy,
        fully_qualifying=cmd.fully_qualifying,
    )
    return await append(uow, ctx, case, events, employment_id=str(eid))


async def record_employment_follow_up(
    cmd: RecordEmploymentFollowUp, uow: UnitOfWork, ctx: Context, *, consents: Consents
) -> Result:
    case = await loaded_for(uow, ctx, cmd.participant_id, consents, access.require_case_manager)
    events = domain.employment.verify(
        case.state, cmd.employment_id, cmd.months_after_start, cmd.verified_on, cmd.still_employed
    )
    return await append(uow, ctx, case, events)


async def end_employment(cmd: EndEmployment, uow: UnitOfWork, ctx: Context, *, consents: Consents) -> Result:
    case = await loaded_for(uow, ctx, cmd.participant_id, consents, access.require_case_manager)
    return await append(uow, ctx, case, domain.employment.end(case.state, cmd.employment_id, cmd.ended_on, cmd.reason))


HANDLERS: Mapping[type[Command], Callable[..., Awaitable[Result]]] = {
    ConfigureProject: configure_project,
    AssignCaseManager: assign_case_manager,
    HandOverCase: hand_over,
    TransferCase: transfer_case,
    AddTeamMember: add_team_member,
    RemoveTeamMember: remove_team_member,
    EnterPhase: enter_phase,
    InterruptParticipation: interrupt,
    ResumeParticipation: resume,
    ExitCase: exit_case,
    CompleteAssessment: complete_assessment,
    RecordCapacityProfile: record_capacity_profile,
    ReceiveMedicalReport: receive_medical_report,
    SetGoal: set_goal,
    ReviseGoal: revise_goal,
    AchieveGoal: achieve_goal,
    DropGoal: drop_goal,
    UpdateCooperationPlan: update_plan,
    PlanIntervention: plan_intervention,
    StartIntervention: start_intervention,
    CompleteIntervention: complete_intervention,
    AbortIntervention: abort_intervention,
    FileRehabApplication: file_rehab_application,
    DecideRehabApplication: decide_rehab_application,
    ReceiveRehabApplication: receive_rehab_application,
    RequestRehabInformation: request_rehab_information,
    AnswerRehabRequest: answer_rehab_request,
    StartRehabMeasure: start_rehab_measure,
    EndRehabMeasure: end_rehab_measure,
    ScheduleAppointment: schedule_appointment,
    RecordAttendance: record_attendance,
    LogContact: log_contact,
    AddNote: add_note,
    RecordEmployment: record_employment,
    RecordEmploymentFollowUp: record_employment_follow_up,
    EndEmployment: end_employment,
}
