"""The participant aggregate of intake: its state, how events fold into it, its stream, and
the guards every command of it starts with. Pure: no infrastructure."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from datetime import date
from types import MappingProxyType
from typing import Literal
from uuid import UUID

from shared.consent import consent_active, objection_holds
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
    ParticipantTransferred,
    ReferralReceived,
    ReferralWithdrawn,
    Sex,
)
from shared.domain import Decider, InvalidTransition
from shared.evolvers import Evolver, taken
from shared.guards import require_existing

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


@evolve.on(ParticipantTransferred)
def _transferred(state: Participant, e: ParticipantTransferred) -> Participant:
    """The receiving agency runs the participant's case from now on (casework's transfer)."""
    return replace(state, agency=e.to_agency)


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
