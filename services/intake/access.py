"""Who may do and see what in intake: pure rules over the principal and the participant's state.

Intake alone holds identity; it opens it only to staff of the agency that runs the case, or of
an agency the participant's active drv-exchange consent covers. The referral reason is health
data: only health roles of the running agency see it. A refusal raises ``Forbidden``.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date

from services.intake.domain import Participant
from shared.contracts.common import ConsentPurpose
from shared.domain import Forbidden, NotFound
from shared.principal import Principal
from shared.principal import require_role as require_role
from shared.subject_access import require_subject_access as require_subject_access
from shared.vocabulary import HEALTH_ROLES, Role

REFERRING_ROLES = frozenset({Role.CASE_MANAGER, Role.DRV_ADVISER})
INTAKE_ROLES = frozenset({Role.CASE_MANAGER, Role.DRV_ADVISER})
ERASING_ROLES = frozenset({Role.DATA_PROTECTION_OFFICER})
EXPIRY_ROLES = frozenset({Role.ADMINISTRATOR, Role.DATA_PROTECTION_OFFICER})
# The staff directory: each agency's administrator keeps its own staff (and reads it).
STAFF_ADMIN_ROLES = frozenset({Role.ADMINISTRATOR})
RETENTION_RULE_ROLES = frozenset({Role.ADMINISTRATOR, Role.DATA_PROTECTION_OFFICER})
HOLD_ROLES = frozenset({Role.DATA_PROTECTION_OFFICER, Role.AUDITOR})
UPCOMING_ROLES = frozenset({Role.DATA_PROTECTION_OFFICER, Role.AUDITOR})
# The retention periods are read by those who set them and those who check upcoming deletions.
RETENTION_READ_ROLES = RETENTION_RULE_ROLES | UPCOMING_ROLES
# The retention task's actor (services/intake/policies.py): erases through the DPO's command.
RETENTION_ACTOR = "system"
IDENTITY_ROLES = frozenset(
    {
        Role.CASE_MANAGER,
        Role.DRV_ADVISER,
        Role.OCCUPATIONAL_THERAPIST,
        Role.PSYCHOLOGIST,
        Role.FINANCIAL_ADVISER,
        Role.EMPLOYER_ACQUISITION,
        Role.DATA_PROTECTION_OFFICER,
    }
)
# The only caller that gets identities for the monitoring export.
REPORTING_SERVICE = "reporting"


def require_referrer(principal: Principal, project: str, members: Sequence[str]) -> None:
    """A case manager or DRV adviser of an agency that takes part in the project (``members``:
    the project's members as configured, ``vocabulary.project_members``)."""
    require_role(principal, REFERRING_ROLES)
    if principal.agency not in members:
        raise Forbidden(f"agency {principal.agency} does not take part in {project}", field="project")


def require_running_agency(principal: Principal, state: Participant, day: date) -> None:
    """Commands on a participant come from the agency that runs the case. An agency that may
    not even see the participant is told it does not exist (404: that a person is in the
    programme is itself confidential); one that may see it (drv-exchange) gets 403."""
    if principal.agency == state.agency:
        return
    require_reader(principal, state, day)
    raise Forbidden(f"agency {principal.agency} may not act for {state.agency}")


def may_read(principal: Principal, state: Participant, day: date) -> bool:
    """The running agency, or an agency covered by a drv-exchange consent active that day."""
    if principal.agency == state.agency:
        return True
    return any(c.scope == principal.agency for c in state.active_consents(day, ConsentPurpose.DRV_EXCHANGE))


def require_reader(principal: Principal, state: Participant, day: date) -> None:
    """Another agency's participant is "no such participant" (404), as an unknown id is."""
    if not may_read(principal, state, day):
        raise NotFound("no such participant", field="participant_id")


AUDIT_ROLES = frozenset({Role.AUDITOR, Role.DATA_PROTECTION_OFFICER})


def require_auditor(principal: Principal) -> None:
    if principal.role not in AUDIT_ROLES:
        raise Forbidden("the read log is for auditors and data-protection officers")


def may_read_reason(principal: Principal, state: Participant) -> bool:
    """The referral reason is health data: health roles of the running agency only."""
    return principal.role in HEALTH_ROLES and principal.agency == state.agency


def is_reporting_service(principal: Principal) -> bool:
    return principal.role == Role.SERVICE and principal.subject == REPORTING_SERVICE


def may_release_for_monitoring(principal: Principal, state: Participant, day: date) -> bool:
    """Identity for the monitoring export: a participant (not erased) whose case the caller's
    agency runs, with monitoring consent active that day."""
    if state.status in ("none", "erased"):
        return False
    return state.agency == principal.agency and bool(state.active_consents(day, ConsentPurpose.MONITORING))


def require_eraser(principal: Principal) -> None:
    """Erasure: the data-protection officer, or the retention task (role service, subject
    ``system``; it acts with the participant's running agency)."""
    if principal.role == Role.SERVICE and principal.subject == RETENTION_ACTOR:
        return
    require_role(principal, ERASING_ROLES)
