"""Test support: isolated databases and topics on the real local PostgreSQL and Kafka (made by
the bench's scratch helpers in bench/stack.py, on the servers the tests are pointed at), and
the request bodies and values many tests share."""

from __future__ import annotations

import asyncio
import os
import time
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar
from uuid import uuid4

import httpx

from bench import stack as bench_stack
from shared.contracts.common import CapacityProfile, Level

PG_ADMIN = os.environ.get(
    "TEST_PG_ADMIN_URL", f"postgresql://postgres@127.0.0.1:{os.environ.get('PGPORT_LOCAL', '25432')}/postgres"
)
KAFKA = os.environ.get("TEST_KAFKA_BOOTSTRAP", f"127.0.0.1:{os.environ.get('KAFKA_PORT', '29092')}")
SERVICES = ("intake", "casework", "placement", "reporting")
# Tests mint tokens for made-up staff: the staff directory is off unless a test turns it on
# (tests/e2e/test_staff_directory.py); services started by tests inherit this.
os.environ.setdefault("REHAPRO_STAFF_DIRECTORY", "off")

# The referral most tests make (POST /referrals): one participant, every required field.
REFERRAL = {
    "project": "pro-aktiv",
    "received_on": "2026-03-02",
    "sex": "female",
    "identity": {
        "first_name": "Anna",
        "last_name": "Beispiel",
        "birth_date": "1984-05-17",
        "insurance_number": "12170584B123",
    },
    "reason": "chronic back pain, depressive episode",
}
# A participant's capacity profile that fits an office job with a height-adjustable desk
# (the matching tests, and what casework shares with placement in the end-to-end ones).
PROFILE = CapacityProfile(
    max_hours_per_week=30,
    lifting=Level.LIGHT,
    standing=Level.MODERATE,
    mental_load=Level.MODERATE,
    shift_work=False,
    night_work=False,
    customer_contact=True,
    adaptations=["height-adjustable desk"],
)
# Chromium without the parts a headless test run must not start (GPU, sync, updates, first-run).
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]

T = TypeVar("T")


def run_id() -> str:
    return "t" + uuid4().hex[:10]


def db_url(name: str) -> str:
    base, _, _ = PG_ADMIN.rpartition("/")
    return f"{base}/{name}"


async def create_database(name: str) -> str:
    await bench_stack.create_databases([name], PG_ADMIN)
    return db_url(name)


async def drop_database(name: str) -> None:
    await bench_stack.drop_databases([name], PG_ADMIN)


_pending_drops: set[asyncio.Task[None]] = set()


def drop_database_later(name: str) -> None:
    """Drop in the background: a DROP DATABASE forces a checkpoint (about a second), which
    should not sit on every test's teardown. ``finish_drops`` waits for them at session end."""
    task = asyncio.get_running_loop().create_task(drop_database(name))
    _pending_drops.add(task)
    task.add_done_callback(_pending_drops.discard)


async def finish_drops() -> None:
    if _pending_drops:
        await asyncio.gather(*_pending_drops, return_exceptions=True)


async def create_topics(names: list[str], partitions: int = 3) -> None:
    await bench_stack.create_topics(names, partitions, KAFKA)


async def eventually(
    probe: Callable[[], Awaitable[T]], check: Callable[[T], bool], timeout: float = 60.0, interval: float = 0.05
) -> T:
    """Poll ``probe`` until ``check`` holds (the system is asynchronous between services)."""
    deadline = time.monotonic() + timeout
    last: Any = None
    while time.monotonic() < deadline:
        last = await probe()
        if check(last):
            return last  # type: ignore[no-any-return]
        await asyncio.sleep(interval)
    raise AssertionError(f"condition not reached within {timeout}s; last value: {last!r}")


async def current(read: Callable[[], Awaitable[httpx.Response]], timeout: float = 60.0) -> httpx.Response:
    """A read sent with a consistency token, repeated until it answers ``X-Consistency: current``.
    The service's bound (2 s) is what a user waits; a busy test machine may need longer to carry
    a command through the relay and Kafka, and then the read is ``behind``, not wrong."""
    return await eventually(read, lambda r: r.headers.get("X-Consistency") == "current", timeout)
