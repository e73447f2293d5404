"""Intake's commands, each declared once: its ids come from the path, the rest is the HTTP body
(``shared.web.command_route`` derives the body model). A referral has no path id, so its body
is the command."""

from __future__ import annotations

from typing import Annotated, Literal
from uuid import UUID

from pydantic import BaseModel, ConfigDict, Field

from shared.bus import Command
from shared.contracts.common import ConsentPurpose
from shared.contracts.intake import ConsentForm, RecordClass, Sex
from shared.values import BirthDate, BusinessDate, Name, PlanDate, Text
from shared.vocabulary import Role


class Identity(BaseModel):
    """Who the participant is; sealed with the participant's key, never on a topic in clear."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    first_name: Name = Field(min_length=1, max_length=100)
    last_name: Name = Field(min_length=1, max_length=100)
    birth_date: BirthDate
    address: Text = Field(default="", max_length=300)
    phone: Name = Field(default="", max_length=50)
    email: Name = Field(default="", max_length=200)
    insurance_number: Name = Field(
        default="", max_length=12, pattern=r"^$|^\d{2}\d{6}[A-Z]\d{3}$", description="Rentenversicherungsnummer"
    )


class ReceiveReferral(Command):
    """Zuweisung from a Jobcenter or DRV: identity and reason are sealed under a new key (the
    participant id is made by the handler)."""

    project: Name = Field(max_length=60, description="pro-aktiv or pluspunkt")
    received_on: BusinessDate = Field(description="day the referral arrived")
    sex: Sex = "unknown"
    identity: Identity
    reason: Text = Field(min_length=1, max_length=2000, description="referral reason (health data)")
    agency: Name | None = Field(
        default=None, max_length=60, description="agency that runs the case (default: the referring one)"
    )


class ParticipantCommand(Command):
    participant_id: UUID = Field(description="from the path")


class HoldInformationMeeting(ParticipantCommand):
    held_on: BusinessDate = Field(description="day of the information meeting")
    attended: bool = Field(default=True, description="whether the participant came")


class CheckEligibility(ParticipantCommand):
    """The entry rule; the answer lists the reasons of the result."""

    checked_on: BusinessDate = Field(description="day of the check")
    voluntary: bool = Field(description="participation is voluntary")
    willing_to_address_impairments: bool = Field(description="willing to address placement-relevant impairments")
    declined_lta: bool = Field(default=False, description="declined LTA (Leistungen zur Teilhabe am Arbeitsleben)")
    findings: Text = Field(default="", max_length=4000, description="free-text findings (health data, sealed)")


class GrantConsent(ParticipantCommand):
    purpose: ConsentPurpose = Field(description="what the consent allows")
    scope: Text | None = Field(
        default=None, max_length=200, description="doctor/clinic (medical-release) or partner agency (drv-exchange)"
    )
    granted_on: BusinessDate = Field(description="first day the consent holds")
    form: ConsentForm = Field(description="written or electronic")
    expires_on: PlanDate | None = Field(default=None, description="first day it no longer holds")


class WithdrawConsent(ParticipantCommand):
    """Withdrawal with effect from ``effective_on`` on, never retroactive."""

    consent_id: UUID = Field(description="from the path")
    effective_on: BusinessDate = Field(description="first day the consent no longer holds (never before the grant)")


class RecordObjection(ParticipantCommand):
    """Objection under § 76 SGB X."""

    recorded_on: BusinessDate = Field(description="day the objection was made")
    scope: Text = Field(min_length=1, max_length=300, description="a doctor, or 'all medical data'")


class WithdrawObjection(ParticipantCommand):
    """Withdraws a § 76 objection with effect from ``withdrawn_on`` on, never retroactive."""

    objection_id: UUID = Field(description="from the path")
    withdrawn_on: BusinessDate = Field(description="first day the objection no longer holds (never before it was made)")


class EnrolParticipant(ParticipantCommand):
    """Eintritt: needs a positive eligibility check and participation consent."""

    start_date: BusinessDate = Field(description="first day of participation")


class DeclineEnrolment(ParticipantCommand):
    declined_on: BusinessDate = Field(description="day of the decision")
    by: Literal["participant", "agency"] = Field(description="who declined")
    reason: Text = Field(min_length=1, max_length=500, description="non-medical reason")


class WithdrawReferral(ParticipantCommand):
    withdrawn_on: BusinessDate = Field(description="day the referral was withdrawn")
    reason: Text = Field(min_length=1, max_length=500, description="non-medical reason")


class EraseParticipant(ParticipantCommand):
    """Data-protection officer only: destroy the participant's key (crypto-shredding; the
    events stay, their sealed fields become unreadable for good) and tell every service."""

    legal_basis: Text = Field(min_length=1, max_length=300, description="e.g. Art. 17 GDPR, retention period ended")


class ExpireConsents(ParticipantCommand):
    """Append ConsentExpired for the participant's consents whose expiry date has come (by
    ``ctx.today``); sent by the consent-expiry policy, not by a client."""


class ExpiryRunIn(Command):
    """Body of ``POST /admin/consent-expiry``: run the expiry policy now."""

    today: BusinessDate | None = Field(default=None, description="the day to expire for (drills); default: today")


class SetRetentionRule(Command):
    """Data-protection officer or administrator: the retention period of one record class of
    the caller's agency, for one project or (no ``project``) for all of them. Appends
    RetentionRuleSet; the daily retention task applies it from its next run."""

    record_class: RecordClass = Field(description="project-data (from the exit) or referral-not-enrolled")
    project: Name | None = Field(default=None, max_length=60, description="one project; default: every project")
    period_months: int = Field(ge=1, le=1200, description="months after the trigger day (exit, decline, withdrawal)")
    basis: Text = Field(min_length=1, max_length=300, description="where the period comes from, e.g. § 84 SGB X")


class PlaceLegalHold(ParticipantCommand):
    """Data-protection officer or auditor of the running agency: pause every deletion of the
    participant's data (retention and erasure) from today up to, excluding, ``until``."""

    until: PlanDate = Field(description="first day the hold no longer holds")
    reason: Text = Field(min_length=1, max_length=500, description="why (a proceeding, an inquiry); sealed")


class LiftLegalHold(ParticipantCommand):
    """Data-protection officer or auditor of the running agency: end a hold from today on."""

    hold_id: UUID = Field(description="from the path")


class RetentionRunIn(Command):
    """Body of ``POST /admin/retention``: run the retention task now for the caller's agency."""

    today: BusinessDate | None = Field(default=None, description="the day to erase for (drills); default: today")


class RetentionRuleAnswer(BaseModel):
    """What ``POST /retention/rules`` answers."""

    agency: str
    record_class: str
    project: str | None
    period_months: int
    changed: bool = Field(description="false when the rule was already in force (nothing appended)")
    version: int | None = Field(description="the rules stream's version")


class ParticipantAnswer(BaseModel):
    """What a participant command answers (some add fields, e.g. the new consent's id)."""

    model_config = ConfigDict(extra="allow")

    participant_id: UUID
    status: str = Field(description="the participant's status after the command")
    version: int | None = Field(description="the participant stream's version (If-Match of the next command)")


# ------------------------------------------------------------------ the staff directory


class StaffCommand(Command):
    """A command of the agency's administrator about one member of the agency's staff."""

    subject: Name = Field(min_length=1, max_length=200, description="the token subject (sub) of the member")


class StaffAssignment(BaseModel):
    roles: list[Role] = Field(min_length=1, max_length=len(Role), description="roles the member's tokens may carry")
    projects: list[Annotated[Name, Field(max_length=60)]] = Field(
        default_factory=list, max_length=10, description="projects the member works in"
    )


class RegisterStaffMember(StaffCommand, StaffAssignment):
    """Register a member of the administrator's agency (or register one again who left); the
    name is sealed under the member's own key."""

    name: Name = Field(min_length=1, max_length=200, description="full name (personal data, sealed)")
    registered_on: BusinessDate = Field(description="first day the member works for the agency here")


class ChangeStaffRoles(StaffCommand, StaffAssignment):
    """The member's whole set of roles and projects from ``changed_on`` on."""

    changed_on: BusinessDate = Field(description="day of the change")


class RecordStaffDeparture(StaffCommand):
    """The member left: from ``left_on`` on every service refuses their tokens."""

    left_on: BusinessDate = Field(description="first day the member no longer works for the agency")


class StaffAnswer(BaseModel):
    """What a staff command answers."""

    agency: str
    subject: str
    status: str = Field(description="active or left")
    version: int | None = Field(description="the member's stream version")
