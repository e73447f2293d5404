"""Per-subject keys on real PostgreSQL: made once (also under concurrent first use), one lookup
seals several values, and an erased key stays erased."""

from __future__ import annotations

import asyncio

import asyncpg
import pytest

from shared.crypto import ERASED, KeyErased, SubjectKeys


@pytest.fixture
async def keys(pool: asyncpg.Pool) -> SubjectKeys:
    k = SubjectKeys()
    async with pool.acquire() as conn:
        await k.prepare(conn)
    return k


async def test_concurrent_first_uses_agree_on_one_key(pool: asyncpg.Pool, keys: SubjectKeys) -> None:
    async def first_use() -> bytes:
        async with pool.acquire() as conn, conn.transaction():
            return await keys.key_for(conn, "p-1", create=True)

    got = await asyncio.gather(*(first_use() for _ in range(6)))
    assert len(set(got)) == 1
    assert await pool.fetchval("SELECT count(*) FROM keys.subject_keys") == 1


async def test_seal_many_uses_one_key_and_opens_back(pool: asyncpg.Pool, keys: SubjectKeys) -> None:
    async with pool.acquire() as conn:
        identity, reason = await keys.seal_many(conn, "p-1", {"first_name": "Erika"}, "back pain")
        assert identity != reason
        assert await keys.open(conn, "p-1", identity) == {"first_name": "Erika"}
        assert await keys.open(conn, "p-1", reason) == "back pain"
        await keys.erase(conn, "p-1")
        assert await keys.open(conn, "p-1", reason) == ERASED
        with pytest.raises(KeyErased):
            await keys.seal(conn, "p-1", "again")  # erasure is final: no new key for the subject
