"""FastAPI app factory shared by all services: lifespan, health, metrics, errors, correlation
ids, ``command_route``, the one way a command is put on HTTP, and ``access``, the access
decision every route declares."""

from __future__ import annotations

import inspect
import re
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping, Sequence
from contextlib import asynccontextmanager
from typing import Annotated, Any
from uuid import UUID

import asyncpg
import structlog
from aiokafka.errors import KafkaError
from fastapi import APIRouter, FastAPI, Path, Request, Response
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, PlainTextResponse
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from pydantic import BaseModel, ConfigDict, Field, create_model
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from shared import consistency, metrics
from shared.auth import known_staff, principal_of
from shared.bus import Command, Context, IdempotencyMismatch, MessageBus
from shared.domain import DomainError, Forbidden, InvalidTransition, NotFound
from shared.envelope import new_id
from shared.eventstore import ConcurrencyConflict
from shared.http import Bus, CommandCtx, respond
from shared.runtime import Runtime

log = structlog.get_logger(__name__)

CORRELATION_HEADER = "X-Correlation-ID"


def correlation_id(request: Request) -> UUID:
    return request.state.correlation_id  # type: ignore[no-any-return]


def _error(status: int, title: str, errors: list[dict[str, Any]] | None = None, **extra: Any) -> JSONResponse:
    body: dict[str, Any] = {"error": title, **extra}
    if errors is not None:
        body["errors"] = errors
    return JSONResponse(body, status_code=status)


# Domain error class -> HTTP status, in one place (the most specific class listed wins).
ERROR_STATUS: dict[type[DomainError], int] = {
    NotFound: 404,
    Forbidden: 403,
    InvalidTransition: 409,
    IdempotencyMismatch: 422,
    DomainError: 422,
}


def status_of(exc: DomainError) -> int:
    statuses: dict[type, int] = dict(ERROR_STATUS)
    return next((statuses[cls] for cls in type(exc).__mro__ if cls in statuses), 422)


def install_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(RequestValidationError)
    async def _validation(_: Request, exc: RequestValidationError) -> JSONResponse:
        errors = [
            {
                "field": ".".join(str(p) for p in e.get("loc", ()) if p not in ("body", "query", "path", "header")),
                "reason": e.get("msg", "invalid"),
            }
            for e in exc.errors()
        ]
        return _error(422, "validation failed", errors)

    @app.exception_handler(DomainError)
    async def _domain(_: Request, exc: DomainError) -> JSONResponse:
        errors = [{"field": exc.field, "reason": exc.message}] if exc.field else None
        return _error(status_of(exc), exc.message, errors)

    @app.exception_handler(ConcurrencyConflict)
    async def _conflict(_: Request, exc: ConcurrencyConflict) -> JSONResponse:
        return _error(
            409,
            "concurrent modification: reload and retry",
            stream_id=exc.stream_id,
            expected_version=exc.expected,
            current_version=exc.actual,
        )

    @app.exception_handler(StarletteHTTPException)
    async def _http(_: Request, exc: StarletteHTTPException) -> JSONResponse:
        return JSONResponse({"error": exc.detail}, status_code=exc.status_code, headers=exc.headers)

    for unavailable in UNAVAILABLE_ERRORS:
        app.add_exception_handler(unavailable, _unavailable)

    @app.exception_handler(Exception)
    async def _unhandled(request: Request, exc: Exception) -> JSONResponse:
        cid = str(getattr(request.state, "correlation_id", ""))
        log.exception("http.unhandled", path=request.url.path, correlation_id=cid)
        return _error(500, "internal error", correlation_id=cid)


# The database or the broker is not there right now: the client should retry, not give up.
UNAVAILABLE_ERRORS: tuple[type[Exception], ...] = (
    OSError,
    TimeoutError,
    asyncpg.PostgresConnectionError,
    asyncpg.InterfaceError,
    asyncpg.exceptions.OperatorInterventionError,
    asyncpg.exceptions.InsufficientResourcesError,
    KafkaError,
)
RETRY_AFTER_S = 2


async def _unavailable(request: Request, exc: Exception) -> JSONResponse:
    """503 with ``Retry-After`` (one warning line, no traceback: the outage is not a bug)."""
    cid = str(getattr(request.state, "correlation_id", ""))
    log.warning("http.unavailable", path=request.url.path, error=repr(exc), correlation_id=cid)
    response = _error(503, "service temporarily unavailable: retry later", correlation_id=cid)
    response.headers["Retry-After"] = str(RETRY_AFTER_S)
    return response


class FieldError(BaseModel):
    field: str = Field(description="dotted path of the culprit in the body, query or path")
    reason: str


class ErrorOut(BaseModel):
    """Every 4xx and 5xx answer: a title, and for bad input the fields and their reasons."""

    model_config = ConfigDict(extra="allow")  # e.g. 409's stream_id and versions, 5xx's correlation_id

    error: str
    errors: list[FieldError] | None = None


# Documented on every operation (the fuzz test checks each answer against them).
ERROR_RESPONSES: dict[int | str, dict[str, Any]] = {
    "4XX": {"model": ErrorOut, "description": "refused: bad input (422 names the fields), 401, 403, 404, 409, 413"},
    503: {"model": ErrorOut, "description": "database or broker unavailable: retry after `Retry-After` seconds"},
}

# ------------------------------------------------------------------ access declarations

ACCESS_KEY = "x-access"
# Decisions that are no rule of a service's access.py: ``public`` needs no token (probes,
# metrics, the event catalogue); ``authenticated`` takes any valid token and shows nothing of it.
PUBLIC = "public"
AUTHENTICATED = "authenticated"


def access(resource: str, decision: str) -> dict[str, Any]:
    """The route's access decision, as options for ``router.get``/``post`` or ``command_route``:
    the resource kind it returns or changes, and the rules of the service's ``access.py`` it
    applies in order (``"require_role(READ_ROLES) & own_employer"``). It lands in the OpenAPI as
    ``x-access``: the matrix test reads it there (a route without one fails) and checks each role
    and agency against the same rules; the READMEs' access tables are made from it."""
    return {"openapi_extra": {ACCESS_KEY: {"resource": resource, "decision": decision}}}


OPS = access("operations", PUBLIC)

BODY_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})


def _plain_error(status: int, title: str, headers: Mapping[str, str] | None = None) -> JSONResponse:
    return JSONResponse({"error": title}, status_code=status, headers=headers)


class BodyGuard:
    """The edge before any body is read: a request that sends a body must carry a valid bearer
    token of known staff (401 at once, however large the body: nothing anonymous is parsed), a
    declared ``Content-Length`` above ``MAX_BODY_BYTES`` is 413 at once, and a body that grows past it
    while being read (chunked, or a lying length) stops the read with 413."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] not in BODY_METHODS:
            await self.app(scope, receive, send)
            return
        settings = scope["app"].state.settings
        refusal = await self._refusal(scope, settings)
        if refusal is not None:
            await refusal(scope, receive, send)
            return
        await self.app(scope, _capped(receive, settings.max_body_bytes), send)

    @staticmethod
    async def _refusal(scope: Scope, settings: Any) -> JSONResponse | None:
        headers = dict(scope["headers"])
        try:
            principal = principal_of(headers.get(b"authorization", b"").decode("latin-1"), settings)
            await known_staff(scope["app"].state, scope.setdefault("state", {}), principal)
        except StarletteHTTPException as exc:
            return _plain_error(exc.status_code, str(exc.detail), exc.headers)
        except UNAVAILABLE_ERRORS as exc:  # the staff directory's database, outside the app's handlers
            log.warning("http.unavailable", path=scope["path"], error=repr(exc))
            retry = {"Retry-After": str(RETRY_AFTER_S)}
            return _plain_error(503, "service temporarily unavailable: retry later", retry)
        declared = headers.get(b"content-length", b"")
        if declared.isdigit() and int(declared) > settings.max_body_bytes:
            return _plain_error(413, f"request body larger than {settings.max_body_bytes} bytes")
        return None


def _capped(receive: Receive, limit: int) -> Receive:
    """``receive`` that counts body bytes and stops the read with 413 past ``limit``."""
    seen = 0

    async def capped() -> Message:
        nonlocal seen
        message = await receive()
        if message["type"] == "http.request":
            seen += len(message.get("body", b""))
            if seen > limit:
                raise StarletteHTTPException(413, f"request body larger than {limit} bytes")
        return message

    return capped


class RequestContext:
    """Correlation id (from ``X-Correlation-ID`` or new), bound to the logs, echoed in the
    response, and request duration metrics; it also names the service in a command's
    consistency token and marks a read that waited for one (``X-Consistency``). Plain ASGI:
    Starlette's ``BaseHTTPMiddleware`` costs an extra task and stream per request, a measurable
    share of a small command."""

    def __init__(self, app: ASGIApp, service: str = "") -> None:
        self.app = app
        self.service = service

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        raw = next((v for k, v in scope["headers"] if k == b"x-correlation-id"), None)
        try:
            cid = UUID(raw.decode("latin-1")) if raw else new_id()
        except ValueError:
            cid = new_id()
        scope.setdefault("state", {})["correlation_id"] = cid
        structlog.contextvars.bind_contextvars(correlation_id=str(cid))
        started = time.perf_counter()
        status = 500
        header = (b"x-correlation-id", str(cid).encode())

        async def send_with_id(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                headers = [self._qualify(k, v) for k, v in message.get("headers", [])]
                read_state = scope["state"].get("consistency")
                if read_state:
                    headers.append((_STATE_HEADER, read_state.encode()))
                message = {**message, "headers": [*headers, header]}
            await send(message)

        try:
            await self.app(scope, receive, send_with_id)
        finally:
            route = scope.get("route")
            elapsed = time.perf_counter() - started
            metrics.HTTP_REQUESTS.labels(scope["method"], getattr(route, "path", "unmatched"), str(status)).observe(
                elapsed
            )
            log.info(
                "http.request",
                method=scope["method"],
                path=scope["path"],
                status=status,
                ms=round(elapsed * 1000, 2),
                actor=getattr(scope["state"].get("principal"), "subject", None),
            )
            structlog.contextvars.unbind_contextvars("correlation_id")

    def _qualify(self, key: bytes, value: bytes) -> tuple[bytes, bytes]:
        if key == _TOKEN_HEADER:
            return key, f"{self.service}:".encode() + value
        return key, value


_TOKEN_HEADER = consistency.TOKEN_HEADER.lower().encode()
_STATE_HEADER = consistency.STATE_HEADER.lower().encode()


def create_app(
    runtime: Runtime,
    routers: Sequence[APIRouter],
    *,
    title: str,
    description: str = "",
    on_started: Callable[[Runtime], Awaitable[None]] | None = None,
) -> FastAPI:
    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        await runtime.start()
        if on_started is not None:
            await on_started(runtime)
        try:
            yield
        finally:
            await runtime.stop()

    app = FastAPI(title=title, description=description, lifespan=lifespan, version="1.0", responses=ERROR_RESPONSES)
    app.state.settings = runtime.settings
    app.state.runtime = runtime
    install_error_handlers(app)

    app.add_middleware(BodyGuard)
    app.add_middleware(RequestContext, service=runtime.settings.service)  # outermost: 401/413 carry the id

    @app.get("/health/live", tags=["ops"], **OPS)
    async def live() -> dict[str, str]:
        return {"status": "alive"}

    @app.get("/health/ready", tags=["ops"], **OPS)
    async def ready() -> JSONResponse:
        checks = await runtime.readiness()
        return JSONResponse(checks, status_code=200 if checks["ready"] else 503)

    @app.get("/metrics", tags=["ops"], response_class=PlainTextResponse, **OPS)
    async def prometheus() -> Response:
        return Response(generate_latest(), media_type=CONTENT_TYPE_LATEST)

    @app.get("/asyncapi.json", tags=["ops"], **OPS)
    async def asyncapi() -> JSONResponse:
        from faststream.specification import AsyncAPI

        broker = runtime.asyncapi_broker()
        spec = AsyncAPI(broker, title=f"{runtime.settings.service} events", schema_version="3.0.0")
        return JSONResponse(spec.to_specification().to_jsonable())

    for router in routers:
        app.include_router(router)
    return app


# ------------------------------------------------------------------ command routes

_PATH_ID = re.compile(r"{(\w+)}")


def command_route(
    router: APIRouter,
    path: str,
    command: type[Command],
    *,
    answer: type[BaseModel],
    status_code: int = 200,
    **options: Any,
) -> None:
    """Declare ``POST path`` for ``command``: the ids the path names (with the router's prefix)
    come from the path, the rest of the command's fields are the JSON body; the bus handles the
    command and ``respond`` answers with ``status_code``. The command's docstring is the
    operation's description, so a command is described once. ``options`` go to ``router.post``
    as they are (tags, ``openapi_extra``; the room for what a route may declare later)."""
    ids = _PATH_ID.findall(router.prefix + path)
    body_model = command if not ids else _body_of(command, ids)

    async def endpoint(ctx: Context, bus: MessageBus, body: Command, **path_ids: Any) -> JSONResponse:
        cmd = body if not path_ids else command(**path_ids, **body.model_dump())
        return respond(await bus.handle(cmd, ctx), status_code)

    endpoint.__signature__ = _signature(command, ids, body_model)  # type: ignore[attr-defined]
    router.post(
        path,
        status_code=status_code,
        response_model=answer,
        name=_snake(command.__name__),
        description=inspect.cleandoc(command.__doc__ or ""),
        **options,
    )(endpoint)


def _body_of(command: type[Command], ids: Sequence[str]) -> type[Command]:
    """The command without the fields the path supplies: what a client sends, declared once
    (field types, constraints and descriptions are the command's own)."""
    fields: dict[str, Any] = {
        name: (info.annotation, info) for name, info in command.model_fields.items() if name not in ids
    }
    return create_model(f"{command.__name__}Body", __base__=Command, **fields)


def _signature(command: type[Command], ids: Sequence[str], body: type[Command]) -> inspect.Signature:
    """What FastAPI reads to wire the endpoint: each path id typed and constrained as the
    command's field is, the body, and the command context and bus."""
    keyword = inspect.Parameter.KEYWORD_ONLY
    path_ids = [
        inspect.Parameter(name, keyword, annotation=Annotated[_field_type(command, name), Path()]) for name in ids
    ]
    return inspect.Signature(
        [
            *path_ids,
            inspect.Parameter("body", keyword, annotation=body),
            inspect.Parameter("ctx", keyword, annotation=CommandCtx),
            inspect.Parameter("bus", keyword, annotation=Bus),
        ],
        return_annotation=JSONResponse,
    )


def _field_type(command: type[Command], name: str) -> Any:
    """A path id typed with the command's constraints, so a bad one is a 422 before the command
    is built."""
    info = command.model_fields[name]
    return Annotated[(info.annotation, *info.metadata)] if info.metadata else info.annotation


def _snake(name: str) -> str:
    """``ReviseGoal`` -> ``revise_goal``: the route's name, its summary and operation id."""
    return re.sub(r"(?<!^)(?=[A-Z])", "_", name).lower()
