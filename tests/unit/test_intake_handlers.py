"""Intake's command handlers on the in-memory unit of work and an in-memory key store: no
PostgreSQL. One event store is shared by every unit of work, as one database would be."""

from __future__ import annotations

import os
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import date
from typing import Any
from uuid import UUID

import pytest

from services.intake import access, domain
from services.intake.commands import (
    CheckEligibility,
    EnrolParticipant,
    EraseParticipant,
    GrantConsent,
    HoldInformationMeeting,
    Identity,
    ReceiveReferral,
)
from services.intake.handlers import HANDLERS
from services.intake.policies import ConsentExpiry
from shared.bus import Context, MessageBus, inject
from shared.contracts.common import ConsentPurpose
from shared.contracts.intake import (
    ConsentExpired,
    ConsentGranted,
    ParticipantDataErased,
    ParticipantEnrolled,
    ReferralReceived,
)
from shared.crypto import ERASED, KeyErased, open_with, seal_with
from shared.domain import Forbidden, InvalidTransition, NotFound
from shared.memory import MemoryEventStore
from shared.principal import Principal
from shared.unit_of_work import MemoryUnitOfWork, UnitOfWork
from shared.vocabulary import Role
from tests.unit.memory_bus import memory_bus

D = date(2026, 3, 2)
CM = Principal("cm-1", Role.CASE_MANAGER, "jc-en")
CM_MK = Principal("cm-2", Role.CASE_MANAGER, "jc-mk")
DRV = Principal("drv-1", Role.DRV_ADVISER, "drv-westfalen")
DPO = Principal("dpo-1", Role.DATA_PROTECTION_OFFICER, "jc-en")


class MemoryKeyStore:
    """The KeyStore port in memory (real AES-GCM, keys in a dict; ``None`` once erased)."""

    def __init__(self) -> None:
        self.keys: dict[str, bytes | None] = {}

    def _key(self, subject: str, *, create: bool = False) -> bytes:
        if create and subject not in self.keys:
            self.keys[subject] = os.urandom(32)
        key = self.keys.get(subject)
        if key is None:
            raise KeyErased(subject)
        return key

    async def seal(self, subject: str, uow: UnitOfWork, *values: Any) -> list[str]:
        key = self._key(subject, create=True)
        return [seal_with(key, v, subject) for v in values]

    async def open(self, subject: str, uow: UnitOfWork, token: str) -> Any:
        try:
            return open_with(self._key(subject), token, subject)
        except KeyErased:
            return ERASED

    @asynccontextmanager
    async def erasing(self, subject: str, uow: UnitOfWork) -> AsyncIterator[None]:
        yield
        self.keys[subject] = None


@pytest.fixture
def store() -> MemoryEventStore:
    return MemoryEventStore()


@pytest.fixture
def keys() -> MemoryKeyStore:
    return MemoryKeyStore()


@pytest.fixture
def bus(store: MemoryEventStore, keys: MemoryKeyStore) -> MessageBus:
    return memory_bus(inject(HANDLERS, keys=keys), store)


def ctx(principal: Principal = CM, **kw: Any) -> Context:
    return Context(principal=principal, today=kw.pop("today", D), **kw)


def referral(**kw: Any) -> ReceiveReferral:
    identity = Identity(first_name="Erika", last_name="Muster", birth_date=date(1985, 5, 1))
    return ReceiveReferral(
        project="pro-aktiv", received_on=D, identity=identity, reason="back pain", **{"sex": "female", **kw}
    )


async def refer(bus: MessageBus, principal: Principal = CM, **kw: Any) -> UUID:
    result = await bus.handle(referral(**kw), ctx(principal))
    return UUID(result.body["participant_id"])


async def test_referral_to_enrolment(bus: MessageBus, store: MemoryEventStore, keys: MemoryKeyStore) -> None:
    result = await bus.handle(referral(), ctx())
    assert result.body["status"] == "referred"
    assert result.body["version"] == 1
    pid = UUID(result.body["participant_id"])
    [env] = store.log
    received = ReferralReceived.model_validate(env.payload)
    assert received.age_band == "35-44"
    assert "Erika" not in env.payload["sealed_identity"]  # sealed under the participant's key
    assert (await keys.open(str(pid), MemoryUnitOfWork(store), received.sealed_identity))["first_name"] == "Erika"

    await bus.handle(HoldInformationMeeting(participant_id=pid, held_on=D), ctx())
    checked = await bus.handle(
        CheckEligibility(
            participant_id=pid, checked_on=D, voluntary=True, willing_to_address_impairments=False, declined_lta=True
        ),
        ctx(),
    )
    assert checked.body["eligible"] is True
    assert "declined LTA" in checked.body["reasons"]
    granted = await bus.handle(
        GrantConsent(participant_id=pid, purpose=ConsentPurpose.PARTICIPATION, granted_on=D, form="written"), ctx()
    )
    assert granted.body["consent_id"]
    enrolled = await bus.handle(EnrolParticipant(participant_id=pid, start_date=D), ctx())
    assert enrolled.body == {"participant_id": str(pid), "status": "enrolled", "version": 5}
    assert store.log[-1].event_type == ParticipantEnrolled.event_type


async def test_events_carry_the_running_agency(bus: MessageBus, store: MemoryEventStore) -> None:
    """DRV refers, jc-mk runs the case: every event is jc-mk's, and only jc-mk may act on it."""
    pid = await refer(bus, DRV, agency="jc-mk")
    assert store.log[-1].agency == "jc-mk"
    with pytest.raises(NotFound):  # DRV may not even see jc-mk's participant (no drv-exchange)
        await bus.handle(HoldInformationMeeting(participant_id=pid, held_on=D), ctx(DRV))
    await bus.handle(HoldInformationMeeting(participant_id=pid, held_on=D), ctx(CM_MK))
    assert store.log[-1].agency == "jc-mk"


async def test_enrolment_without_consent_is_refused_and_writes_nothing(
    bus: MessageBus, store: MemoryEventStore
) -> None:
    pid = await refer(bus)
    with pytest.raises(InvalidTransition) as err:
        await bus.handle(EnrolParticipant(participant_id=pid, start_date=D), ctx())
    assert err.value.field == "information_meeting"
    await bus.handle(HoldInformationMeeting(participant_id=pid, held_on=D), ctx())
    await bus.handle(
        CheckEligibility(participant_id=pid, checked_on=D, voluntary=True, willing_to_address_impairments=True), ctx()
    )
    with pytest.raises(InvalidTransition) as err:
        await bus.handle(EnrolParticipant(participant_id=pid, start_date=D), ctx())
    assert err.value.field == "consent"
    assert len(store.log) == 3


async def test_a_project_setting_makes_the_information_meeting_optional(store: MemoryEventStore) -> None:
    bus = MessageBus(
        inject(HANDLERS, keys=MemoryKeyStore(), meeting_optional=frozenset({"pro-aktiv"})),
        lambda transactional: MemoryUnitOfWork(store, transactional=transactional),
    )
    pid = await refer(bus)
    await bus.handle(
        CheckEligibility(participant_id=pid, checked_on=D, voluntary=True, willing_to_address_impairments=True), ctx()
    )
    await bus.handle(
        GrantConsent(participant_id=pid, purpose=ConsentPurpose.PARTICIPATION, granted_on=D, form="written"), ctx()
    )
    enrolled = await bus.handle(EnrolParticipant(participant_id=pid, start_date=D), ctx())
    assert enrolled.body["status"] == "enrolled"


async def test_other_agency_wrong_role_and_unknown_participant(bus: MessageBus, store: MemoryEventStore) -> None:
    pid = await refer(bus)
    with pytest.raises(NotFound):  # another agency's case manager: "no such participant"
        await bus.handle(HoldInformationMeeting(participant_id=pid, held_on=D), ctx(CM_MK))
    ot = Principal("ot-1", Role.OCCUPATIONAL_THERAPIST, "jc-en")
    with pytest.raises(Forbidden):  # a role that does not do intake
        await bus.handle(HoldInformationMeeting(participant_id=pid, held_on=D), ctx(ot))
    with pytest.raises(Forbidden) as err:  # an agency outside the project
        await bus.handle(referral(), ctx(Principal("cm-u", Role.CASE_MANAGER, "jc-unna")))
    assert err.value.field == "project"
    with pytest.raises(NotFound):
        await bus.handle(HoldInformationMeeting(participant_id=UUID(int=1), held_on=D), ctx())
    assert len(store.log) == 1


async def test_a_retried_request_acts_once(bus: MessageBus, store: MemoryEventStore) -> None:
    first = await bus.handle(referral(), ctx(idempotency_key="k-1"))
    again = await bus.handle(referral(), ctx(idempotency_key="k-1"))
    assert again.replayed
    assert again.body == first.body
    assert len(store.log) == 1
    pid = UUID(first.body["participant_id"])
    consent = GrantConsent(participant_id=pid, purpose=ConsentPurpose.MONITORING, granted_on=D, form="written")
    one = await bus.handle(consent, ctx(idempotency_key="k-2"))
    two = await bus.handle(consent, ctx(idempotency_key="k-2"))
    assert one.body["consent_id"] == two.body["consent_id"]
    assert [e.event_type for e in store.log].count(ConsentGranted.event_type) == 1


async def test_erasure_destroys_the_key_with_the_event(
    bus: MessageBus, store: MemoryEventStore, keys: MemoryKeyStore
) -> None:
    pid = await refer(bus)
    with pytest.raises(Forbidden):
        await bus.handle(EraseParticipant(participant_id=pid, legal_basis="Art. 17 GDPR"), ctx(CM))
    assert keys.keys[str(pid)] is not None
    result = await bus.handle(EraseParticipant(participant_id=pid, legal_basis="Art. 17 GDPR"), ctx(DPO))
    assert result.body == {"participant_id": str(pid), "status": "erased", "version": 2}
    assert store.log[-1].event_type == ParticipantDataErased.event_type
    assert keys.keys[str(pid)] is None
    with pytest.raises(NotFound):
        await bus.handle(EraseParticipant(participant_id=pid, legal_basis="again"), ctx(DPO))


async def test_expiry_policy_expires_on_the_expiry_date_once(bus: MessageBus, store: MemoryEventStore) -> None:
    pid = await refer(bus)
    await bus.handle(
        GrantConsent(
            participant_id=pid,
            purpose=ConsentPurpose.MONITORING,
            granted_on=D,
            form="written",
            expires_on=date(2026, 6, 1),
        ),
        ctx(),
    )

    async def due(day: date, agency: str | None = None) -> list[UUID]:
        return [pid]  # the projection's candidates; the aggregate decides

    policy = ConsentExpiry(bus, due, clock=lambda: date(2026, 5, 31))
    assert await policy.run_once() == 0
    assert await policy.run_once(date(2026, 6, 1)) == 1
    assert await policy.run_once(date(2026, 6, 2)) == 0
    expired = store.log[-1]
    assert expired.event_type == ConsentExpired.event_type
    assert expired.agency == "jc-en"
    assert expired.actor.id == "intake-consent-expiry"


def test_monitoring_release_ends_on_the_consent_expiry_day() -> None:
    """The expiry day is no longer covered (the domain's and README's rule); intake's old
    monitoring look-up still released identities on that day."""
    pid = UUID(int=7)
    granted = ConsentGranted(
        participant_id=pid,
        consent_id=UUID(int=8),
        purpose=ConsentPurpose.MONITORING,
        granted_on=D,
        form="written",
        expires_on=date(2026, 6, 1),
    )
    r = ReferralReceived(
        participant_id=pid, source_agency="jc-en", project="pro-aktiv", referred_by="cm", received_on=D,
        age_band="35-44", sex="female", sealed_identity="x", sealed_reason="y",
    )  # fmt: skip
    state = domain.participant.fold([r, granted])
    assert access.may_release_for_monitoring(CM, state, date(2026, 5, 31))
    assert not access.may_release_for_monitoring(CM, state, date(2026, 6, 1))
