"""The staff directory (issue 12, part 3): intake's staff aggregate and handlers on the
in-memory unit of work, and the pure rule a team member must pass (``shared.staff``)."""

from __future__ import annotations

from datetime import date

import pytest

from services.intake import domain
from services.intake.commands import ChangeStaffRoles, RecordStaffDeparture, RegisterStaffMember
from services.intake.handlers import HANDLERS, staff_key
from shared.bus import Context, MessageBus, inject
from shared.contracts.intake import StaffMemberLeft, StaffMemberRegistered, StaffRolesChanged
from shared.domain import DomainError, Forbidden, InvalidTransition, NotFound
from shared.memory import MemoryEventStore
from shared.principal import Principal
from shared.staff import StaffRecord, require_member
from shared.unit_of_work import MemoryUnitOfWork
from shared.vocabulary import Role
from tests.unit.test_intake_handlers import MemoryKeyStore, keys, store

__all__ = ["keys", "store"]  # the event store and key store fixtures of intake's handler tests

D = date(2026, 3, 2)
ADMIN = Principal("admin-en", Role.ADMINISTRATOR, "jc-en")
CM = Principal("cm-anna", Role.CASE_MANAGER, "jc-en")


@pytest.fixture
def bus(store: MemoryEventStore, keys: MemoryKeyStore) -> MessageBus:
    return MessageBus(inject(HANDLERS, keys=keys), lambda tx: MemoryUnitOfWork(store, transactional=tx))


def ctx(principal: Principal = ADMIN) -> Context:
    return Context(principal=principal, today=D)


def registration(**kw: object) -> RegisterStaffMember:
    body: dict[str, object] = {
        "subject": "psy-paula",
        "name": "Paula Berg",
        "roles": ["psychologist"],
        "projects": ["pro-aktiv"],
        "registered_on": D,
    }
    return RegisterStaffMember.model_validate(body | kw)


async def test_the_administrator_registers_staff_of_their_agency_with_the_name_sealed(
    bus: MessageBus, store: MemoryEventStore, keys: MemoryKeyStore
) -> None:
    result = await bus.handle(registration(), ctx())
    assert result.body == {"agency": "jc-en", "subject": "psy-paula", "status": "active", "version": 1}
    [env] = store.log
    assert env.stream_id == "staff-jc-en:psy-paula"
    event = StaffMemberRegistered.model_validate(env.payload)
    assert (event.agency, event.roles, event.projects) == ("jc-en", [Role.PSYCHOLOGIST], ["pro-aktiv"])
    assert "Paula" not in str(env.payload)  # the name is personal data: sealed
    opened = await keys.open(staff_key("jc-en", "psy-paula"), MemoryUnitOfWork(store), event.sealed_name)
    assert opened == "Paula Berg"


async def test_only_an_administrator_keeps_the_directory(bus: MessageBus, store: MemoryEventStore) -> None:
    with pytest.raises(Forbidden):
        await bus.handle(registration(), ctx(CM))
    assert store.log == []


async def test_a_current_member_cannot_be_registered_twice(bus: MessageBus) -> None:
    await bus.handle(registration(), ctx())
    with pytest.raises(InvalidTransition) as refused:
        await bus.handle(registration(), ctx())
    assert refused.value.field == "subject"


async def test_roles_change_and_a_member_leaves_then_comes_back(bus: MessageBus, store: MemoryEventStore) -> None:
    await bus.handle(registration(), ctx())
    changed = ChangeStaffRoles(subject="psy-paula", roles=[Role.PSYCHOLOGIST, Role.CASE_MANAGER], changed_on=D)
    await bus.handle(changed, ctx())
    assert StaffRolesChanged.model_validate(store.log[-1].payload).roles == [Role.CASE_MANAGER, Role.PSYCHOLOGIST]
    assert (await bus.handle(changed, ctx())).body["version"] == 2  # nothing changes: nothing recorded
    left = await bus.handle(RecordStaffDeparture(subject="psy-paula", left_on=D), ctx())
    assert left.body["status"] == "left"
    assert StaffMemberLeft.model_validate(store.log[-1].payload).left_on == D
    with pytest.raises(InvalidTransition):
        await bus.handle(changed, ctx())
    again = await bus.handle(registration(registered_on=date(2026, 4, 1)), ctx())
    assert again.body["status"] == "active"


async def test_an_unknown_member_cannot_change_or_leave(bus: MessageBus) -> None:
    with pytest.raises(NotFound):
        await bus.handle(RecordStaffDeparture(subject="nobody", left_on=D), ctx())


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"roles": ["service"]}, "roles"),
        ({"projects": ["pluspunkt"]}, "projects"),  # jc-en does not take part in pluspunkt
    ],
)
async def test_a_registration_names_roles_of_people_and_projects_of_the_agency(
    bus: MessageBus, store: MemoryEventStore, keys: MemoryKeyStore, change: dict[str, object], field: str
) -> None:
    with pytest.raises(DomainError) as refused:
        await bus.handle(registration(**change), ctx())
    assert refused.value.field == field
    assert store.log == []
    assert keys.keys == {}  # refused before a key was made


def test_the_aggregate_folds_its_events() -> None:
    events = domain.register_staff(domain.StaffMember(), "jc-en", "x", "", [Role.AUDITOR], [], D)
    state = domain.staff_member.fold(events)
    assert (state.status, state.roles) == ("active", (Role.AUDITOR,))
    state = domain.staff_member.fold([*events, *domain.staff_left(state, date(2026, 3, 3))])
    assert (state.status, state.left_on) == ("left", date(2026, 3, 3))
    with pytest.raises(DomainError) as refused:
        domain.staff_left(domain.staff_member.fold(events), date(2026, 3, 1))
    assert refused.value.field == "left_on"


PAULA = StaffRecord("jc-en", "psy-paula", frozenset({"psychologist"}), frozenset({"pro-aktiv"}))
PAULA_LEFT = StaffRecord("jc-en", "psy-paula", PAULA.roles, PAULA.projects, left_on=D)


@pytest.mark.parametrize(
    ("found", "agency", "project", "role", "field"),
    [
        (None, "jc-en", "pro-aktiv", Role.PSYCHOLOGIST, "member"),  # unknown subject
        (PAULA, "jc-en", "pluspunkt", Role.PSYCHOLOGIST, "agency"),  # jc-en is no partner of pluspunkt
        (PAULA, "jc-en", "pro-aktiv", Role.CASE_MANAGER, "member"),  # does not hold the role
        (PAULA_LEFT, "jc-en", "pro-aktiv", Role.PSYCHOLOGIST, "member"),  # left
    ],
)
def test_a_team_member_must_be_current_staff_of_a_partner_with_the_role(
    found: StaffRecord | None, agency: str, project: str, role: Role, field: str
) -> None:
    with pytest.raises(DomainError) as refused:
        require_member(found, field="member", agency=agency, project=project, role=role, day=D)
    assert refused.value.field == field


def test_a_current_partner_with_the_role_may_join() -> None:
    require_member(PAULA, field="member", agency="jc-en", project="pro-aktiv", role=Role.PSYCHOLOGIST, day=D)
    left_later = StaffRecord("jc-en", "psy-paula", PAULA.roles, PAULA.projects, left_on=date(2026, 3, 3))
    require_member(left_later, field="member", agency="jc-en", project="pro-aktiv", role=Role.PSYCHOLOGIST, day=D)
