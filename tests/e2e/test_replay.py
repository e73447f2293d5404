"""Replays: a projection rebuilt from offset 0 of the topics (or from the own event store)
equals the live one, and a rebuilt schema can be swapped in."""

from __future__ import annotations

import asyncio

import pytest

from services.casework.projections import cases
from services.placement.projections import access
from services.reporting.projections import counts, facts
from shared.rebuild import compare, rebuild_from_kafka, rebuild_from_store, rebuild_live, rebuild_parallel, swap
from shared.relay import OutboxRelay
from shared.vocabulary import Role
from tests import support
from tests.e2e.conftest import Stack
from tests.e2e.test_slice import counts as kpi_counts
from tests.e2e.test_slice import refer_and_enrol

# every table of casework's cases projection, each without a differing row
CASES_TABLES_EQUAL = {"cases": 0, "case_team": 0, "case_appointments": 0, "case_rehab_applications": 0, "case_jobs": 0}
# every table of reporting's facts projection (the journeys folded from the facts too)
FACTS_TABLES_EQUAL = {"facts": 0, "erased_participants": 0, "journeys": 0, "journeys_pending": 0}

pytestmark = pytest.mark.e2e


async def test_rebuilt_projections_equal_the_live_ones(stack: Stack) -> None:
    for agency in ("jc-en", "jc-en", "jc-mk"):
        await refer_and_enrol(stack, agency)
    await support.eventually(lambda: kpi_counts(stack), lambda c: c.get("open_cases") == 2)
    await support.eventually(lambda: kpi_counts(stack, "jc-mk"), lambda c: c.get("open_cases") == 1)
    # counts' open cases say nothing of intake's topic, nor of casework's Einstieg events or its
    # cases projection: the replays below count and compare everything published
    await stack.settled()
    reporting = stack.runtime("reporting").settings

    stats = await rebuild_from_kafka(reporting, counts, "proj_counts_rebuild")
    # intake: referral, information meeting, eligibility, consent, enrolment; casework: case
    # opened, Einstieg entered
    assert stats.events == 3 * 7
    assert await compare(reporting, counts, "proj_counts", "proj_counts_rebuild") == {"funnel_counts": 0}

    casework = stack.runtime("casework").settings
    from_store = await rebuild_from_store(casework, cases, "proj_cases_rebuild")
    assert from_store.events == 3 * 2
    diffs = await compare(casework, cases, "proj_cases", "proj_cases_rebuild")
    assert diffs == CASES_TABLES_EQUAL


async def test_parallel_rebuilds_of_stream_local_projections_equal_the_live_ones(stack: Stack) -> None:
    """Two worker processes: from the store (this process reads, each worker gets its streams)
    and from Kafka (each worker its partitions). A projection that is not stream-local is
    refused: its handlers may touch other streams' rows."""
    for agency in ("jc-en", "jc-mk", "jc-en", "jc-en"):
        await refer_and_enrol(stack, agency)
    await support.eventually(lambda: kpi_counts(stack), lambda c: c.get("open_cases") == 3)
    await stack.settled()  # jc-en's three open cases say nothing of jc-mk's, counted below
    casework = stack.runtime("casework").settings
    stats = await rebuild_parallel(casework, cases, "proj_cases_rebuild", source="store", workers=2)
    assert stats.events == 4 * 2
    assert await compare(casework, cases, "proj_cases", "proj_cases_rebuild") == CASES_TABLES_EQUAL

    placement = stack.runtime("placement").settings

    async def placement_lag() -> int:
        return sum([await c.refresh_lag() for c in stack.runtime("placement").consumers])

    await support.eventually(placement_lag, lambda lag: lag == 0)
    stats = await rebuild_parallel(placement, access, "proj_access_rebuild", source="kafka", workers=2)
    assert stats.events == 4 * 5  # referral, information meeting, eligibility, consent, enrolment per participant
    assert await compare(placement, access, "proj_access", "proj_access_rebuild") == {"drv_exchange_consents": 0}

    async def reporting_lag() -> int:
        return sum([await c.refresh_lag() for c in stack.runtime("reporting").consumers])

    # facts: stream-local but for erasures, which are applied again once the workers are done
    erased = await refer_and_enrol(stack, "jc-en")
    dpo = stack.token(Role.DATA_PROTECTION_OFFICER, "jc-en", "dpo")
    r = await stack.clients["intake"].post(
        f"/participants/{erased}/erasure", json={"legal_basis": "Art. 17 GDPR"}, headers=dpo
    )
    assert r.status_code == 200, r.text
    await support.eventually(
        lambda: stack.runtime("reporting").pool.fetchval(
            "SELECT count(*) FROM proj_facts.facts WHERE event_type = 'ParticipantDataErased'"
        ),
        lambda n: n == 1,
    )
    await support.eventually(reporting_lag, lambda lag: lag == 0)
    reporting = stack.runtime("reporting").settings
    stats = await rebuild_parallel(reporting, facts, "proj_facts_rebuild", source="kafka", workers=2)
    assert stats.events > 0
    assert await compare(reporting, facts, "proj_facts", "proj_facts_rebuild") == FACTS_TABLES_EQUAL
    for table in ("facts", "journeys"):
        linked = await stack.runtime("reporting").pool.fetchval(
            f"SELECT count(*) FROM proj_facts_rebuild.{table} WHERE participant_id = $1::uuid", erased
        )
        assert linked == 0
    assert await stack.runtime("reporting").pool.fetchval("SELECT count(*) FROM proj_facts_rebuild.journeys") == 5

    # live (two workers, swapped in), then checked against a plain one-worker replay
    await rebuild_live(reporting, facts, workers=2)
    await rebuild_from_kafka(reporting, facts, "proj_facts_check")
    assert await compare(reporting, facts, "proj_facts", "proj_facts_check") == FACTS_TABLES_EQUAL

    with pytest.raises(ValueError, match="not stream-local"):
        await rebuild_parallel(stack.runtime("reporting").settings, counts, "x", source="kafka", workers=2)


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
