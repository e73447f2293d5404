"""Wiring of the placement service."""

from __future__ import annotations

from fastapi import FastAPI

from services.placement.api import router
from services.placement.projections import participants
from shared.runtime import Runtime, ServiceDefinition
from shared.settings import load_settings
from shared.web import create_app

definition = ServiceDefinition(name="placement", projections=(participants,))


def build(**overrides: object) -> FastAPI:
    runtime = Runtime(load_settings("placement", **overrides), definition)
    return create_app(runtime, [router], title="rehapro placement", description="Employer acquisition and placement")
