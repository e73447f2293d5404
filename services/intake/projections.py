"""intake's read models: from its own topic the participant register (lists per agency), the
consent index the expiry policy scans and the blind index of names (the search by name); the
retention records (with casework's exits) and legal holds the retention task and the DPO's list
read; from casework's, what enrolment needs of each project's configuration (``projects``).
Erasure deletes the person's rows."""

from __future__ import annotations

from pathlib import Path

from shared.consent import name_marks
from shared.contracts.casework import ParticipantExited, ProjectConfigured
from shared.contracts.intake import (
    ConsentExpired,
    ConsentGranted,
    ConsentWithdrawn,
    EligibilityChecked,
    EnrolmentDeclined,
    LegalHoldLifted,
    LegalHoldPlaced,
    ParticipantDataErased,
    ParticipantEnrolled,
    ParticipantTransferred,
    ReferralReceived,
    ReferralWithdrawn,
)
from shared.crypto import SubjectKeys
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

_INSERT_MARKS = """
INSERT INTO participant_name_marks (participant_id, mark) SELECT $1, unnest($2::text[]) ON CONFLICT DO NOTHING
"""
_HAS_KEYS = "SELECT to_regclass('keys.subject_keys') IS NOT NULL"
_keys = SubjectKeys()


@register.on(ReferralReceived)
async def referred(conn: Conn, rec: Recorded[ReferralReceived]) -> None:
    """The register's row and the name's blind index (the search by name)."""
    e = rec.payload
    await conn.execute(
        _INSERT_PARTICIPANT, e.participant_id, e.running_agency, e.source_agency, e.project, e.received_on
    )
    await conn.execute(_INSERT_MARKS, e.participant_id, await identity_marks(conn, e))


async def identity_marks(conn: Conn, e: ReferralReceived) -> list[str]:
    """The keyed digests of the first and last names' words, opened with the participant's key
    on the projection's own connection (nothing once the key is destroyed: an erased person
    stays unfindable after a rebuild)."""
    if not await conn.fetchval(_HAS_KEYS):  # a bare projection database (tests) holds no keys
        return []
    identity = await _keys.open(conn, str(e.participant_id), e.sealed_identity)
    if not isinstance(identity, dict):
        return []
    return sorted(set(name_marks(f"{identity.get('first_name', '')} {identity.get('last_name', '')}")))


statement(register, EligibilityChecked, _SET_ELIGIBLE, "participant_id", "eligible")
statement(register, ParticipantEnrolled, _ENROL, "participant_id", "start_date")
statement(register, EnrolmentDeclined, _DECLINE, "participant_id")
statement(register, ReferralWithdrawn, _WITHDRAW_REFERRAL, "participant_id")
_CONSENT = ("consent_id", "participant_id", "purpose.value", "scope", "granted_on", "expires_on")
statement(register, ConsentGranted, _INSERT_CONSENT, *_CONSENT)
statement(register, ConsentWithdrawn, _WITHDRAW_CONSENT, "consent_id", "effective_on")
statement(register, ConsentExpired, _EXPIRE_CONSENT, "consent_id", "expired_on")
# a case transfer: the participant is listed (and due for expiry runs) at the receiving agency
_TRANSFER = "UPDATE participants SET agency = $2 WHERE participant_id = $1"
statement(register, ParticipantTransferred, _TRANSFER, "participant_id", "to_agency")


@register.on(ParticipantDataErased)
async def erased(conn: Conn, rec: Recorded[ParticipantDataErased]) -> None:
    pid = rec.payload.participant_id
    await conn.execute("DELETE FROM participant_consents WHERE participant_id = $1", pid)
    await conn.execute("DELETE FROM participant_name_marks WHERE participant_id = $1", pid)
    await conn.execute("DELETE FROM participants WHERE participant_id = $1", pid)


# --- projects: casework owns the projects; enrolment asks whether one needs the information meeting

projects = Projection(name="projects", sql=migrations(__file__, "projections", "projects"), topics=["casework"])

_PROJECT_RULES = """
INSERT INTO project_rules (project, info_meeting_required, members) VALUES ($1, $2, $3)
ON CONFLICT (project) DO UPDATE SET info_meeting_required = excluded.info_meeting_required, members = excluded.members
"""


@projects.on(ProjectConfigured)
async def project_configured(conn: Conn, rec: Recorded[ProjectConfigured]) -> None:
    e = rec.payload
    await conn.execute(_PROJECT_RULES, e.project, e.info_meeting_required, [e.coordinating_agency, *e.partner_agencies])


retention = Projection(
    name="retention",
    sql=sorted((Path(__file__).parent / "sql" / "projections" / "retention").glob("*.sql")),
    topics=["intake", "casework"],
)

_INSERT_RECORD = """
INSERT INTO retention_records (participant_id, agency, project, status) VALUES ($1, $2, $3, 'referred')
ON CONFLICT (participant_id) DO NOTHING
"""
_END_RECORD = "UPDATE retention_records SET status = $2, ended_on = $3 WHERE participant_id = $1"
_EXITED = """
INSERT INTO retention_exits (participant_id, exited_on) VALUES ($1, $2)
ON CONFLICT (participant_id) DO UPDATE SET exited_on = excluded.exited_on
"""
_INSERT_HOLD = """
INSERT INTO legal_holds (hold_id, participant_id, placed_on, until, placed_by, sealed_reason)
VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (hold_id) DO NOTHING
"""
_FORGET_RETENTION = tuple(
    f"DELETE FROM {table} WHERE participant_id = $1"
    for table in ("legal_holds", "retention_exits", "retention_records")
)


@retention.on(ReferralReceived)
async def retention_referred(conn: Conn, rec: Recorded[ReferralReceived]) -> None:
    e = rec.payload
    await conn.execute(_INSERT_RECORD, e.participant_id, e.running_agency, e.project)


# the receiving agency's retention rules apply to a transferred participant's record
_TRANSFER_RECORD = "UPDATE retention_records SET agency = $2 WHERE participant_id = $1"
statement(retention, ParticipantTransferred, _TRANSFER_RECORD, "participant_id", "to_agency")


@retention.on(ParticipantEnrolled)
async def retention_enrolled(conn: Conn, rec: Recorded[ParticipantEnrolled]) -> None:
    await conn.execute(_END_RECORD, rec.payload.participant_id, "enrolled", None)


@retention.on(EnrolmentDeclined)
async def retention_declined(conn: Conn, rec: Recorded[EnrolmentDeclined]) -> None:
    await conn.execute(_END_RECORD, rec.payload.participant_id, "declined", rec.payload.declined_on)


@retention.on(ReferralWithdrawn)
async def retention_withdrawn(conn: Conn, rec: Recorded[ReferralWithdrawn]) -> None:
    await conn.execute(_END_RECORD, rec.payload.participant_id, "withdrawn", rec.payload.withdrawn_on)


@retention.on(ParticipantExited)
async def retention_exited(conn: Conn, rec: Recorded[ParticipantExited]) -> None:
    await conn.execute(_EXITED, rec.payload.participant_id, rec.payload.exited_on)


@retention.on(LegalHoldPlaced)
async def hold_placed(conn: Conn, rec: Recorded[LegalHoldPlaced]) -> None:
    e = rec.payload
    await conn.execute(_INSERT_HOLD, e.hold_id, e.participant_id, e.placed_on, e.until, rec.actor.id, e.sealed_reason)


@retention.on(LegalHoldLifted)
async def hold_lifted(conn: Conn, rec: Recorded[LegalHoldLifted]) -> None:
    await conn.execute(
        "UPDATE legal_holds SET lifted_on = $2 WHERE hold_id = $1", rec.payload.hold_id, rec.payload.lifted_on
    )


@retention.on(ParticipantDataErased)
async def retention_erased(conn: Conn, rec: Recorded[ParticipantDataErased]) -> None:
    pid = rec.payload.participant_id
    for forget in _FORGET_RETENTION:
        await conn.execute(forget, pid)
