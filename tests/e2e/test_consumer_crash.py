"""A projection consumer killed with SIGKILL mid-stream and restarted loses nothing and
applies nothing twice (real process, real broker, real database)."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
from pathlib import Path

import asyncpg
import pytest

from bench.stack import free_port
from bench.synth import referral
from services.intake import domain
from shared.envelope import new_id
from shared.eventstore import PostgresEventStore
from tests import support
from tests.e2e.conftest import Stack
from tests.integration.fakes import ctx

pytestmark = pytest.mark.e2e

N = 3000


def start_reporting(stack: Stack, port: int, log: Path) -> subprocess.Popen[bytes]:
    env = os.environ | {
        "REPORTING_DATABASE_URL": stack.urls["reporting"] + "_proc",
        "REHAPRO_TOPIC_PREFIX": stack.prefix,
        "REHAPRO_KAFKA_BOOTSTRAP": support.KAFKA,
        "REPORTING_HTTP_PORT": str(port),
        "REPORTING_CONSUMER_BATCH": "20",
        "REPORTING_GROUP_PREFIX": f"{stack.prefix}proc.",
        "REHAPRO_LOG_JSON": "true",
    }
    return subprocess.Popen(
        [sys.executable, "-m", "services.reporting", "serve"],
        env=env,
        stdout=log.open("ab"),
        stderr=subprocess.STDOUT,
    )


async def referrals_counted(url: str) -> int:
    try:
        conn = await asyncpg.connect(url)
    except (OSError, asyncpg.PostgresError):
        return 0
    try:
        return (
            await conn.fetchval(
                "SELECT coalesce(sum(count), 0) FROM proj_counts.funnel_counts WHERE metric = 'referrals'"
            )
            or 0
        )
    except asyncpg.UndefinedTableError:
        return 0
    finally:
        await conn.close()


async def test_sigkill_mid_stream_then_restart_counts_every_event_once(stack: Stack, tmp_path: Path) -> None:
    log = tmp_path / "reporting.log"
    intake = stack.runtime("intake")
    assert intake.pool is not None
    store = PostgresEventStore(intake.pool)
    async with intake.pool.acquire() as conn:
        for i in range(0, N, 500):
            async with conn.transaction():
                for _ in range(min(500, N - i)):
                    pid = new_id()
                    await store.append(
                        conn,
                        stream_id=domain.stream_id(pid),
                        stream_type="participant",
                        expected_version=0,
                        context=ctx(),
                        events=[referral(pid)],
                    )
    proc_db = f"{stack.run}_reporting_proc"
    url = await support.create_database(proc_db)
    try:
        proc = start_reporting(stack, free_port(), log)
        try:
            seen = await support.eventually(lambda: referrals_counted(url), lambda n: n > 0, timeout=180, interval=0.01)
            proc.send_signal(signal.SIGKILL)
            proc.wait(timeout=10)
            at_kill = await referrals_counted(url)
            assert 0 < seen <= at_kill < N, f"the kill must land mid-stream (seen {seen}, at kill {at_kill})"
        finally:
            if proc.poll() is None:
                proc.kill()
        proc = start_reporting(stack, free_port(), log)
        try:
            # a generous limit: on a busy machine the restart, the group's rebalance and 3000
            # events in batches of 20 take their time (what counts is once, not how fast)
            final = await support.eventually(lambda: referrals_counted(url), lambda n: n >= N, timeout=300)
            await asyncio.sleep(1.0)  # anything applied twice would show up now
            assert await referrals_counted(url) == final == N
            db = await asyncpg.connect(url)
            try:
                streams = await db.fetchval("SELECT count(*) FROM proj_counts.projection_streams")
                gaps = await db.fetchval("SELECT count(*) FROM proj_counts.projection_gaps")
            finally:
                await db.close()
            assert (streams, gaps) == (N, 0)
        finally:
            proc.send_signal(signal.SIGTERM)
            proc.wait(timeout=120)
            assert '"service.stopped"' in log.read_text(), "graceful shutdown on SIGTERM"
    finally:
        support.drop_database_later(proc_db)
