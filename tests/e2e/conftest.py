"""The four services in one test process, each with its own fresh database, talking only
through topics (with a per-run prefix) on the real Kafka broker."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import AsyncExitStack, asynccontextmanager
from dataclasses import dataclass, field

import httpx
import pytest
from fastapi import FastAPI

from services.casework.app import build as build_casework
from services.intake.app import build as build_intake
from services.placement.app import build as build_placement
from services.reporting.app import build as build_reporting
from shared.auth import issue_token
from shared.runtime import Runtime
from shared.settings import load_settings
from shared.vocabulary import Role
from tests import support

BUILDERS: dict[str, Callable[..., FastAPI]] = {
    "intake": build_intake,
    "casework": build_casework,
    "placement": build_placement,
    "reporting": build_reporting,
}


@dataclass
class Stack:
    run: str
    prefix: str
    apps: dict[str, FastAPI] = field(default_factory=dict)
    clients: dict[str, httpx.AsyncClient] = field(default_factory=dict)
    urls: dict[str, str] = field(default_factory=dict)
    staff_directory: str = "off"  # "required" for the staff directory's own tests

    def runtime(self, service: str) -> Runtime:
        return self.apps[service].state.runtime  # type: ignore[no-any-return]

    async def quiet(self) -> bool:
        """Nothing in flight at this moment: every service's outbox published and every
        projection consumer assigned its partitions and at the end of them."""
        for name in support.SERVICES:
            rt = self.runtime(name)
            if (await rt.outbox_backlog())[0]:
                return False
            for c in rt.consumers:
                if c.consumer is None or not c.consumer.assignment() or await c.refresh_lag():
                    return False
        return True

    async def settled(self, timeout: float = 120.0) -> None:
        """Wait until the stack is quiet twice in a row (a consumer's policy may write events
        that another service has yet to consume): for a test that then counts what is on the
        topics or compares a projection with a replay of them."""
        await support.eventually(lambda: _twice(self.quiet), bool, timeout=timeout, interval=0.2)

    def token(self, role: Role, agency: str, subject: str = "user-1") -> dict[str, str]:
        secret = load_settings("test").jwt_secret
        return {"Authorization": f"Bearer {issue_token(secret, subject=subject, role=role, agency=agency)}"}

    def overrides(self, service: str) -> dict[str, object]:
        return {
            "database_url": self.urls[service],
            "topic_prefix": self.prefix,
            "kafka_bootstrap": support.KAFKA,
            "log_json": False,
            "staff_directory": self.staff_directory,
        }


Overrides = Callable[[str], dict[str, object]]


async def _twice(check: Callable[[], Awaitable[bool]]) -> bool:
    return await check() and await check()


@asynccontextmanager
async def serve(s: Stack, extra: Overrides = lambda _: {}) -> AsyncIterator[Stack]:
    """The four services in this process, each on a fresh database of the run, built with the
    stack's settings and ``extra(name)`` on top; the databases are dropped afterwards."""
    for name in support.SERVICES:
        s.urls[name] = await support.create_database(f"{s.run}_{name}")
    async with AsyncExitStack() as exits:
        for name, build in BUILDERS.items():
            app = build(**(s.overrides(name) | extra(name)))
            await exits.enter_async_context(app.router.lifespan_context(app))
            client = httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url=f"http://{name}")
            await exits.enter_async_context(client)
            s.apps[name] = app
            s.clients[name] = client
        # reporting asks intake for monitoring identities over HTTP: here, the in-process app
        s.apps["reporting"].state.intake_transport = httpx.ASGITransport(app=s.apps["intake"])
        s.apps["casework"].state.intake_transport = httpx.ASGITransport(app=s.apps["intake"])
        yield s
    for name in support.SERVICES:
        support.drop_database_later(f"{s.run}_{name}")


@asynccontextmanager
async def running_stack(staff_directory: str) -> AsyncIterator[Stack]:
    """Fresh topics and databases of a run, the four services served on them."""
    run = support.run_id()
    s = Stack(run=run, prefix=f"{run}.", staff_directory=staff_directory)
    await support.create_topics(
        [f"{s.prefix}{name}.{kind}" for name in support.SERVICES for kind in ("events", "audit")]
    )
    async with serve(s) as served:
        yield served


@pytest.fixture
async def stack() -> AsyncIterator[Stack]:
    async with running_stack("off") as s:
        yield s


@pytest.fixture
async def staffed_stack() -> AsyncIterator[Stack]:
    """The stack with the staff directory required, as in production."""
    async with running_stack("required") as s:
        yield s


# the browser and the portal for the browser tests (tests/e2e/browser.py)
from tests.e2e.browser import browser, portal  # noqa: E402, F401
