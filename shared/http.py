"""What every service's HTTP layer uses to turn a request into a command or a query: the
request's ``Context`` (actor, correlation id, idempotency key, If-Match, today), the bus, and
the mapping of a handler's ``Result`` to a response."""

from __future__ import annotations

from typing import Annotated, Any

import httpx
import orjson
from fastapi import Depends, Header, Request
from fastapi.responses import JSONResponse

from shared import consistency
from shared.auth import CurrentPrincipal
from shared.bus import Context, MessageBus, Result
from shared.runtime import Runtime

IdempotencyKey = Annotated[
    str | None,
    Header(alias="Idempotency-Key", max_length=200, description="retries with the same key act once"),
]
ConsistencyToken = Annotated[
    str | None,
    Header(
        alias=consistency.TOKEN_HEADER,
        max_length=300,
        description="a command's consistency token: the read waits (up to 2 s) until it shows that command",
    ),
]
IfMatch = Annotated[
    int | None,
    Header(alias="If-Match", description="expected stream version; a stale one is answered with 409"),
]


def runtime(request: Request) -> Runtime:
    return request.app.state.runtime  # type: ignore[no-any-return]


async def command_context(
    request: Request, principal: CurrentPrincipal, idempotency_key: IdempotencyKey = None, if_match: IfMatch = None
) -> Context:
    """The context of a command: the caller, this request's ids and the service's clock."""
    return Context(
        principal=principal,
        correlation_id=request.state.correlation_id,
        today=runtime(request).clock(),
        idempotency_key=idempotency_key or None,
        expected_version=if_match,
    )


async def query_context(request: Request, principal: CurrentPrincipal, token: ConsistencyToken = None) -> Context:
    """The context of a read: the caller, the correlation id and today; with a consistency
    token, only once the service's read models show that write (or the bound has passed: the
    response then says ``X-Consistency: behind``)."""
    if token:
        await await_consistency(request, consistency.Token.parse(token))
    return Context(principal=principal, correlation_id=request.state.correlation_id, today=runtime(request).clock())


async def await_consistency(request: Request, token: consistency.Token) -> None:
    rt = runtime(request)
    state = await consistency.wait_for(consistency.read_models_of(rt.runners, token.service), token)
    request.state.consistency = state


CommandCtx = Annotated[Context, Depends(command_context)]
QueryCtx = Annotated[Context, Depends(query_context)]


# Dependencies are ``async def`` on purpose, however trivial: FastAPI runs a plain ``def``
# dependency in a worker thread, a thread hop on every request (seen in py-spy of one command).


async def get_bus(request: Request) -> MessageBus:
    return request.app.state.bus  # type: ignore[no-any-return]


async def current_runtime(request: Request) -> Runtime:
    """``runtime`` as a dependency (on the event loop, not in a worker thread)."""
    return runtime(request)


Bus = Annotated[MessageBus, Depends(get_bus)]


class OrjsonResponse(JSONResponse):
    """The bytes ``JSONResponse`` sends (compact UTF-8 JSON), made by orjson: a command's answer
    is serialised on every request, and ``json.dumps`` is several times slower."""

    def render(self, content: Any) -> bytes:
        return orjson.dumps(content, option=orjson.OPT_NON_STR_KEYS)


def respond(result: Result, status_code: int = 200) -> JSONResponse:
    """A command's answer: the handler's body (the same body again for a replayed key), and the
    consistency token of the write (completed with the service's name by ``shared.web``)."""
    token = consistency.unqualified(result.stream_id, result.version)
    headers = {consistency.TOKEN_HEADER: token} if token else None
    return OrjsonResponse(result.body, status_code=status_code, headers=headers)


def intake_client(request: Request) -> httpx.AsyncClient:
    """A client for intake, the only holder of identity. Tests point ``app.state.intake_transport``
    at an in-process intake app; in production it is plain HTTP to ``INTAKE_URL``."""
    settings = runtime(request).settings
    transport = getattr(request.app.state, "intake_transport", None)
    return httpx.AsyncClient(base_url=settings.intake_url, transport=transport, timeout=settings.intake_timeout)
