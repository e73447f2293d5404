"""What every placement read stands on: the projections' pool, the streams (for views that
must show a just-made change) and the key store; plus the JSON shape of rows."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any, TypeVar
from uuid import UUID

import asyncpg
import orjson

from services.placement.handlers import KeyStore
from shared.db import Conn
from shared.domain import Decider
from shared.runtime import Runtime
from shared.unit_of_work import Loaded, UnitOfWork, connection_of, fold
from shared.vocabulary import memberships

S = TypeVar("S")

_MEMBERS = "SELECT project, members FROM project_members"


async def project_memberships(conn: Conn | asyncpg.Pool) -> dict[str, tuple[str, ...]]:
    """Every project's members from the ``projects`` projection (casework's configuration),
    the closed list's for a project not configured yet."""
    return memberships({r["project"]: r["members"] for r in await conn.fetch(_MEMBERS)})


@dataclass
class Reads:
    """The read side's ports, resolved when a request comes (the pool opens at startup)."""

    runtime: Runtime
    keys: KeyStore

    @property
    def pool(self) -> asyncpg.Pool:
        if self.runtime.pool is None:
            raise RuntimeError("the runtime is not connected")
        return self.runtime.pool

    async def load(self, decider: Decider[S], stream_id: str) -> Loaded[S]:
        """A stream folded into its state, read outside any command."""
        if self.runtime.store is None:
            raise RuntimeError("the runtime is not connected")
        return fold(decider, stream_id, await self.runtime.store.read_stream(stream_id))

    async def memberships(self) -> dict[str, tuple[str, ...]]:
        return await project_memberships(self.pool)


class PostgresProjects:
    """The handlers' ``Projects`` port on the ``projects`` projection (on the command's connection)."""

    def __init__(self, reads: Reads) -> None:
        self.reads = reads

    async def memberships(self, uow: UnitOfWork) -> dict[str, tuple[str, ...]]:
        return await project_memberships(connection_of(uow, self.reads.pool))


def loads(value: Any) -> Any:
    """A jsonb column as Python (asyncpg hands jsonb over as text)."""
    return orjson.loads(value) if isinstance(value, str | bytes) else value


def rows_json(rows: list[Any]) -> list[dict[str, Any]]:
    out = []
    for r in rows:
        item: dict[str, Any] = {}
        for k, v in dict(r).items():
            if isinstance(v, UUID):
                item[k] = str(v)
            elif isinstance(v, date):
                item[k] = v.isoformat()
            else:
                item[k] = v
        out.append(item)
    return out
