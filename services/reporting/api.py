"""HTTP API of reporting."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Query, Request

from shared import http
from shared.auth import CurrentPrincipal, require_role
from shared.vocabulary import Role

router = APIRouter(tags=["reporting"])

READERS = (Role.PROJECT_LEAD, Role.AUDITOR, Role.CASE_MANAGER)


@router.get("/kpis/counts")
async def funnel_counts(
    request: Request, principal: CurrentPrincipal, project: str | None = Query(default=None)
) -> dict[str, Any]:
    """Referrals, enrolments and open cases of the caller's agency, per project."""
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
