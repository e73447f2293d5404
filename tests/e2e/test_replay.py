"""Replays: a projection rebuilt from offset 0 of the topics (or from the own event store)
equals the live one, and a rebuilt schema can be swapped in."""

from __future__ import annotations

import asyncio

import pytest

from services.casework.projections import cases
from services.reporting.projections import counts
from shared.rebuild import compare, rebuild_from_kafka, rebuild_from_store, swap
from shared.relay import OutboxRelay
from tests import support
from tests.e2e.conftest import Stack
from tests.e2e.test_slice import counts as kpi_counts
from tests.e2e.test_slice import refer_and_enrol

pytestmark = pytest.mark.e2e


async def test_rebuilt_projections_equal_the_live_ones(stack: Stack) -> None:
    for agency in ("jc-en", "jc-en", "jc-mk"):
        await refer_and_enrol(stack, agency)
    await support.eventually(lambda: kpi_counts(stack), lambda c: c.get("open_cases") == 2)
    await support.eventually(lambda: kpi_counts(stack, "jc-mk"), lambda c: c.get("open_cases") == 1)
    reporting = stack.runtime("reporting").settings

    stats = await rebuild_from_kafka(reporting, counts, "proj_counts_rebuild")
    # intake: referral, eligibility, consent, enrolment; casework: case opened, Einstieg entered
    assert stats.events == 3 * 6
    assert await compare(reporting, counts, "proj_counts", "proj_counts_rebuild") == {"funnel_counts": 0}

    casework = stack.runtime("casework").settings
    from_store = await rebuild_from_store(casework, cases, "proj_cases_rebuild")
    assert from_store.events == 3 * 2
    diffs = await compare(casework, cases, "proj_cases", "proj_cases_rebuild")
    assert diffs == {"cases": 0, "case_team": 0, "case_appointments": 0}


async def test_swap_replaces_the_live_schema(stack: Stack) -> None:
    await refer_and_enrol(stack)
    await support.eventually(lambda: kpi_counts(stack), lambda c: c.get("open_cases") == 1)
    rt = stack.runtime("reporting")
    assert rt.pool is not None
    await rebuild_from_kafka(rt.settings, counts, "proj_counts_rebuild")
    await rt.pool.execute("UPDATE proj_counts.funnel_counts SET count = 99")  # corrupt the live copy
    assert (await compare(rt.settings, counts, "proj_counts", "proj_counts_rebuild"))["funnel_counts"] > 0
    await swap(rt.settings, "proj_counts", "proj_counts_rebuild")
    assert await kpi_counts(stack) == {"referrals": 1, "enrolments": 1, "open_cases": 1}


async def test_only_one_relay_per_service_publishes(stack: Stack) -> None:
    """A second relay on the same store waits as a standby while the first holds the lock."""
    rt = stack.runtime("intake")
    assert rt.relay is not None
    assert rt.store is not None
    assert rt.relay.is_leader
    standby = OutboxRelay(rt.store, rt.relay.producer, rt.topic, poll_interval=0.05)
    task = asyncio.create_task(standby.run())
    await asyncio.sleep(0.5)
    assert not standby.is_leader
    standby.stop()
    await asyncio.wait_for(task, timeout=5)
