"""Rehabilitation as a workflow shared with the carrier (DRV): receipt, requests for information
and their answers, the decision and the measure it leads to. The case reacts through its own
mechanisms: a medical rehabilitation stay interrupts the participation and its end resumes it;
an LTA measure (vocational rehabilitation) is a rehabilitative intervention on the case.
Filing and the plain decision are in ``health``.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable
from datetime import date
from uuid import UUID

from services.casework.domain.goals import complete_intervention, plan_intervention, start_intervention
from services.casework.domain.lifecycle import interrupt, resume
from services.casework.domain.state import REHAB_APPLICATIONS, Case, RehabFile, evolve, not_before, require_active
from shared.contracts import casework as contract
from shared.contracts.base import DomainEvent
from shared.contracts.common import InterventionCategory
from shared.domain import InvalidTransition, NotFound
from shared.vocabulary import DRV_AGENCIES

MEDICAL_STAY = "medical-stay"
LTA = "lta"
# the measure an approved application of each kind leads to
MEASURE_OF_KIND = {"medical": MEDICAL_STAY, "vocational": LTA}
# statuses in which the carrier has not decided yet (the work queue's "open")
UNDECIDED = ("filed", "received")


def require_exchange_consent(carrier: str, exchange_agencies: Collection[str]) -> None:
    """An application to a DRV carrier travels only under the participant's drv-exchange
    consent covering that carrier today (409 ``consent``, naming it); other carriers need none."""
    if carrier in DRV_AGENCIES and carrier not in exchange_agencies:
        raise InvalidTransition(f"no active drv-exchange consent of the participant covers {carrier}", field="consent")


def rehab_file(state: Case, application_id: UUID) -> RehabFile:
    """The application's file (404 ``application_id`` if the case has none by that id)."""
    found = state.rehab.get(application_id)
    if found is None:
        raise NotFound("no such rehab application", field="application_id")
    return found


def _in(state: Case, application_id: UUID, *statuses: str) -> UUID:
    """The case's id, if the application exists in one of ``statuses`` (else 404 / 409)."""
    cid = require_active(state)
    rehab_file(state, application_id)
    current = state.rehab_applications[application_id]
    if current not in statuses:
        raise InvalidTransition(REHAB_APPLICATIONS.refusal.format(current), field="application_id")
    return cid


def _fold(state: Case, events: Iterable[DomainEvent]) -> Case:
    for e in events:
        state = evolve(state, e)
    return state


def receive(state: Case, application_id: UUID, on: date, by: str) -> list[DomainEvent]:
    cid = _in(state, application_id, "filed")
    not_before(on, rehab_file(state, application_id).filed_on, "received_on", "the filing")
    return [
        contract.RehabApplicationReceived(case_id=cid, application_id=application_id, received_on=on, received_by=by)
    ]


def request_information(
    state: Case, application_id: UUID, request_id: UUID, on: date, by: str, sealed_question: str
) -> list[DomainEvent]:
    """Only once received and before the decision."""
    cid = _in(state, application_id, "received")
    return [
        contract.RehabInformationRequested(
            case_id=cid,
            application_id=application_id,
            request_id=request_id,
            requested_on=on,
            requested_by=by,
            sealed_question=sealed_question,
        )
    ]


def provide_information(
    state: Case, application_id: UUID, request_id: UUID, on: date, by: str, sealed_answer: str
) -> list[DomainEvent]:
    cid = require_active(state)
    if request_id not in rehab_file(state, application_id).open_requests:
        raise NotFound("no open request of the carrier by that id", field="request_id")
    return [
        contract.RehabInformationProvided(
            case_id=cid,
            application_id=application_id,
            request_id=request_id,
            provided_on=on,
            provided_by=by,
            sealed_answer=sealed_answer,
        )
    ]


def start_measure(
    state: Case, application_id: UUID, on: date, intervention_id: UUID, sealed_provider: str, cost_eur: float | None
) -> list[DomainEvent]:
    """An approved application's measure begins. A medical stay interrupts the participation
    (refused while it is already interrupted: resume it first); an LTA measure is planned and
    started as a rehabilitative intervention."""
    cid = _in(state, application_id, "approved")
    measure = MEASURE_OF_KIND.get(rehab_file(state, application_id).kind, LTA)
    started = contract.RehabMeasureStarted(
        case_id=cid,
        application_id=application_id,
        measure=measure,
        started_on=on,
        intervention_id=intervention_id if measure == LTA else None,
    )
    if measure == MEDICAL_STAY:
        return [started, *interrupt(state, on, "")]
    planned = plan_intervention(
        state, intervention_id, InterventionCategory.REHABILITATIVE, sealed_provider, on, None, cost_eur, ""
    )
    return [started, *planned, *start_intervention(_fold(state, planned), intervention_id, on)]


def end_measure(state: Case, application_id: UUID, on: date, cost_eur: float | None) -> list[DomainEvent]:
    """The measure ends: the participation resumes after a stay (if it is still interrupted),
    the LTA intervention completes (if it still runs)."""
    cid = _in(state, application_id, "in-measure")
    file = rehab_file(state, application_id)
    ended: list[DomainEvent] = [contract.RehabMeasureEnded(case_id=cid, application_id=application_id, ended_on=on)]
    if file.measure == MEDICAL_STAY and state.status == "interrupted":
        return [*ended, *resume(state, on)]
    iv = state.interventions.get(file.intervention_id) if file.intervention_id else None
    if file.intervention_id is not None and iv is not None and iv.status == "started":
        return [*ended, *complete_intervention(state, file.intervention_id, on, cost_eur)]
    return ended
