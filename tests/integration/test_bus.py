"""The bus contract on real PostgreSQL (one connection per attempt, a transaction with a key)."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from shared.eventstore import PostgresEventStore
from shared.unit_of_work import PostgresUnitOfWork, UnitOfWork
from tests.contracts.bus import BusContract


class TestPostgresBus(BusContract):
    @pytest.fixture
    def make_uow(self, store: PostgresEventStore) -> Callable[[bool], UnitOfWork]:
        return lambda transactional: PostgresUnitOfWork(store, transactional=transactional)


async def test_a_port_on_the_commands_connection_never_needs_a_second_one(pg_url: str) -> None:
    """With a one-connection pool, commands whose port runs SQL through ``connection_of`` all
    complete; a port taking a second pooled connection would wait forever for the first."""
    import asyncio

    import asyncpg

    from shared.bus import Context, MessageBus, Result
    from shared.migrations import EVENTSTORE_SQL, migrate
    from shared.unit_of_work import connection_of
    from tests.contracts.bus import CM, AddNotes

    pool = await asyncpg.create_pool(pg_url, min_size=1, max_size=1)
    try:
        async with pool.acquire() as conn:
            await migrate(conn, EVENTSTORE_SQL)

        async def handler(cmd: AddNotes, uow: UnitOfWork, ctx: Context) -> Result:
            await connection_of(uow, pool).fetchval("SELECT 1")  # the port
            return Result(cmd.stream, None, {})

        bus = MessageBus({AddNotes: handler}, lambda tx: PostgresUnitOfWork(PostgresEventStore(pool), transactional=tx))
        commands = [bus.handle(AddNotes(stream=f"s{i}", texts=[]), Context(principal=CM)) for i in range(4)]
        results = await asyncio.wait_for(asyncio.gather(*commands), timeout=60)
        assert len(results) == 4
    finally:
        await pool.close()
