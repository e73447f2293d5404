from __future__ import annotations

from collections.abc import AsyncIterator

import asyncpg
import pytest

from shared.eventstore import PostgresEventStore
from shared.migrations import EVENTSTORE_SQL, migrate


@pytest.fixture
async def pool(pg_url: str) -> AsyncIterator[asyncpg.Pool]:
    p = await asyncpg.create_pool(pg_url, min_size=1, max_size=8)
    async with p.acquire() as conn:
        await migrate(conn, EVENTSTORE_SQL)
    yield p
    await p.close()


@pytest.fixture
def store(pool: asyncpg.Pool) -> PostgresEventStore:
    return PostgresEventStore(pool)
