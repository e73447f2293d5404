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
from shared.domain import Decider
from shared.runtime import Runtime
from shared.unit_of_work import Loaded, fold

S = TypeVar("S")


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
