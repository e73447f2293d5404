"""A projection rebuilt and swapped while its service serves: commands keep arriving through
the HTTP API and a view keeps being read during the replay, the catch-up and the swap. No
request fails, and afterwards the live projection equals a replay from scratch, every stream's
applied version is its head in the event store (nothing lost, nothing applied twice), and
neither the old nor the rebuild schema is left."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field

import pytest

from services.intake.projections import register
from shared.rebuild import compare, rebuild_from_kafka, rebuild_live
from shared.vocabulary import Role
from tests import support
from tests.e2e.conftest import Stack

pytestmark = pytest.mark.e2e

_HEADS = "SELECT stream_id, max(version) AS version FROM public.events GROUP BY stream_id"
_APPLIED = "SELECT stream_id, version FROM proj_register.projection_streams WHERE projection = 'register'"
_SCHEMAS = "SELECT schema_name FROM information_schema.schemata WHERE schema_name LIKE 'proj_register%'"


@dataclass
class Load:
    """Referrals posted and registers read in a loop until stopped: every status seen."""

    stack: Stack
    writes: list[int] = field(default_factory=list)
    reads: list[int] = field(default_factory=list)
    stopped: asyncio.Event = field(default_factory=asyncio.Event)

    async def write(self) -> None:
        cm = self.stack.token(Role.CASE_MANAGER, "jc-en")
        while not self.stopped.is_set():
            r = await self.stack.clients["intake"].post("/referrals", json=support.REFERRAL, headers=cm)
            self.writes.append(r.status_code)

    async def read(self) -> None:
        cm = self.stack.token(Role.CASE_MANAGER, "jc-en")
        while not self.stopped.is_set():
            r = await self.stack.clients["intake"].get("/participants", headers=cm)
            self.reads.append(r.status_code)
            await asyncio.sleep(0)


async def _versions(stack: Stack) -> tuple[dict[str, int], dict[str, int]]:
    pool = stack.runtime("intake").pool
    assert pool is not None
    heads = {r["stream_id"]: r["version"] for r in await pool.fetch(_HEADS)}
    applied = {r["stream_id"]: r["version"] for r in await pool.fetch(_APPLIED)}
    return heads, applied


async def test_a_live_rebuild_swaps_under_load_and_no_request_fails(stack: Stack) -> None:
    load = Load(stack)
    tasks = [asyncio.create_task(load.write()) for _ in range(2)] + [asyncio.create_task(load.read()) for _ in range(2)]
    try:
        await support.eventually(lambda: asyncio.sleep(0, len(load.writes)), lambda n: n >= 30, timeout=120)
        settings = stack.runtime("intake").settings
        before = len(load.writes), len(load.reads)
        done = await rebuild_live(settings, register)
        writes, reads = len(load.writes), len(load.reads)
        # the service goes on after the swap: the live runner and the reads use the new schema
        await support.eventually(
            lambda: asyncio.sleep(0, (len(load.writes), len(load.reads))),
            lambda n: n[0] >= writes + 20 and n[1] >= reads + 20,
            timeout=120,
        )
    finally:
        load.stopped.set()
        await asyncio.gather(*tasks)
    assert done.stats.events > 0
    # commands and reads went on during the rebuild, and it had to catch up with what they added
    assert writes > before[0]
    assert reads > before[1]
    assert done.caught_up + done.applied_under_lock > 0
    assert {s for s in load.writes if s != 201} == set()
    assert {s for s in load.reads if s != 200} == set()

    heads, _ = await support.eventually(lambda: _versions(stack), lambda v: v[0] == v[1], timeout=60)
    assert len(heads) >= len(load.writes)  # a stream per referral, each applied up to its head
    await rebuild_from_kafka(settings, register, "proj_register_check")
    assert await compare(settings, register, "proj_register", "proj_register_check") == {
        "participants": 0, "participant_consents": 0}  # fmt: skip
    pool = stack.runtime("intake").pool
    assert pool is not None
    assert {r["schema_name"] for r in await pool.fetch(_SCHEMAS)} == {"proj_register", "proj_register_check"}
    participants = await pool.fetchval("SELECT count(*) FROM proj_register.participants")
    assert participants == sum(1 for s in load.writes if s == 201)
