"""HTTP API of reporting: KPIs (JSON, CSV), frozen quarterly reports, the monitoring export and
the dashboard. Thin: reads call ``views``, the two commands go through the bus."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from typing import Annotated, Literal
from uuid import UUID

from fastapi import APIRouter, Depends, HTTPException, Path, Query, Request, status
from fastapi.responses import HTMLResponse, RedirectResponse, Response, StreamingResponse

from services.reporting import views
from services.reporting.commands import CloseQuarter, ProduceMonitoringExport
from services.reporting.domain.periods import Quarter
from services.reporting.views import monitoring
from shared.auth import authenticate, decode_token
from shared.bus import Context
from shared.http import Bus, CommandCtx, QueryCtx, runtime
from shared.principal import Principal
from shared.values import Name

router = APIRouter(tags=["reporting"])

COOKIE = "rehapro_token"
TEXT = {"type": "string"}

Period = Annotated[Name | None, Query(max_length=20, description="2025-Q1, 2025, or empty for every quarter with data")]
AgencyFilter = Annotated[Name | None, Query(max_length=60, description="only this agency's figures (one you may see)")]
ProjectFilter = Annotated[Name | None, Query(max_length=60, description="only this project")]
QuarterPath = Annotated[Name, Path(max_length=20, description="e.g. 2025-Q2")]


async def reads(request: Request) -> views.Reads:
    return request.app.state.reads  # type: ignore[no-any-return]


ReadsDep = Annotated[views.Reads, Depends(reads)]


def _json(doc: bytes, status_code: int = 200) -> Response:
    return Response(doc, status_code=status_code, media_type="application/json")


@router.get("/kpis/counts")
async def funnel_counts(ctx: QueryCtx, db: ReadsDep, project: ProjectFilter = None) -> dict[str, object]:
    """Referrals, enrolments and open cases of the caller's agency, per project (thin slice)."""
    return await views.funnel_counts(db, ctx, project)


@router.get("/participants/{participant_id}/subject-access")
async def subject_access(participant_id: UUID, ctx: QueryCtx, db: ReadsDep) -> dict[str, object]:
    """What reporting holds about the person (GDPR Art. 15): the owning agency's DPO; audited."""
    return await views.subject_access(db, ctx, participant_id)


@router.get("/kpis")
async def kpi_figures(
    ctx: QueryCtx, db: ReadsDep, period: Period = None, agency: AgencyFilter = None, project: ProjectFilter = None
) -> dict[str, object]:
    """Every KPI per quarter, per (agency, project) the caller may see and in total."""
    return await views.kpi_figures(db, ctx, period, agency, project)


@router.get("/kpis.csv", response_class=Response, responses={200: {"content": {"text/csv": {"schema": TEXT}}}})
async def kpi_csv(
    ctx: QueryCtx, db: ReadsDep, period: Period = None, agency: AgencyFilter = None, project: ProjectFilter = None
) -> Response:
    """The same figures as rows: quarter, agency, project, figure, value (total rows have agency "all")."""
    return Response(
        await views.kpi_csv(db, ctx, period, agency, project),
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": 'attachment; filename="rehapro-kpis.csv"'},
    )


# --- frozen quarterly reports -----------------------------------------------------------------


@router.get("/reports/{quarter}")
async def quarterly_report(quarter: QuarterPath, ctx: QueryCtx, db: ReadsDep) -> Response:
    """The report of one quarter for the caller's agency (byte-identical once closed)."""
    return _json(await views.report_document(db, ctx, Quarter.parse(quarter, field="quarter")))


@router.post("/reports/{quarter}/close", status_code=201)
async def close_quarter(quarter: QuarterPath, ctx: CommandCtx, bus: Bus, db: ReadsDep) -> Response:
    """Freeze the quarter's figures for the caller's agency as a ``KpiSnapshotComputed`` event;
    answers with the closed report."""
    await bus.handle(CloseQuarter(quarter=quarter), ctx)
    return _json(await views.report_document(db, ctx, Quarter.parse(quarter, field="quarter")), status_code=201)


# --- monitoring export ------------------------------------------------------------------------


@router.get(
    "/monitoring/export",
    response_class=Response,
    responses={200: {"content": {"text/csv": {"schema": TEXT}, "application/json": {"schema": {"type": "array"}}}}},
)
async def monitoring_export(
    ctx: QueryCtx,
    bus: Bus,
    half_year: Annotated[Name, Query(max_length=20, description="e.g. 2025-H2")],
    format: Literal["csv", "json"] = Query(default="csv"),
) -> StreamingResponse:
    """Monitoring rows of the caller's agency for participants with active monitoring consent.

    Identifying fields are fetched from intake for this request only and never stored here.
    """
    result = await bus.handle(ProduceMonitoringExport(half_year=half_year, format=format), ctx)
    rows = result.body["rows"]
    name = f"rehapro-monitoring-{ctx.principal.agency}-{half_year}.{format}"
    headers = {"Content-Disposition": f'attachment; filename="{name}"', "X-Export-Id": result.body["export_id"]}
    if format == "csv":
        return StreamingResponse(_encode(monitoring.csv_lines(rows)), media_type="text/csv", headers=headers)
    return StreamingResponse(_bytes(monitoring.json_chunks(rows)), media_type="application/json", headers=headers)


async def _encode(lines: Iterator[str]) -> AsyncIterator[bytes]:
    for line in lines:
        yield line.encode()


async def _bytes(chunks: Iterator[bytes]) -> AsyncIterator[bytes]:
    for chunk in chunks:
        yield chunk


# --- dashboard --------------------------------------------------------------------------------


async def _browser_principal(request: Request) -> Principal:
    """A bearer header, or the cookie set by /dashboard/login (browsers cannot send headers)."""
    if request.headers.get("authorization"):
        return await authenticate(request)
    token = request.cookies.get(COOKIE)
    if not token:
        raise HTTPException(status.HTTP_401_UNAUTHORIZED, "log in first: /dashboard/login?token=<bearer token>")
    s = request.app.state.settings
    return decode_token(token, s)


async def browser_context(request: Request) -> Context:
    principal = await _browser_principal(request)
    return Context(principal=principal, correlation_id=request.state.correlation_id, today=runtime(request).clock())


BrowserCtx = Annotated[Context, Depends(browser_context)]


@router.get("/dashboard/login", include_in_schema=True)
async def dashboard_login(
    request: Request, token: Annotated[Name, Query(min_length=10, max_length=4000)]
) -> RedirectResponse:
    """Checks the token and keeps it in an HttpOnly cookie, then shows the dashboard."""
    s = request.app.state.settings
    decode_token(token, s)
    response = RedirectResponse("/dashboard", status_code=303)
    response.set_cookie(COOKIE, token, httponly=True, samesite="strict", max_age=3600)
    return response


@router.get(
    "/dashboard",
    response_class=HTMLResponse,
    responses={"4XX": {"content": {"application/json": {"schema": {"$ref": "#/components/schemas/ErrorOut"}}}}},
)
async def dashboard_page(
    ctx: BrowserCtx, db: ReadsDep, period: Period = None, agency: AgencyFilter = None, project: ProjectFilter = None
) -> HTMLResponse:
    """Funnel, participants per phase, integrations and sustainability, for a steering committee."""
    return HTMLResponse(await views.dashboard_page(db, ctx, period, agency, project))
