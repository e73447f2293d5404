"""Retention: which record is due on which day (boundary days, month ends, which rule applies),
and the handlers and the daily task on the in-memory unit of work."""

from __future__ import annotations

from datetime import date
from typing import Any
from uuid import UUID

import pytest

from services.intake.commands import (
    DeclineEnrolment,
    EraseParticipant,
    LiftLegalHold,
    PlaceLegalHold,
    SetRetentionRule,
    WithdrawReferral,
)
from services.intake.domain import retention
from services.intake.policies import RetentionTask
from shared.bus import Context, MessageBus
from shared.contracts.intake import LegalHoldPlaced, ParticipantDataErased, RetentionRuleSet
from shared.domain import DomainError, Forbidden, InvalidTransition, NotFound
from shared.memory import MemoryEventStore
from shared.principal import Principal
from shared.unit_of_work import MemoryUnitOfWork
from shared.vocabulary import Role
from tests.unit.test_intake_handlers import CM, DPO, MemoryKeyStore, bus, ctx, keys, refer, store

__all__ = ["bus", "keys", "store"]  # fixtures shared with the intake handler tests

ADMIN = Principal("admin-1", Role.ADMINISTRATOR, "jc-en")
AUDITOR = Principal("aud-1", Role.AUDITOR, "jc-en")
DPO_MK = Principal("dpo-2", Role.DATA_PROTECTION_OFFICER, "jc-mk")


def record(status: str = "declined", **kw: Any) -> retention.Record:
    return retention.Record(participant_id="p1", agency="jc-en", project="pro-aktiv", status=status, **kw)


def agency_rules(*events: RetentionRuleSet) -> retention.Rules:
    return retention.rules.fold(list(events))


def rule_set(months: int, project: str | None = None, cls: str = "referral-not-enrolled") -> RetentionRuleSet:
    return RetentionRuleSet.model_validate(
        {
            "agency": "jc-en",
            "project": project,
            "record_class": cls,
            "period_months": months,
            "basis": "§ 84 SGB X",
            "set_on": date(2026, 1, 1),
        }
    )


# ------------------------------------------------------------------ the rule


def test_a_declined_referral_is_due_six_months_after_the_decline_not_a_day_earlier() -> None:
    r = record(ended_on=date(2026, 3, 15))
    d = retention.due(r, retention.Rules())
    assert d is not None
    assert (d.record_class, d.trigger_on, d.due_on) == (
        "referral-not-enrolled",
        date(2026, 3, 15),
        date(2026, 9, 15),
    )
    assert retention.due_by([r], retention.Rules(), date(2026, 9, 14)) == []
    assert [x.record.participant_id for x in retention.due_by([r], retention.Rules(), date(2026, 9, 15))] == ["p1"]
    assert retention.due_by([r], retention.Rules(), date(2027, 1, 1)) != []  # and every day after


def test_project_data_is_due_five_years_after_the_exit_and_not_before_an_exit() -> None:
    assert retention.due(record("enrolled"), retention.Rules()) is None  # still in the project
    assert retention.due(record("referred"), retention.Rules()) is None  # an open referral
    d = retention.due(record("enrolled", exited_on=date(2026, 6, 30)), retention.Rules())
    assert d is not None
    assert (d.record_class, d.due_on) == ("project-data", date(2031, 6, 30))
    assert d.rule.source == "default"


def test_a_day_the_target_month_lacks_becomes_its_last_day() -> None:
    assert retention.add_months(date(2026, 8, 31), 6) == date(2027, 2, 28)
    assert retention.add_months(date(2027, 8, 31), 6) == date(2028, 2, 29)  # leap year
    assert retention.add_months(date(2026, 12, 1), 1) == date(2027, 1, 1)
    assert retention.add_months(date(2024, 2, 29), 60) == date(2029, 2, 28)


def test_the_projects_rule_beats_the_agencys_which_beats_the_default() -> None:
    r = record(ended_on=date(2026, 1, 10))
    agency_wide = agency_rules(rule_set(3))
    d = retention.due(r, agency_wide)
    assert d is not None
    assert d.due_on == date(2026, 4, 10)
    assert d.rule.source == "agency"
    both = agency_rules(rule_set(3), rule_set(1, project="pro-aktiv"))
    d = retention.due(r, both)
    assert d is not None
    assert d.due_on == date(2026, 2, 10)
    other = retention.due(retention.Record("p2", "jc-en", "pluspunkt", "withdrawn", date(2026, 1, 10)), both)
    assert other is not None
    assert other.due_on == date(2026, 4, 10)
    changed = agency_rules(rule_set(3), rule_set(12))  # a later event replaces the earlier
    assert changed.applying("pro-aktiv", "referral-not-enrolled").period_months == 12
    assert [r.record_class for r in changed.effective()] == ["project-data", "referral-not-enrolled"]


def test_the_erasure_records_reason_retention_with_the_rule() -> None:
    d = retention.due(record(ended_on=date(2026, 3, 15)), retention.Rules())
    assert d is not None
    assert d.legal_basis.startswith("retention: referral-not-enrolled, 6 months after 2026-03-15")


def test_setting_the_same_rule_again_appends_nothing_and_a_foreign_project_is_refused() -> None:
    state = agency_rules(rule_set(3))
    assert retention.set_rule(state, "jc-en", None, "referral-not-enrolled", 3, "§ 84 SGB X", date(2026, 2, 1)) == []
    assert retention.set_rule(state, "jc-en", None, "referral-not-enrolled", 4, "§ 84 SGB X", date(2026, 2, 1))
    with pytest.raises(DomainError) as refused:
        retention.set_rule(state, "jc-en", "pluspunkt", "project-data", 4, "x", date(2026, 2, 1))
    assert refused.value.field == "project"


# ------------------------------------------------------------------ handlers


async def declined(bus: MessageBus, on: date = date(2026, 3, 2)) -> UUID:
    pid = await refer(bus)
    await bus.handle(DeclineEnrolment(participant_id=pid, declined_on=on, by="participant", reason="moved"), ctx())
    return pid


async def test_rules_are_set_by_a_dpo_or_administrator_of_the_callers_agency(
    bus: MessageBus, store: MemoryEventStore
) -> None:
    body = {"record_class": "project-data", "period_months": 120, "basis": "grant notice § 8"}
    result = await bus.handle(SetRetentionRule(**body), ctx(ADMIN))
    assert result.body["changed"] is True
    assert result.body["agency"] == "jc-en"
    again = await bus.handle(SetRetentionRule(**body), ctx(DPO))
    assert again.body["changed"] is False
    [env] = [e for e in store.log if e.event_type == "RetentionRuleSet"]
    assert env.stream_id == "retention-rules-jc-en"
    assert env.agency == "jc-en"
    assert env.actor.id == "admin-1"
    with pytest.raises(Forbidden):
        await bus.handle(SetRetentionRule(**body), ctx(CM))
    await bus.handle(SetRetentionRule(**{**body, "period_months": 36}), ctx(DPO_MK))
    loaded = await MemoryUnitOfWork(store).load(retention.rules, retention.stream_id("jc-en"))
    assert loaded.state.applying("pro-aktiv", "project-data").period_months == 120  # jc-mk's rule is its own


async def test_a_hold_pauses_the_dpos_erasure_until_lifted(bus: MessageBus, store: MemoryEventStore) -> None:
    pid = await declined(bus)
    placed = await bus.handle(
        PlaceLegalHold(participant_id=pid, until=date(2026, 12, 31), reason="Klage beim Sozialgericht"), ctx(AUDITOR)
    )
    hold_id = UUID(placed.body["hold_id"])
    [env] = [e for e in store.log if e.event_type == "LegalHoldPlaced"]
    assert "Sozialgericht" not in env.payload["sealed_reason"]  # sealed
    assert LegalHoldPlaced.model_validate(env.payload).placed_on == date(2026, 3, 2)
    with pytest.raises(InvalidTransition) as refused:
        await bus.handle(EraseParticipant(participant_id=pid, legal_basis="Art. 17 GDPR"), ctx(DPO))
    assert refused.value.field == "legal_hold"
    with pytest.raises(Forbidden):
        await bus.handle(LiftLegalHold(participant_id=pid, hold_id=hold_id), ctx(CM))
    with pytest.raises(NotFound):  # another agency does not even learn the person exists
        await bus.handle(LiftLegalHold(participant_id=pid, hold_id=hold_id), ctx(DPO_MK))
    await bus.handle(LiftLegalHold(participant_id=pid, hold_id=hold_id), ctx(DPO, today=date(2026, 4, 1)))
    with pytest.raises(InvalidTransition):  # lifted already
        await bus.handle(LiftLegalHold(participant_id=pid, hold_id=hold_id), ctx(DPO, today=date(2026, 4, 2)))
    await bus.handle(EraseParticipant(participant_id=pid, legal_basis="Art. 17 GDPR"), ctx(DPO, today=date(2026, 4, 1)))


async def test_a_hold_ends_by_itself_on_its_end_date(bus: MessageBus) -> None:
    pid = await declined(bus)
    with pytest.raises(DomainError) as refused:
        await bus.handle(PlaceLegalHold(participant_id=pid, until=date(2026, 3, 2), reason="x"), ctx(DPO))
    assert refused.value.field == "until"
    await bus.handle(PlaceLegalHold(participant_id=pid, until=date(2026, 5, 1), reason="inquiry"), ctx(DPO))
    erase = EraseParticipant(participant_id=pid, legal_basis="Art. 17 GDPR")
    with pytest.raises(InvalidTransition):
        await bus.handle(erase, ctx(DPO, today=date(2026, 4, 30)))
    result = await bus.handle(erase, ctx(DPO, today=date(2026, 5, 1)))
    assert result.body["status"] == "erased"


# ------------------------------------------------------------------ the daily task


class MemoryRetention:
    """The task's port over the in-memory store: records and holds folded from the streams."""

    def __init__(self, store: MemoryEventStore) -> None:
        self.store = store

    async def agencies(self) -> list[str]:
        return sorted({e.agency for e in self.store.log if e.stream_id.startswith("participant-")})

    async def _participants(self, agency: str) -> list[Any]:
        from services.intake import domain

        uow = MemoryUnitOfWork(self.store)
        streams = sorted({e.stream_id for e in self.store.log if e.stream_id.startswith("participant-")})
        states = [(await uow.load(domain.participant, s)).state for s in streams]
        return [s for s in states if s.agency == agency and s.status != "erased"]

    async def records(self, agency: str) -> list[retention.Record]:
        ended: dict[str, date] = {
            e.payload["participant_id"]: date.fromisoformat(e.payload.get("declined_on") or e.payload["withdrawn_on"])
            for e in self.store.log
            if e.event_type in ("EnrolmentDeclined", "ReferralWithdrawn")
        }
        states = await self._participants(agency)
        return [
            retention.Record(str(s.participant_id), s.agency, s.project, s.status, ended.get(str(s.participant_id)))
            for s in states
        ]

    async def held(self, agency: str, day: date) -> dict[str, dict[str, Any]]:
        return {str(s.participant_id): {} for s in await self._participants(agency) if s.hold_on(day)}

    async def rules(self, agency: str) -> retention.Rules:
        return (await MemoryUnitOfWork(self.store).load(retention.rules, retention.stream_id(agency))).state


async def test_the_task_erases_what_expired_once_as_system_with_reason_retention(
    bus: MessageBus, store: MemoryEventStore, keys: MemoryKeyStore
) -> None:
    due = await declined(bus, date(2026, 3, 2))
    later = await declined(bus, date(2026, 3, 3))
    pid = await refer(bus)
    await bus.handle(WithdrawReferral(participant_id=pid, withdrawn_on=date(2026, 3, 2), reason="no"), ctx())
    await bus.handle(PlaceLegalHold(participant_id=pid, until=date(2027, 1, 1), reason="inquiry"), ctx(DPO))
    task = RetentionTask(bus, MemoryRetention(store), clock=lambda: date(2026, 9, 2))
    run = await task.run_once()
    assert run.erased == [str(due)]
    assert run.held == [str(pid)]
    [erased] = [e for e in store.log if e.event_type == "ParticipantDataErased"]
    assert erased.actor.id == "system"
    assert erased.actor.role == "service"
    assert erased.agency == "jc-en"
    payload = ParticipantDataErased.model_validate(erased.payload)
    assert payload.legal_basis.startswith("retention: referral-not-enrolled")
    assert payload.erased_on == date(2026, 9, 2)
    assert keys.keys[str(due)] is None
    assert keys.keys[str(later)] is not None
    again = await task.run_once()
    assert again.erased == []
    assert len([e for e in store.log if e.event_type == "ParticipantDataErased"]) == 1
    after_hold = await task.run_once(date(2027, 1, 1))
    assert sorted(after_hold.erased) == sorted([str(later), str(pid)])


async def test_a_hold_placed_after_the_projection_was_read_still_stops_the_task(
    bus: MessageBus, store: MemoryEventStore
) -> None:
    pid = await declined(bus)
    await bus.handle(PlaceLegalHold(participant_id=pid, until=date(2027, 1, 1), reason="inquiry"), ctx(DPO))

    class Lagging(MemoryRetention):
        async def held(self, agency: str, day: date) -> dict[str, dict[str, Any]]:
            return {}  # the projection has not seen the hold yet

    run = await RetentionTask(bus, Lagging(store), clock=lambda: date(2026, 12, 1)).run_once()
    assert run.erased == []
    assert run.held == [str(pid)]


async def test_the_retention_actor_may_not_erase_another_agencys_participant(bus: MessageBus) -> None:
    from services.intake.policies import retention_actor

    pid = await declined(bus)
    erase = EraseParticipant(participant_id=pid, legal_basis="retention: test")
    with pytest.raises(NotFound):
        await bus.handle(erase, Context(principal=retention_actor("jc-mk"), today=date(2026, 12, 1)))
    with pytest.raises(Forbidden):  # a service that is not the retention task
        await bus.handle(
            erase, Context(principal=Principal("reporting", Role.SERVICE, "jc-en"), today=date(2026, 12, 1))
        )
