"""Intake's rules, in memory: eligibility, consent per purpose, expiry, enrolment, erasure."""

from __future__ import annotations

from datetime import date

import pytest

from bench import synth
from services.intake import domain as intake
from shared.contracts.base import DomainEvent
from shared.contracts.common import ConsentPurpose
from shared.contracts.intake import ConsentExpired, ParticipantDataErased, ReferralReceived
from shared.domain import DomainError, InvalidTransition, NotFound
from shared.envelope import new_id

D = date(2026, 3, 2)


def referral(agency: str = "jc-en", project: str = "pro-aktiv", runs_at: str | None = None) -> ReferralReceived:
    return synth.referral(source_agency=agency, project=project, received_on=D, agency=runs_at)


def fold(*events: DomainEvent) -> intake.Participant:
    return intake.participant.fold(list(events))


@pytest.mark.parametrize(
    ("voluntary", "willing", "declined_lta", "eligible"),
    [(True, True, False, True), (True, False, True, True), (True, False, False, False), (False, True, True, False)],
)
def test_entry_rule(voluntary: bool, willing: bool, declined_lta: bool, eligible: bool) -> None:
    result, reasons = intake.eligibility_reasons(voluntary, willing, declined_lta)
    assert result is eligible
    assert reasons


def test_referral_from_an_agency_outside_the_project_is_refused() -> None:
    with pytest.raises(DomainError) as err:
        intake.receive_referral(intake.participant.initial(), referral("jc-unna", "pro-aktiv"))
    assert err.value.field == "project"


def test_drv_may_refer_to_a_jobcenter_that_runs_the_case() -> None:
    state = fold(*intake.receive_referral(intake.participant.initial(), referral("drv-westfalen", runs_at="jc-mk")))
    assert (state.agency, state.source_agency) == ("jc-mk", "drv-westfalen")


def test_drv_exchange_scope_defaults_to_the_partner_agency() -> None:
    r = referral()
    [granted] = intake.grant_consent(fold(r), new_id(), ConsentPurpose.DRV_EXCHANGE, None, D, "written", None)
    assert granted.scope == "drv-westfalen"  # type: ignore[attr-defined]
    drv_case = referral("drv-westfalen")
    [granted] = intake.grant_consent(fold(drv_case), new_id(), ConsentPurpose.DRV_EXCHANGE, None, D, "written", None)
    assert granted.scope == "jc-en"  # type: ignore[attr-defined]
    with pytest.raises(DomainError) as err:
        intake.grant_consent(
            fold(referral("jc-unna", "pluspunkt")), new_id(), ConsentPurpose.DRV_EXCHANGE, None, D, "written", None
        )
    assert err.value.field == "scope"


def test_medical_release_names_a_doctor_and_expiry_follows_the_grant() -> None:
    s = fold(referral())
    with pytest.raises(DomainError) as err:
        intake.grant_consent(s, new_id(), ConsentPurpose.MEDICAL_RELEASE, None, D, "written", None)
    assert err.value.field == "scope"
    with pytest.raises(DomainError) as err:
        intake.grant_consent(s, new_id(), ConsentPurpose.MONITORING, None, D, "written", D)
    assert err.value.field == "expires_on"


def test_withdrawal_takes_effect_from_then_on_and_only_once() -> None:
    r = referral()
    cid = new_id()
    granted = intake.grant_consent(fold(r), cid, ConsentPurpose.MONITORING, None, D, "electronic", None)
    s = fold(r, *granted)
    with pytest.raises(DomainError):
        intake.withdraw_consent(s, cid, date(2026, 3, 1))
    withdrawn = intake.withdraw_consent(s, cid, date(2026, 4, 1))
    s = fold(r, *granted, *withdrawn)
    assert s.consents[cid].active_on(date(2026, 3, 31))
    assert not s.consents[cid].active_on(date(2026, 4, 1))
    with pytest.raises(InvalidTransition):
        intake.withdraw_consent(s, cid, date(2026, 4, 2))
    with pytest.raises(NotFound):
        intake.withdraw_consent(s, new_id(), date(2026, 4, 2))


def test_expiry_applies_on_the_expiry_date_once() -> None:
    r = referral()
    cid = new_id()
    granted = intake.grant_consent(
        fold(r), cid, ConsentPurpose.EMPLOYER_DISCLOSURE, None, D, "written", date(2026, 6, 1)
    )
    s = fold(r, *granted)
    assert intake.expire_consents(s, date(2026, 5, 31)) == []
    [expired] = intake.expire_consents(s, date(2026, 6, 1))
    assert isinstance(expired, ConsentExpired)
    assert expired.expired_on == date(2026, 6, 1)
    assert intake.expire_consents(fold(r, *granted, expired), date(2026, 7, 1)) == []


def test_enrolment_needs_the_meeting_eligibility_and_participation_consent() -> None:
    r = referral()
    with pytest.raises(InvalidTransition) as err:
        intake.enrol(fold(r), D)
    assert err.value.field == "information_meeting"
    met = intake.hold_information_meeting(fold(r), D, True)
    with pytest.raises(InvalidTransition) as err:
        intake.enrol(fold(r, *met), D)
    assert err.value.field == "eligibility"
    checked = intake.check_eligibility(
        fold(r, *met), D, voluntary=True, willing_to_address_impairments=True, declined_lta=False, sealed_findings=""
    )
    with pytest.raises(InvalidTransition) as err:
        intake.enrol(fold(r, *met, *checked), D)
    assert err.value.field == "consent"
    consent = intake.grant_consent(
        fold(r, *met, *checked), new_id(), ConsentPurpose.PARTICIPATION, None, D, "written", None
    )
    assert intake.enrol(fold(r, *met, *checked, *consent), D)
    # a project whose setting makes the meeting optional enrols without one
    assert intake.enrol(fold(r, *checked, *consent), D, meeting_required=False)


def test_not_eligible_cannot_enrol_and_a_declined_referral_is_closed() -> None:
    r = referral()
    checked = intake.check_eligibility(
        fold(r), D, voluntary=False, willing_to_address_impairments=True, declined_lta=False, sealed_findings=""
    )
    with pytest.raises(InvalidTransition):
        intake.enrol(fold(r, *checked), D)
    declined = intake.decline_enrolment(fold(r, *checked), D, "participant", "prefers another measure")
    s = fold(r, *checked, *declined)
    assert s.status == "declined"
    with pytest.raises(InvalidTransition):
        intake.withdraw_referral(s, D, "x")


def test_erasure_closes_the_participant() -> None:
    r = referral()
    [erased] = intake.erase(fold(r), D, "Art. 17 GDPR")
    assert isinstance(erased, ParticipantDataErased)
    s = fold(r, erased)
    with pytest.raises(InvalidTransition):
        intake.erase(s, D, "again")
    with pytest.raises(NotFound):
        intake.record_objection(s, new_id(), D, "sealed", [])
    assert intake.expire_consents(s, D) == []
