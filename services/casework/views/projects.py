"""Projects: a project's configuration (its own stream) and the team-wide caseload of each
guide against the project's cap (over the ``cases`` projection); the adapter of the handlers'
``Caseloads`` port."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import asyncpg

from services.casework import access, domain
from services.casework.views.common import Reader, pool, store
from shared.bus import Context
from shared.db import Conn
from shared.runtime import Runtime
from shared.unit_of_work import Loaded, UnitOfWork, connection_of, fold

# Active cases are open or interrupted ones; an exited case no longer weighs on its guide.
_ACTIVE_CASES = (
    "SELECT count(*) FROM cases WHERE project = $1 AND case_manager = $2 AND status IN ('open', 'interrupted')"
)
_CASELOADS = (
    "SELECT agency, case_manager, count(*) AS active FROM cases"
    " WHERE project = $1 AND agency = ANY($2::text[]) AND case_manager IS NOT NULL"
    " AND status IN ('open', 'interrupted')"
    " GROUP BY agency, case_manager ORDER BY agency, case_manager"
)
_UNASSIGNED = (
    "SELECT agency, count(*) AS active FROM cases"
    " WHERE project = $1 AND agency = ANY($2::text[]) AND case_manager IS NULL"
    " AND status IN ('open', 'interrupted') GROUP BY agency"
)


@dataclass
class PostgresCaseloads:
    """The handlers' ``Caseloads`` port over the ``cases`` projection, on the command's own
    connection. The projection follows the events, so a burst of assignments in the same
    moment may count one short; the cap guards the usual pace of staff work, not a race."""

    runtime: Runtime

    def _runner(self, uow: UnitOfWork | None) -> Conn | asyncpg.Pool:
        return pool(self.runtime) if uow is None else connection_of(uow, pool(self.runtime))

    async def active_cases(self, uow: UnitOfWork, project: str, case_manager: str) -> int:
        return int(await self._runner(uow).fetchval(_ACTIVE_CASES, project, case_manager))


async def load_project(db: Reader, code: str) -> Loaded[domain.Project]:
    stream = domain.project_stream(code)
    return fold(domain.project, stream, await store(db.runtime).read_stream(stream))


def describe(code: str, state: domain.Project, version: int) -> dict[str, Any]:
    """A project's configuration as the API shows it (``configured: false`` before the first)."""
    return {
        "project": code,
        "configured": state.configured,
        "version": version,
        "coordinating_agency": domain.coordinator(state, code),
        "partner_agencies": list(domain.members(state, code)[1:]),
        "starts_on": state.starts_on,
        "ends_on": state.ends_on,
        "participant_target": state.participant_target,
        "budget": [line.model_dump(mode="json") for line in state.budget],
        "caseload_cap": state.caseload_cap,
        "info_meeting_required": state.info_meeting_required,
    }


async def get_project(db: Reader, ctx: Context, code: str) -> dict[str, Any]:
    """A project's configuration: for staff of its member agencies."""
    loaded = await load_project(db, code)
    access.require_project_member(ctx.principal, code, domain.members(loaded.state, code))
    return describe(code, loaded.state, loaded.version)


async def team_caseloads(db: Reader, ctx: Context, code: str, agency: str | None) -> dict[str, Any]:
    """Each guide's active cases in the project against the project's cap, per agency: the
    caller's own agency, or (the coordinating agency's project lead) every member's."""
    loaded = await load_project(db, code)
    state = loaded.state
    agencies = access.caseload_agencies(
        ctx.principal, code, domain.coordinator(state, code), domain.members(state, code), agency
    )
    cap = state.caseload_cap
    guides = [
        {
            "agency": r["agency"],
            "case_manager": r["case_manager"],
            "active_cases": r["active"],
            "caseload_cap": cap,
            "free": None if cap is None else max(cap - r["active"], 0),
            "at_cap": cap is not None and r["active"] >= cap,
        }
        for r in await db.pool.fetch(_CASELOADS, code, agencies)
    ]
    unassigned = {r["agency"]: r["active"] for r in await db.pool.fetch(_UNASSIGNED, code, agencies)}
    return {
        "project": code,
        "caseload_cap": cap,
        "agencies": [
            {
                "agency": a,
                "guides": [g for g in guides if g["agency"] == a],
                "active_cases": sum(g["active_cases"] for g in guides if g["agency"] == a) + unassigned.get(a, 0),
                "unassigned": unassigned.get(a, 0),
            }
            for a in agencies
        ],
    }
