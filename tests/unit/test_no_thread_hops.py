"""Every dependency of the four services' routes is ``async def``: FastAPI runs a plain ``def``
dependency (and endpoint) in a worker thread, a thread hop on every request."""

from __future__ import annotations

import importlib
import inspect
from collections.abc import Iterable
from typing import Any

import pytest
from fastapi.dependencies.models import Dependant
from fastapi.routing import APIRoute


def _sync_calls(dependant: Dependant) -> list[str]:
    found = [] if dependant.call is None or inspect.iscoroutinefunction(dependant.call) else [str(dependant.call)]
    for sub in dependant.dependencies:
        found += _sync_calls(sub)
    return found


def _api_routes(routes: Iterable[Any]) -> list[APIRoute]:
    """The app's routes, those of included routers too."""
    out: list[APIRoute] = []
    for route in routes:
        if isinstance(route, APIRoute):
            out.append(route)
        elif (router := getattr(route, "original_router", None)) is not None:
            out += _api_routes(router.routes)
    return out


@pytest.mark.parametrize("service", ["intake", "casework", "placement", "reporting"])
def test_no_route_of_a_service_runs_in_a_worker_thread(service: str) -> None:
    app = importlib.import_module(f"services.{service}.app").build()
    routes = _api_routes(app.routes)
    assert any("POST" in (r.methods or set()) for r in routes)
    sync = {r.path: calls for r in routes if (calls := _sync_calls(r.dependant))}
    assert sync == {}
