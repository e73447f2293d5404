"""The placement service's one composition root: its definition (tables, projections, the
pool policy), the ports, the message bus and the routes."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from pathlib import Path
from typing import Any

import asyncpg
from fastapi import FastAPI

from services.placement.api import routers
from services.placement.handlers import HANDLERS
from services.placement.policies import pool_policy
from services.placement.projections import access, board, projects, workshop
from services.placement.views import PostgresEnrolments, PostgresProjects, PostgresVacancyOffers, Reads
from shared.bus import MessageBus, inject
from shared.contracts.intake import ParticipantDataErased
from shared.contracts.placement import EmployerContactDataErased
from shared.crypto import SubjectKeys
from shared.db import Conn
from shared.erasure import ErasureRule
from shared.migrations import READ_LOG_SQL
from shared.runtime import Runtime, ServiceDefinition
from shared.settings import load_settings
from shared.staff import staff
from shared.unit_of_work import PostgresUnitOfWork, UnitOfWork
from shared.web import create_app

definition = ServiceDefinition(
    name="placement",
    sql=[*READ_LOG_SQL, *sorted((Path(__file__).parent / "sql" / "store").glob("*.sql"))],
    projections=(pool_policy, board, access, workshop, projects, staff),
    subject_keys=True,
    erasures=(
        ErasureRule(EmployerContactDataErased, lambda p: str(p["employer_id"])),
        ErasureRule(ParticipantDataErased, lambda p: str(p["participant_id"])),
    ),
)


class PostgresKeyStore:
    """The ``KeyStore`` port on the service's ``keys.subject_keys`` table (wrapped by the KEK): a
    command's calls run on its unit of work's connection (never a second pooled one), a view's on
    the pool."""

    def __init__(self, runtime: Runtime) -> None:
        self.runtime = runtime
        self.keys = SubjectKeys()

    def _pool(self) -> asyncpg.Pool:
        if self.runtime.pool is None:
            raise RuntimeError("the runtime is not connected")
        return self.runtime.pool

    async def seal(self, subject_id: str, value: Any, uow: UnitOfWork) -> str:
        return await self.keys.seal(uow_conn(uow), subject_id, value)

    async def open(self, subject_id: str, token: str) -> Any:
        async with self._pool().acquire() as conn:
            return await self.keys.open(conn, subject_id, token)

    async def erase(self, subject_id: str, uow: UnitOfWork) -> None:
        await self.keys.erase(uow_conn(uow), subject_id)


def uow_conn(uow: UnitOfWork) -> Conn:
    if not isinstance(uow, PostgresUnitOfWork):
        raise TypeError("the PostgreSQL key store needs a PostgreSQL unit of work")
    return uow.conn


def build(clock: Callable[[], date] = date.today, **overrides: object) -> FastAPI:
    """The placement app; ``clock`` is "today" for every command and view (tests set it)."""
    runtime = Runtime(load_settings("placement", **overrides), definition, clock=clock)
    keys = PostgresKeyStore(runtime)
    reads = Reads(runtime, keys)
    app = create_app(
        runtime,
        routers,
        title="rehapro placement",
        description="Betriebsakquise: employers, vacancies, the consent-based candidate pool, matching,"
        " work trials, employment, aftercare and follow-ups",
    )
    ports = {
        "keys": keys,
        "offers": PostgresVacancyOffers(reads),
        "enrolments": PostgresEnrolments(reads),
        "projects": PostgresProjects(reads),
    }
    app.state.bus = MessageBus(inject(HANDLERS, **ports), runtime.unit_of_work)
    app.state.reads = reads
    return app
