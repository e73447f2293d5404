"""A case's life: opening on enrolment, case manager and team, the phase state machine,
interruption, exit, employment reported by placement, and erasure.
"""

from __future__ import annotations

from datetime import date
from typing import Any
from uuid import UUID

from services.casework.domain.projects import CapOverride
from services.casework.domain.state import (
    TEAM_ROLES,
    Case,
    not_before,
    require_active,
    require_known,
    require_open,
)
from shared.contracts import casework as contract
from shared.contracts.base import DomainEvent
from shared.contracts.common import PHASE_ORDER, ExitReason, Phase
from shared.contracts.intake import ParticipantEnrolled
from shared.domain import DomainError, InvalidTransition, NotFound
from shared.vocabulary import Role

# ---------------------------------------------------------------- opening, team


def open_case(state: Case, enrolled: ParticipantEnrolled) -> list[DomainEvent]:
    """A case opens on enrolment and enters Einstieg on the start date."""
    if state.status != "none":
        raise InvalidTransition("a case is already open for this participant")
    return [
        contract.CaseOpened(
            case_id=enrolled.participant_id,
            participant_id=enrolled.participant_id,
            agency=enrolled.agency,
            project=enrolled.project,
            opened_on=enrolled.start_date,
        ),
        contract.PhaseEntered(case_id=enrolled.participant_id, phase=Phase.EINSTIEG, entered_on=enrolled.start_date),
    ]


def assign_case_manager(state: Case, member: str, on: date, cap: CapOverride | None = None) -> list[DomainEvent]:
    """With ``cap``, the assignment goes beyond the project's caseload cap (the lead's override)."""
    cid = require_active(state)
    if state.case_manager is not None:
        raise InvalidTransition(f"{state.case_manager} manages this case: hand it over instead", field="case_manager")
    return [contract.CaseManagerAssigned(case_id=cid, case_manager=member, assigned_on=on, **_override(cap))]


def _override(cap: CapOverride | None) -> dict[str, Any]:
    return {} if cap is None else cap.recorded()


def hand_over(state: Case, to: str, on: date, sealed_note: str, cap: CapOverride | None = None) -> list[DomainEvent]:
    cid = require_active(state)
    if state.case_manager is None:
        raise InvalidTransition("no case manager to hand over from: assign one", field="to_case_manager")
    if state.case_manager == to:
        raise InvalidTransition(f"{to} already manages this case", field="to_case_manager")
    return [
        contract.CaseHandedOver(
            case_id=cid,
            from_case_manager=state.case_manager,
            to_case_manager=to,
            handed_over_on=on,
            sealed_note=sealed_note,
        ),
        contract.CaseManagerAssigned(case_id=cid, case_manager=to, assigned_on=on, **_override(cap)),
    ]


def add_team_member(state: Case, member: str, role: Role, agency: str, on: date) -> list[DomainEvent]:
    cid = require_active(state)
    if role not in TEAM_ROLES:
        raise DomainError(f"{role} is not a case-team role", field="role")
    if member in state.team:
        raise InvalidTransition(f"{member} is already on the team", field="member")
    return [contract.TeamMemberAdded(case_id=cid, member=member, role=role.value, agency=agency, added_on=on)]


def remove_team_member(state: Case, member: str, on: date) -> list[DomainEvent]:
    cid = require_known(state)
    if member not in state.team:
        raise NotFound(f"{member} is not on the team", field="member")
    return [contract.TeamMemberRemoved(case_id=cid, member=member, removed_on=on)]


# ---------------------------------------------------------------- phases


def enter_phase(state: Case, target: Phase, on: date, reason: str | None, sealed_reason: str = "") -> list[DomainEvent]:
    """The phase state machine. Forward by one is the rule; skipping ahead or going back
    one phase needs a reason; Nachbetreuung needs a job start (and then no reason). The event
    carries only ``sealed_reason`` (the reason's ciphertext): ``reason`` is checked, not kept."""
    cid = require_open(state, "change the phase")
    current = state.phase
    assert current is not None
    if target is current:
        raise InvalidTransition(f"the case is already in {current}", field="phase")
    not_before(on, state.phase_since, "entered_on", f"the start of {current}")
    _check_step(state, current, target, reason)
    events: list[DomainEvent] = []
    if PHASE_ORDER.index(target) > PHASE_ORDER.index(current):
        events.append(contract.PhaseCompleted(case_id=cid, phase=current, completed_on=on))
    events.append(
        contract.PhaseEntered(case_id=cid, phase=target, entered_on=on, previous=current, sealed_reason=sealed_reason)
    )
    return events


def _check_step(state: Case, current: Phase, target: Phase, reason: str | None) -> None:
    """Whether the step from ``current`` to ``target`` may be taken (and with what reason)."""
    here, there = PHASE_ORDER.index(current), PHASE_ORDER.index(target)
    if target is Phase.NACHBETREUUNG and there > here:
        if state.employment_id is None:
            raise InvalidTransition(
                "Nachbetreuung is aftercare after a job start; placement has reported no employment", field="phase"
            )
    elif there > here + 1 and not reason:
        skipped = ", ".join(p.value for p in PHASE_ORDER[here + 1 : there])
        raise DomainError(f"skipping {skipped} needs a reason", field="reason")
    elif there < here:
        if there != here - 1:
            raise InvalidTransition(
                f"a case may go back one phase only (from {current} to {PHASE_ORDER[here - 1]})", field="phase"
            )
        if not reason:
            raise DomainError("going back a phase needs a reason", field="reason")


def interrupt(state: Case, on: date, sealed_reason: str) -> list[DomainEvent]:
    cid = require_open(state, "interrupt it again")
    not_before(on, state.phase_since, "interrupted_on", "the current phase")
    return [contract.ParticipationInterrupted(case_id=cid, interrupted_on=on, sealed_reason=sealed_reason)]


def resume(state: Case, on: date) -> list[DomainEvent]:
    cid = require_active(state)
    if state.status != "interrupted":
        raise InvalidTransition("participation is not interrupted", field="status")
    not_before(on, state.interrupted_on, "resumed_on", "the interruption")
    return [contract.ParticipationResumed(case_id=cid, resumed_on=on)]


def exit_case(state: Case, on: date, reason: ExitReason) -> list[DomainEvent]:
    """Austritt: also retracts a shared capacity profile at once."""
    cid = require_active(state)
    assert state.participant_id is not None
    not_before(on, state.opened_on, "exited_on", "the case opening")
    events: list[DomainEvent] = [
        contract.ParticipantExited(
            case_id=cid, participant_id=state.participant_id, exited_on=on, reason=reason, last_phase=state.phase
        )
    ]
    if state.shared_version:
        events.append(
            contract.CapacityProfileRetracted(
                case_id=cid, participant_id=state.participant_id, retracted_on=on, reason="exit"
            )
        )
    return events


def end_on_withdrawal(state: Case, effective_on: date) -> list[DomainEvent]:
    """Withdrawn participation consent ends the participation (§ 67b SGB X, Art. 7 (3) GDPR):
    the case exits as of the withdrawal's effective day (never before its opening). A case
    that is gone, erased or already exited stays as it is, so redelivery is harmless."""
    if state.status in ("none", "exited", "erased"):
        return []
    on = max(effective_on, state.opened_on) if state.opened_on else effective_on
    return exit_case(state, on, ExitReason.CONSENT_WITHDRAWN)


# ---------------------------------------------------------------- employment (from placement), erasure


def record_employment(state: Case, employment_id: UUID, started_on: date, employment_type: str) -> list[DomainEvent]:
    """A job start reported by placement. Nachbetreuung becomes the expected next phase; the
    case manager enters it (no automatic phase change: the case may be interrupted, or the
    start may be a mini-job that the team does not treat as the end of the job search)."""
    if state.status not in ("open", "interrupted") or state.case_id is None or state.employment_id == employment_id:
        return []
    return [
        contract.CaseEmploymentRecorded(
            case_id=state.case_id, employment_id=employment_id, started_on=started_on, employment_type=employment_type
        )
    ]


def record_employment_end(state: Case, employment_id: UUID, ended_on: date) -> list[DomainEvent]:
    if state.case_id is None or state.status == "erased" or state.employment_id != employment_id:
        return []
    return [contract.CaseEmploymentEndRecorded(case_id=state.case_id, employment_id=employment_id, ended_on=ended_on)]


def erase_case(state: Case, on: date) -> list[DomainEvent]:
    """After intake's ParticipantDataErased: retract what placement has, then forget."""
    if state.case_id is None or state.participant_id is None or state.status == "erased":
        return []
    events: list[DomainEvent] = []
    if state.shared_version:
        events.append(
            contract.CapacityProfileRetracted(
                case_id=state.case_id, participant_id=state.participant_id, retracted_on=on, reason="erasure"
            )
        )
    events.append(contract.CaseDataErased(case_id=state.case_id, participant_id=state.participant_id, erased_on=on))
    return events
