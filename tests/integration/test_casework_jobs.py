"""casework's ``cases`` projection on real PostgreSQL for self-found jobs (issue #15 item 5):
the job becomes the case's job, its follow-ups are kept once (redelivery changes nothing), and
the due-list is shared.followups' rule over those rows; erasure forgets the jobs."""

from __future__ import annotations

from datetime import date

import asyncpg

from services.casework.projections import cases
from services.casework.views.employment import _MY_JOBS, _started
from shared import followups
from shared.contracts.casework import (
    CaseDataErased,
    CaseManagerAssigned,
    CaseOpened,
    SelfFoundEmploymentEnded,
    SelfFoundEmploymentRecorded,
    SelfFoundEmploymentVerified,
)
from shared.contracts.common import EmploymentType
from shared.envelope import new_id
from shared.projections import ProjectionRunner
from tests.integration.test_reporting_facts import record

START = date(2026, 3, 16)


async def test_self_found_jobs_and_their_follow_ups_due(pool: asyncpg.Pool) -> None:
    runner = ProjectionRunner(pool, cases, "proj_cases")
    await runner.setup()
    pid, eid = new_id(), new_id()
    stream = f"case-{pid}"
    events = [
        CaseOpened(case_id=pid, participant_id=pid, agency="jc-en", project="pro-aktiv", opened_on=date(2026, 3, 2)),
        CaseManagerAssigned(case_id=pid, case_manager="cm-anna", assigned_on=date(2026, 3, 2)),
        SelfFoundEmploymentRecorded(
            case_id=pid, participant_id=pid, employment_id=eid, agency="jc-en", project="pro-aktiv",
            started_on=START, type=EmploymentType.SOCIAL_INSURANCE, hours_per_week=30,
        ),
        SelfFoundEmploymentVerified(
            case_id=pid, participant_id=pid, employment_id=eid, months_after_start=6,
            verified_on=date(2026, 9, 16), still_employed=True,
        ),
    ]  # fmt: skip
    records = [record(n, stream, n + 1, e) for n, e in enumerate(events)]
    await runner.apply(records)
    await runner.apply(records)  # redelivered: nothing changes
    row = await pool.fetchrow("SELECT employment_id, employed_since FROM proj_cases.cases WHERE case_id = $1", pid)
    assert row is not None
    assert (row["employment_id"], row["employed_since"]) == (eid, START)
    async with pool.acquire() as conn:
        await conn.execute("SET search_path TO proj_cases")
        rows = await conn.fetch(_MY_JOBS, "cm-anna", "jc-en")
        assert await conn.fetch(_MY_JOBS, "cm-bert", "jc-en") == []
    assert [list(r["verified"]) for r in rows] == [[6]]
    jobs = [_started(r["employment_id"], r["case_id"], r["started_on"], r["verified"]) for r in rows]
    [due] = followups.due(jobs, date(2027, 3, 22))
    assert (due.employment_id, due.months_after_start, due.due_on, due.overdue) == (eid, 12, date(2027, 3, 16), True)

    ended = SelfFoundEmploymentEnded(
        case_id=pid, participant_id=pid, employment_id=eid, ended_on=date(2026, 11, 30), reason="resigned"
    )
    erased = CaseDataErased(case_id=pid, participant_id=pid, erased_on=date(2026, 12, 1))
    await runner.apply([record(4, stream, 5, ended)])
    assert await pool.fetchval("SELECT employment_id FROM proj_cases.cases WHERE case_id = $1", pid) is None
    assert await pool.fetchval("SELECT ended_on FROM proj_cases.case_jobs") == date(2026, 11, 30)
    await runner.apply([record(5, stream, 6, erased)])
    assert await pool.fetchval("SELECT count(*) FROM proj_cases.case_jobs") == 0
