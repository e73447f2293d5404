"""HTTP API of casework."""

from __future__ import annotations

from typing import Any
from uuid import UUID

from fastapi import APIRouter, Request

from services.casework import domain
from shared import http
from shared.auth import CurrentPrincipal, require_agency
from shared.commands import load
from shared.domain import NotFound

router = APIRouter(tags=["casework"])


@router.get("/cases")
async def list_cases(request: Request, principal: CurrentPrincipal) -> list[dict[str, Any]]:
    rt = http.runtime(request)
    assert rt.pool is not None
    rows = await rt.pool.fetch(
        "SELECT case_id, participant_id, agency, project, opened_on, status FROM cases"
        " WHERE agency = $1 ORDER BY opened_on, case_id",
        principal.agency,
    )
    return [dict(r) for r in rows]


@router.get("/cases/{participant_id}")
async def get_case(participant_id: UUID, request: Request, principal: CurrentPrincipal) -> dict[str, Any]:
    current = await load(http.store(request), domain.case, domain.stream_id(participant_id))
    if current.version == 0:
        raise NotFound("no such case")
    require_agency(principal, current.state.agency)
    s = current.state
    return {
        "case_id": str(s.case_id),
        "participant_id": str(s.participant_id),
        "agency": s.agency,
        "project": s.project,
        "status": s.status,
        "version": current.version,
    }
