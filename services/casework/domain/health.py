"""Health records: assessments, the capacity profile (and sharing it with placement), medical
reports and rehab applications. Their free text arrives sealed.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date
from uuid import UUID

from services.casework.domain.state import (
    REHAB_APPLICATIONS,
    Case,
    require_active,
)
from shared.consent import marks_name, names
from shared.contracts.base import DomainEvent
from shared.contracts.casework import (
    AssessmentCompleted,
    CapacityProfileRecorded,
    CapacityProfileRetracted,
    CapacityProfileShared,
    MedicalReportReceived,
    RehabApplicationDecided,
    RehabApplicationFiled,
)
from shared.contracts.common import CapacityProfile
from shared.domain import DomainError, InvalidTransition

# ---------------------------------------------------------------- health records, profile


def complete_assessment(
    state: Case, assessment_id: UUID, kind: str, on: date, by: str, sealed_findings: str
) -> list[DomainEvent]:
    cid = require_active(state)
    return [
        AssessmentCompleted(
            case_id=cid,
            assessment_id=assessment_id,
            kind=kind,
            completed_on=on,
            assessed_by=by,
            sealed_findings=sealed_findings,
        )
    ]


def record_capacity_profile(state: Case, on: date, by: str, sealed_profile: str) -> list[DomainEvent]:
    cid = require_active(state)
    return [CapacityProfileRecorded(case_id=cid, recorded_on=on, recorded_by=by, sealed_profile=sealed_profile)]


@dataclass(frozen=True, slots=True)
class Release:
    """A medical-release consent of the participant, and whether it holds on the report's day.
    The doctor is ``scope`` (v1, in clear) or known only by its words' keyed digests (v2, the
    name itself sealed under intake's key: ``shared.consent.name_marks``)."""

    consent_id: UUID
    scope: str | None
    active: bool
    scope_marks: tuple[str, ...] = ()

    def names(self, source: str) -> bool:
        return names(self.scope, source) or marks_name(self.scope_marks, source)


def release_for(releases: Iterable[Release], consent_id: UUID | None, source: str) -> UUID:
    """The medical-release consent a report from ``source`` comes under: the one named (it must
    be the participant's medical release, else 422 ``consent_id``), or any that names the
    source. Without one active on the report's day and naming that doctor or clinic, the
    report may not be received (409 ``consent``)."""
    known = list(releases)
    if consent_id is not None:
        named = [r for r in known if r.consent_id == consent_id]
        if not named:
            raise DomainError("not a medical-release consent of this participant", field="consent_id")
        known = named
    for r in known:
        if r.active and r.names(source):
            return r.consent_id
    raise InvalidTransition(
        f"no medical-release consent naming {source!r} is active on the report's day", field="consent"
    )


def receive_medical_report(
    state: Case, report_id: UUID, on: date, consent_id: UUID | None, sealed_source: str, sealed_summary: str
) -> list[DomainEvent]:
    cid = require_active(state)
    return [
        MedicalReportReceived(
            case_id=cid,
            report_id=report_id,
            received_on=on,
            consent_id=consent_id,
            sealed_source=sealed_source,
            sealed_summary=sealed_summary,
        )
    ]


def reconcile_sharing(
    state: Case, *, consent_active: bool, profile: CapacityProfile | None, on: date, reason: str
) -> list[DomainEvent]:
    """What placement should have: the latest profile while employer-disclosure consent is
    active and the case runs; nothing otherwise. Idempotent (state-based), so policies can
    call it on every relevant event and redelivery changes nothing."""
    if state.case_id is None or state.participant_id is None:
        return []
    wanted = consent_active and state.status in ("open", "interrupted") and state.profile_version > 0
    if wanted and profile is not None and state.shared_version != state.profile_version:
        return [
            CapacityProfileShared(
                case_id=state.case_id,
                participant_id=state.participant_id,
                agency=state.agency,
                project=state.project,
                profile=profile,
                shared_on=on,
            )
        ]
    if not wanted and state.shared_version:
        return [
            CapacityProfileRetracted(
                case_id=state.case_id, participant_id=state.participant_id, retracted_on=on, reason=reason
            )
        ]
    return []


def file_rehab_application(state: Case, application_id: UUID, on: date, carrier: str, kind: str) -> list[DomainEvent]:
    cid = require_active(state)
    return [RehabApplicationFiled(case_id=cid, application_id=application_id, filed_on=on, carrier=carrier, kind=kind)]


def decide_rehab_application(
    state: Case, application_id: UUID, on: date, approved: bool, sealed_reason: str = "", by: str | None = None
) -> list[DomainEvent]:
    """The carrier's decision, on a filed application or one the carrier has received."""
    if state.rehab_applications.get(application_id) == "received":
        cid = REHAB_APPLICATIONS.require(state, application_id, "received")
    else:
        cid = REHAB_APPLICATIONS.require(state, application_id, "filed")
    return [
        RehabApplicationDecided(
            case_id=cid,
            application_id=application_id,
            decided_on=on,
            approved=approved,
            sealed_reason=sealed_reason,
            decided_by=by,
        )
    ]
