"""intake's read models: from its own topic the participant register (lists per agency) and the
consent index the expiry policy scans (erasure deletes the person's rows); from casework's, what
enrolment needs of each project's configuration (``projects``)."""

from __future__ import annotations

from shared.contracts.casework import ProjectConfigured
from shared.contracts.intake import (
    ConsentExpired,
    ConsentGranted,
    ConsentWithdrawn,
    EligibilityChecked,
    EnrolmentDeclined,
    ParticipantDataErased,
    ParticipantEnrolled,
    ReferralReceived,
    ReferralWithdrawn,
)
from shared.db import Conn
from shared.projections import Projection
from shared.read_models import migrations, statement
from shared.recorded import Recorded

register = Projection(
    name="register",
    sql=migrations(__file__, "projections", "register"),
    topics=["intake"],
)

_INSERT_PARTICIPANT = """
INSERT INTO participants (participant_id, agency, source_agency, project, status, referred_on)
VALUES ($1, $2, $3, $4, 'referred', $5) ON CONFLICT (participant_id) DO NOTHING
"""
_SET_ELIGIBLE = "UPDATE participants SET eligible = $2 WHERE participant_id = $1"
_ENROL = "UPDATE participants SET status = 'enrolled', start_date = $2 WHERE participant_id = $1"
_DECLINE = "UPDATE participants SET status = 'declined' WHERE participant_id = $1"
_WITHDRAW_REFERRAL = "UPDATE participants SET status = 'withdrawn' WHERE participant_id = $1"
_INSERT_CONSENT = """
INSERT INTO participant_consents (consent_id, participant_id, purpose, scope, granted_on, expires_on)
VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (consent_id) DO NOTHING
"""
_WITHDRAW_CONSENT = "UPDATE participant_consents SET status = 'withdrawn', ended_on = $2 WHERE consent_id = $1"
_EXPIRE_CONSENT = "UPDATE participant_consents SET status = 'expired', ended_on = $2 WHERE consent_id = $1"

_REFERRAL = ("participant_id", "running_agency", "source_agency", "project", "received_on")
statement(register, ReferralReceived, _INSERT_PARTICIPANT, *_REFERRAL)
statement(register, EligibilityChecked, _SET_ELIGIBLE, "participant_id", "eligible")
statement(register, ParticipantEnrolled, _ENROL, "participant_id", "start_date")
statement(register, EnrolmentDeclined, _DECLINE, "participant_id")
statement(register, ReferralWithdrawn, _WITHDRAW_REFERRAL, "participant_id")
_CONSENT = ("consent_id", "participant_id", "purpose.value", "scope", "granted_on", "expires_on")
statement(register, ConsentGranted, _INSERT_CONSENT, *_CONSENT)
statement(register, ConsentWithdrawn, _WITHDRAW_CONSENT, "consent_id", "effective_on")
statement(register, ConsentExpired, _EXPIRE_CONSENT, "consent_id", "expired_on")


@register.on(ParticipantDataErased)
async def erased(conn: Conn, rec: Recorded[ParticipantDataErased]) -> None:
    pid = rec.payload.participant_id
    await conn.execute("DELETE FROM participant_consents WHERE participant_id = $1", pid)
    await conn.execute("DELETE FROM participants WHERE participant_id = $1", pid)


# --- projects: casework owns the projects; enrolment asks whether one needs the information meeting

projects = Projection(name="projects", sql=migrations(__file__, "projections", "projects"), topics=["casework"])

_PROJECT_RULES = """
INSERT INTO project_rules (project, info_meeting_required) VALUES ($1, $2)
ON CONFLICT (project) DO UPDATE SET info_meeting_required = excluded.info_meeting_required
"""
statement(projects, ProjectConfigured, _PROJECT_RULES, "project", "info_meeting_required")
