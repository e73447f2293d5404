"""placement's ``workshop`` projection on real PostgreSQL: enrolments and order days are kept
once (redelivery changes nothing); an erasure forgets the person on every order, also for an
order event that reaches the projection after it."""

from __future__ import annotations

from datetime import date

import asyncpg

from services.placement.projections import workshop
from shared.contracts.intake import ParticipantDataErased, ParticipantEnrolled
from shared.contracts.placement import (
    ProductionOrderAttendanceRecorded,
    ProductionOrderParticipantAssigned,
    ProductionOrderParticipantReleased,
)
from shared.envelope import new_id
from shared.projections import ProjectionRunner
from tests.integration.test_reporting_facts import record


async def count(pool: asyncpg.Pool, table: str) -> int:
    return int(await pool.fetchval(f"SELECT count(*) FROM proj_workshop.{table}"))


async def test_days_kept_once_and_erasure_forgets_the_person(pool: asyncpg.Pool) -> None:
    runner = ProjectionRunner(pool, workshop, "proj_workshop")
    await runner.setup()
    pid, order_id = new_id(), new_id()
    order = f"production-order-{order_id}"
    enrolled = ParticipantEnrolled(
        participant_id=pid, project="pro-aktiv", agency="jc-mk", start_date=date(2026, 3, 16), age_band="25-34",
        sex="female",
    )  # fmt: skip
    assigned = ProductionOrderParticipantAssigned(
        order_id=order_id, participant_id=pid, agency="jc-mk", assigned_on=date(2026, 4, 6)
    )
    present = ProductionOrderAttendanceRecorded(
        order_id=order_id, participant_id=pid, worked_on=date(2026, 4, 6), attendance="present", hours=5.5
    )
    batch = [record(0, f"participant-{pid}", 1, enrolled), record(1, order, 2, assigned), record(2, order, 3, present)]
    await runner.apply(batch)
    await runner.apply(batch)  # redelivered: nothing changes
    row = await pool.fetchrow("SELECT order_agency, agency, assigned_on FROM proj_workshop.order_participants")
    assert row is not None
    assert (row["order_agency"], row["agency"], row["assigned_on"]) == ("jc-en", "jc-mk", date(2026, 4, 6))
    assert await pool.fetchval("SELECT hours FROM proj_workshop.order_attendance") == 5.5

    erased = ParticipantDataErased(participant_id=pid, erased_on=date(2026, 5, 1), legal_basis="Art. 17 GDPR")
    await runner.apply([record(3, f"participant-{pid}", 2, erased)])
    late = present.model_copy(update={"worked_on": date(2026, 4, 7), "attendance": "absent", "hours": 0})
    released = ProductionOrderParticipantReleased(order_id=order_id, participant_id=pid, released_on=date(2026, 4, 8))
    await runner.apply([record(4, order, 4, late), record(5, order, 5, released)])
    for table in ("workshop_enrolled", "order_participants", "order_attendance"):
        assert await count(pool, table) == 0, table
    assert await count(pool, "workshop_erased") == 1
