"""HTTP API of reporting: KPIs (JSON, CSV), frozen quarterly reports, the monitoring export and
the dashboard. Thin: reads call ``views``, the two commands go through the bus."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from datetime import date, datetime
from typing import Annotated, Literal
from uuid import UUID

from fastapi import APIRouter, Depends, HTTPException, Path, Query, Request, status
from fastapi.responses import HTMLResponse, RedirectResponse, Response, StreamingResponse

from services.reporting import views
from services.reporting.commands import CloseQuarter, ProduceMonitoringExport
from services.reporting.domain.periods import Quarter
from services.reporting.views import monitoring, targets
from shared.auth import authenticate, decode_token
from shared.bus import Context
from shared.http import Bus, CommandCtx, QueryCtx, runtime
from shared.principal import Principal
from shared.values import Name
from shared.web import AUTHENTICATED, access

router = APIRouter(tags=["reporting"])

# The access decisions (shared.web.access; the README's access table is made of them). Every
# figure is of the caller's agency (or, for a DRV carrier, a joint project's): nothing here
# names a person, so no refusal needs to hide that a record exists (403, never 404).
KPIS = access("report", "require_role(KPI_READERS) & check_filters")

COOKIE = "rehapro_token"
TEXT = {"type": "string"}

Period = Annotated[
    Name | None,
    Query(max_length=20, description="2025-Q1, 2025, a run 2025-Q2..2026-Q1, or empty for every quarter with data"),
]
AsOf = Annotated[
    datetime | None,
    Query(description="the figures as they stood then: only facts recorded at their source by then (not after today)"),
]
Cutoff = Annotated[
    datetime | None,
    Query(description="freeze the facts recorded by then (after the quarter's end, not after now; default now)"),
]
AgencyFilter = Annotated[Name | None, Query(max_length=60, description="only this agency's figures (one you may see)")]
ProjectFilter = Annotated[Name | None, Query(max_length=60, description="only this project")]


async def figure_query(
    period: Period = None, agency: AgencyFilter = None, project: ProjectFilter = None, as_of: AsOf = None
) -> views.Ask:
    """The query every figure route takes (KPIs, CSV, dashboard)."""
    return views.Ask(period, agency, project, as_of)


AskDep = Annotated[views.Ask, Depends(figure_query)]
QuarterPath = Annotated[Name, Path(max_length=20, description="e.g. 2025-Q2")]


async def reads(request: Request) -> views.Reads:
    return request.app.state.reads  # type: ignore[no-any-return]


ReadsDep = Annotated[views.Reads, Depends(reads)]


def _json(doc: bytes, status_code: int = 200) -> Response:
    return Response(doc, status_code=status_code, media_type="application/json")


@router.get("/kpis/counts", **access("report", "require_role(COUNT_READERS)"))
async def funnel_counts(ctx: QueryCtx, db: ReadsDep, project: ProjectFilter = None) -> dict[str, object]:
    """Referrals, enrolments and open cases of the caller's agency, per project (thin slice)."""
    return await views.funnel_counts(db, ctx, project)


@router.get("/participants/{participant_id}/subject-access", **access("participant", "require_subject_access"))
async def subject_access(participant_id: UUID, ctx: QueryCtx, db: ReadsDep) -> dict[str, object]:
    """What reporting holds about the person (GDPR Art. 15): the owning agency's DPO; audited."""
    return await views.subject_access(db, ctx, participant_id)


@router.get("/kpis", **KPIS)
async def kpi_figures(ctx: QueryCtx, db: ReadsDep, ask: AskDep) -> dict[str, object]:
    """Every KPI per quarter, per (agency, project) the caller may see and in total (and over
    the range, for a year or a run of quarters)."""
    return await views.kpi_figures(db, ctx, ask)


@router.get("/kpis.csv", response_class=Response, responses={200: {"content": {"text/csv": {"schema": TEXT}}}}, **KPIS)
async def kpi_csv(ctx: QueryCtx, db: ReadsDep, ask: AskDep) -> Response:
    """The same figures as rows: quarter, agency, project, figure, value (total rows have agency "all")."""
    return Response(
        await views.kpi_csv(db, ctx, ask),
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": 'attachment; filename="rehapro-kpis.csv"'},
    )


# --- frozen quarterly reports -----------------------------------------------------------------


@router.get("/reports/{quarter}", **access("report", "require_role(KPI_READERS)"))
async def quarterly_report(quarter: QuarterPath, ctx: QueryCtx, db: ReadsDep, as_of: AsOf = None) -> Response:
    """The report of one quarter for the caller's agency (byte-identical once closed)."""
    return _json(await views.report_document(db, ctx, Quarter.parse(quarter, field="quarter"), as_of))


@router.post("/reports/{quarter}/close", status_code=201, **access("report", "require_role(LEADS)"))
async def close_quarter(
    quarter: QuarterPath, ctx: CommandCtx, bus: Bus, db: ReadsDep, cutoff: Cutoff = None
) -> Response:
    """Freeze the quarter's figures for the caller's agency as a ``KpiSnapshotComputed`` event
    (the facts recorded by ``cutoff``, default now); answers with the closed report."""
    await bus.handle(CloseQuarter(quarter=quarter, cutoff=views.aware(cutoff)), ctx)
    return _json(await views.report_document(db, ctx, Quarter.parse(quarter, field="quarter")), status_code=201)


# --- monitoring export ------------------------------------------------------------------------


@router.get(
    "/monitoring/export",
    response_class=Response,
    responses={200: {"content": {"text/csv": {"schema": TEXT}, "application/json": {"schema": {"type": "array"}}}}},
    **access("export", "require_role(LEADS)"),
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


@router.get("/dashboard/login", include_in_schema=True, **access("report", AUTHENTICATED))
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
    **KPIS,
)
async def dashboard_page(ctx: BrowserCtx, db: ReadsDep, ask: AskDep) -> HTMLResponse:
    """Funnel, participants per phase, integrations and sustainability, for a steering committee;
    the period chosen in a form on the page."""
    return HTMLResponse(await views.dashboard_page(db, ctx, ask))


# --- a project's targets and budget (aggregates; the whole project for its coordinating lead) ---

ProjectPath = Annotated[Name, Path(max_length=60, description="the project code")]
AsOfDay = Annotated[date | None, Query(description="figures up to this day (default: today)")]


@router.get("/projects/{project}/targets", **access("report", "project_scope"))
async def project_targets(
    project: ProjectPath, ctx: QueryCtx, db: ReadsDep, as_of: AsOfDay = None
) -> dict[str, object]:
    """Participants (enrolments) against the project's target per quarter, and the forecast."""
    return await targets.participants_vs_target(db, ctx, project, as_of)


@router.get("/projects/{project}/budget", **access("report", "project_scope"))
async def project_budget(project: ProjectPath, ctx: QueryCtx, db: ReadsDep, as_of: AsOfDay = None) -> dict[str, object]:
    """Spend against the project's budget per category (small cells withheld), and the forecast."""
    return await targets.spend_vs_budget(db, ctx, project, as_of)
