"""HTTP API of reporting: KPIs (JSON, CSV), frozen quarterly reports, the monitoring export and
the dashboard. Figures are computed per request from the ``facts`` read model by ``kpis``."""

from __future__ import annotations

import csv
import io
from collections import Counter
from collections.abc import AsyncIterator, Iterator
from datetime import date, datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, HTTPException, Query, Request, status
from fastapi.responses import HTMLResponse, RedirectResponse, Response, StreamingResponse

from services.reporting import dashboard, domain, kpis, monitoring, queries
from shared import http
from shared.auth import CurrentPrincipal, Principal, authenticate, decode_token, issue_token, require_role
from shared.commands import execute
from shared.contracts.reporting import MonitoringExportProduced
from shared.domain import Decider, DomainError, Forbidden, InvalidTransition
from shared.envelope import new_id, utcnow
from shared.vocabulary import AGENCIES, DRV_AGENCIES, PROJECTS, Role

router = APIRouter(tags=["reporting"])

READERS = (Role.PROJECT_LEAD, Role.AUDITOR, Role.CASE_MANAGER)
KPI_READERS = (Role.PROJECT_LEAD, Role.AUDITOR)
COOKIE = "rehapro_token"

Period = Annotated[str | None, Query(description="2025-Q1, 2025, or empty for every quarter with data")]
AgencyFilter = Annotated[str | None, Query(description="only this agency's figures (one you may see)")]
ProjectFilter = Annotated[str | None, Query(description="only this project")]


@router.get("/kpis/counts")
async def funnel_counts(
    request: Request, principal: CurrentPrincipal, project: str | None = Query(default=None)
) -> dict[str, Any]:
    """Referrals, enrolments and open cases of the caller's agency, per project (thin slice)."""
    require_role(principal, *READERS)
    rt = http.runtime(request)
    assert rt.pool is not None
    rows = await rt.pool.fetch(
        "SELECT project, metric, count FROM funnel_counts WHERE agency = $1 AND ($2::text IS NULL OR project = $2)",
        principal.agency,
        project,
    )
    out: dict[str, dict[str, int]] = {}
    for r in rows:
        out.setdefault(r["project"], {"referrals": 0, "enrolments": 0, "open_cases": 0})[r["metric"]] = r["count"]
    return {"agency": principal.agency, "projects": out}


def _check_filters(principal: Principal, agency: str | None, project: str | None) -> None:
    if project is not None and project not in PROJECTS:
        raise DomainError(f"unknown project {project!r}", field="project")
    if agency is None or agency == principal.agency:
        return
    if agency not in AGENCIES:
        raise DomainError(f"unknown agency {agency!r}", field="agency")
    joint = principal.agency in DRV_AGENCIES and any(
        principal.agency in members and agency in members for members in PROJECTS.values()
    )
    if not joint:
        raise Forbidden(f"agency {principal.agency} may not see the figures of {agency}", field="agency")


async def _facts(request: Request, recorded_by: datetime | None = None) -> list[kpis.Fact]:
    rt = http.runtime(request)
    assert rt.pool is not None
    async with rt.pool.acquire() as conn:
        return await queries.facts(conn, recorded_by)


async def _reports(
    request: Request, principal: Principal, period: str | None, agency: str | None, project: str | None
) -> tuple[list[kpis.Quarter], list[dict[str, Any]], dict[str, kpis.Journey]]:
    _check_filters(principal, agency, project)
    facts = await _facts(request)
    qs = kpis.quarters(period, facts)
    journeys = kpis.build_participants(facts)
    docs = [kpis.report(journeys, q, principal.agency, agency=agency, project=project) for q in qs]
    return qs, docs, journeys


@router.get("/kpis")
async def kpi_figures(
    request: Request,
    principal: CurrentPrincipal,
    period: Period = None,
    agency: AgencyFilter = None,
    project: ProjectFilter = None,
) -> dict[str, Any]:
    """Every KPI per quarter, per (agency, project) the caller may see and in total."""
    require_role(principal, *KPI_READERS)
    _, docs, _ = await _reports(request, principal, period, agency, project)
    return {"viewer": principal.agency, "quarters": docs}


@router.get("/kpis.csv")
async def kpi_csv(
    request: Request,
    principal: CurrentPrincipal,
    period: Period = None,
    agency: AgencyFilter = None,
    project: ProjectFilter = None,
) -> Response:
    """The same figures as rows: quarter, agency, project, figure, value (total rows have agency "all")."""
    require_role(principal, *KPI_READERS)
    _, docs, _ = await _reports(request, principal, period, agency, project)
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(["quarter", "agency", "project", "figure", "value"])
    for doc in docs:
        blocks = [(g["agency"], g["project"], g["figures"]) for g in doc["groups"]] + [("all", "all", doc["total"])]
        for a, p, figs in blocks:
            for name, value in kpis.flatten(figs).items():
                w.writerow([doc["quarter"], a, p, name, "" if value is None else value])
    return Response(
        buf.getvalue(),
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": 'attachment; filename="rehapro-kpis.csv"'},
    )


# --- frozen quarterly reports -----------------------------------------------------------------


async def _report_document(request: Request, principal: Principal, quarter: kpis.Quarter) -> dict[str, Any]:
    """A closed quarter: the snapshot verbatim plus listed corrections; an open one: live figures."""
    facts = await _facts(request)
    journeys = kpis.build_participants(facts)
    current = kpis.report(journeys, quarter, principal.agency)
    snap = await queries.snapshot(http.store(request), principal.agency, quarter)
    if snap is None:
        return {"quarter": str(quarter), "agency": principal.agency, "status": "open", "figures": current}
    seen = kpis.visible_to(principal.agency, quarter.end)
    late = Counter(
        f.event_type
        for f in facts
        if f.recorded_at > snap.cutoff
        and f.on <= quarter.end
        and f.participant_id in journeys
        and seen(journeys[f.participant_id])
    )
    return {
        "quarter": str(quarter),
        "agency": principal.agency,
        "status": "closed",
        "cutoff": snap.cutoff.isoformat(),
        "digest": snap.digest,
        "figures": snap.figures,
        "corrections": kpis.corrections(snap.figures, current),
        "late_facts": dict(sorted(late.items())),
    }


def _json(doc: Any, status_code: int = 200) -> Response:
    return Response(domain.canonical(doc), status_code=status_code, media_type="application/json")


@router.get("/reports/{quarter}")
async def quarterly_report(quarter: str, request: Request, principal: CurrentPrincipal) -> Response:
    """The report of one quarter for the caller's agency (byte-identical once closed)."""
    require_role(principal, *KPI_READERS)
    return _json(await _report_document(request, principal, _quarter(quarter)))


def _quarter(text: str) -> kpis.Quarter:
    try:
        return kpis.Quarter.parse(text)
    except DomainError as exc:
        raise DomainError(exc.message, field="quarter") from None


@router.post("/reports/{quarter}/close", status_code=201)
async def close_quarter(quarter: str, request: Request, principal: CurrentPrincipal) -> Response:
    """Freeze the quarter's figures for the caller's agency as a ``KpiSnapshotComputed`` event."""
    require_role(principal, Role.PROJECT_LEAD)
    q = _quarter(quarter)
    rt = http.runtime(request)
    lag = 0
    for consumer in rt.consumers:
        if consumer.runner.projection.name == "facts":
            lag += await consumer.refresh_lag()
    if lag:
        raise InvalidTransition(f"reporting is still catching up ({lag} events behind); retry shortly")
    cutoff = utcnow()
    facts = await _facts(request, cutoff)
    figures = kpis.report(kpis.build_participants(facts), q, principal.agency)
    await execute(
        http.store(request),
        domain.period,
        stream_id=domain.period_stream(principal.agency, q),
        context=http.context(request, principal),
        decide=lambda state, _v: domain.close(
            state,
            agency=principal.agency,
            quarter=q,
            today=date.today(),
            cutoff=cutoff,
            closed_by=principal.subject,
            figures=figures,
            facts=len(facts),
        ),
        respond=lambda _s, events: {"version": events[-1].version},
        status_code=201,
    )
    return _json(await _report_document(request, principal, q), status_code=201)


# --- monitoring export ------------------------------------------------------------------------

_export = Decider[bool](stream_type="monitoring-export", initial=lambda: False, evolve=lambda _s, _e: True)


async def _identities(request: Request, principal: Principal, ids: list[str], period: kpis.DateRange) -> dict[str, Any]:
    """Ask intake (as the reporting service, for this lead) for the identifying fields."""
    rt = http.runtime(request)
    token = issue_token(
        rt.settings.jwt_secret,
        subject="reporting",
        role=Role.SERVICE,
        agency=principal.agency,
        issuer=rt.settings.jwt_issuer,
        ttl=300,
    )
    async with http.intake_client(request) as c:
        r = await c.post(
            "/internal/monitoring/identities",
            json={
                "participant_ids": ids,
                "reference_date": period.end.isoformat(),
                "half_year": str(period),
                "on_behalf_of": principal.subject,
            },
            headers={"Authorization": f"Bearer {token}", "X-Correlation-ID": str(request.state.correlation_id)},
        )
    if r.status_code != 200:
        raise HTTPException(status.HTTP_502_BAD_GATEWAY, f"intake refused the identity request ({r.status_code})")
    return r.json()  # type: ignore[no-any-return]


@router.get("/monitoring/export")
async def monitoring_export(
    request: Request,
    principal: CurrentPrincipal,
    half_year: str = Query(description="e.g. 2025-H2"),
    format: Literal["csv", "json"] = Query(default="csv"),
) -> StreamingResponse:
    """Monitoring rows of the caller's agency for participants with active monitoring consent.

    Identifying fields are fetched from intake for this request only and never stored here.
    """
    require_role(principal, Role.PROJECT_LEAD)
    period = monitoring.half_year(half_year)
    facts = await _facts(request)
    built = monitoring.rows(kpis.build_participants(facts).values(), principal.agency, period, date.today())
    answer = await _identities(request, principal, sorted(built), period) if built else {"identities": []}
    merged = list(monitoring.merge(built, answer["identities"]))
    export_id = new_id()
    event = MonitoringExportProduced(
        export_id=export_id,
        agency=principal.agency,
        half_year=half_year,
        period_start=period.start,
        period_end=period.end,
        requested_by=principal.subject,
        format=format,
        rows=len(merged),
        withheld=len(built) - len(merged),
    )
    await execute(
        http.store(request),
        _export,
        stream_id=f"monitoring-export-{export_id}",
        context=http.context(request, principal),
        decide=lambda _s, _v: [event],
        respond=lambda _s, _e: {},
    )
    name = f"rehapro-monitoring-{principal.agency}-{half_year}.{format}"
    headers = {"Content-Disposition": f'attachment; filename="{name}"', "X-Export-Id": str(export_id)}
    if format == "csv":
        return StreamingResponse(_encode(monitoring.csv_lines(merged)), media_type="text/csv", headers=headers)
    return StreamingResponse(_bytes(monitoring.json_chunks(merged)), media_type="application/json", headers=headers)


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
    return decode_token(token, s.jwt_secret, s.jwt_issuer)


@router.get("/dashboard/login", include_in_schema=True)
async def dashboard_login(request: Request, token: str = Query(min_length=10)) -> RedirectResponse:
    """Checks the token and keeps it in an HttpOnly cookie, then shows the dashboard."""
    s = request.app.state.settings
    decode_token(token, s.jwt_secret, s.jwt_issuer)
    response = RedirectResponse("/dashboard", status_code=303)
    response.set_cookie(COOKIE, token, httponly=True, samesite="strict", max_age=3600)
    return response


@router.get("/dashboard", response_class=HTMLResponse)
async def dashboard_page(
    request: Request, period: Period = None, agency: AgencyFilter = None, project: ProjectFilter = None
) -> HTMLResponse:
    """Funnel, participants per phase, integrations and sustainability, for a steering committee."""
    principal = await _browser_principal(request)
    require_role(principal, *KPI_READERS)
    qs, docs, journeys = await _reports(request, principal, period, agency, project)
    whole = kpis.DateRange(qs[0].start, qs[-1].end) if qs else kpis.DateRange(date.today(), date.today())
    overall = kpis.report(journeys, whole, principal.agency, agency=agency, project=project)
    return HTMLResponse(dashboard.render(principal.agency, docs, overall))
