"""Who may see and do what on a case. Pure rules, so unit tests can prove them per role.

- See a case: a case-working, lead, audit or data-protection role of the case's agency, or
  of an agency the participant's active drv-exchange consent covers. Administrators see no
  case data. Everything else is 403.
- Health data (assessments, medical reports, therapy/counselling interventions, rehab
  applications, interruption reasons, confidential notes): only the case's case manager and
  team members in a health role (occupational therapist, psychologist, DRV adviser). Others
  see capacity, not diagnoses.
- Manage (team, hand-over, phases, interruption, exit): the case's case manager or a project
  lead of the case's agency; while no case manager is assigned, any case manager of the agency.
- Employment found without placement (record it, its follow-ups, its end): the case's case
  manager at the running agency (while none is assigned, any case manager of that agency).
- Team work (goals, plan, appointments, contacts, notes, employment-promotion interventions):
  the case manager and team members.
- Fields (``sees_field``, the one table ``FIELD_READERS``): the clear text of a non-confidential
  note, a contact summary and a hand-over note only for the case-working roles (case manager,
  occupational therapist, psychologist, employer acquisition, DRV adviser) and a note's author;
  financial advisers, project leads, auditors and DPOs see that it exists, who, when, not what.
  A contact with a doctor or clinic is health data (health access). Assessment findings and
  medical-report sources and summaries are health records (``has_health_access``).
- Rehabilitation with DRV: the work queue and the carrier's steps on an application to a DRV
  agency (receipt, requests, decision, measure) are for a DRV adviser of that agency, under the
  participant's active drv-exchange consent covering it (checked by the handler: 409
  ``consent``); the case's health roles file it, and its case manager answers a request. A
  decision of another carrier is recorded by the case's health roles, as before.
- Transfer (``TransferCase``): as managing; the receiving agency must be another member of
  the case's project. Afterwards the receiving agency's staff see and act by the rules above
  (the case's agency is theirs); the sending agency's case readers (``gave_away``) get 403 on
  every command and read only the case's history up to and including the transfer (the views'
  ``visible_case``), health records only by the rules above judged on today's case (so never:
  its case manager and team are no longer theirs).
- Projects: an administrator of the coordinating agency configures one (before its first
  configuration, of the first agency of the closed list); staff of its member agencies read its
  configuration. Only a project lead may override the caseload cap (with a reason). The
  team-wide caseload (counts per guide, no case data) is for project leads, case managers and
  auditors of their own agency; the coordinating agency's project lead and auditor see every
  member agency's.
"""

from __future__ import annotations

from collections.abc import Callable, Collection
from uuid import UUID

from services.casework.domain import Case
from shared.contracts.base import DomainEvent
from shared.contracts.casework import CaseHandedOver, CaseManagerAssigned, CaseNoteAdded, ContactLogged
from shared.contracts.common import InterventionCategory
from shared.domain import Forbidden, NotFound
from shared.principal import Principal
from shared.subject_access import require_subject_access as require_subject_access
from shared.vocabulary import CASE_ROLES, DRV_AGENCIES, HEALTH_ROLES, Role

AUDIT_ROLES = frozenset({Role.AUDITOR, Role.DATA_PROTECTION_OFFICER})
# Cases are read by the roles that work on them and by the audit roles.
CASE_READERS = CASE_ROLES | AUDIT_ROLES
# A command's own rule, checked on the case its handler loaded (raises Forbidden).
Authorize = Callable[[Principal, Case], None]
NON_HEALTH_CATEGORIES = frozenset({InterventionCategory.EMPLOYMENT_PROMOTION})


def require_reader(principal: Principal, what: str = "sees no case data") -> None:
    """Lists (cases, caseload, tasks) are for the case-reading roles only."""
    if principal.role not in CASE_READERS:
        raise Forbidden(f"role {principal.role} {what}")


def require_auditor(principal: Principal) -> None:
    if principal.role not in AUDIT_ROLES:
        raise Forbidden("the health-data read log is for auditors and data-protection officers")


def can_see(principal: Principal, case: Case, exchange_agencies: Collection[str]) -> bool:
    if principal.role not in CASE_READERS:
        return False
    return principal.agency == case.agency or principal.agency in exchange_agencies


def gave_away(principal: Principal, case: Case) -> bool:
    """A case reader of an agency that transferred the case away (and does not run it now):
    it keeps reading the case's history up to its transfer, and may do nothing on it."""
    return principal.role in CASE_READERS and principal.agency in case.former_agencies


def require_see(principal: Principal, case: Case, exchange_agencies: Collection[str]) -> None:
    if principal.role not in CASE_READERS:
        raise Forbidden(f"role {principal.role} sees no case data")
    if not can_see(principal, case, exchange_agencies) and gave_away(principal, case):
        raise Forbidden(
            f"the case was transferred to {case.agency}: {principal.agency} reads its history up to the transfer only",
            field="participant_id",
        )
    if not can_see(principal, case, exchange_agencies):
        # that a person has a case is itself confidential: another agency's case is "no such case"
        raise NotFound("no such case", field="participant_id")


def is_case_manager(principal: Principal, case: Case) -> bool:
    return principal.role is Role.CASE_MANAGER and principal.subject == case.case_manager


def on_team(principal: Principal, case: Case) -> bool:
    member = case.team.get(principal.subject)
    return member is not None and member.role == principal.role.value and member.agency == principal.agency


def has_health_access(principal: Principal, case: Case) -> bool:
    if is_case_manager(principal, case):
        return principal.agency == case.agency
    return on_team(principal, case) and principal.role in HEALTH_ROLES


def require_health(principal: Principal, case: Case) -> None:
    if not has_health_access(principal, case):
        raise Forbidden("health data of this case is for its case manager and the health roles of its team")


def require_manage(principal: Principal, case: Case) -> None:
    if is_case_manager(principal, case) and principal.agency == case.agency:
        return
    if principal.agency == case.agency and principal.role is Role.PROJECT_LEAD:
        return
    if case.case_manager is None and principal.agency == case.agency and principal.role is Role.CASE_MANAGER:
        return
    raise Forbidden("only the case's case manager or a project lead of its agency may do this")


def require_case_manager(principal: Principal, case: Case) -> None:
    """Employment found without placement: the case's case manager at the running agency (while
    none is assigned, any case manager of that agency)."""
    mine = case.case_manager in (None, principal.subject)
    if principal.role is Role.CASE_MANAGER and principal.agency == case.agency and mine:
        return
    raise Forbidden("only the case's case manager at its running agency records employment")


def require_team(principal: Principal, case: Case) -> None:
    if (is_case_manager(principal, case) and principal.agency == case.agency) or on_team(principal, case):
        return
    raise Forbidden("only the case manager and the case team may do this")


def require_intervention(principal: Principal, case: Case, category: InterventionCategory) -> None:
    """Employment promotion is teamwork; every other category is health data."""
    if category in NON_HEALTH_CATEGORIES:
        require_team(principal, case)
    else:
        require_health(principal, case)


def require_on_intervention(principal: Principal, case: Case, intervention_id: UUID) -> None:
    """As for planning it; an unknown intervention counts as health data (the domain then says 404)."""
    iv = case.interventions.get(intervention_id)
    require_intervention(principal, case, iv.category if iv else InterventionCategory.THERAPEUTIC)


def require_note(principal: Principal, case: Case, confidential: bool) -> None:
    """Confidential notes are health data; the others are teamwork."""
    if confidential:
        require_health(principal, case)
    else:
        require_team(principal, case)


# ------------------------------------------------------------------ field-level visibility

CASEWORKING_ROLES = frozenset(
    {
        Role.CASE_MANAGER,
        Role.OCCUPATIONAL_THERAPIST,
        Role.PSYCHOLOGIST,
        Role.EMPLOYER_ACQUISITION,
        Role.DRV_ADVISER,
    }
)
# (event, sealed field) -> the roles that read it in clear. Fields not listed are shown to
# whoever sees the event (health records are decided by has_health_access, before this).
FIELD_READERS: dict[tuple[type[DomainEvent], str], frozenset[Role]] = {
    (CaseNoteAdded, "sealed_text"): CASEWORKING_ROLES,
    (ContactLogged, "sealed_summary"): CASEWORKING_ROLES,
    (CaseHandedOver, "sealed_note"): CASEWORKING_ROLES,
    # why a lead went beyond the caseload cap: staffing, read by who staffs and who audits
    (CaseManagerAssigned, "sealed_override_reason"): CASEWORKING_ROLES | {Role.PROJECT_LEAD, Role.AUDITOR},
}
# Contacts with these counterparts are about health: their summary needs health access.
HEALTH_COUNTERPARTS = frozenset({"doctor", "clinic"})


def sees_field(principal: Principal, case: Case, event: DomainEvent, name: str) -> bool:
    """May ``principal`` read field ``name`` of ``event`` in clear (judged on today's case)?"""
    if isinstance(event, ContactLogged) and name == "sealed_summary" and event.counterpart in HEALTH_COUNTERPARTS:
        return has_health_access(principal, case)
    roles = FIELD_READERS.get((type(event), name))
    if roles is None:
        return True
    if isinstance(event, CaseNoteAdded) and event.author == principal.subject:
        return True
    return principal.role in roles


# ------------------------------------------------------------------ rehabilitation with DRV


def require_drv_adviser(principal: Principal) -> None:
    """The DRV work queue: a DRV adviser of a DRV agency."""
    if principal.role is not Role.DRV_ADVISER or principal.agency not in DRV_AGENCIES:
        raise Forbidden("only a DRV adviser of a DRV agency may do this")


def require_carrier(principal: Principal, case: Case, application_id: UUID) -> None:
    """The carrier's steps on an application: a DRV adviser of the agency it went to (an
    unknown application: the domain then says 404)."""
    require_drv_adviser(principal)
    file = case.rehab.get(application_id)
    if file is not None and file.carrier != principal.agency:
        raise Forbidden(f"the application went to {file.carrier}, not {principal.agency}", field="application_id")


def require_decider(principal: Principal, case: Case, application_id: UUID) -> None:
    """A decision of a DRV carrier is its adviser's; any other carrier's, the health roles'."""
    file = case.rehab.get(application_id)
    if file is not None and file.carrier in DRV_AGENCIES:
        require_carrier(principal, case, application_id)
    else:
        require_health(principal, case)


def require_rehab_answerer(principal: Principal, case: Case) -> None:
    """Answering the carrier is the case manager's (of the case's agency)."""
    if not (is_case_manager(principal, case) and principal.agency == case.agency):
        raise Forbidden("only the case's case manager may answer the carrier")


# ------------------------------------------------------------------ projects

CASELOAD_READERS = frozenset({Role.PROJECT_LEAD, Role.CASE_MANAGER, Role.AUDITOR})
WHOLE_PROJECT_READERS = frozenset({Role.PROJECT_LEAD, Role.AUDITOR})


def require_configure(principal: Principal, coordinating_agency: str, project: str) -> None:
    if principal.role is not Role.ADMINISTRATOR:
        raise Forbidden(f"role {principal.role} may not configure a project: an administrator does")
    if principal.agency != coordinating_agency:
        raise Forbidden(f"only the coordinating agency {coordinating_agency} configures {project}", field="project")


def require_cap_override(principal: Principal) -> None:
    if principal.role is not Role.PROJECT_LEAD:
        raise Forbidden("only the project lead may override the caseload cap", field="cap_override_reason")


def require_project_member(principal: Principal, project: str, members: Collection[str]) -> None:
    if principal.agency not in members:
        raise Forbidden(f"agency {principal.agency} is not a member of {project}", field="project")


def caseload_agencies(
    principal: Principal, project: str, coordinating_agency: str, members: Collection[str], agency: str | None
) -> list[str]:
    """The agencies whose team caseloads the caller may see (``agency``: only that one)."""
    if principal.role not in CASELOAD_READERS:
        raise Forbidden(f"role {principal.role} sees no caseloads")
    require_project_member(principal, project, members)
    whole = principal.agency == coordinating_agency and principal.role in WHOLE_PROJECT_READERS
    if agency is None:
        return sorted(members) if whole else [principal.agency]
    if agency not in members:
        raise Forbidden(f"agency {agency} is not a member of {project}", field="agency")
    if agency != principal.agency and not whole:
        raise Forbidden(f"agency {principal.agency} may not see the caseloads of {agency}", field="agency")
    return [agency]
