"""Case transfer between the agencies of a project (issue 15, item 8): pure rules.

A case moves with its history (no event is edited): ``CaseTransferred`` makes the receiving
agency the case's agency from then on, and its case manager the case's. Allowed only while the
case is active, only to another member agency of the case's project, and only under an active
``drv-exchange`` consent naming the receiving agency: that purpose is the participant's consent
to exchange case data with a named partner agency (``shared.contracts.intake.ConsentGranted``'s
``scope``), which is what handing the case over to that agency does.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from datetime import date

from services.casework.domain.projects import Project, members
from services.casework.domain.state import Case, not_before, require_active
from shared.contracts import casework as contract
from shared.contracts.base import DomainEvent
from shared.contracts.common import ConsentPurpose
from shared.domain import DomainError, InvalidTransition

TRANSFER_CONSENT = ConsentPurpose.DRV_EXCHANGE


@dataclass(frozen=True)
class Move:
    """What a transfer asks for (the command's body, checked by ``transfer``)."""

    to_agency: str
    to_case_manager: str
    on: date
    sealed_reason: str = ""


def require_partner(state: Case, project: Project, to_agency: str) -> str:
    """The receiving agency is another member agency of the case's project (422 naming ``to_agency``)."""
    if to_agency == state.agency:
        raise DomainError(f"the case already runs at {to_agency}", field="to_agency")
    if to_agency not in members(project, state.project):
        raise DomainError(f"{to_agency} is not an agency of the project {state.project}", field="to_agency")
    return to_agency


def require_consent(to_agency: str, on: date, covered: Collection[str]) -> None:
    """An active drv-exchange consent names the receiving agency on ``on`` (409 naming ``consent``)."""
    if to_agency not in covered:
        raise InvalidTransition(
            f"no active {TRANSFER_CONSENT} consent of the participant names {to_agency} on {on}:"
            f" a transfer needs one (purpose {TRANSFER_CONSENT}, scope {to_agency})",
            field="consent",
        )


def transfer(state: Case, project: Project, move: Move, covered: Collection[str], today: date) -> list[DomainEvent]:
    """The transfer, checked: an active case, a partner agency of the project, a date from the
    case's opening up to today, and the consent (``covered``: the agencies the participant's
    active drv-exchange consents name on the transfer day and today)."""
    cid = require_active(state)
    require_partner(state, project, move.to_agency)
    not_before(move.on, state.opened_on, "transferred_on", "the case's opening")
    if move.on > today:
        raise DomainError(
            f"a transfer takes effect at once: {move.on} is after today ({today})", field="transferred_on"
        )
    require_consent(move.to_agency, move.on, covered)
    return [
        contract.CaseTransferred(
            case_id=cid,
            from_agency=state.agency,
            to_agency=move.to_agency,
            project=state.project,
            transferred_on=move.on,
            from_case_manager=state.case_manager,
            to_case_manager=move.to_case_manager,
            sealed_reason=move.sealed_reason,
        )
    ]
