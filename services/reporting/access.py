"""Who may see or do what in reporting: pure rules over the principal and the journeys.
They raise ``Forbidden`` (403) or ``DomainError`` (422); no FastAPI, no database."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from datetime import date
from typing import TYPE_CHECKING

from shared.contracts.common import ConsentPurpose
from shared.domain import DomainError, Forbidden
from shared.principal import Principal
from shared.principal import require_role as require_role
from shared.subject_access import require_subject_access as require_subject_access
from shared.vocabulary import AGENCIES, DRV_AGENCIES, PROJECTS, Role, memberships

if TYPE_CHECKING:
    from services.reporting.domain.journey import Journey

# the thin-slice counters; every KPI, report and the dashboard; closing and exporting
COUNT_READERS = (Role.PROJECT_LEAD, Role.AUDITOR, Role.CASE_MANAGER)
KPI_READERS = (Role.PROJECT_LEAD, Role.AUDITOR)
LEADS = (Role.PROJECT_LEAD,)


def check_filters(
    principal: Principal, agency: str | None, project: str | None, projects: Mapping[str, Sequence[str]]
) -> None:
    """A project filter must name a project; an agency filter one the caller may see: its own,
    or for a DRV carrier another member of a joint project it belongs to (``projects``: every
    project's members, ``vocabulary.memberships``)."""
    if project is not None and project not in PROJECTS:
        raise DomainError(f"unknown project {project!r}", field="project")
    if agency is None or agency == principal.agency:
        return
    if agency not in AGENCIES:
        raise DomainError(f"unknown agency {agency!r}", field="agency")
    joint = principal.agency in DRV_AGENCIES and any(
        principal.agency in members and agency in members for members in projects.values()
    )
    if not joint:
        raise Forbidden(f"agency {principal.agency} may not see the figures of {agency}", field="agency")


def visible_to(
    agency: str, day: date, projects: Mapping[str, Sequence[str]] | None = None
) -> Callable[[Journey], bool]:
    """Own agency's participants (the agency running the case on ``day``, after any transfer);
    a DRV carrier also sees the joint projects it belongs to (``projects``: every project's
    members as configured; None: before any configuration, the closed list's), but only
    participants whose drv-exchange consent was active on ``day``."""
    members = memberships(projects or {})

    def check(j: Journey) -> bool:
        if j.agency_on(day) == agency:
            return True
        return (
            agency in DRV_AGENCIES
            and j.project is not None
            and agency in members.get(j.project, ())
            and j.consent_active(ConsentPurpose.DRV_EXCHANGE, day, scope=agency)
        )

    return check


# the whole-project view: the coordinating agency's project lead and its auditor (there is no
# programme-evaluation role) see every member's aggregates; a partner's see their own agency's
WHOLE_PROJECT_READERS = (Role.PROJECT_LEAD, Role.AUDITOR)


def project_scope(principal: Principal, project: str, coordinating: str, members: Sequence[str]) -> list[str]:
    """The member agencies whose aggregates of ``project`` the caller sees."""
    require_role(principal, KPI_READERS)
    if project not in PROJECTS:
        raise DomainError(f"unknown project {project!r}", field="project")
    if principal.agency not in members:
        raise Forbidden(f"agency {principal.agency} is not a member of {project}", field="project")
    if principal.agency == coordinating and principal.role in WHOLE_PROJECT_READERS:
        return list(members)
    return [principal.agency]
