"""Events of the intake service (topic ``intake.events``).

People are identified by a random participant id. Identity and the referral reason are
sealed per participant (``shared.crypto``): unreadable anywhere but in intake, and erasable.
"""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any, ClassVar, Literal
from uuid import UUID, uuid5

from pydantic import Field

from shared.contracts.base import (
    AgencyCode,
    AgencyScope,
    Code,
    DomainEvent,
    LegacyClearText,
    NameMarks,
    NonMedicalReason,
    Plain,
    ProjectCode,
    Sealed,
    StaffId,
    event,
    registry,
)
from shared.contracts.common import ConsentPurpose
from shared.vocabulary import Role

AgeBand = Literal["<25", "25-34", "35-44", "45-54", "55+", "unknown"]
Sex = Literal["female", "male", "diverse", "unknown"]
ConsentForm = Literal["written", "electronic"]


class IntakeEvent(DomainEvent):
    service: ClassVar[str] = "intake"


@event
class ReferralReceived(IntakeEvent):
    """Zuweisung from a Jobcenter or DRV. ``sealed_identity``/``sealed_reason`` are ciphertext."""

    health_data: ClassVar[bool] = True  # the (sealed) referral reason

    participant_id: UUID
    source_agency: AgencyCode
    project: ProjectCode
    referred_by: StaffId = Field(description="referring person (staff id)")
    received_on: date
    age_band: AgeBand
    sex: Sex
    sealed_identity: Sealed = Field(description="name, birth date, address, contact, insurance number; sealed")
    sealed_reason: Sealed = Field(description="referral reason; health data; sealed")
    agency: AgencyCode | None = Field(
        default=None,
        description="agency that runs the case if not the referring one (e.g. DRV refers to a Jobcenter)",
    )

    @property
    def running_agency(self) -> str:
        """The agency that runs the case: the one named on the referral, else the referring one.
        (Every later event of the participant carries it as its envelope's ``agency``.)"""
        return self.agency or self.source_agency


@event
class InformationMeetingHeld(IntakeEvent):
    participant_id: UUID
    held_on: date
    attended: bool


@event
class EligibilityChecked(IntakeEvent):
    """Voluntary participation and willingness to address placement-relevant impairments
    (or a declined LTA). The findings text is health data and sealed."""

    health_data: ClassVar[bool] = True

    participant_id: UUID
    checked_on: date
    voluntary: bool
    willing_to_address_impairments: bool
    declined_lta: bool
    eligible: bool
    reasons: list[Code] = Field(default_factory=list, description="rule outcomes, no health details")
    sealed_findings: Sealed = Field(default="", description="free-text findings; sealed")


class ConsentEvent(IntakeEvent):
    """What names one consent in each of its events (granted, withdrawn, expired), in this
    order, ahead of the event's own fields. Not an event type itself."""

    participant_id: UUID
    consent_id: UUID
    purpose: ConsentPurpose
    scope: AgencyScope | None = None


@event
class ConsentGranted(ConsentEvent):
    """Consent for one purpose. ``scope`` names the agency data may be exchanged with
    (drv-exchange); the doctor or clinic of a medical release is in ``sealed_scope`` (v2; v1
    events have it in ``scope``)."""

    schema_version: ClassVar[int] = 2

    sealed_scope: Sealed = Field(default="", description="medical-release: the doctor or clinic; sealed (v2)")
    scope_marks: NameMarks = Field(default_factory=list, description="medical-release: keyed digests of its words")
    granted_on: date
    form: ConsentForm
    expires_on: date | None = None


@registry.upcaster("ConsentGranted", 1)
def _consent_granted_v1(payload: dict[str, Any]) -> dict[str, Any]:
    return payload  # a v1 medical-release names its doctor in ``scope``, in clear as recorded


@event
class ConsentWithdrawn(ConsentEvent):
    """Withdrawal with effect from ``effective_on`` on (never retroactive)."""

    effective_on: date


@event
class ConsentExpired(ConsentEvent):
    expired_on: date


# v1 objections had no id: the upcaster derives one from what identified them (stable, so every
# reader of an old event, in every service, gets the same id).
OBJECTION_IDS = UUID("6f1d3c52-8d0a-4f43-9a51-0b7f5e2c9d41")


@event
class ObjectionRecorded(IntakeEvent):
    """Objection under § 76 SGB X to passing on data that came from doctors, with effect from
    ``recorded_on`` until withdrawn. What it covers (a doctor or clinic, or 'all medical data')
    is sealed in ``sealed_scope``; ``scope_marks`` lets other services match a doctor against it
    without reading it (``shared.consent.name_marks``). v1 events hold it in ``scope``, in clear."""

    schema_version: ClassVar[int] = 2

    participant_id: UUID
    objection_id: UUID
    recorded_on: date
    scope: LegacyClearText | None = None
    sealed_scope: Sealed = Field(default="", description="what it covers, e.g. a doctor or 'all medical data'")
    scope_marks: NameMarks = Field(default_factory=list, description="keyed digests of the scope's words")


@registry.upcaster("ObjectionRecorded", 1)
def _objection_v1(payload: dict[str, Any]) -> dict[str, Any]:
    """v1 → v2: the objection's id, derived from participant, day and scope; the v1 scope stays
    in ``scope``, in clear as recorded (history is not rewritten)."""
    key = f"{payload['participant_id']}/{payload['recorded_on']}/{payload['scope']}"
    return {**payload, "objection_id": str(uuid5(OBJECTION_IDS, key))}


def objection_id_v1(participant_id: UUID, recorded_on: date, scope: str) -> UUID:
    """The id the upcaster gives a v1 objection (for rows written before objections had ids)."""
    return uuid5(OBJECTION_IDS, f"{participant_id}/{recorded_on.isoformat()}/{scope}")


@event
class ObjectionWithdrawn(IntakeEvent):
    """The participant withdraws a § 76 objection: doctors' data it covered may be passed on
    again from ``withdrawn_on`` on (never retroactive). The objection is named by its id only:
    what it covered is never copied here."""

    participant_id: UUID
    objection_id: UUID
    withdrawn_on: date


@event
class ParticipantEnrolled(IntakeEvent):
    """Eintritt: the participant joins the project (requires participation consent)."""

    participant_id: UUID
    project: ProjectCode
    agency: AgencyCode
    start_date: date
    age_band: AgeBand
    sex: Sex


@event
class EnrolmentDeclined(IntakeEvent):
    participant_id: UUID
    declined_on: date
    by: Literal["participant", "agency"]
    reason: NonMedicalReason = Field(max_length=500, description="non-medical reason")


@event
class ReferralWithdrawn(IntakeEvent):
    participant_id: UUID
    withdrawn_on: date
    reason: NonMedicalReason = Field(max_length=500, description="non-medical reason")


@event
class ParticipantDataErased(IntakeEvent):
    """The participant's key was destroyed: every service must forget the person."""

    participant_id: UUID
    erased_on: date
    legal_basis: Annotated[str, Plain("the legal basis, e.g. Art. 17 GDPR")]


# --- the staff directory (intake keeps it: docs/ARCHITECTURE.md "The staff directory") --------


class StaffEvent(IntakeEvent):
    """What names one staff member in each staff event: the agency and the subject its identity
    provider puts in the member's tokens. Not an event type itself."""

    agency: AgencyCode = Field(description="the staff member's agency (the administrator's own)")
    subject: StaffId = Field(description="the token subject (sub) the agency's identity provider issues")


@event
class StaffMemberRegistered(StaffEvent):
    """The agency's administrator registers a staff member (again, after one left): from now on
    the member's tokens are accepted with one of ``roles``, and the member may be on the teams
    of cases of ``projects``. The name is personal data: sealed under the member's own key."""

    sealed_name: Sealed = Field(description="the staff member's full name; sealed")
    roles: list[Role] = Field(min_length=1, description="the roles the member's tokens may carry")
    projects: list[ProjectCode] = Field(description="projects the member works in (of the agency's)")
    registered_on: date


@event
class StaffRolesChanged(StaffEvent):
    """The member's roles and projects as they are from ``changed_on`` on (the whole set)."""

    roles: list[Role] = Field(min_length=1, description="the roles the member's tokens may carry now")
    projects: list[ProjectCode] = Field(description="projects the member works in now")
    changed_on: date


@event
class StaffMemberLeft(StaffEvent):
    """The member left the agency: from ``left_on`` on their tokens are refused and they can no
    longer join a team (teams they are on keep them until removed)."""

    left_on: date


RecordClass = Literal["project-data", "referral-not-enrolled"]
"""Record classes with their own retention period (services/intake/domain/retention.py): a
participant's project data (from the exit), a referral that never led to an enrolment (from
its decline or withdrawal)."""


@event
class RetentionRuleSet(IntakeEvent):
    """An agency's DPO or administrator set the retention period of one record class, for one
    project or for all the agency's projects (stream ``retention-rules-{agency}``)."""

    agency: AgencyCode
    project: ProjectCode | None = Field(default=None, description="the project, or None: every project of the agency")
    record_class: RecordClass
    period_months: int = Field(ge=1, le=1200, description="months after the record class's trigger day")
    basis: Annotated[str, Plain("the legal or grant rule the period comes from, about a record class, no person")] = (
        Field(max_length=300, description="where the period comes from, e.g. § 84 SGB X, the grant notice")
    )
    set_on: date


@event
class LegalHoldPlaced(IntakeEvent):
    """A DPO or auditor paused the deletion of one participant's data (retention or erasure)
    from ``placed_on`` up to, excluding, ``until``; the reason is sealed under the person's key."""

    participant_id: UUID
    hold_id: UUID
    placed_on: date
    until: date = Field(description="first day the hold no longer holds")
    sealed_reason: Sealed = Field(description="why (a proceeding, an inquiry); sealed")


@event
class LegalHoldLifted(IntakeEvent):
    """A legal hold ended before its end date (from ``lifted_on`` on)."""

    participant_id: UUID
    hold_id: UUID
    lifted_on: date


# ------------------------------------------------------------------ case transfer (issue 15, item 8)


@event
class ParticipantTransferred(IntakeEvent):
    """Intake's record of casework's ``CaseTransferred``: from this event on the participant
    belongs to ``to_agency`` (the register, intake's access rules and every later intake event
    of the person). Recorded under ``from_agency``, as the transfer it follows."""

    participant_id: UUID
    from_agency: AgencyCode = Field(description="the agency that ran the case until the transfer")
    to_agency: AgencyCode = Field(description="the agency that runs the case from the transfer on")
    project: ProjectCode
    transferred_on: date = Field(description="the transfer's day, as casework recorded it")
