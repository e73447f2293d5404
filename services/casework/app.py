"""Wiring of the casework service."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from pathlib import Path

from fastapi import FastAPI

from services.casework.commands_api import router as commands
from services.casework.policies import consents, employment, enrolments
from services.casework.projections import cases
from services.casework.queries_api import router as queries
from shared.runtime import Runtime, ServiceDefinition
from shared.settings import load_settings
from shared.web import create_app

definition = ServiceDefinition(
    name="casework",
    sql=sorted((Path(__file__).parent / "sql" / "store").glob("*.sql")),
    projections=(enrolments, consents, employment, cases),
)


def build(clock: Callable[[], date] = date.today, **overrides: object) -> FastAPI:
    """``clock`` is "today" for consent validity, days in phase and due tasks."""
    runtime = Runtime(load_settings("casework", **overrides), definition)
    app = create_app(
        runtime,
        [queries, commands],
        title="rehapro casework",
        description="Cases and the participant journey: team, phases, health records (audited), goals, plan, "
        "interventions, appointments, notes, exit",
    )
    app.state.clock = clock
    app.state.intake_transport = None  # tests may point this at an in-process intake app
    return app
