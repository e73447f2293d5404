"""Who may see and change what in placement. Pure rules; handlers and views feed them the
state they loaded (so a command loads each aggregate once).

- Employers, vacancies and production orders belong to an agency: it changes them; partner
  agencies of the same project may read them (they place into the same region).
- Candidates are visible to the agency whose case they belong to. DRV advisers of a DRV
  agency also see candidates of projects the DRV takes part in, but only while the
  participant's drv-exchange consent is active.
- Production orders' participants (the Produktionswerkstatt): the order's agency (employer
  acquisition and case managers) assigns enrolled participants of its project and records
  their days; hours and attendance are read by staff of the order's agency and of the
  participant's own agency, no one else (partners see the order, not who works on it). One
  participant's orders (all of them) are for the agency that runs their case.
- 404 or 403: that a person is a candidate is itself confidential, so a candidate the caller
  may not see is "no such candidate" (404, as an unknown id is), never 403. Employers,
  vacancies and production orders are company records partner agencies share: another
  agency's is 403 (its existence tells nothing about a person).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from services.placement.domain import Candidate, Employer, ProductionOrder, Vacancy
from services.placement.domain.workshop import Enrolled
from shared.domain import Forbidden, NotFound
from shared.principal import Principal
from shared.principal import require_role as require_role
from shared.subject_access import require_subject_access as require_subject_access
from shared.vocabulary import DRV_AGENCIES, Role

READ_ROLES = frozenset({Role.EMPLOYER_ACQUISITION, Role.CASE_MANAGER, Role.DRV_ADVISER})
EMPLOYER_ROLES = frozenset({Role.EMPLOYER_ACQUISITION})
JOURNEY_ROLES = frozenset({Role.EMPLOYER_ACQUISITION, Role.CASE_MANAGER})
ERASURE_ROLES = frozenset({Role.EMPLOYER_ACQUISITION, Role.DATA_PROTECTION_OFFICER})


def project_of(agency: str, projects: Mapping[str, Sequence[str]]) -> str | None:
    """The project an agency takes part in (each agency is in one project today); ``projects``:
    every project's members as configured (``vocabulary.memberships``)."""
    return next((p for p, members in projects.items() if agency in members), None)


def partners(agency: str, projects: Mapping[str, Sequence[str]]) -> set[str]:
    """The agency itself and every agency sharing a project with it."""
    return {a for members in projects.values() if agency in members for a in members} | {agency}


def can_read_agency_record(principal: Principal, owner_agency: str, projects: Mapping[str, Sequence[str]]) -> bool:
    return principal.role in READ_ROLES and owner_agency in partners(principal.agency, projects)


def can_see_candidate(principal: Principal, agency: str, members: Sequence[str], drv_exchange_active: bool) -> bool:
    """``members``: the candidate's project's member agencies as configured."""
    if principal.role not in READ_ROLES:
        return False
    if principal.agency == agency:
        return True
    return (
        principal.role == Role.DRV_ADVISER
        and principal.agency in DRV_AGENCIES
        and principal.agency in members
        and drv_exchange_active
    )


def can_act_for_candidate(principal: Principal, agency: str) -> bool:
    return principal.role in JOURNEY_ROLES and principal.agency == agency


# --- checks on loaded state (raise) ------------------------------------------------------------


def own_employer(principal: Principal, state: Employer) -> Employer:
    """The employer, if the caller's agency owns it (404 unknown, 403 another agency's)."""
    if not state.exists:
        raise NotFound("no such employer", field="employer_id")
    if state.agency != principal.agency:
        raise Forbidden(f"the employer belongs to {state.agency}", field="employer_id")
    return state


def readable_employer(principal: Principal, state: Employer, projects: Mapping[str, Sequence[str]]) -> Employer:
    if not state.exists:
        raise NotFound("no such employer")
    if not can_read_agency_record(principal, state.agency, projects):
        raise Forbidden(f"the employer belongs to {state.agency}")
    return state


def readable_vacancy(principal: Principal, state: Vacancy, projects: Mapping[str, Sequence[str]]) -> Vacancy:
    """A vacancy of the caller's agency or a project partner, for the read roles."""
    if not state.exists:
        raise NotFound("no such vacancy")
    if not can_read_agency_record(principal, state.agency, projects):
        raise Forbidden(f"the vacancy belongs to {state.agency}")
    return state


def partner_employer(principal: Principal, state: Employer, projects: Mapping[str, Sequence[str]]) -> Employer:
    """An employer of the caller's agency or a project partner (journeys place into both)."""
    if not state.exists:
        raise NotFound("no such employer", field="employer_id")
    if state.agency not in partners(principal.agency, projects):
        raise Forbidden(f"the employer belongs to {state.agency}", field="employer_id")
    return state


def partner_vacancy(principal: Principal, state: Vacancy, projects: Mapping[str, Sequence[str]]) -> Vacancy:
    if not state.exists:
        raise NotFound("no such vacancy", field="vacancy_id")
    if state.agency not in partners(principal.agency, projects):
        raise Forbidden(f"the vacancy belongs to {state.agency}", field="vacancy_id")
    return state


def own_vacancy(principal: Principal, state: Vacancy) -> Vacancy:
    if not state.exists:
        raise NotFound("no such vacancy")
    if state.agency != principal.agency:
        raise Forbidden(f"the vacancy belongs to {state.agency}")
    return state


def own_order(principal: Principal, state: ProductionOrder, exists: bool) -> ProductionOrder:
    if not exists:
        raise NotFound("no such production order")
    if state.agency != principal.agency:
        raise Forbidden(f"the order belongs to {state.agency}")
    return state


# --- the Produktionswerkstatt ------------------------------------------------------------------


def order_participant(order_agency: str, enrolled: Enrolled | None, projects: Mapping[str, Sequence[str]]) -> Enrolled:
    """Who may join an order of ``order_agency``: a participant enrolled with that agency or a
    partner in its project. Anyone else is "no such participant" (404: that a person takes
    part is confidential)."""
    if enrolled is None or enrolled.agency not in partners(order_agency, projects):
        raise NotFound("no such enrolled participant in the order's project", field="participant_id")
    return enrolled


def sees_order_participant(principal: Principal, order_agency: str, participant_agency: str) -> bool:
    """A participant's hours and attendance on an order: staff (read roles) of the order's
    agency and of the agency that runs the participant's case."""
    return principal.role in READ_ROLES and principal.agency in (order_agency, participant_agency)


def own_participant(principal: Principal, owner_agency: str | None) -> None:
    """One participant's orders and days, for the read roles of the agency that runs their case
    (anyone else, and an unknown participant: 404, as for candidates)."""
    if principal.role not in READ_ROLES or owner_agency is None or owner_agency != principal.agency:
        raise NotFound("no such participant in the workshop", field="participant_id")


def readable_order(
    principal: Principal, state: ProductionOrder, exists: bool, projects: Mapping[str, Sequence[str]]
) -> ProductionOrder:
    """A production order of the caller's agency or a project partner, for the read roles."""
    if not exists:
        raise NotFound("no such production order", field="order_id")
    if not can_read_agency_record(principal, state.agency, projects):
        raise Forbidden(f"the order belongs to {state.agency}")
    return state


def act_for_candidate(principal: Principal, state: Candidate) -> Candidate:
    """The candidate if the caller may act for them (404 unknown, erased or not visible to the
    caller; 403 visible but not theirs to act for)."""
    require_role(principal, JOURNEY_ROLES)
    # without a drv-exchange consent only the candidate's own agency sees them: no members needed
    if state.status in ("none", "erased") or not can_see_candidate(principal, state.agency, (), False):
        raise NotFound("no such candidate", field="participant_id")
    if not can_act_for_candidate(principal, state.agency):
        raise Forbidden(f"the candidate is cared for by {state.agency}")
    return state


def see_candidate(
    principal: Principal, state: Candidate, members: Sequence[str], drv_exchange_active: bool
) -> Candidate:
    """The candidate if the caller may see them (``members``: their project's, as configured);
    unknown, erased or not visible is 404."""
    if state.status in ("none", "erased"):
        raise NotFound("no such candidate", field="participant_id")
    if not can_see_candidate(principal, state.agency, members, drv_exchange_active):
        raise NotFound("no such candidate", field="participant_id")
    return state
