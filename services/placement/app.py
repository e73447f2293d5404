"""Wiring of the placement service."""

from __future__ import annotations

from pathlib import Path

from fastapi import FastAPI

from services.placement.api_candidates import router as candidates_router
from services.placement.api_employers import router as employers_router
from services.placement.api_views import router as views_router
from services.placement.policies import pool_policy
from services.placement.projections import access, board
from shared.runtime import Runtime, ServiceDefinition
from shared.settings import load_settings
from shared.web import create_app

definition = ServiceDefinition(
    name="placement",
    sql=sorted((Path(__file__).parent / "sql").glob("*.sql")),
    projections=(pool_policy, board, access),
)


def build(**overrides: object) -> FastAPI:
    runtime = Runtime(load_settings("placement", **overrides), definition)
    return create_app(
        runtime,
        [employers_router, candidates_router, views_router],
        title="rehapro placement",
        description="Betriebsakquise: employers, vacancies, the consent-based candidate pool, matching,"
        " work trials, employment, aftercare and follow-ups",
    )
