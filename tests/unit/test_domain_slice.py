"""Deciders of the thin slice, in memory."""

from __future__ import annotations

from datetime import date

import pytest

from bench.synth import referral
from services.casework import domain as casework
from services.intake import domain as intake
from shared.contracts.base import DomainEvent
from shared.contracts.casework import CaseOpened
from shared.contracts.common import ConsentPurpose
from shared.contracts.intake import ParticipantEnrolled, ReferralReceived
from shared.domain import InvalidTransition, NotFound
from shared.envelope import new_id


def ready(r: ReferralReceived) -> list[DomainEvent]:
    """Referral, information meeting, positive eligibility check and participation consent:
    what enrolment needs."""
    events: list[DomainEvent] = [r]
    events += intake.hold_information_meeting(intake.participant.fold(events), date(2026, 3, 4), True)
    state = intake.participant.fold(events)
    events += intake.check_eligibility(
        state,
        date(2026, 3, 5),
        voluntary=True,
        willing_to_address_impairments=True,
        declined_lta=False,
        sealed_findings="",
    )
    state = intake.participant.fold(events)
    events += intake.grant_consent(
        state, new_id(), ConsentPurpose.PARTICIPATION, None, date(2026, 3, 5), "written", None
    )
    return events


def test_referral_then_enrolment() -> None:
    r = referral()
    state = intake.participant.fold(ready(r))
    [enrolled] = intake.enrol(state, date(2026, 3, 15))
    assert isinstance(enrolled, ParticipantEnrolled)
    assert (enrolled.participant_id, enrolled.agency, enrolled.project) == (r.participant_id, "jc-en", "pro-aktiv")
    assert intake.participant.fold([*ready(r), enrolled]).status == "enrolled"


def test_enrolment_twice_is_refused() -> None:
    r = referral()
    state = intake.participant.fold(ready(r))
    state = intake.participant.fold([*ready(r), *intake.enrol(state, date(2026, 3, 15))])
    with pytest.raises(InvalidTransition):
        intake.enrol(state, date(2026, 3, 16))


def test_enrolment_of_unknown_participant_is_not_found() -> None:
    with pytest.raises(NotFound):
        intake.enrol(intake.participant.initial(), date(2026, 3, 15))


def test_case_opens_once() -> None:
    r = referral()
    [enrolled] = intake.enrol(intake.participant.fold(ready(r)), date(2026, 3, 15))
    assert isinstance(enrolled, ParticipantEnrolled)
    [opened, einstieg] = casework.open_case(casework.case.initial(), enrolled)
    assert isinstance(opened, CaseOpened)
    assert casework.case.fold([opened, einstieg]).phase == "einstieg"
    assert opened.opened_on == date(2026, 3, 15)
    with pytest.raises(InvalidTransition):
        casework.open_case(casework.case.fold([opened]), enrolled)
