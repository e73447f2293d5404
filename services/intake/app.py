"""Wiring of the intake service: its tables, projection, key store, bus, expiry policy and routes."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from datetime import date
from pathlib import Path
from typing import Any

from fastapi import FastAPI

from services.intake.api import router
from services.intake.handlers import HANDLERS
from services.intake.policies import ConsentExpiry, RetentionTask, transfers
from services.intake.projections import projects, register, retention
from services.intake.views import RegisterDueConsents, RegisterProjectRules, RetentionRecords, connection
from shared.bus import MessageBus, inject
from shared.contracts.intake import ParticipantDataErased
from shared.crypto import SubjectKeys
from shared.erasure import ErasureRule
from shared.migrations import READ_LOG_SQL
from shared.runtime import Runtime, ServiceDefinition
from shared.settings import load_settings
from shared.staff import staff
from shared.unit_of_work import UnitOfWork
from shared.web import create_app

SQL = [*READ_LOG_SQL, *sorted((Path(__file__).parent / "sql" / "store").glob("*.sql"))]

definition = ServiceDefinition(
    name="intake",
    sql=SQL,
    projections=(register, staff, projects, retention, transfers),
    subject_keys=True,
    erasures=(ErasureRule(ParticipantDataErased, lambda p: str(p["participant_id"])),),
)


class PostgresKeyStore:
    """The ``KeyStore`` port on intake's ``keys.subject_keys`` (data keys wrapped by the KEK),
    on the unit of work's connection."""

    def __init__(self) -> None:
        self.keys = SubjectKeys()

    async def seal(self, subject: str, uow: UnitOfWork, *values: Any) -> list[str]:
        return await self.keys.seal_many(connection(uow), subject, *values)

    async def open(self, subject: str, uow: UnitOfWork, token: str) -> Any:
        return await self.keys.open(connection(uow), subject, token)

    @asynccontextmanager
    async def erasing(self, subject: str, uow: UnitOfWork) -> AsyncIterator[None]:
        conn = connection(uow)
        async with conn.transaction():
            yield
            await self.keys.erase(conn, subject)


def build(
    clock: Callable[[], date] = date.today,
    expiry_interval: float = 300.0,
    retention_interval: float = 86400.0,
    retention_delay: float = 3600.0,
    **overrides: object,
) -> FastAPI:
    """``clock`` is "today" for every command, view and both policies (tests inject their own);
    the retention task runs ``retention_delay`` seconds after the start (an hour), then every
    ``retention_interval`` seconds (a day)."""
    runtime = Runtime(load_settings("intake", **overrides), definition, clock=clock)
    keys = PostgresKeyStore()
    optional = frozenset(runtime.settings.information_meeting_optional)
    bus = MessageBus(
        inject(HANDLERS, keys=keys, meeting_optional=optional, projects=RegisterProjectRules()), runtime.unit_of_work
    )
    # the runtime's clock is read at each run (tests may replace it after build)
    expiry = ConsentExpiry(
        bus, RegisterDueConsents(runtime.unit_of_work), clock=lambda: runtime.clock(), interval=expiry_interval
    )

    retention_task = RetentionTask(
        bus,
        RetentionRecords(runtime.unit_of_work),
        clock=lambda: runtime.clock(),
        interval=retention_interval,
        delay=retention_delay,
    )

    async def start_expiry(rt: Runtime) -> None:
        # Runtime.stop() cancels every task but the relay's, so this ends with the service.
        rt.spawn(expiry.loop(), name="consent-expiry")
        rt.spawn(retention_task.loop(), name="retention")

    app = create_app(
        runtime,
        [router],
        title="rehapro intake",
        description="Referrals, eligibility, consent per purpose, enrolment, erasure",
        on_started=start_expiry,
    )
    app.state.bus = bus
    app.state.keys = keys
    app.state.consent_expiry = expiry
    app.state.retention = retention_task
    return app
