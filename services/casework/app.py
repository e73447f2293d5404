"""Wiring of the casework service."""

from __future__ import annotations

from pathlib import Path

from fastapi import FastAPI

from services.casework.api import router
from services.casework.policies import enrolments
from services.casework.projections import cases
from shared.runtime import Runtime, ServiceDefinition
from shared.settings import load_settings
from shared.web import create_app

definition = ServiceDefinition(
    name="casework",
    sql=sorted((Path(__file__).parent / "sql").glob("*.sql")),
    projections=(enrolments, cases),
)


def build(**overrides: object) -> FastAPI:
    runtime = Runtime(load_settings("casework", **overrides), definition)
    return create_app(runtime, [router], title="rehapro casework", description="Cases and the participant journey")
