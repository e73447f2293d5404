"""Intake follows casework's case transfer (issue 15, item 8): the participant moves to the
receiving agency once; a replay, an erased or an unknown participant append nothing."""

from __future__ import annotations

from datetime import date

import pytest

from services.intake import access, domain
from shared.contracts.casework import CaseTransferred
from shared.contracts.intake import ParticipantDataErased, ParticipantTransferred, ReferralReceived
from shared.domain import NotFound
from shared.envelope import new_id
from shared.principal import Principal
from shared.vocabulary import Role

D = date(2026, 5, 12)


def _referred() -> domain.Participant:
    pid = new_id()
    referral = ReferralReceived(
        participant_id=pid, source_agency="jc-mk", project="pro-aktiv", referred_by="cm-mara",
        received_on=date(2026, 3, 2), age_band="35-44", sex="male", sealed_identity="x", sealed_reason="y",
    )  # fmt: skip
    return domain.evolve(domain.participant.initial(), referral)


def _moved(state: domain.Participant, to: str = "jc-en") -> CaseTransferred:
    assert state.participant_id is not None
    return CaseTransferred(
        case_id=state.participant_id, from_agency="jc-mk", to_agency=to, project="pro-aktiv",
        transferred_on=D, to_case_manager="cm-erik",
    )  # fmt: skip


def test_the_participant_moves_with_the_case_and_the_receiving_agency_runs_it() -> None:
    state = _referred()
    (event,) = domain.follow_transfer(state, _moved(state))
    assert isinstance(event, ParticipantTransferred)
    assert (event.from_agency, event.to_agency, event.transferred_on) == ("jc-mk", "jc-en", D)
    after = domain.evolve(state, event)
    assert after.agency == "jc-en"
    access.require_running_agency(Principal("cm-erik", Role.CASE_MANAGER, "jc-en"), after, D)
    with pytest.raises(NotFound):
        access.require_running_agency(Principal("cm-mara", Role.CASE_MANAGER, "jc-mk"), after, D)


def test_a_replayed_transfer_or_an_erased_participant_appends_nothing() -> None:
    state = _referred()
    (event,) = domain.follow_transfer(state, _moved(state))
    assert domain.follow_transfer(domain.evolve(state, event), _moved(state)) == []
    assert state.participant_id is not None
    erased = domain.evolve(
        state, ParticipantDataErased(participant_id=state.participant_id, erased_on=D, legal_basis="Art. 17 GDPR")
    )
    assert domain.follow_transfer(erased, _moved(state)) == []
    assert domain.follow_transfer(domain.participant.initial(), _moved(state)) == []
