"""Composition root of the portal: settings, the clients of the four services, the renderer,
the routes and the assets (htmx from npm, served here: no CDN). No database, no events."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Mapping
from contextlib import asynccontextmanager
from datetime import date
from pathlib import Path

import httpx
from fastapi import FastAPI, Request
from fastapi.responses import FileResponse, JSONResponse, RedirectResponse, Response
from fastapi.staticfiles import StaticFiles

from services.portal import api, subject_access
from services.portal.auth import NotLoggedIn
from services.portal.clients import Backends
from services.portal.oidc import OidcClient
from services.portal.rendering import Renderer
from services.portal.settings import load_portal_settings

HERE = Path(__file__).parent
ASSETS = HERE / "assets" / "node_modules"
HTMX = ASSETS / "htmx.org" / "dist" / "htmx.min.js"


def build(
    transports: Mapping[str, httpx.AsyncBaseTransport] | None = None,
    clock: Callable[[], date] = date.today,
    **overrides: object,
) -> FastAPI:
    """The portal app; tests hand in ASGI transports to in-process services and their clock."""
    settings = load_portal_settings(**overrides)
    backends = Backends(settings.service_urls(), settings.timeout_s, dict(transports or {}))

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        try:
            yield
        finally:
            await backends.close()

    app = FastAPI(title="rehapro Portal", lifespan=lifespan, docs_url=None, redoc_url=None, openapi_url=None)
    app.state.settings = settings
    app.state.backends = backends
    app.state.renderer = Renderer(clock)
    app.state.oidc = OidcClient(settings) if settings.oidc_issuer else None
    app.include_router(api.router)
    app.include_router(subject_access.router)
    app.mount("/static", StaticFiles(directory=HERE / "static"), name="static")

    @app.get("/assets/htmx.min.js", include_in_schema=False)
    async def htmx() -> Response:
        return FileResponse(HTMX, media_type="text/javascript")

    @app.get("/health/live", include_in_schema=False)
    async def live() -> dict[str, str]:
        return {"status": "alive"}

    @app.get("/health/ready", include_in_schema=False)
    async def ready() -> JSONResponse:
        """Ready when the assets are installed (``npm ci`` in ``services/portal/assets``)."""
        ok = HTMX.exists()
        return JSONResponse({"ready": ok, "htmx": ok}, status_code=200 if ok else 503)

    @app.exception_handler(NotLoggedIn)
    async def _login(request: Request, _: NotLoggedIn) -> Response:
        if request.headers.get("HX-Request"):
            return Response(status_code=204, headers={"HX-Redirect": "/anmelden"})
        return RedirectResponse("/anmelden", status_code=303)

    return app
