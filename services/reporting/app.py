"""Wiring of the reporting service."""

from __future__ import annotations

from fastapi import FastAPI

from services.reporting.api import router
from services.reporting.facts import facts
from services.reporting.projections import counts
from shared.runtime import Runtime, ServiceDefinition
from shared.settings import load_settings
from shared.web import create_app

definition = ServiceDefinition(name="reporting", projections=(counts, facts))


def build(**overrides: object) -> FastAPI:
    runtime = Runtime(load_settings("reporting", **overrides), definition)
    app = create_app(runtime, [router], title="rehapro reporting", description="KPIs, reports, monitoring export")
    app.state.intake_transport = None  # tests may point this at an in-process intake app
    return app
