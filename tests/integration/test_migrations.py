"""Migrations on real PostgreSQL: replicas starting together (API and worker processes, or
several pods) migrate the same schemas at the same moment without failing."""

from __future__ import annotations

import asyncio
from pathlib import Path

import asyncpg

from shared.migrations import migrate


async def test_concurrent_migrations_of_one_schema_all_succeed_and_apply_once(
    pool: asyncpg.Pool, tmp_path: Path
) -> None:
    sql = tmp_path / "001_things.sql"
    sql.write_text("CREATE TABLE things (id int PRIMARY KEY); SELECT pg_sleep(0.2);")  # others queue up

    async def one() -> list[str]:
        async with pool.acquire() as conn:
            # as a service's pool does (its search_path names its projection schemas): the
            # session has already looked the schema up and cached that it does not exist
            await conn.execute("SET search_path TO proj_race, public")
            await conn.fetchval("SELECT to_regclass('things')")
            return await migrate(conn, [sql], schema="proj_race")

    for _ in range(3):  # a fresh schema each round: the race is on creating it
        async with pool.acquire() as conn:
            await conn.execute("DROP SCHEMA IF EXISTS proj_race CASCADE")
        results = await asyncio.gather(*(one() for _ in range(6)))
        assert sorted(len(r) for r in results) == [0, 0, 0, 0, 0, 1]
    async with pool.acquire() as conn:
        assert await conn.fetchval("SELECT count(*) FROM proj_race.schema_migrations") == 1
