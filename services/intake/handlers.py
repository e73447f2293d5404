"""One handler per intake command: load the participant, authorise (``access``), decide
(``domain``), append. The bus runs each in a unit of work; ports are injected by name.

Identity, the referral reason and the eligibility findings are sealed with the participant's
key (``KeyStore``) before they go into an event; erasure destroys the key together with the
append of ParticipantDataErased.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Collection, Sequence
from contextlib import AbstractAsyncContextManager
from typing import Any, Protocol
from uuid import UUID

from services.intake import access, domain
from services.intake.commands import (
    ChangeStaffRoles,
    CheckEligibility,
    DeclineEnrolment,
    EnrolParticipant,
    EraseParticipant,
    ExpireConsents,
    GrantConsent,
    HoldInformationMeeting,
    LiftLegalHold,
    PlaceLegalHold,
    ReceiveReferral,
    RecordObjection,
    RecordStaffDeparture,
    RegisterStaffMember,
    SetRetentionRule,
    WithdrawConsent,
    WithdrawObjection,
    WithdrawReferral,
)
from services.intake.domain import retention
from shared.bus import Command, Context, Result
from shared.consent import name_marks
from shared.contracts.base import DomainEvent
from shared.contracts.common import ConsentPurpose
from shared.contracts.intake import ReferralReceived
from shared.domain import NotFound
from shared.envelope import new_id
from shared.unit_of_work import Loaded, UnitOfWork
from shared.vocabulary import Role, project_members


class KeyStore(Protocol):
    """Per-participant keys (crypto-shredding), used on the unit of work's connection so that
    key changes commit with the events."""

    async def seal(self, subject: str, uow: UnitOfWork, *values: Any) -> list[str]:
        """Seal values under the subject's key (made if missing)."""

    async def open(self, subject: str, uow: UnitOfWork, token: str) -> Any:
        """The plain value, or ``shared.crypto.ERASED`` once the key is destroyed."""

    def erasing(self, subject: str, uow: UnitOfWork) -> AbstractAsyncContextManager[None]:
        """Destroy the subject's key when the block (the erasure's append) succeeds, in one
        transaction with it: without an Idempotency-Key the unit of work autocommits each
        statement, so the port opens the transaction (a savepoint inside the bus's)."""


async def participant(uow: UnitOfWork, participant_id: UUID) -> Loaded[domain.Participant]:
    """The participant's stream; unknown or erased is 404."""
    loaded = await uow.load(domain.participant, domain.stream_id(participant_id))
    if not loaded.exists:
        raise NotFound("no such participant", field="participant_id")
    if loaded.state.status == "erased":
        raise NotFound("the participant's data was erased", field="participant_id")
    return loaded


async def _owned(uow: UnitOfWork, ctx: Context, participant_id: UUID) -> Loaded[domain.Participant]:
    """Load a participant for a command of the running agency's intake staff."""
    access.require_role(ctx.principal, access.INTAKE_ROLES)
    loaded = await participant(uow, participant_id)
    access.require_running_agency(ctx.principal, loaded.state, ctx.today)
    return loaded


async def _append(
    uow: UnitOfWork, ctx: Context, loaded: Loaded[domain.Participant], events: Sequence[DomainEvent], **extra: Any
) -> Result:
    """Append for the running agency; answer with the participant's new status and version."""
    s = loaded.state
    appended = await uow.append(
        loaded, events, ctx.metadata(agency=s.agency, project=s.project), expected_version=ctx.expected_version
    )
    state = s
    for e in events:
        state = domain.evolve(state, e)
    version = appended[-1].version if appended else None
    pid = state.participant_id
    return Result(
        loaded.stream_id, version, {"participant_id": str(pid), "status": state.status, "version": version, **extra}
    )


async def receive_referral(
    cmd: ReceiveReferral, uow: UnitOfWork, ctx: Context, *, keys: KeyStore, projects: ProjectRules | None = None
) -> Result:
    """A new participant id; identity and reason sealed under its new key; the referrer's agency
    a member of the project as casework last configured it."""
    p = ctx.principal
    configured = await _configured(uow, cmd.project, projects)
    access.require_referrer(p, cmd.project, project_members(cmd.project, configured))
    pid = new_id()
    sealed_identity, sealed_reason = await keys.seal(str(pid), uow, cmd.identity.model_dump(mode="json"), cmd.reason)
    referral = ReferralReceived(
        participant_id=pid,
        source_agency=p.agency,
        project=cmd.project,
        referred_by=p.subject,
        received_on=cmd.received_on,
        age_band=domain.age_band(cmd.identity.birth_date, cmd.received_on),
        sex=cmd.sex,
        sealed_identity=sealed_identity,
        sealed_reason=sealed_reason,
        agency=cmd.agency if cmd.agency and cmd.agency != p.agency else None,
    )
    loaded = Loaded.new(domain.participant, domain.stream_id(pid))  # the id was made just now: nothing to read
    events = domain.receive_referral(loaded.state, referral, configured=configured)
    appended = await uow.append(
        loaded, events, ctx.metadata(agency=referral.running_agency, project=cmd.project),
        expected_version=ctx.expected_version,
    )  # fmt: skip
    version = appended[-1].version
    return Result(loaded.stream_id, version, {"participant_id": str(pid), "status": "referred", "version": version})


async def hold_information_meeting(cmd: HoldInformationMeeting, uow: UnitOfWork, ctx: Context) -> Result:
    loaded = await _owned(uow, ctx, cmd.participant_id)
    return await _append(uow, ctx, loaded, domain.hold_information_meeting(loaded.state, cmd.held_on, cmd.attended))


async def check_eligibility(cmd: CheckEligibility, uow: UnitOfWork, ctx: Context, *, keys: KeyStore) -> Result:
    """The entry rule; the answer lists the reasons of the result. Findings are sealed."""
    loaded = await _owned(uow, ctx, cmd.participant_id)
    sealed = ""
    if cmd.findings:
        [sealed] = await keys.seal(str(cmd.participant_id), uow, cmd.findings)
    events = domain.check_eligibility(
        loaded.state,
        cmd.checked_on,
        voluntary=cmd.voluntary,
        willing_to_address_impairments=cmd.willing_to_address_impairments,
        declined_lta=cmd.declined_lta,
        sealed_findings=sealed,
    )
    eligible, reasons = domain.eligibility_reasons(cmd.voluntary, cmd.willing_to_address_impairments, cmd.declined_lta)
    return await _append(uow, ctx, loaded, events, eligible=eligible, reasons=reasons)


async def grant_consent(cmd: GrantConsent, uow: UnitOfWork, ctx: Context, *, keys: KeyStore) -> Result:
    """A medical release's doctor or clinic is sealed under the participant's key."""
    loaded = await _owned(uow, ctx, cmd.participant_id)
    consent_id = new_id()
    sealed = ""
    if cmd.purpose is ConsentPurpose.MEDICAL_RELEASE and cmd.scope:
        (sealed,) = await keys.seal(str(cmd.participant_id), uow, cmd.scope)
    events = domain.grant_consent(
        loaded.state, consent_id, cmd.purpose, cmd.scope, cmd.granted_on, cmd.form, cmd.expires_on, sealed
    )
    return await _append(uow, ctx, loaded, events, consent_id=str(consent_id))


async def withdraw_consent(cmd: WithdrawConsent, uow: UnitOfWork, ctx: Context) -> Result:
    """With effect from ``effective_on`` on, never retroactive."""
    loaded = await _owned(uow, ctx, cmd.participant_id)
    return await _append(uow, ctx, loaded, domain.withdraw_consent(loaded.state, cmd.consent_id, cmd.effective_on))


async def record_objection(cmd: RecordObjection, uow: UnitOfWork, ctx: Context, *, keys: KeyStore) -> Result:
    """Objection under § 76 SGB X; what it covers (often a doctor) is sealed."""
    loaded = await _owned(uow, ctx, cmd.participant_id)
    objection_id = new_id()
    (sealed,) = await keys.seal(str(cmd.participant_id), uow, cmd.scope)
    events = domain.record_objection(loaded.state, objection_id, cmd.recorded_on, sealed, name_marks(cmd.scope))
    return await _append(uow, ctx, loaded, events, objection_id=str(objection_id))


async def withdraw_objection(cmd: WithdrawObjection, uow: UnitOfWork, ctx: Context) -> Result:
    """The participant withdraws a § 76 objection, with effect from ``withdrawn_on`` on."""
    loaded = await _owned(uow, ctx, cmd.participant_id)
    return await _append(uow, ctx, loaded, domain.withdraw_objection(loaded.state, cmd.objection_id, cmd.withdrawn_on))


class ProjectRules(Protocol):
    """What intake learnt of the projects' configuration from casework (projection ``projects``)."""

    async def meeting_required(self, uow: UnitOfWork, project: str) -> bool | None:
        """Whether the project's enrolment needs the information meeting; None before the
        project's first configuration."""
        ...

    async def members(self, uow: UnitOfWork, project: str) -> tuple[str, ...] | None:
        """The project's coordinating and partner agencies; None before its first configuration."""
        ...


async def _configured(uow: UnitOfWork, project: str | None, projects: ProjectRules | None) -> tuple[str, ...] | None:
    """The project's configured members (None: not configured, or no projection wired in)."""
    if project is None or projects is None:
        return None
    return await projects.members(uow, project)


async def enrol(
    cmd: EnrolParticipant,
    uow: UnitOfWork,
    ctx: Context,
    *,
    meeting_optional: Collection[str] = frozenset(),
    projects: ProjectRules | None = None,
) -> Result:
    """Eintritt: needs the information meeting first (unless the project's configuration, or
    before it has one the setting, says it is optional), a positive eligibility check and
    participation consent."""
    loaded = await _owned(uow, ctx, cmd.participant_id)
    configured = None if projects is None else await projects.meeting_required(uow, loaded.state.project)
    required = loaded.state.project not in meeting_optional if configured is None else configured
    return await _append(uow, ctx, loaded, domain.enrol(loaded.state, cmd.start_date, meeting_required=required))


async def decline_enrolment(cmd: DeclineEnrolment, uow: UnitOfWork, ctx: Context) -> Result:
    loaded = await _owned(uow, ctx, cmd.participant_id)
    return await _append(uow, ctx, loaded, domain.decline_enrolment(loaded.state, cmd.declined_on, cmd.by, cmd.reason))


async def withdraw_referral(cmd: WithdrawReferral, uow: UnitOfWork, ctx: Context) -> Result:
    loaded = await _owned(uow, ctx, cmd.participant_id)
    return await _append(uow, ctx, loaded, domain.withdraw_referral(loaded.state, cmd.withdrawn_on, cmd.reason))


async def erase(cmd: EraseParticipant, uow: UnitOfWork, ctx: Context, *, keys: KeyStore) -> Result:
    """Data-protection officer of the running agency, or the retention task (actor ``system``):
    destroy the participant's key (the events stay, their sealed fields become unreadable for
    good) and tell every service. Refused (409) while a legal hold holds."""
    access.require_eraser(ctx.principal)
    loaded = await participant(uow, cmd.participant_id)
    access.require_running_agency(ctx.principal, loaded.state, ctx.today)
    events = domain.erase(loaded.state, ctx.today, cmd.legal_basis)
    async with keys.erasing(str(cmd.participant_id), uow):  # never one without the other
        return await _append(uow, ctx, loaded, events)


async def expire_consents(cmd: ExpireConsents, uow: UnitOfWork, ctx: Context) -> Result:
    """The expiry policy's command: the aggregate decides which consents have expired by today."""
    access.require_role(ctx.principal, {Role.SERVICE})
    loaded = await uow.load(domain.participant, domain.stream_id(cmd.participant_id))
    s = loaded.state
    events = domain.expire_consents(s, ctx.today)
    appended = await uow.append(loaded, events, ctx.metadata(agency=s.agency, project=s.project))
    return Result(loaded.stream_id, appended[-1].version if appended else None, {"expired": len(appended)})


# ------------------------------------------------------------------ the staff directory


def staff_key(agency: str, subject: str) -> str:
    """The key a staff member's name is sealed under (their own: erasable on its own)."""
    return f"staff:{agency}:{subject}"


async def _staff(uow: UnitOfWork, ctx: Context, subject: str) -> Loaded[domain.StaffMember]:
    """A member of the administrator's own agency (the only agency an administrator keeps)."""
    access.require_role(ctx.principal, access.STAFF_ADMIN_ROLES)
    return await uow.load(domain.staff_member, domain.staff_stream_id(ctx.principal.agency, subject))


async def _append_staff(
    uow: UnitOfWork, ctx: Context, loaded: Loaded[domain.StaffMember], events: Sequence[DomainEvent]
) -> Result:
    appended = await uow.append(
        loaded, events, ctx.metadata(agency=ctx.principal.agency, project=None), expected_version=ctx.expected_version
    )
    state = loaded.state
    for e in events:
        state = domain.evolve_staff(state, e)
    version = appended[-1].version if appended else loaded.version
    answer = {"agency": state.agency, "subject": state.subject, "status": state.status, "version": version}
    return Result(loaded.stream_id, version, answer)


async def register_staff_member(cmd: RegisterStaffMember, uow: UnitOfWork, ctx: Context, *, keys: KeyStore) -> Result:
    """The administrator registers a member of their agency; the name is sealed."""
    loaded = await _staff(uow, ctx, cmd.subject)
    agency = ctx.principal.agency
    domain.register_staff(loaded.state, agency, cmd.subject, "", cmd.roles, cmd.projects, cmd.registered_on)
    (sealed,) = await keys.seal(staff_key(agency, cmd.subject), uow, cmd.name)  # only once it is allowed
    events = domain.register_staff(
        loaded.state, agency, cmd.subject, sealed, cmd.roles, cmd.projects, cmd.registered_on
    )
    return await _append_staff(uow, ctx, loaded, events)


async def change_staff_roles(cmd: ChangeStaffRoles, uow: UnitOfWork, ctx: Context) -> Result:
    loaded = await _staff(uow, ctx, cmd.subject)
    return await _append_staff(
        uow, ctx, loaded, domain.change_staff_roles(loaded.state, cmd.roles, cmd.projects, cmd.changed_on)
    )


async def record_staff_departure(cmd: RecordStaffDeparture, uow: UnitOfWork, ctx: Context) -> Result:
    loaded = await _staff(uow, ctx, cmd.subject)
    return await _append_staff(uow, ctx, loaded, domain.staff_left(loaded.state, cmd.left_on))


async def place_legal_hold(cmd: PlaceLegalHold, uow: UnitOfWork, ctx: Context, *, keys: KeyStore) -> Result:
    """DPO or auditor of the running agency: no deletion until ``until``; the reason is sealed."""
    access.require_role(ctx.principal, access.HOLD_ROLES)
    loaded = await participant(uow, cmd.participant_id)
    access.require_running_agency(ctx.principal, loaded.state, ctx.today)
    hold_id = new_id()
    (sealed,) = await keys.seal(str(cmd.participant_id), uow, cmd.reason)
    events = domain.place_hold(loaded.state, hold_id, ctx.today, cmd.until, sealed)
    return await _append(uow, ctx, loaded, events, hold_id=str(hold_id))


async def lift_legal_hold(cmd: LiftLegalHold, uow: UnitOfWork, ctx: Context) -> Result:
    """DPO or auditor of the running agency: the hold ends today."""
    access.require_role(ctx.principal, access.HOLD_ROLES)
    loaded = await participant(uow, cmd.participant_id)
    access.require_running_agency(ctx.principal, loaded.state, ctx.today)
    return await _append(uow, ctx, loaded, domain.lift_hold(loaded.state, cmd.hold_id, ctx.today))


async def set_retention_rule(
    cmd: SetRetentionRule, uow: UnitOfWork, ctx: Context, *, projects: ProjectRules | None = None
) -> Result:
    """DPO or administrator: the caller's agency's period for one record class."""
    p = ctx.principal
    access.require_role(p, access.RETENTION_RULE_ROLES)
    configured = await _configured(uow, cmd.project, projects)
    loaded = await uow.load(retention.rules, retention.stream_id(p.agency))
    events = retention.set_rule(
        loaded.state,
        p.agency,
        cmd.project,
        cmd.record_class,
        cmd.period_months,
        cmd.basis,
        ctx.today,
        configured=configured,
    )
    appended = await uow.append(
        loaded, events, ctx.metadata(agency=p.agency, project=cmd.project), expected_version=ctx.expected_version
    )
    version = appended[-1].version if appended else (loaded.version or None)
    body = {
        "agency": p.agency,
        "record_class": cmd.record_class,
        "project": cmd.project,
        "period_months": cmd.period_months,
        "changed": bool(appended),
        "version": version,
    }
    return Result(loaded.stream_id, version, body)


HANDLERS: dict[type[Command], Callable[..., Awaitable[Result]]] = {
    ReceiveReferral: receive_referral,
    HoldInformationMeeting: hold_information_meeting,
    CheckEligibility: check_eligibility,
    GrantConsent: grant_consent,
    WithdrawConsent: withdraw_consent,
    RecordObjection: record_objection,
    WithdrawObjection: withdraw_objection,
    EnrolParticipant: enrol,
    DeclineEnrolment: decline_enrolment,
    WithdrawReferral: withdraw_referral,
    EraseParticipant: erase,
    ExpireConsents: expire_consents,
    RegisterStaffMember: register_staff_member,
    ChangeStaffRoles: change_staff_roles,
    RecordStaffDeparture: record_staff_departure,
    PlaceLegalHold: place_legal_hold,
    LiftLegalHold: lift_legal_hold,
    SetRetentionRule: set_retention_rule,
}
