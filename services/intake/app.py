"""Wiring of the intake service: its tables, projections and HTTP routes."""

from __future__ import annotations

from pathlib import Path

from fastapi import FastAPI

from services.intake.api import router
from shared.runtime import Runtime, ServiceDefinition
from shared.settings import load_settings
from shared.web import create_app

SQL = sorted((Path(__file__).parent / "sql").glob("*.sql"))

definition = ServiceDefinition(name="intake", sql=SQL, projections=())


def build(**overrides: object) -> FastAPI:
    runtime = Runtime(load_settings("intake", **overrides), definition)
    return create_app(runtime, [router], title="rehapro intake", description="Referrals, consent, enrolment")
