"""The participant aggregate of intake: referral → information meeting → eligibility → consent
→ enrolment (or a declined or withdrawn referral), and erasure.

Pure: it decides which events a command produces, or refuses with a DomainError.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from datetime import date
from types import MappingProxyType
from typing import Literal
from uuid import UUID

from shared.consent import consent_active, name_marks, objection_holds
from shared.contracts.base import DomainEvent
from shared.contracts.common import ConsentPurpose
from shared.contracts.intake import (
    AgeBand,
    ConsentExpired,
    ConsentForm,
    ConsentGranted,
    ConsentWithdrawn,
    EligibilityChecked,
    EnrolmentDeclined,
    InformationMeetingHeld,
    LegalHoldLifted,
    LegalHoldPlaced,
    ObjectionRecorded,
    ObjectionWithdrawn,
    ParticipantDataErased,
    ParticipantEnrolled,
    ReferralReceived,
    ReferralWithdrawn,
    Sex,
    StaffMemberLeft,
    StaffMemberRegistered,
    StaffRolesChanged,
)
from shared.domain import Decider, DomainError, InvalidTransition, NotFound
from shared.evolvers import Evolver, taken
from shared.guards import found, not_before, require_existing
from shared.vocabulary import AGENCIES, DRV_AGENCIES, Role, project_agencies

Status = Literal["none", "referred", "enrolled", "declined", "withdrawn", "erased"]


@dataclass(frozen=True)
class Objection:
    """A § 76 SGB X objection: from ``recorded_on`` until its withdrawal takes effect."""

    objection_id: UUID
    scope: str  # v1: what it covers, in clear as recorded ("" from v2 on)
    recorded_on: date
    withdrawn_on: date | None = None
    sealed_scope: str = ""  # v2: the same, sealed (opened only by the views)

    def holds_on(self, day: date) -> bool:
        return objection_holds(self.recorded_on, self.withdrawn_on, day)


@dataclass(frozen=True)
class LegalHold:
    """A legal hold: no deletion from ``placed_on`` up to, excluding, ``until`` or its lifting."""

    hold_id: UUID
    placed_on: date
    until: date
    sealed_reason: str
    lifted_on: date | None = None

    def holds_on(self, day: date) -> bool:
        end = self.until if self.lifted_on is None else min(self.until, self.lifted_on)
        return self.placed_on <= day < end


@dataclass(frozen=True)
class Consent:
    consent_id: UUID
    purpose: ConsentPurpose
    scope: str | None
    granted_on: date
    form: ConsentForm
    expires_on: date | None
    ended_on: date | None = None
    ended_by: Literal["withdrawn", "expired"] | None = None
    sealed_scope: str = ""  # medical-release (v2): the doctor or clinic, sealed

    def active_on(self, day: date) -> bool:
        """The one consent rule (``shared.consent``): from the grant date up to, excluding,
        the expiry or withdrawal date."""
        return consent_active(self.granted_on, self.expires_on, self.ended_on, day)

    def expired_by(self, day: date) -> bool:
        """Not yet ended, but its expiry date has come (due for a ConsentExpired)."""
        return (
            self.ended_on is None and self.expires_on is not None and day >= self.granted_on and not self.active_on(day)
        )


@dataclass(frozen=True)
class Participant:
    participant_id: UUID | None = None
    status: Status = "none"
    agency: str = ""
    source_agency: str = ""
    project: str = ""
    age_band: AgeBand = "unknown"
    sex: Sex = "unknown"
    referred_on: date | None = None
    meeting_held_on: date | None = None
    eligible: bool | None = None
    eligibility_reasons: tuple[str, ...] = ()
    start_date: date | None = None
    consents: Mapping[UUID, Consent] = field(default_factory=lambda: MappingProxyType({}))
    objections: Mapping[UUID, Objection] = field(default_factory=lambda: MappingProxyType({}))
    holds: Mapping[UUID, LegalHold] = field(default_factory=lambda: MappingProxyType({}))
    # ciphertext from the referral (opened only by the views, with the participant's key)
    sealed_identity: str = ""
    sealed_reason: str = ""

    def active_consents(self, day: date, purpose: ConsentPurpose | None = None) -> list[Consent]:
        return [c for c in self.consents.values() if c.active_on(day) and purpose in (None, c.purpose)]

    def hold_on(self, day: date) -> LegalHold | None:
        """The legal hold in force that day (the one that lasts longest), if any."""
        holding = [h for h in self.holds.values() if h.holds_on(day)]
        return max(holding, key=lambda h: h.until) if holding else None


def _with_objection(state: Participant, objection: Objection) -> Participant:
    return replace(state, objections=MappingProxyType({**state.objections, objection.objection_id: objection}))


def _with_hold(state: Participant, hold: LegalHold) -> Participant:
    return replace(state, holds=MappingProxyType({**state.holds, hold.hold_id: hold}))


def _with_consent(state: Participant, consent: Consent) -> Participant:
    return replace(state, consents=MappingProxyType({**state.consents, consent.consent_id: consent}))


evolve = Evolver[Participant]()
"""How a participant takes each of their events (one small function per event class)."""

# Events that only end the referral (or the data) with a final status.
evolve.sets(EnrolmentDeclined, status="declined")
evolve.sets(ReferralWithdrawn, status="withdrawn")
evolve.sets(ParticipantDataErased, status="erased")


@evolve.on(ReferralReceived)
def _referral_received(state: Participant, e: ReferralReceived) -> Participant:
    same_names = ("participant_id", "source_agency", "project", "age_band", "sex", "sealed_identity", "sealed_reason")
    return taken(state, e, *same_names, status="referred", agency=e.running_agency, referred_on=e.received_on)


@evolve.on(InformationMeetingHeld)
def _meeting_held(state: Participant, e: InformationMeetingHeld) -> Participant:
    return replace(state, meeting_held_on=e.held_on if e.attended else state.meeting_held_on)


@evolve.on(EligibilityChecked)
def _eligibility_checked(state: Participant, e: EligibilityChecked) -> Participant:
    return replace(state, eligible=e.eligible, eligibility_reasons=tuple(e.reasons))


@evolve.on(ConsentGranted)
def _consent_granted(state: Participant, e: ConsentGranted) -> Participant:
    granted = Consent(e.consent_id, e.purpose, e.scope, e.granted_on, e.form, e.expires_on, sealed_scope=e.sealed_scope)
    return _with_consent(state, granted)


@evolve.on(ConsentWithdrawn)
def _consent_withdrawn(state: Participant, e: ConsentWithdrawn) -> Participant:
    return _with_consent(state, replace(state.consents[e.consent_id], ended_on=e.effective_on, ended_by="withdrawn"))


@evolve.on(ConsentExpired)
def _consent_expired(state: Participant, e: ConsentExpired) -> Participant:
    return _with_consent(state, replace(state.consents[e.consent_id], ended_on=e.expired_on, ended_by="expired"))


@evolve.on(ObjectionRecorded)
def _objection_recorded(state: Participant, e: ObjectionRecorded) -> Participant:
    return _with_objection(state, Objection(e.objection_id, e.scope or "", e.recorded_on, sealed_scope=e.sealed_scope))


@evolve.on(ObjectionWithdrawn)
def _objection_withdrawn(state: Participant, e: ObjectionWithdrawn) -> Participant:
    return _with_objection(state, replace(state.objections[e.objection_id], withdrawn_on=e.withdrawn_on))


@evolve.on(LegalHoldPlaced)
def _hold_placed(state: Participant, e: LegalHoldPlaced) -> Participant:
    return _with_hold(state, LegalHold(e.hold_id, e.placed_on, e.until, e.sealed_reason))


@evolve.on(LegalHoldLifted)
def _hold_lifted(state: Participant, e: LegalHoldLifted) -> Participant:
    return _with_hold(state, replace(state.holds[e.hold_id], lifted_on=e.lifted_on))


@evolve.on(ParticipantEnrolled)
def _enrolled(state: Participant, e: ParticipantEnrolled) -> Participant:
    return replace(state, status="enrolled", start_date=e.start_date)


participant = Decider[Participant](stream_type="participant", initial=Participant, evolve=evolve)


def stream_id(participant_id: UUID) -> str:
    return f"participant-{participant_id}"


def _existing(state: Participant) -> UUID:
    return require_existing(state.participant_id, state.status, what="participant")


def _referred(state: Participant, action: str) -> UUID:
    pid = _existing(state)
    if state.status != "referred":
        raise InvalidTransition(f"cannot {action}: the referral is {state.status}", field="status")
    return pid


def receive_referral(state: Participant, referral: ReferralReceived) -> list[DomainEvent]:
    if state.status != "none":
        raise InvalidTransition("this participant has already been referred")
    members = project_agencies(referral.project)
    if not members:
        raise DomainError(f"unknown project {referral.project}", field="project")
    if referral.source_agency not in members:
        raise DomainError(f"agency {referral.source_agency} does not take part in {referral.project}", field="project")
    if referral.agency is not None and referral.agency not in members:
        raise DomainError(f"agency {referral.agency} does not take part in {referral.project}", field="agency")
    return [referral]


def hold_information_meeting(state: Participant, held_on: date, attended: bool) -> list[DomainEvent]:
    pid = _referred(state, "hold an information meeting")
    not_before(held_on, state.referred_on, "the meeting cannot be before the referral", field="held_on")
    return [InformationMeetingHeld(participant_id=pid, held_on=held_on, attended=attended)]


def age_on(birth: date, on: date) -> int:
    """Full years on a day."""
    return on.year - birth.year - ((on.month, on.day) < (birth.month, birth.day))


def age_band(birth: date, on: date) -> AgeBand:
    """The coarse age group the events carry instead of the birth date."""
    age = age_on(birth, on)
    if age < 25:
        return "<25"
    for upper, band in ((34, "25-34"), (44, "35-44"), (54, "45-54")):
        if age <= upper:
            return band  # type: ignore[return-value]
    return "55+"


def eligibility_reasons(voluntary: bool, willing: bool, declined_lta: bool) -> tuple[bool, list[str]]:
    """Entry rule: voluntary participation, and willingness to address placement-relevant
    impairments or a declined LTA (Leistungen zur Teilhabe am Arbeitsleben)."""
    reasons: list[str] = []
    if voluntary:
        reasons.append("participation is voluntary")
    else:
        reasons.append("participation is not voluntary")
    if willing:
        reasons.append("willing to address placement-relevant impairments")
    if declined_lta:
        reasons.append("declined LTA")
    if not willing and not declined_lta:
        reasons.append("neither willing to address impairments nor declined LTA")
    return voluntary and (willing or declined_lta), reasons


def check_eligibility(
    state: Participant,
    checked_on: date,
    *,
    voluntary: bool,
    willing_to_address_impairments: bool,
    declined_lta: bool,
    sealed_findings: str,
) -> list[DomainEvent]:
    pid = _referred(state, "check eligibility")
    not_before(checked_on, state.referred_on, "the check cannot be before the referral", field="checked_on")
    eligible, reasons = eligibility_reasons(voluntary, willing_to_address_impairments, declined_lta)
    return [
        EligibilityChecked(
            participant_id=pid,
            checked_on=checked_on,
            voluntary=voluntary,
            willing_to_address_impairments=willing_to_address_impairments,
            declined_lta=declined_lta,
            eligible=eligible,
            reasons=reasons,
            sealed_findings=sealed_findings,
        )
    ]


def consent_scope(state: Participant, purpose: ConsentPurpose, scope: str | None) -> str | None:
    """medical-release names a doctor or clinic; drv-exchange names the partner agency
    (defaulting to the project's DRV carrier, or the Jobcenter when DRV runs the case)."""
    if purpose is ConsentPurpose.MEDICAL_RELEASE:
        if not scope:
            raise DomainError("a medical release names the doctor or clinic", field="scope")
        return scope
    if purpose is ConsentPurpose.DRV_EXCHANGE:
        return _exchange_partner(state, scope)
    return scope


def _exchange_partner(state: Participant, scope: str | None) -> str:
    """The agency a drv-exchange consent names: the one given (another agency), or by default
    the project's first member on the other side of the Jobcenter/DRV line."""
    if scope is None:
        members = project_agencies(state.project)
        partners = [a for a in members if a != state.agency and (a in DRV_AGENCIES) != (state.agency in DRV_AGENCIES)]
        if not partners:
            raise DomainError("no exchange partner in this project; name one", field="scope")
        return partners[0]
    if scope not in AGENCIES or scope == state.agency:
        raise DomainError("scope must be another agency", field="scope")
    return scope


def grant_consent(
    state: Participant,
    consent_id: UUID,
    purpose: ConsentPurpose,
    scope: str | None,
    granted_on: date,
    form: ConsentForm,
    expires_on: date | None,
    sealed_scope: str = "",
) -> list[DomainEvent]:
    """``scope`` is checked; a medical release keeps only ``sealed_scope`` (the doctor sealed),
    so several releases may run side by side (one per doctor, told apart by their consent id)."""
    pid = _existing(state)
    if state.status in ("declined", "withdrawn"):
        raise InvalidTransition(f"the referral is {state.status}", field="status")
    if expires_on is not None and expires_on <= granted_on:
        raise DomainError("expiry must be after the grant date", field="expires_on")
    scope = consent_scope(state, purpose, scope)
    marks: list[str] = []
    if purpose is ConsentPurpose.MEDICAL_RELEASE:
        marks = name_marks(scope)  # casework matches a report's doctor against these
        scope = None  # the doctor travels only sealed
    else:
        for c in state.active_consents(granted_on, purpose):
            if c.scope == scope:
                raise InvalidTransition(f"an active {purpose} consent for this scope exists", field="purpose")
    return [
        ConsentGranted(
            participant_id=pid,
            consent_id=consent_id,
            purpose=purpose,
            scope=scope,
            sealed_scope=sealed_scope,
            scope_marks=marks,
            granted_on=granted_on,
            form=form,
            expires_on=expires_on,
        )
    ]


def withdraw_consent(state: Participant, consent_id: UUID, effective_on: date) -> list[DomainEvent]:
    pid = _existing(state)
    c = found(state.consents, consent_id, what="consent", field="consent_id")
    if c.ended_on is not None:
        raise InvalidTransition(f"the consent was already {c.ended_by}", field="consent_id")
    not_before(
        effective_on, c.granted_on, "withdrawal takes effect from now on, not before the grant", field="effective_on"
    )
    return [
        ConsentWithdrawn(
            participant_id=pid,
            consent_id=c.consent_id,
            purpose=c.purpose,
            scope=_agency_scope(c),
            effective_on=effective_on,
        )
    ]


def expire_consents(state: Participant, today: date) -> list[DomainEvent]:
    """Consents whose ``expires_on`` has come (applied by the background task)."""
    if state.participant_id is None or state.status == "erased":
        return []
    return [
        ConsentExpired(
            participant_id=state.participant_id,
            consent_id=c.consent_id,
            purpose=c.purpose,
            scope=_agency_scope(c),
            expired_on=c.expires_on,
        )
        for c in state.consents.values()
        if c.expires_on is not None and c.expired_by(today)
    ]


def _agency_scope(c: Consent) -> str | None:
    """The scope copied into a withdrawal or expiry: never the doctor of a (v1) medical release."""
    return None if c.purpose is ConsentPurpose.MEDICAL_RELEASE else c.scope


def record_objection(
    state: Participant, objection_id: UUID, recorded_on: date, sealed_scope: str, scope_marks: list[str]
) -> list[DomainEvent]:
    """What the objection covers travels sealed, with its words' keyed digests for matching."""
    pid = _existing(state)
    return [
        ObjectionRecorded(
            participant_id=pid,
            objection_id=objection_id,
            recorded_on=recorded_on,
            sealed_scope=sealed_scope,
            scope_marks=scope_marks,
        )
    ]


def withdraw_objection(state: Participant, objection_id: UUID, withdrawn_on: date) -> list[DomainEvent]:
    """With effect from ``withdrawn_on`` on; never before the objection was made."""
    pid = _existing(state)
    o = found(state.objections, objection_id, what="objection", field="objection_id")
    if o.withdrawn_on is not None:
        raise InvalidTransition("the objection is already withdrawn", field="objection_id")
    not_before(
        withdrawn_on,
        o.recorded_on,
        f"withdrawn_on cannot be before the objection ({o.recorded_on})",
        field="withdrawn_on",
    )
    return [ObjectionWithdrawn(participant_id=pid, objection_id=objection_id, withdrawn_on=withdrawn_on)]


def enrol(state: Participant, start_date: date, *, meeting_required: bool = True) -> list[DomainEvent]:
    """Eintritt. Whether the information meeting must come first is the project's setting."""
    pid = _existing(state)
    if state.status == "enrolled":
        raise InvalidTransition("the participant is already enrolled")
    if state.status != "referred":
        raise InvalidTransition(f"cannot enrol: the referral is {state.status}", field="status")
    if meeting_required and state.meeting_held_on is None:
        raise InvalidTransition("enrolment needs the information meeting first", field="information_meeting")
    if state.eligible is not True:
        raise InvalidTransition(
            "enrolment needs a positive eligibility check"
            if state.eligible is None
            else "the participant is not eligible",
            field="eligibility",
        )
    if not state.active_consents(start_date, ConsentPurpose.PARTICIPATION):
        raise InvalidTransition("enrolment requires participation consent active on the start date", field="consent")
    not_before(start_date, state.referred_on, "the start cannot be before the referral", field="start_date")
    return [
        ParticipantEnrolled(
            participant_id=pid,
            project=state.project,
            agency=state.agency,
            start_date=start_date,
            age_band=state.age_band,
            sex=state.sex,
        )
    ]


def decline_enrolment(
    state: Participant, declined_on: date, by: Literal["participant", "agency"], reason: str
) -> list[DomainEvent]:
    pid = _referred(state, "decline")
    return [EnrolmentDeclined(participant_id=pid, declined_on=declined_on, by=by, reason=reason)]


def withdraw_referral(state: Participant, withdrawn_on: date, reason: str) -> list[DomainEvent]:
    pid = _referred(state, "withdraw the referral")
    return [ReferralWithdrawn(participant_id=pid, withdrawn_on=withdrawn_on, reason=reason)]


def erase(state: Participant, erased_on: date, legal_basis: str) -> list[DomainEvent]:
    """Refused while a legal hold holds (lift it first): a hold pauses every deletion."""
    if state.status == "erased":
        raise InvalidTransition("the participant's data was already erased")
    pid = _existing(state)
    hold = state.hold_on(erased_on)
    if hold is not None:
        raise InvalidTransition(f"a legal hold pauses deletion until {hold.until.isoformat()}", field="legal_hold")
    return [ParticipantDataErased(participant_id=pid, erased_on=erased_on, legal_basis=legal_basis)]


def place_hold(
    state: Participant, hold_id: UUID, placed_on: date, until: date, sealed_reason: str
) -> list[DomainEvent]:
    """Pause deletion from today up to, excluding, ``until`` (a day after today)."""
    pid = _existing(state)
    if until <= placed_on:
        raise DomainError(f"until must be after today ({placed_on.isoformat()})", field="until")
    return [
        LegalHoldPlaced(
            participant_id=pid, hold_id=hold_id, placed_on=placed_on, until=until, sealed_reason=sealed_reason
        )
    ]


def lift_hold(state: Participant, hold_id: UUID, lifted_on: date) -> list[DomainEvent]:
    """End a hold before its end date; one that no longer holds cannot be lifted (409)."""
    pid = _existing(state)
    hold = found(state.holds, hold_id, what="legal hold", field="hold_id")
    if not hold.holds_on(lifted_on):
        raise InvalidTransition("the legal hold no longer holds", field="hold_id")
    return [LegalHoldLifted(participant_id=pid, hold_id=hold_id, lifted_on=lifted_on)]


# ------------------------------------------------------------------ the staff directory
# A second aggregate of intake: one stream per staff member (agency and token subject), kept by
# the agency's administrator; every service projects it (shared.staff).

StaffStatus = Literal["none", "active", "left"]


@dataclass(frozen=True)
class StaffMember:
    agency: str = ""
    subject: str = ""
    status: StaffStatus = "none"
    roles: tuple[Role, ...] = ()
    projects: tuple[str, ...] = ()
    registered_on: date | None = None
    left_on: date | None = None
    sealed_name: str = ""


def evolve_staff(state: StaffMember, event: DomainEvent) -> StaffMember:
    match event:
        case StaffMemberRegistered():
            return StaffMember(
                event.agency, event.subject, "active", tuple(event.roles), tuple(event.projects),
                event.registered_on, None, event.sealed_name,
            )  # fmt: skip
        case StaffRolesChanged():
            return replace(state, roles=tuple(event.roles), projects=tuple(event.projects))
        case StaffMemberLeft():
            return replace(state, status="left", left_on=event.left_on)
    return state


staff_member = Decider[StaffMember](stream_type="staff-member", initial=StaffMember, evolve=evolve_staff)


def staff_stream_id(agency: str, subject: str) -> str:
    return f"staff-{agency}:{subject}"


def _staff_assignment(agency: str, roles: list[Role], projects: list[str]) -> tuple[list[Role], list[str]]:
    """Roles a person can hold (not the services' own) and projects the agency takes part in,
    each once and in a stable order."""
    if Role.SERVICE in roles:
        raise DomainError("the service role is for machines, not staff", field="roles")
    for project in projects:
        if agency not in project_agencies(project):
            raise DomainError(f"agency {agency} does not take part in {project}", field="projects")
    return sorted(set(roles)), sorted(set(projects))


def register_staff(
    state: StaffMember, agency: str, subject: str, sealed_name: str, roles: list[Role], projects: list[str], on: date
) -> list[DomainEvent]:
    """New, or back after leaving (a current member is a conflict: change their roles instead)."""
    if state.status == "active":
        raise InvalidTransition(f"{subject} is already staff of {agency}", field="subject")
    roles, projects = _staff_assignment(agency, roles, projects)
    return [
        StaffMemberRegistered(
            agency=agency, subject=subject, sealed_name=sealed_name, roles=roles, projects=projects, registered_on=on
        )
    ]


def _current(state: StaffMember) -> StaffMember:
    if state.status == "none":
        raise NotFound("no such staff member", field="subject")
    if state.status == "left":
        raise InvalidTransition(f"{state.subject} left on {state.left_on}", field="subject")
    return state


def change_staff_roles(state: StaffMember, roles: list[Role], projects: list[str], on: date) -> list[DomainEvent]:
    s = _current(state)
    roles, projects = _staff_assignment(s.agency, roles, projects)
    if (tuple(roles), tuple(projects)) == (s.roles, s.projects):
        return []  # nothing changes: nothing to record
    return [StaffRolesChanged(agency=s.agency, subject=s.subject, roles=roles, projects=projects, changed_on=on)]


def staff_left(state: StaffMember, left_on: date) -> list[DomainEvent]:
    s = _current(state)
    if s.registered_on is not None and left_on < s.registered_on:
        raise DomainError("cannot leave before being registered", field="left_on")
    return [StaffMemberLeft(agency=s.agency, subject=s.subject, left_on=left_on)]
