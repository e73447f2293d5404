"""Wiring of the intake service: its tables, projections, background tasks and HTTP routes."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from datetime import date
from pathlib import Path

from fastapi import FastAPI

from services.intake.api import router
from services.intake.expiry import ConsentExpiry
from services.intake.monitoring_api import router as monitoring_router
from services.intake.projections import register
from shared.runtime import Runtime, ServiceDefinition
from shared.settings import load_settings
from shared.web import create_app

SQL = sorted((Path(__file__).parent / "sql").glob("*.sql"))

definition = ServiceDefinition(name="intake", sql=SQL, projections=(register,))


def build(clock: Callable[[], date] = date.today, expiry_interval: float = 300.0, **overrides: object) -> FastAPI:
    """``clock`` is "today" for consent validity and expiry (tests inject their own)."""
    runtime = Runtime(load_settings("intake", **overrides), definition)
    expiry = ConsentExpiry(runtime, clock=clock, interval=expiry_interval)

    async def start_expiry(rt: Runtime) -> None:
        # Runtime.stop() cancels every task but the relay's, so this ends with the service.
        rt._tasks.append(asyncio.create_task(expiry.loop(), name="consent-expiry"))

    app = create_app(
        runtime,
        [router, monitoring_router],
        title="rehapro intake",
        description="Referrals, eligibility, consent per purpose, enrolment, erasure",
        on_started=start_expiry,
    )
    app.state.clock = clock
    app.state.consent_expiry = expiry
    return app
