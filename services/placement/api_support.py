"""What every placement command endpoint does the same way: run the decider with the
caller's idempotency key and If-Match version, and answer with ids plus the new version."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import date
from typing import Annotated, Any, TypeVar

import asyncpg
from fastapi import Query, Request
from fastapi.responses import JSONResponse

from shared import http
from shared.auth import Principal
from shared.commands import Loaded, execute, load
from shared.contracts.base import DomainEvent
from shared.domain import Decider

S = TypeVar("S")

Today = Annotated[
    date | None,
    Query(description="the day to compute for (default: the server's today); for planning and tests"),
]


def today_or(value: date | None) -> date:
    return value or date.today()


def pool(request: Request) -> asyncpg.Pool:
    rt = http.runtime(request)
    assert rt.pool is not None
    return rt.pool


async def current(request: Request, decider: Decider[S], stream_id: str) -> Loaded[S]:
    return await load(http.store(request), decider, stream_id)


async def command(
    request: Request,
    principal: Principal,
    decider: Decider[S],
    stream_id: str,
    decide: Callable[[S], Sequence[DomainEvent]],
    *,
    agency: str,
    project: str | None,
    route: str,
    payload: Any,
    result: dict[str, Any],
    idempotency_key: str | None,
    if_match: int | None,
    status_code: int = 200,
) -> JSONResponse:
    outcome = await execute(
        http.store(request),
        decider,
        stream_id=stream_id,
        context=http.context(request, principal, agency=agency, project=project),
        decide=lambda state, _version: decide(state),
        respond=lambda _state, events: {**result, "version": events[-1].version},
        expected_version=if_match,
        status_code=status_code,
        **http.idempotency(principal, idempotency_key, route, payload),
    )
    return JSONResponse(outcome.body, status_code=outcome.status_code)
