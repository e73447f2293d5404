"""The message bus: ``bus.handle(command, context)`` runs a command's handler in a unit of
work, with idempotency keys and retries of lost races; the one way a command is executed.

A handler is a plain function ``(command, uow, ctx) -> Result`` (load, decide, append),
registered by command class in its service's ``handlers.py``; it never sees HTTP.
"""

from __future__ import annotations

import functools
import hashlib
import inspect
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from datetime import date
from typing import Any, TypeVar
from uuid import UUID

import orjson
from pydantic import BaseModel, ConfigDict

from shared.domain import DomainError
from shared.envelope import Actor, new_id
from shared.eventstore import CommandContext, ConcurrencyConflict
from shared.principal import Principal
from shared.unit_of_work import UnitOfWork


class Command(BaseModel):
    """A typed request to change something; the same model is the HTTP body (ids from the
    path are set by the route). Unknown fields are refused."""

    model_config = ConfigDict(extra="forbid", frozen=True)


C = TypeVar("C", bound=Command)


@dataclass(frozen=True)
class Context:
    """Who asks and when, built once per request (or per policy run) and passed to handlers
    and views instead of the request itself."""

    principal: Principal
    correlation_id: UUID = field(default_factory=new_id)
    today: date = field(default_factory=date.today)
    idempotency_key: str | None = None
    expected_version: int | None = None
    causation_id: UUID | None = None

    @property
    def actor(self) -> Actor:
        return self.principal.actor

    def metadata(self, *, agency: str, project: str | None) -> CommandContext:
        """Envelope metadata for events appended on behalf of this context."""
        return CommandContext(
            actor=self.principal.actor,
            agency=agency,
            project=project,
            correlation_id=self.correlation_id,
            causation_id=self.causation_id,
        )


@dataclass(frozen=True)
class Result:
    """What a handler returns: the stream it wrote, its new version and the response body."""

    stream_id: str
    version: int | None
    body: dict[str, Any]
    replayed: bool = False


Handler = Callable[[Any, UnitOfWork, Context], Awaitable[Result]]
Handlers = Mapping[type[Command], Handler]


class IdempotencyMismatch(DomainError):
    """An Idempotency-Key reused for a different request."""


def fingerprint(command: Command) -> str:
    body = {"type": type(command).__name__, "command": command.model_dump(mode="json")}
    return hashlib.sha256(orjson.dumps(body, option=orjson.OPT_SORT_KEYS)).hexdigest()


def idempotency_scope(command: Command, ctx: Context) -> str | None:
    """Keys are scoped by agency, subject and command: another agency's user with the same
    subject and key never sees this response."""
    if not ctx.idempotency_key:
        return None
    p = ctx.principal
    return f"{p.agency}:{p.subject}:{type(command).__name__}:{ctx.idempotency_key}"


class _LostToTwin(Exception):
    """A concurrent request with the same key committed first: retry and answer with its result."""


class MessageBus:
    def __init__(self, handlers: Handlers, unit_of_work: Callable[[bool], UnitOfWork], *, retries: int = 3) -> None:
        """``unit_of_work(transactional)`` makes a fresh unit of work per attempt."""
        self.handlers = dict(handlers)
        self.unit_of_work = unit_of_work
        self.retries = retries

    async def handle(self, command: Command, ctx: Context) -> Result:
        """Run the command's handler; a lost race (no client version given) is retried on the
        fresh stream up to ``retries`` times, a stale client version is a conflict at once."""
        handler = self.handlers.get(type(command))
        if handler is None:
            raise LookupError(f"no handler for {type(command).__name__}")
        key = idempotency_scope(command, ctx)
        attempt = 0
        while True:
            attempt += 1
            try:
                return await self._attempt(handler, command, ctx, key)
            except ConcurrencyConflict:
                if ctx.expected_version is not None or attempt > self.retries:
                    raise
            except _LostToTwin:
                pass

    async def _attempt(self, handler: Handler, command: Command, ctx: Context, key: str | None) -> Result:
        # With a key, the key's record must commit with the events (or not at all).
        async with self.unit_of_work(key is not None) as uow:
            if key is None:
                return await handler(command, uow, ctx)
            digest = fingerprint(command)
            stored = await uow.recall(key)
            if stored is not None:
                if stored.fingerprint != digest:
                    raise IdempotencyMismatch(
                        "Idempotency-Key was used before for a different request", field="Idempotency-Key"
                    )
                saved = stored.body
                return Result(saved["stream_id"], saved["version"], saved["body"], replayed=True)
            result = await handler(command, uow, ctx)
            saved = {"stream_id": result.stream_id, "version": result.version, "body": result.body}
            if not await uow.remember(key, digest, saved):
                raise _LostToTwin()
            return result


def inject(handlers: Mapping[type[Command], Callable[..., Awaitable[Result]]], **deps: object) -> Handlers:
    """Bind each handler's keyword-only dependencies (ports such as a key store) by name, as
    cosmicpython's bootstrap does; the bus then calls every handler as ``(command, uow, ctx)``."""
    bound: dict[type[Command], Handler] = {}
    for cls, fn in handlers.items():
        params = inspect.signature(fn).parameters
        wanted = {n: deps[n] for n, p in params.items() if p.kind is p.KEYWORD_ONLY and n in deps}
        missing = [n for n, p in params.items() if p.kind is p.KEYWORD_ONLY and n not in deps and p.default is p.empty]
        if missing:
            raise TypeError(f"{fn.__name__} needs {', '.join(missing)}")
        bound[cls] = functools.partial(fn, **wanted) if wanted else fn
    return bound
