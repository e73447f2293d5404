"""The staff directory as the agency's administrator reads it, and the projects' enrolment rule
(from casework's ProjectConfigured) the enrolment handler asks."""

from __future__ import annotations

from typing import Any

from services.intake import access, domain
from services.intake.handlers import KeyStore, staff_key
from services.intake.views.participants import UnitOfWorkFactory, connection
from shared.bus import Context
from shared.domain import NotFound
from shared.unit_of_work import UnitOfWork

_STAFF = """
SELECT subject, roles, projects, registered_on, left_on FROM staff_members WHERE agency = $1
ORDER BY subject
"""


async def staff_list(unit_of_work: UnitOfWorkFactory, ctx: Context) -> list[dict[str, Any]]:
    """The administrator's agency's staff as every service knows it (no names: open one)."""
    access.require_role(ctx.principal, access.STAFF_ADMIN_ROLES)
    async with unit_of_work(False) as uow:
        rows = await connection(uow).fetch(_STAFF, ctx.principal.agency)
    return [dict(r) | {"status": "left" if r["left_on"] and r["left_on"] <= ctx.today else "active"} for r in rows]


async def staff_detail(unit_of_work: UnitOfWorkFactory, keys: KeyStore, ctx: Context, subject: str) -> dict[str, Any]:
    """One member of the administrator's agency, the name opened."""
    access.require_role(ctx.principal, access.STAFF_ADMIN_ROLES)
    agency = ctx.principal.agency
    async with unit_of_work(False) as uow:
        loaded = await uow.load(domain.staff_member, domain.staff_stream_id(agency, subject))
        s = loaded.state
        if s.status == "none":
            raise NotFound("no such staff member", field="subject")
        name = await keys.open(staff_key(agency, subject), uow, s.sealed_name)
    return {
        "agency": agency,
        "subject": subject,
        "name": name,
        "status": s.status,
        "roles": [r.value for r in s.roles],
        "projects": list(s.projects),
        "registered_on": s.registered_on,
        "left_on": s.left_on,
        "version": loaded.version,
    }


_MEETING_REQUIRED = "SELECT info_meeting_required FROM project_rules WHERE project = $1"
_MEMBERS = "SELECT members FROM project_rules WHERE project = $1"


class RegisterProjectRules:
    """The enrolment's ``ProjectRules`` port on the ``projects`` projection, on the command's
    own connection."""

    async def meeting_required(self, uow: UnitOfWork, project: str) -> bool | None:
        found = await connection(uow).fetchval(_MEETING_REQUIRED, project)
        return None if found is None else bool(found)

    async def members(self, uow: UnitOfWork, project: str) -> tuple[str, ...] | None:
        found = await connection(uow).fetchval(_MEMBERS, project)
        return None if found is None else tuple(found)
