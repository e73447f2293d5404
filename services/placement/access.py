"""Who may see and change what in placement. Pure rules; the API feeds them facts.

- Employers, vacancies and production orders belong to an agency: it changes them; partner
  agencies of the same project may read them (they place into the same region).
- Candidates are visible to the agency whose case they belong to. DRV advisers of a DRV
  agency also see candidates of projects the DRV takes part in, but only while the
  participant's drv-exchange consent is active.
"""

from __future__ import annotations

from shared.auth import Principal
from shared.domain import Forbidden
from shared.vocabulary import DRV_AGENCIES, PROJECTS, Role

READ_ROLES = frozenset({Role.EMPLOYER_ACQUISITION, Role.CASE_MANAGER, Role.DRV_ADVISER})
EMPLOYER_ROLES = frozenset({Role.EMPLOYER_ACQUISITION})
JOURNEY_ROLES = frozenset({Role.EMPLOYER_ACQUISITION, Role.CASE_MANAGER})


def require(principal: Principal, roles: frozenset[Role]) -> None:
    if principal.role not in roles:
        raise Forbidden(f"role {principal.role} may not do this in placement")


def project_of(agency: str) -> str | None:
    """The project an agency takes part in (each agency is in one project today)."""
    return next((p for p, members in PROJECTS.items() if agency in members), None)


def partners(agency: str) -> set[str]:
    """The agency itself and every agency sharing a project with it."""
    return {a for members in PROJECTS.values() if agency in members for a in members} | {agency}


def can_read_agency_record(principal: Principal, owner_agency: str) -> bool:
    return principal.role in READ_ROLES and owner_agency in partners(principal.agency)


def can_see_candidate(principal: Principal, agency: str, project: str, drv_exchange_active: bool) -> bool:
    if principal.role not in READ_ROLES:
        return False
    if principal.agency == agency:
        return True
    return (
        principal.role == Role.DRV_ADVISER
        and principal.agency in DRV_AGENCIES
        and principal.agency in PROJECTS.get(project, ())
        and drv_exchange_active
    )


def can_act_for_candidate(principal: Principal, agency: str) -> bool:
    return principal.role in JOURNEY_ROLES and principal.agency == agency
