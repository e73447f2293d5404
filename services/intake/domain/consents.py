"""Consents per purpose (granted, withdrawn, expired) and § 76 SGB X objections of a participant.
Pure: each command decides its events or refuses with a DomainError."""

from __future__ import annotations

from datetime import date
from uuid import UUID

from services.intake.domain.state import (
    Consent,
    Participant,
    _existing,
)
from shared.consent import name_marks
from shared.contracts.base import DomainEvent
from shared.contracts.common import ConsentPurpose
from shared.contracts.intake import (
    ConsentExpired,
    ConsentForm,
    ConsentGranted,
    ConsentWithdrawn,
    ObjectionRecorded,
    ObjectionWithdrawn,
)
from shared.domain import DomainError, InvalidTransition
from shared.guards import found, not_before
from shared.vocabulary import AGENCIES, DRV_AGENCIES, project_agencies


def consent_scope(state: Participant, purpose: ConsentPurpose, scope: str | None) -> str | None:
    """medical-release names a doctor or clinic; drv-exchange names the partner agency
    (defaulting to the project's DRV carrier, or the Jobcenter when DRV runs the case)."""
    if purpose is ConsentPurpose.MEDICAL_RELEASE:
        if not scope:
            raise DomainError("a medical release names the doctor or clinic", field="scope")
        return scope
    if purpose is ConsentPurpose.DRV_EXCHANGE:
        return _exchange_partner(state, scope)
    return scope


def _exchange_partner(state: Participant, scope: str | None) -> str:
    """The agency a drv-exchange consent names: the one given (another agency), or by default
    the project's first member on the other side of the Jobcenter/DRV line."""
    if scope is None:
        members = project_agencies(state.project)
        partners = [a for a in members if a != state.agency and (a in DRV_AGENCIES) != (state.agency in DRV_AGENCIES)]
        if not partners:
            raise DomainError("no exchange partner in this project; name one", field="scope")
        return partners[0]
    if scope not in AGENCIES or scope == state.agency:
        raise DomainError("scope must be another agency", field="scope")
    return scope


def grant_consent(
    state: Participant,
    consent_id: UUID,
    purpose: ConsentPurpose,
    scope: str | None,
    granted_on: date,
    form: ConsentForm,
    expires_on: date | None,
    sealed_scope: str = "",
) -> list[DomainEvent]:
    """``scope`` is checked; a medical release keeps only ``sealed_scope`` (the doctor sealed),
    so several releases may run side by side (one per doctor, told apart by their consent id)."""
    pid = _existing(state)
    if state.status in ("declined", "withdrawn"):
        raise InvalidTransition(f"the referral is {state.status}", field="status")
    if expires_on is not None and expires_on <= granted_on:
        raise DomainError("expiry must be after the grant date", field="expires_on")
    scope = consent_scope(state, purpose, scope)
    marks: list[str] = []
    if purpose is ConsentPurpose.MEDICAL_RELEASE:
        marks = name_marks(scope)  # casework matches a report's doctor against these
        scope = None  # the doctor travels only sealed
    else:
        for c in state.active_consents(granted_on, purpose):
            if c.scope == scope:
                raise InvalidTransition(f"an active {purpose} consent for this scope exists", field="purpose")
    return [
        ConsentGranted(
            participant_id=pid,
            consent_id=consent_id,
            purpose=purpose,
            scope=scope,
            sealed_scope=sealed_scope,
            scope_marks=marks,
            granted_on=granted_on,
            form=form,
            expires_on=expires_on,
        )
    ]


def withdraw_consent(state: Participant, consent_id: UUID, effective_on: date) -> list[DomainEvent]:
    pid = _existing(state)
    c = found(state.consents, consent_id, what="consent", field="consent_id")
    if c.ended_on is not None:
        raise InvalidTransition(f"the consent was already {c.ended_by}", field="consent_id")
    not_before(
        effective_on, c.granted_on, "withdrawal takes effect from now on, not before the grant", field="effective_on"
    )
    return [
        ConsentWithdrawn(
            participant_id=pid,
            consent_id=c.consent_id,
            purpose=c.purpose,
            scope=_agency_scope(c),
            effective_on=effective_on,
        )
    ]


def expire_consents(state: Participant, today: date) -> list[DomainEvent]:
    """Consents whose ``expires_on`` has come (applied by the background task)."""
    if state.participant_id is None or state.status == "erased":
        return []
    return [
        ConsentExpired(
            participant_id=state.participant_id,
            consent_id=c.consent_id,
            purpose=c.purpose,
            scope=_agency_scope(c),
            expired_on=c.expires_on,
        )
        for c in state.consents.values()
        if c.expires_on is not None and c.expired_by(today)
    ]


def _agency_scope(c: Consent) -> str | None:
    """The scope copied into a withdrawal or expiry: never the doctor of a (v1) medical release."""
    return None if c.purpose is ConsentPurpose.MEDICAL_RELEASE else c.scope


def record_objection(
    state: Participant, objection_id: UUID, recorded_on: date, sealed_scope: str, scope_marks: list[str]
) -> list[DomainEvent]:
    """What the objection covers travels sealed, with its words' keyed digests for matching."""
    pid = _existing(state)
    return [
        ObjectionRecorded(
            participant_id=pid,
            objection_id=objection_id,
            recorded_on=recorded_on,
            sealed_scope=sealed_scope,
            scope_marks=scope_marks,
        )
    ]


def withdraw_objection(state: Participant, objection_id: UUID, withdrawn_on: date) -> list[DomainEvent]:
    """With effect from ``withdrawn_on`` on; never before the objection was made."""
    pid = _existing(state)
    o = found(state.objections, objection_id, what="objection", field="objection_id")
    if o.withdrawn_on is not None:
        raise InvalidTransition("the objection is already withdrawn", field="objection_id")
    not_before(
        withdrawn_on,
        o.recorded_on,
        f"withdrawn_on cannot be before the objection ({o.recorded_on})",
        field="withdrawn_on",
    )
    return [ObjectionWithdrawn(participant_id=pid, objection_id=objection_id, withdrawn_on=withdrawn_on)]
