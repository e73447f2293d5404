"""Outages answer honestly: 503 with Retry-After when the database is unreachable, a stalled
consumer fails readiness, and consumers resume within 5 s of the database returning."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from typing import Any

import asyncpg
import pytest

from shared import consumer as consumer_module
from shared.consumer import ProjectionConsumer
from shared.projections import Record
from shared.vocabulary import Role
from tests import support
from tests.e2e.conftest import Stack
from tests.support import REFERRAL

UNREACHABLE = "postgresql://postgres@127.0.0.1:1/none"  # nothing listens on port 1


async def test_command_with_the_database_unreachable_gets_503_with_retry_after(stack: Stack) -> None:
    rt = stack.runtime("intake")
    dead = await asyncpg.create_pool(UNREACHABLE, min_size=0)
    live, rt.store._pool = rt.store._pool, dead
    try:
        answer = await stack.clients["intake"].post(
            "/referrals", json=REFERRAL, headers=stack.token(Role.CASE_MANAGER, "jc-en")
        )
    finally:
        rt.store._pool = live
        await dead.close()
    assert answer.status_code == 503, answer.text
    assert answer.headers["Retry-After"] == "2"
    assert "error" in answer.json()


async def test_readiness_reports_a_stalled_consumer(stack: Stack) -> None:
    rt = stack.runtime("reporting")
    rt.settings.consumer_stall_after_s = 1.0
    consumer = next(c for c in rt.consumers if c.runner.projection.name == "counts")

    async def unavailable(*args: Any, **kwargs: Any) -> Any:
        raise ConnectionRefusedError("database went away")

    consumer.runner.apply_known = unavailable  # type: ignore[method-assign]  # its part of the service's batch
    created = await stack.clients["intake"].post(
        "/referrals", json=REFERRAL, headers=stack.token(Role.CASE_MANAGER, "jc-en")
    )
    assert created.status_code == 201
    client = stack.clients["reporting"]
    answer = await support.eventually(lambda: client.get("/health/ready"), lambda r: r.status_code == 503, timeout=60)
    assert answer.json()["stalled"] == ["counts"]
    assert {"database", "broker", "projection_lag", "ready", "outbox_backlog", "parked"} <= answer.json().keys()


class FlakyPool:
    """A pool whose connections fail (as if the server were down) until ``up`` is set."""

    def __init__(self, pool: asyncpg.Pool) -> None:
        self.pool = pool
        self.up = False

    def acquire(self, *args: Any, **kwargs: Any) -> Any:
        if not self.up:
            raise ConnectionRefusedError("database is down")
        return self.pool.acquire(*args, **kwargs)


async def test_consumer_resumes_within_5_s_of_the_database_returning(
    stack: Stack, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The old backoff doubled to 30 s: after 8 s down it slept until 15.5 s. What bounds the
    time to resume is the longest wait between two attempts, so that is what is checked (a
    stopwatch on a busy machine would measure the machine)."""
    waits: list[float] = []
    log_failure = consumer_module._log_failure

    def recorded(exc: BaseException, batch: Sequence[Record], culprits: Sequence[str], delay: float) -> None:
        waits.append(delay)
        log_failure(exc, batch, culprits, delay)

    monkeypatch.setattr(consumer_module, "_log_failure", recorded)
    rt = stack.runtime("reporting")
    consumer: ProjectionConsumer = next(c for c in rt.consumers if c.runner.projection.name == "counts")
    runner = consumer.runner
    flaky = FlakyPool(runner.pool)
    runner.pool = flaky  # type: ignore[assignment]
    from tests.integration.test_projection_runner import env

    task = asyncio.create_task(consumer._apply_until_done([Record("elsewhere", 0, 0, env("s-resume", 1))]))
    await asyncio.sleep(8)  # the outage: long enough for the old backoff to pass 5 s
    flaky.up = True
    result = await asyncio.wait_for(task, timeout=120)
    runner.pool = flaky.pool
    assert result is not None
    assert len(waits) >= 3, waits  # it kept retrying while the database was down
    assert max(waits) < 5, f"waited up to {max(waits):.1f} s between attempts: {waits}"
