"""The one composition root of casework: its definition (tables, projections, policies), the
ports the handlers need, the bus and the routes."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any
from uuid import UUID

from fastapi import FastAPI

from services.casework.api import commands, project_commands, queries
from services.casework.handlers import HANDLERS
from services.casework.policies import consents, employment, enrolments
from services.casework.projections import cases
from services.casework.views import PostgresConsents
from services.casework.views.projects import PostgresCaseloads
from shared.bus import MessageBus, inject
from shared.contracts.intake import ParticipantDataErased
from shared.crypto import SubjectKeys
from shared.erasure import ErasureRule
from shared.runtime import Runtime, ServiceDefinition
from shared.settings import load_settings
from shared.staff import Directory, staff
from shared.unit_of_work import PostgresUnitOfWork, UnitOfWork
from shared.web import create_app

definition = ServiceDefinition(
    name="casework",
    sql=sorted((Path(__file__).parent / "sql" / "store").glob("*.sql")),
    projections=(enrolments, consents, employment, cases, staff),
    subject_keys=True,
    erasures=(ErasureRule(ParticipantDataErased, lambda p: str(p["participant_id"])),),
)


@dataclass
class PostgresKeyStore:
    """The handlers' ``KeyStore`` port: casework's per-participant keys (table keys.subject_keys, wrapped by the KEK),
    on the command's own connection (a key made for a command that fails is rolled back with it
    when the command runs in a transaction)."""

    runtime: Runtime
    keys: SubjectKeys = field(default_factory=SubjectKeys)

    async def seal(self, uow: UnitOfWork, participant_id: UUID, *values: Any) -> list[str]:
        if isinstance(uow, PostgresUnitOfWork):
            return await self.keys.seal_many(uow.conn, str(participant_id), *values)
        if self.runtime.pool is None:
            raise RuntimeError("the runtime is not connected")
        async with self.runtime.pool.acquire() as conn:
            return await self.keys.seal_many(conn, str(participant_id), *values)


def build(clock: Callable[[], date] = date.today, **overrides: object) -> FastAPI:
    """``clock`` is "today" for consent validity, days in phase and due tasks."""
    runtime = Runtime(load_settings("casework", **overrides), definition, clock=clock)
    app = create_app(
        runtime,
        [queries, commands, project_commands],
        title="rehapro casework",
        description="Cases and the participant journey: team, phases, health records (audited), goals, plan, "
        "interventions, appointments, notes, exit",
    )
    handlers = inject(
        HANDLERS,
        keys=PostgresKeyStore(runtime),
        consents=PostgresConsents(runtime),
        caseloads=PostgresCaseloads(runtime),
        staff=Directory(runtime),
    )
    app.state.bus = MessageBus(handlers, runtime.unit_of_work)
    app.state.intake_transport = None  # tests may point this at an in-process intake app
    return app
