"""Small helpers every service's HTTP layer uses to turn a request into a command call."""

from __future__ import annotations

from typing import Annotated, Any

import httpx
from fastapi import Header, Request

from shared.auth import Principal
from shared.commands import request_fingerprint
from shared.eventstore import CommandContext, EventStore
from shared.runtime import Runtime

IdempotencyKey = Annotated[
    str | None,
    Header(alias="Idempotency-Key", max_length=200, description="retries with the same key act once"),
]
IfMatch = Annotated[
    int | None,
    Header(alias="If-Match", description="expected stream version; a stale one is answered with 409"),
]


def runtime(request: Request) -> Runtime:
    return request.app.state.runtime  # type: ignore[no-any-return]


def store(request: Request) -> EventStore:
    rt = runtime(request)
    assert rt.store is not None
    return rt.store


def context(
    request: Request, principal: Principal, *, agency: str | None = None, project: str | None = None
) -> CommandContext:
    return CommandContext(
        actor=principal.actor,
        agency=agency or principal.agency,
        project=project,
        correlation_id=request.state.correlation_id,
    )


def idempotency(principal: Principal, key: str | None, route: str, payload: Any) -> dict[str, Any]:
    """Keyword arguments for ``commands.execute``: keys are scoped per user and route."""
    if not key:
        return {}
    return {"idempotency_key": f"{principal.subject}:{route}:{key}", "fingerprint": request_fingerprint(payload)}


def intake_client(request: Request) -> httpx.AsyncClient:
    """A client for intake, the only holder of identity. Tests point ``app.state.intake_transport``
    at an in-process intake app; in production it is plain HTTP to ``INTAKE_URL``."""
    settings = runtime(request).settings
    transport = getattr(request.app.state, "intake_transport", None)
    return httpx.AsyncClient(base_url=settings.intake_url, transport=transport, timeout=settings.intake_timeout)
