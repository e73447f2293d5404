"""Fixtures for integration and end-to-end tests. They need the local stack (``make test``
starts it): real PostgreSQL and real Kafka, never in-memory stand-ins."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from tests import support


@pytest.fixture
async def pg_url() -> AsyncIterator[str]:
    """A fresh, empty database for one test."""
    name = support.run_id()
    url = await support.create_database(name)
    yield url
    support.drop_database_later(name)


@pytest.fixture(scope="session", autouse=True)
async def _drop_test_databases_at_the_end() -> AsyncIterator[None]:
    yield
    await support.finish_drops()


@pytest.fixture
def topic_prefix() -> str:
    return support.run_id() + "."


def pytest_report_header() -> list[str]:
    """Say which real servers the tests run against (and fail fast if they are not there)."""
    import asyncio

    import asyncpg

    from bench.stack import kafka_admin

    async def probe() -> list[str]:
        conn = await asyncpg.connect(support.PG_ADMIN)
        try:
            pg = await conn.fetchval("SHOW server_version")
        finally:
            await conn.close()
        async with kafka_admin(support.KAFKA) as admin:
            cluster = await admin.describe_cluster()
        return [
            f"postgresql: real server {pg} at {support.PG_ADMIN}",
            f"kafka: real broker at {support.KAFKA}, cluster {cluster.get('cluster_id')},"
            f" {len(cluster.get('brokers', []))} broker(s)",
        ]

    try:
        return asyncio.run(probe())
    except Exception as exc:  # unit tests can still run without the stack
        return [f"local stack not reachable ({exc!r}): integration and e2e tests will fail; run `make stack`"]
