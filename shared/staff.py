"""The staff directory as each service knows it: the ``staff`` projection of intake's staff
events (intake owns the directory; docs/ARCHITECTURE.md says why), the look-up of one member,
and the two rules built on it:

- a token's subject must be known, current staff of its agency holding the token's role
  (``require_known``, called by ``shared.auth.authenticate``), else 401;
- a team member, case manager or hand-over target must be known, current staff of an agency
  that takes part in the case's project, holding the role (``require_member``), else 422
  naming the field.

Both hold only with ``staff_directory=required`` (the default); ``off`` is for development and
the tests that need no directory. The services' own tokens (role ``service``) are not staff.
An agency with no current administrator in the directory accepts its administrators' tokens,
so the first one can register the staff (themselves included): a bootstrap, closed as soon as
an administrator's registration has reached the service (not by any other member's, whose event
may arrive first on another partition).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING

import asyncpg
from fastapi import HTTPException, status

from shared.contracts.intake import StaffMemberLeft, StaffMemberRegistered, StaffRolesChanged
from shared.db import Conn
from shared.domain import DomainError
from shared.principal import Principal
from shared.projections import Projection
from shared.recorded import Recorded
from shared.settings import ServiceSettings
from shared.unit_of_work import UnitOfWork, connection_of
from shared.vocabulary import Role, project_agencies

if TYPE_CHECKING:
    from shared.runtime import Runtime

staff = Projection(
    name="staff",
    sql=sorted((Path(__file__).parent / "sql" / "staff").glob("*.sql")),
    topics=["intake"],
    stream_local=True,
)

_REGISTER = """
INSERT INTO staff_members (agency, subject, roles, projects, registered_on, left_on)
VALUES ($1, $2, $3, $4, $5, NULL)
ON CONFLICT (agency, subject) DO UPDATE
SET roles = EXCLUDED.roles, projects = EXCLUDED.projects, registered_on = EXCLUDED.registered_on, left_on = NULL
"""
_CHANGE = "UPDATE staff_members SET roles = $3, projects = $4 WHERE agency = $1 AND subject = $2"
_LEAVE = "UPDATE staff_members SET left_on = $3 WHERE agency = $1 AND subject = $2"
_MEMBER = "SELECT roles, projects, registered_on, left_on FROM staff_members WHERE agency = $1 AND subject = $2"
# The member and whether the agency has a current administrator, in one snapshot (the
# projection may apply an event between two statements).
_TOKEN_SUBJECT = """
SELECT m.roles, m.projects, m.left_on, EXISTS (
    SELECT 1 FROM staff_members a WHERE a.agency = $1 AND 'administrator' = ANY (a.roles)
    AND (a.left_on IS NULL OR a.left_on > $3)
) AS administered
FROM (SELECT 1) AS one LEFT JOIN staff_members m ON m.agency = $1 AND m.subject = $2
"""


@staff.on(StaffMemberRegistered)
async def registered(conn: Conn, rec: Recorded[StaffMemberRegistered]) -> None:
    e = rec.payload
    await conn.execute(_REGISTER, e.agency, e.subject, [r.value for r in e.roles], e.projects, e.registered_on)


@staff.on(StaffRolesChanged)
async def roles_changed(conn: Conn, rec: Recorded[StaffRolesChanged]) -> None:
    e = rec.payload
    await conn.execute(_CHANGE, e.agency, e.subject, [r.value for r in e.roles], e.projects)


@staff.on(StaffMemberLeft)
async def left(conn: Conn, rec: Recorded[StaffMemberLeft]) -> None:
    e = rec.payload
    await conn.execute(_LEAVE, e.agency, e.subject, e.left_on)


@dataclass(frozen=True)
class StaffRecord:
    """One member as the directory knows them (never their name)."""

    agency: str
    subject: str
    roles: frozenset[str]
    projects: frozenset[str]
    left_on: date | None = None

    def current_on(self, day: date) -> bool:
        return self.left_on is None or day < self.left_on


def required(settings: ServiceSettings) -> bool:
    return settings.staff_directory == "required"


async def member(runner: Conn | asyncpg.Pool, agency: str, subject: str) -> StaffRecord | None:
    row = await runner.fetchrow(_MEMBER, agency, subject)
    return None if row is None else _record(agency, subject, row)


def _record(agency: str, subject: str, row: asyncpg.Record) -> StaffRecord:
    return StaffRecord(agency, subject, frozenset(row["roles"]), frozenset(row["projects"]), row["left_on"])


def _unknown(reason: str) -> HTTPException:
    return HTTPException(status.HTTP_401_UNAUTHORIZED, f"invalid token: {reason}")


async def require_known(runtime: Runtime, principal: Principal) -> None:
    """401 unless the token's subject is current staff of its agency holding the token's role
    (401, not 403: the platform does not know who this is, as with a bad signature)."""
    if not required(runtime.settings) or principal.role is Role.SERVICE:
        return
    if runtime.pool is None:
        raise RuntimeError("the runtime is not connected")
    today = runtime.clock()
    row = await runtime.pool.fetchrow(_TOKEN_SUBJECT, principal.agency, principal.subject, today)
    if row is None or row["roles"] is None:
        if principal.role is Role.ADMINISTRATOR and not (row and row["administered"]):
            return  # bootstrap: no administrator known yet, so one may register the staff
        raise _unknown(f"{principal.subject} is not known staff of {principal.agency}")
    found = _record(principal.agency, principal.subject, row)
    if not found.current_on(today):
        raise _unknown(f"{principal.subject} has left {principal.agency}")
    if principal.role.value not in found.roles:
        raise _unknown(f"{principal.subject} does not hold the role {principal.role.value}")


def require_member(found: StaffRecord | None, *, field: str, agency: str, project: str, role: Role, day: date) -> None:
    """A team member, case manager or hand-over target: current staff of an agency that takes
    part in the case's project, holding ``role``; else 422 naming ``field``."""
    if agency not in project_agencies(project):
        raise DomainError(f"agency {agency} does not take part in {project}", field="agency")
    if found is None:
        raise DomainError(f"not known staff of {agency}", field=field)
    if not found.current_on(day):
        raise DomainError(f"left {agency} on {found.left_on}", field=field)
    if role.value not in found.roles:
        raise DomainError(f"does not hold the role {role.value}", field=field)


@dataclass
class Directory:
    """The handlers' staff port over the service's ``staff`` projection: inside a command it
    reads on the unit of work's connection (never a second pooled one)."""

    runtime: Runtime

    @property
    def required(self) -> bool:
        return required(self.runtime.settings)

    async def member(self, uow: UnitOfWork, agency: str, subject: str) -> StaffRecord | None:
        if self.runtime.pool is None:
            raise RuntimeError("the runtime is not connected")
        return await member(connection_of(uow, self.runtime.pool), agency, subject)


@dataclass(frozen=True)
class NoDirectory:
    """No staff directory (unit tests, tools): every check is off."""

    required: bool = False

    async def member(self, uow: UnitOfWork, agency: str, subject: str) -> StaffRecord | None:
        return None


NO_DIRECTORY = NoDirectory()
