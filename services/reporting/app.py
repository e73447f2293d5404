"""The composition root of reporting: definition (projections), ports, bus, routes."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from datetime import date
from typing import Any

import httpx
from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse

from services.reporting.api import router
from services.reporting.domain.periods import DateRange
from services.reporting.handlers import HANDLERS, IntakeRefused
from services.reporting.projections import counts, facts, plans
from services.reporting.views import Reads
from shared.auth import service_token
from shared.bus import Context, MessageBus, inject
from shared.migrations import READ_LOG_SQL
from shared.runtime import Runtime, ServiceDefinition
from shared.settings import load_settings
from shared.staff import staff
from shared.web import create_app

definition = ServiceDefinition(
    name="reporting",
    sql=READ_LOG_SQL,  # its only table beside the event store: the shared read log
    projections=(counts, facts, plans, staff),
)


class IntakeIdentities:
    """The handlers' ``IdentitySource`` over HTTP: asks intake (as the reporting service, on
    behalf of the lead) for the identifying fields. Tests point ``app.state.intake_transport``
    at an in-process intake app; in production it is plain HTTP to ``INTAKE_URL``."""

    def __init__(self, app: FastAPI, runtime: Runtime) -> None:
        self.app = app
        self.runtime = runtime

    async def identities(self, ids: Sequence[str], period: DateRange, ctx: Context) -> list[Mapping[str, Any]]:
        s = self.runtime.settings
        p = ctx.principal
        token = service_token(s, subject="reporting", agency=p.agency)
        transport = getattr(self.app.state, "intake_transport", None)
        async with httpx.AsyncClient(base_url=s.intake_url, transport=transport, timeout=s.intake_timeout) as c:
            r = await c.post(
                "/internal/monitoring/identities",
                json={
                    "participant_ids": list(ids),
                    "reference_date": period.end.isoformat(),
                    "half_year": str(period),
                    "on_behalf_of": p.subject,
                },
                headers={"Authorization": f"Bearer {token}", "X-Correlation-ID": str(ctx.correlation_id)},
            )
        if r.status_code != 200:
            raise IntakeRefused(r.status_code)
        return list(r.json()["identities"])


async def _intake_refused(_: Request, exc: Exception) -> JSONResponse:
    return JSONResponse({"error": str(exc)}, status_code=502)


def build(clock: Callable[[], date] = date.today, **overrides: object) -> FastAPI:
    runtime = Runtime(load_settings("reporting", **overrides), definition, clock=clock)
    app = create_app(runtime, [router], title="rehapro reporting", description="KPIs, reports, monitoring export")
    app.state.intake_transport = None  # tests may point this at an in-process intake app
    reads = Reads(runtime)
    app.state.reads = reads
    app.state.bus = MessageBus(
        inject(HANDLERS, facts=reads, identities=IntakeIdentities(app, runtime)), runtime.unit_of_work
    )
    app.add_exception_handler(IntakeRefused, _intake_refused)
    return app
