"""Plain-SQL migrations, applied on start and tracked so that each file runs once per schema."""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from pathlib import Path

from shared.db import Conn

SQL_DIR = Path(__file__).parent / "sql"
EVENTSTORE_SQL = sorted((SQL_DIR / "eventstore").glob("*.sql"))
TRACKING_SQL = sorted((SQL_DIR / "projections").glob("*.sql"))
# the audited-reads log (``shared.read_log``) of the services that keep ``data_reads``
READ_LOG_SQL = sorted((SQL_DIR / "read_log").glob("*.sql"))


def _quote_ident(name: str) -> str:
    if not name.replace("_", "").isalnum():
        raise ValueError(f"bad schema name {name!r}")
    return f'"{name}"'


async def migrate(conn: Conn, files: Sequence[Path], *, schema: str = "public") -> list[str]:
    """Apply the files not yet applied in ``schema``; returns the names applied now.

    Serialised by an advisory lock, so replicas starting together do not race. The lock is
    taken *before* the transaction begins: a transaction that waited for it inside would keep
    the catalog view it started with and fail on ``CREATE SCHEMA IF NOT EXISTS`` for the schema
    the winner just created.
    """
    applied_now: list[str] = []
    lock_key = int.from_bytes(hashlib.sha256(f"migrate:{schema}".encode()).digest()[:8], "big", signed=True)
    await conn.execute("SELECT pg_advisory_lock($1)", lock_key)
    try:
        return await _apply(conn, files, schema, applied_now)
    finally:
        await conn.execute("SELECT pg_advisory_unlock($1)", lock_key)


async def _apply(conn: Conn, files: Sequence[Path], schema: str, applied_now: list[str]) -> list[str]:
    async with conn.transaction():
        q = _quote_ident(schema)
        await conn.execute(f"CREATE SCHEMA IF NOT EXISTS {q}")
        await conn.execute(f"SET LOCAL search_path TO {q}, public")
        await conn.execute(
            f"CREATE TABLE IF NOT EXISTS {q}.schema_migrations"
            " (name text PRIMARY KEY, applied_at timestamptz NOT NULL DEFAULT now())"
        )
        done = {r["name"] for r in await conn.fetch(f"SELECT name FROM {q}.schema_migrations")}
        for path in files:
            name = f"{path.parent.name}/{path.name}"
            if name in done:
                continue
            await conn.execute(path.read_text())
            await conn.execute(f"INSERT INTO {q}.schema_migrations (name) VALUES ($1)", name)
            applied_now.append(name)
    return applied_now


async def pending(conn: Conn, files: Sequence[Path], *, schema: str = "public") -> list[str]:
    """The names of ``files`` not yet applied in ``schema`` (all of them before the first run)."""
    q = _quote_ident(schema)
    if await conn.fetchval("SELECT to_regclass($1)", f"{q}.schema_migrations") is None:
        return [f"{p.parent.name}/{p.name}" for p in files]
    done = {r["name"] for r in await conn.fetch(f"SELECT name FROM {q}.schema_migrations")}
    return [name for p in files if (name := f"{p.parent.name}/{p.name}") not in done]
