"""The participant's way in: referral, information meeting, eligibility, enrolment, a declined
or withdrawn referral. Pure: each command decides its events or refuses with a DomainError."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from typing import Literal

from services.intake.domain.state import (
    Participant,
    _existing,
    _referred,
)
from shared.contracts.base import DomainEvent
from shared.contracts.common import ConsentPurpose
from shared.contracts.intake import (
    AgeBand,
    EligibilityChecked,
    EnrolmentDeclined,
    InformationMeetingHeld,
    ParticipantEnrolled,
    ReferralReceived,
    ReferralWithdrawn,
)
from shared.domain import DomainError, InvalidTransition
from shared.guards import not_before
from shared.vocabulary import project_agencies, project_members


def receive_referral(
    state: Participant, referral: ReferralReceived, *, configured: Sequence[str] | None = None
) -> list[DomainEvent]:
    """The referral, if both agencies take part in the project (``configured``: its members as
    casework last configured them; None before the first configuration: the closed list's)."""
    if state.status != "none":
        raise InvalidTransition("this participant has already been referred")
    if not project_agencies(referral.project):
        raise DomainError(f"unknown project {referral.project}", field="project")
    members = project_members(referral.project, configured)
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
