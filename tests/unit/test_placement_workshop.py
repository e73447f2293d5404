"""The Produktionswerkstatt (issue #15 item 8, first half): enrolled participants on production
orders with hours and attendance per day (present, excused, absent; never a sanction), on the
in-memory unit of work."""

from __future__ import annotations

from datetime import date
from uuid import UUID, uuid4

import pytest
from pydantic import ValidationError

from services.placement import domain
from services.placement.commands import (
    AcceptOrder,
    AssignToOrder,
    CompleteOrder,
    RecordOrderAttendance,
    ReleaseFromOrder,
)
from services.placement.domain.workshop import Enrolled
from shared.contracts import placement as contract
from shared.domain import DomainError, Forbidden, InvalidTransition, NotFound
from shared.principal import Principal
from shared.vocabulary import Role
from tests.unit.test_placement_handlers import CASE_MANAGER, DRV, OTHER_OFFICER, Placement

MK_OFFICER = Principal("officer-mk", Role.EMPLOYER_ACQUISITION, "jc-mk")
ENROLLED_ON = date(2026, 3, 16)


@pytest.fixture
def placement() -> Placement:
    return Placement()


async def order(placement: Placement) -> UUID:
    employer_id = await placement.employer()
    body = AcceptOrder(
        employer_id=employer_id, description="Kartons falten", quantity=500, accepted_on=date(2026, 4, 1)
    )
    return UUID((await placement.do(body)).body["order_id"])


def enrol(placement: Placement, agency: str = "jc-en", project: str = "pro-aktiv") -> UUID:
    pid = uuid4()
    placement.enrolments.enrolments[pid] = Enrolled(pid, agency, project, ENROLLED_ON)
    return pid


def day(order_id: UUID, pid: UUID, on: date, attendance: str = "present", hours: float = 4) -> RecordOrderAttendance:
    return RecordOrderAttendance(
        order_id=order_id, participant_id=pid, worked_on=on, attendance=attendance, hours=hours
    )


async def test_participants_join_an_order_and_their_days_are_recorded(placement: Placement) -> None:
    order_id = await order(placement)
    mine, partners = enrol(placement), enrol(placement, agency="jc-mk")
    for pid in (mine, partners):
        r = await placement.do(AssignToOrder(order_id=order_id, participant_id=pid, assigned_on=date(2026, 4, 6)))
        assert r.body["participant_id"] == str(pid)
    await placement.do(day(order_id, mine, date(2026, 4, 6), hours=5.5), CASE_MANAGER)
    await placement.do(day(order_id, mine, date(2026, 4, 7), "excused", 0))
    await placement.do(day(order_id, partners, date(2026, 4, 7), "absent", 0))
    await placement.do(ReleaseFromOrder(order_id=order_id, participant_id=mine, released_on=date(2026, 4, 8)))
    events = await placement.store.read_stream(domain.order_stream(order_id))
    assert [e.event_type for e in events][1:] == [
        contract.ProductionOrderParticipantAssigned.event_type,
        contract.ProductionOrderParticipantAssigned.event_type,
        contract.ProductionOrderAttendanceRecorded.event_type,
        contract.ProductionOrderAttendanceRecorded.event_type,
        contract.ProductionOrderAttendanceRecorded.event_type,
        contract.ProductionOrderParticipantReleased.event_type,
    ]
    assert events[2].payload["agency"] == "jc-mk"  # the agency that runs the participant's case
    assert (events[3].payload["attendance"], events[3].payload["hours"]) == ("present", 5.5)
    assert not [k for e in events for k in e.payload if "sanction" in k]


async def test_only_enrolled_participants_of_the_orders_project(placement: Placement) -> None:
    order_id = await order(placement)
    for pid in (uuid4(), enrol(placement, agency="jc-unna", project="pluspunkt")):
        with pytest.raises(NotFound) as err:
            await placement.do(AssignToOrder(order_id=order_id, participant_id=pid, assigned_on=date(2026, 4, 6)))
        assert err.value.field == "participant_id"
    assert len(await placement.store.read_stream(domain.order_stream(order_id))) == 1


@pytest.mark.parametrize("who", [DRV, OTHER_OFFICER, MK_OFFICER])
async def test_only_the_orders_agency_runs_its_days(placement: Placement, who: Principal) -> None:
    order_id = await order(placement)
    pid = enrol(placement)
    with pytest.raises(Forbidden):
        await placement.do(AssignToOrder(order_id=order_id, participant_id=pid, assigned_on=date(2026, 4, 6)), who)


@pytest.mark.parametrize(
    ("attendance", "hours", "on", "field"),
    [
        ("present", 0, date(2026, 4, 7), "hours"),
        ("present", 10.5, date(2026, 4, 7), "hours"),
        ("absent", 2, date(2026, 4, 7), "hours"),
        ("excused", 1, date(2026, 4, 7), "hours"),
        ("present", 4, date(2026, 4, 5), "worked_on"),
    ],
)
async def test_bad_days_are_refused_naming_the_field(
    placement: Placement, attendance: str, hours: float, on: date, field: str
) -> None:
    order_id = await order(placement)
    pid = enrol(placement)
    await placement.do(AssignToOrder(order_id=order_id, participant_id=pid, assigned_on=date(2026, 4, 6)))
    with pytest.raises(DomainError) as err:
        await placement.do(day(order_id, pid, on, attendance, hours))
    assert err.value.field == field
    assert len(await placement.store.read_stream(domain.order_stream(order_id))) == 2


def test_no_sanction_in_the_attendance_vocabulary() -> None:
    with pytest.raises(ValidationError) as err:
        day(uuid4(), uuid4(), date(2026, 4, 7), "sanctioned", 0)
    assert err.value.errors()[0]["loc"] == ("attendance",)
    assert "sanction" not in " ".join(contract.ProductionOrderAttendanceRecorded.model_json_schema()["properties"])


async def test_one_record_a_day_within_the_assignment_and_the_orders_run(placement: Placement) -> None:
    order_id = await order(placement)
    pid = enrol(placement)
    with pytest.raises(InvalidTransition, match="does not work on this order"):
        await placement.do(day(order_id, pid, date(2026, 4, 7)))  # not on the order yet
    await placement.do(AssignToOrder(order_id=order_id, participant_id=pid, assigned_on=date(2026, 4, 6)))
    with pytest.raises(InvalidTransition):
        await placement.do(AssignToOrder(order_id=order_id, participant_id=pid, assigned_on=date(2026, 4, 7)))
    await placement.do(day(order_id, pid, date(2026, 4, 7)))
    with pytest.raises(InvalidTransition, match="already recorded"):
        await placement.do(day(order_id, pid, date(2026, 4, 7), "absent", 0))
    await placement.do(CompleteOrder(order_id=order_id, completed_on=date(2026, 4, 9), delivered_quantity=500))
    with pytest.raises(DomainError) as late:
        await placement.do(day(order_id, pid, date(2026, 4, 10)))
    assert late.value.field == "worked_on"
    await placement.do(day(order_id, pid, date(2026, 4, 8)))  # a day of the run recorded afterwards
    with pytest.raises(InvalidTransition):
        await placement.do(
            AssignToOrder(order_id=order_id, participant_id=enrol(placement), assigned_on=date(2026, 4, 9))
        )
    with pytest.raises(DomainError) as early:
        await placement.do(ReleaseFromOrder(order_id=order_id, participant_id=pid, released_on=date(2026, 4, 7)))
    assert early.value.field == "released_on"


async def test_assignment_not_before_the_enrolment_or_the_order(placement: Placement) -> None:
    order_id = await order(placement)
    pid = enrol(placement)
    with pytest.raises(DomainError) as err:
        await placement.do(AssignToOrder(order_id=order_id, participant_id=pid, assigned_on=date(2026, 3, 31)))
    assert err.value.field == "assigned_on"
