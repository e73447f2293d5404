"""The aggregates of intake (pure): the participant — its state in ``state``, its commands by
topic (``referral``, ``consents``, ``erasure``) —, the staff member in ``staff``, and an agency's
retention rules in ``retention``. No infrastructure."""

from __future__ import annotations

from services.intake.domain.consents import (
    consent_scope,
    expire_consents,
    grant_consent,
    record_objection,
    withdraw_consent,
    withdraw_objection,
)
from services.intake.domain.erasure import (
    erase,
    lift_hold,
    place_hold,
)
from services.intake.domain.referral import (
    age_band,
    age_on,
    check_eligibility,
    decline_enrolment,
    eligibility_reasons,
    enrol,
    hold_information_meeting,
    receive_referral,
    withdraw_referral,
)
from services.intake.domain.staff import (
    StaffMember,
    StaffStatus,
    change_staff_roles,
    evolve_staff,
    register_staff,
    staff_left,
    staff_member,
    staff_stream_id,
)
from services.intake.domain.state import (
    Consent,
    LegalHold,
    Objection,
    Participant,
    Status,
    evolve,
    participant,
    stream_id,
)
from services.intake.domain.transfer import follow_transfer

__all__ = [
    "Consent",
    "LegalHold",
    "Objection",
    "Participant",
    "StaffMember",
    "StaffStatus",
    "Status",
    "age_band",
    "age_on",
    "change_staff_roles",
    "check_eligibility",
    "consent_scope",
    "decline_enrolment",
    "eligibility_reasons",
    "enrol",
    "erase",
    "evolve",
    "evolve_staff",
    "expire_consents",
    "follow_transfer",
    "grant_consent",
    "hold_information_meeting",
    "lift_hold",
    "participant",
    "place_hold",
    "receive_referral",
    "record_objection",
    "register_staff",
    "staff_left",
    "staff_member",
    "staff_stream_id",
    "stream_id",
    "withdraw_consent",
    "withdraw_objection",
    "withdraw_referral",
]
