"""Subject access (GDPR Art. 15) as one document: the portal asks the four services' own
``…/subject-access`` routes with the DPO's token and puts their answers together, as JSON and
as an HTML document rendered from that JSON (one code path for both formats).

The portal decides nothing here: each service judges the token (the owning agency's DPO only)
and writes the read into its own read log; the four calls carry one correlation id, the
document's, so the four log rows name the same request. Intake answers first: it knows whether
the person exists and who owns them; a refusal there (403, 404) is the answer. After that, a 404
from casework, placement or reporting means that service holds nothing about the person (no
case yet, never a candidate). Any other answer fails the whole document: a partial answer to a
subject access request would read as complete.

Also a command line (``python -m services.portal.subject_access <participant id> --token …``)
that writes both files, for a DPO without the portal.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated, Any
from uuid import UUID

import orjson
import typer
from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, Response
from jinja2 import Environment, FileSystemLoader, select_autoescape

from services.portal.auth import User, current_user
from services.portal.clients import Backends
from services.portal.rendering import Renderer
from services.portal.settings import PortalSettings, load_portal_settings
from shared.envelope import new_id
from shared.principal import Principal

TITLE = "Auskunft nach Art. 15 DSGVO"
# Where each service answers, in the order the document lists them; intake first (see above).
SOURCES: tuple[tuple[str, str], ...] = (
    ("intake", "/participants/{pid}/subject-access"),
    ("casework", "/cases/{pid}/subject-access"),
    ("placement", "/candidates/{pid}/subject-access"),
    ("reporting", "/participants/{pid}/subject-access"),
)
TEMPLATES = Path(__file__).parent / "templates"


class Refused(Exception):
    """A service refused or failed: the document is not built. ``status`` is passed on
    (403/404 from intake as they are; anything else is 502)."""

    def __init__(self, service: str, status: int, reason: str) -> None:
        super().__init__(f"{service} answered {status}: {reason}")
        self.service = service
        self.status = status
        self.reason = reason


def _reason(body: Any) -> str:
    return str(body.get("error", "")) if isinstance(body, dict) else str(body)[:200]


async def _ask(backends: Backends, service: str, path: str, token: str, correlation_id: UUID) -> tuple[int, Any]:
    headers = {"Authorization": f"Bearer {token}", "X-Correlation-ID": str(correlation_id)}
    r = await backends.client(service).get(path, headers=headers)
    try:
        return r.status_code, r.json()
    except ValueError:
        return r.status_code, r.text


def _section(service: str, status: int, body: Any) -> dict[str, Any]:
    """One service's part: its answer, or "holds nothing" (404 after intake confirmed the owner)."""
    if status == 200 and isinstance(body, dict):
        return {"status": "answered", **body}
    if status == 404 and service != "intake":
        return {"status": "nothing-held", "service": service, "data": None, "reads": []}
    passed_on = status if service == "intake" and status in (403, 404) else 502
    raise Refused(service, passed_on, _reason(body))


async def assemble(backends: Backends, token: str, requester: Principal, participant_id: UUID) -> dict[str, Any]:
    """The whole document: each service's part and every read log merged (oldest first)."""
    correlation_id = new_id()
    services: dict[str, dict[str, Any]] = {}
    for service, path in SOURCES:
        status, body = await _ask(backends, service, path.format(pid=participant_id), token, correlation_id)
        services[service] = _section(service, status, body)
    reads = sorted(
        ({"service": name, **row} for name, part in services.items() for row in part["reads"]),
        key=lambda row: str(row["read_at"]),
    )
    return {
        "document": TITLE,
        "participant_id": str(participant_id),
        "generated_at": datetime.now(UTC).isoformat(),
        "requested_by": {"subject": requester.subject, "role": requester.role.value, "agency": requester.agency},
        "correlation_id": str(correlation_id),
        "services": services,
        "reads": reads,
    }


def to_json(document: dict[str, Any]) -> bytes:
    return orjson.dumps(document, option=orjson.OPT_INDENT_2)


_ENV = Environment(
    loader=FileSystemLoader(TEMPLATES), autoescape=select_autoescape(["html"]), trim_blocks=True, lstrip_blocks=True
)


def to_html(document: dict[str, Any]) -> str:
    """The human-readable document (German), rendered from the JSON document only: the JSON is
    decoded again first, so both formats show exactly the same values."""
    return _ENV.get_template("subject_access.html").render(doc=orjson.loads(to_json(document)), title=TITLE)


# ------------------------------------------------------------------ the portal's page


router = APIRouter()


@dataclass(frozen=True)
class _Deps:
    backends: Backends
    renderer: Renderer
    user: User


def _deps(request: Request) -> _Deps:
    state = request.app.state
    settings: PortalSettings = state.settings
    return _Deps(state.backends, state.renderer, current_user(request, settings))


Deps = Annotated[_Deps, Depends(_deps)]


@router.get("/auskunft", response_class=HTMLResponse)
async def subject_access_page(request: Request, deps: Deps, participant_id: str = "") -> Response:
    """The DPO's page: a participant number in, links to the document (HTML) and its JSON out."""
    pid = _uuid(participant_id)
    return deps.renderer.page(
        request, "subject_access_form.html", status=422 if participant_id and pid is None else 200,
        user=deps.user, participant_id=participant_id, pid=pid, title=TITLE,
    )  # fmt: skip


@router.get("/auskunft/{pid}", response_class=HTMLResponse)
async def subject_access_html(pid: UUID, request: Request, deps: Deps) -> Response:
    """The document as HTML (every service audits its part of this read)."""
    try:
        document = await assemble(deps.backends, deps.user.token, deps.user.principal, pid)
    except Refused as exc:
        return _refused(request, deps, exc)
    return HTMLResponse(to_html(document))


@router.get("/auskunft/{pid}/json")
async def subject_access_json(pid: UUID, request: Request, deps: Deps) -> Response:
    """The document as a JSON download (every service audits its part of this read)."""
    try:
        document = await assemble(deps.backends, deps.user.token, deps.user.principal, pid)
    except Refused as exc:
        return _refused(request, deps, exc)
    download = {"Content-Disposition": f'attachment; filename="auskunft-{pid}.json"'}
    return Response(to_json(document), media_type="application/json", headers=download)


def _refused(request: Request, deps: _Deps, exc: Refused) -> Response:
    return deps.renderer.page(
        request, "subject_access_form.html", status=exc.status, user=deps.user,
        participant_id="", pid=None, title=TITLE, refused=exc,
    )  # fmt: skip


def _uuid(text: str) -> UUID | None:
    try:
        return UUID(text.strip())
    except ValueError:
        return None


# ------------------------------------------------------------------ the command line

cli = typer.Typer(help=f"{TITLE}: the document for one person, as JSON and HTML", no_args_is_help=True)


@cli.command()
def main(
    participant_id: UUID,
    token: Annotated[str, typer.Option(envvar="REHAPRO_TOKEN", help="the DPO's bearer token")],
    out: Annotated[Path, typer.Option(help="folder for auskunft-<id>.json and .html")] = Path("."),
) -> None:
    """Ask the four services (URLs from the portal's settings) and write both documents."""
    import asyncio

    from shared.auth import decode_token

    settings = load_portal_settings()
    requester = decode_token(token, settings.verifier())

    async def run() -> dict[str, Any]:
        backends = Backends(settings.service_urls(), settings.timeout_s)
        try:
            return await assemble(backends, token, requester, participant_id)
        finally:
            await backends.close()

    try:
        document = asyncio.run(run())
    except Refused as exc:
        typer.echo(str(exc), err=True)
        raise typer.Exit(1) from None
    out.mkdir(parents=True, exist_ok=True)
    (out / f"auskunft-{participant_id}.json").write_bytes(to_json(document))
    (out / f"auskunft-{participant_id}.html").write_text(to_html(document), encoding="utf-8")
    typer.echo(f"{out / f'auskunft-{participant_id}'}.json, .html")


if __name__ == "__main__":
    cli()
