"""Test support: isolated databases and topics on the real local PostgreSQL and Kafka."""

from __future__ import annotations

import asyncio
import os
import time
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar
from uuid import uuid4

import asyncpg
from aiokafka.admin import AIOKafkaAdminClient, NewTopic

PG_ADMIN = os.environ.get(
    "TEST_PG_ADMIN_URL", f"postgresql://postgres@127.0.0.1:{os.environ.get('PGPORT_LOCAL', '25432')}/postgres"
)
KAFKA = os.environ.get("TEST_KAFKA_BOOTSTRAP", f"127.0.0.1:{os.environ.get('KAFKA_PORT', '29092')}")
SERVICES = ("intake", "casework", "placement", "reporting")
# Tests mint tokens for made-up staff: the staff directory is off unless a test turns it on
# (tests/e2e/test_staff_directory.py); services started by tests inherit this.
os.environ.setdefault("REHAPRO_STAFF_DIRECTORY", "off")

T = TypeVar("T")


def run_id() -> str:
    return "t" + uuid4().hex[:10]


def db_url(name: str) -> str:
    base, _, _ = PG_ADMIN.rpartition("/")
    return f"{base}/{name}"


async def create_database(name: str) -> str:
    conn = await asyncpg.connect(PG_ADMIN)
    try:
        await conn.execute(f'CREATE DATABASE "{name}"')
    finally:
        await conn.close()
    return db_url(name)


async def drop_database(name: str) -> None:
    conn = await asyncpg.connect(PG_ADMIN)
    try:
        await conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    finally:
        await conn.close()


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
    admin = AIOKafkaAdminClient(bootstrap_servers=KAFKA)
    await admin.start()
    try:
        await admin.create_topics(
            [
                NewTopic(n, num_partitions=partitions, replication_factor=1, topic_configs={"retention.ms": "-1"})
                for n in names
            ]
        )
    finally:
        await admin.close()


async def eventually(
    probe: Callable[[], Awaitable[T]], check: Callable[[T], bool], timeout: float = 30.0, interval: float = 0.05
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
