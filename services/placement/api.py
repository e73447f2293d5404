"""HTTP API of placement."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request

from shared import http
from shared.auth import CurrentPrincipal, require_role
from shared.vocabulary import Role

router = APIRouter(tags=["placement"])


@router.get("/participants")
async def known_participants(request: Request, principal: CurrentPrincipal) -> dict[str, Any]:
    require_role(principal, Role.EMPLOYER_ACQUISITION, Role.CASE_MANAGER)
    rt = http.runtime(request)
    assert rt.pool is not None
    rows = await rt.pool.fetch(
        "SELECT participant_id FROM known_participants WHERE agency = $1 ORDER BY participant_id", principal.agency
    )
    return {"agency": principal.agency, "count": len(rows), "participant_ids": [str(r[0]) for r in rows]}
