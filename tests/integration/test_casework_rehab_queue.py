"""The DRV work queue's read model on real PostgreSQL: casework's ``cases`` projection keeps each
rehab application with its carrier and status; the queue's query finds the carrier's undecided
ones, oldest first; an erasure forgets them."""

from __future__ import annotations

from datetime import date

import asyncpg

from services.casework.domain import UNDECIDED
from services.casework.projections import cases
from services.casework.views.rehab import QUEUE
from shared.contracts.casework import (
    CaseDataErased,
    CaseOpened,
    RehabApplicationDecided,
    RehabApplicationFiled,
    RehabApplicationReceived,
)
from shared.envelope import new_id
from shared.projections import ProjectionRunner
from tests.integration.test_reporting_facts import record


async def queue(pool: asyncpg.Pool, carrier: str) -> list[tuple[object, str]]:
    """The view's own query, run in the projection's schema."""
    async with pool.acquire() as conn:
        await conn.execute("SET search_path TO proj_cases, public")
        rows = await conn.fetch(QUEUE, carrier, list(UNDECIDED))
        await conn.execute("RESET search_path")
    return [(r["application_id"], r["status"]) for r in rows]


async def test_the_queue_holds_the_carriers_undecided_applications_until_erasure(pool: asyncpg.Pool) -> None:
    runner = ProjectionRunner(pool, cases, "proj_cases")
    await runner.setup()
    pid = new_id()
    stream = f"case-{pid}"
    first, second, elsewhere = new_id(), new_id(), new_id()
    opened = CaseOpened(
        case_id=pid, participant_id=pid, agency="jc-en", project="pro-aktiv", opened_on=date(2026, 1, 5)
    )
    filed = [
        RehabApplicationFiled(case_id=pid, application_id=a, filed_on=on, carrier=c, kind="medical")
        for a, on, c in (
            (second, date(2026, 2, 10), "drv-westfalen"),
            (first, date(2026, 2, 1), "drv-westfalen"),
            (elsewhere, date(2026, 2, 1), "bg-etem"),
        )
    ]
    await runner.apply([record(i, stream, i + 1, e) for i, e in enumerate([opened, *filed])])
    assert await queue(pool, "drv-westfalen") == [(first, "filed"), (second, "filed")]  # oldest first, own carrier

    received = RehabApplicationReceived(
        case_id=pid, application_id=first, received_on=date(2026, 2, 3), received_by="d"
    )
    decided = RehabApplicationDecided(case_id=pid, application_id=second, decided_on=date(2026, 3, 1), approved=False)
    await runner.apply([record(4, stream, 5, received), record(5, stream, 6, decided)])
    assert await queue(pool, "drv-westfalen") == [(first, "received")]  # the decided one left the queue

    erased = CaseDataErased(case_id=pid, participant_id=pid, erased_on=date(2026, 3, 2))
    await runner.apply([record(6, stream, 7, erased)])
    assert await pool.fetchval("SELECT count(*) FROM proj_cases.case_rehab_applications") == 0
