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


async def test_with_migrate_on_start_off_a_service_waits_for_the_migrate_command(pg_url: str) -> None:
    """In Kubernetes a hook Job migrates; the pods wait for the schema instead of migrating."""
    from services.intake.app import definition
    from shared.runtime import Runtime
    from shared.settings import load_settings

    waiting = Runtime(load_settings("intake", database_url=pg_url, migrate_on_start=False), definition)
    connecting = asyncio.create_task(waiting.connect())
    await asyncio.sleep(3)  # long enough for a round of "migrations.waiting"
    assert not connecting.done()
    conn = await asyncpg.connect(pg_url)
    try:
        assert await conn.fetchval("SELECT to_regclass('public.events')") is None  # it did not migrate
    finally:
        await conn.close()
    job = Runtime(load_settings("intake", database_url=pg_url, migrate_on_start=True), definition)
    await (await job.connect()).pool.close()
    connected = await asyncio.wait_for(connecting, timeout=60)
    await connected.pool.close()
