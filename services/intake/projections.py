"""intake's read models, built from its own topic: the participant register (lists per agency)
and the consent index the expiry policy scans. Erasure deletes the person's rows."""

from __future__ import annotations

from pathlib import Path

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
from shared.recorded import Recorded

register = Projection(
    name="register",
    sql=sorted((Path(__file__).parent / "sql" / "projections" / "register").glob("*.sql")),
    topics=["intake"],
)

_INSERT_PARTICIPANT = """
INSERT INTO participants (participant_id, agency, source_agency, project, status, referred_on)
VALUES ($1, $2, $3, $4, 'referred', $5) ON CONFLICT (participant_id) DO NOTHING
"""
_SET_STATUS = "UPDATE participants SET status = $2 WHERE participant_id = $1"
_INSERT_CONSENT = """
INSERT INTO participant_consents (consent_id, participant_id, purpose, scope, granted_on, expires_on)
VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (consent_id) DO NOTHING
"""
_END_CONSENT = "UPDATE participant_consents SET status = $2, ended_on = $3 WHERE consent_id = $1"


@register.on(ReferralReceived)
async def referred(conn: Conn, rec: Recorded[ReferralReceived]) -> None:
    e = rec.payload
    await conn.execute(
        _INSERT_PARTICIPANT, e.participant_id, e.running_agency, e.source_agency, e.project, e.received_on
    )


@register.on(EligibilityChecked)
async def checked(conn: Conn, rec: Recorded[EligibilityChecked]) -> None:
    e = rec.payload
    await conn.execute("UPDATE participants SET eligible = $2 WHERE participant_id = $1", e.participant_id, e.eligible)


@register.on(ParticipantEnrolled)
async def enrolled(conn: Conn, rec: Recorded[ParticipantEnrolled]) -> None:
    e = rec.payload
    await conn.execute(
        "UPDATE participants SET status = 'enrolled', start_date = $2 WHERE participant_id = $1",
        e.participant_id,
        e.start_date,
    )


@register.on(EnrolmentDeclined)
async def declined(conn: Conn, rec: Recorded[EnrolmentDeclined]) -> None:
    await conn.execute(_SET_STATUS, rec.payload.participant_id, "declined")


@register.on(ReferralWithdrawn)
async def referral_withdrawn(conn: Conn, rec: Recorded[ReferralWithdrawn]) -> None:
    await conn.execute(_SET_STATUS, rec.payload.participant_id, "withdrawn")


@register.on(ConsentGranted)
async def granted(conn: Conn, rec: Recorded[ConsentGranted]) -> None:
    e = rec.payload
    await conn.execute(
        _INSERT_CONSENT, e.consent_id, e.participant_id, e.purpose.value, e.scope, e.granted_on, e.expires_on
    )


@register.on(ConsentWithdrawn)
async def withdrawn(conn: Conn, rec: Recorded[ConsentWithdrawn]) -> None:
    await conn.execute(_END_CONSENT, rec.payload.consent_id, "withdrawn", rec.payload.effective_on)


@register.on(ConsentExpired)
async def expired(conn: Conn, rec: Recorded[ConsentExpired]) -> None:
    await conn.execute(_END_CONSENT, rec.payload.consent_id, "expired", rec.payload.expired_on)


@register.on(ParticipantDataErased)
async def erased(conn: Conn, rec: Recorded[ParticipantDataErased]) -> None:
    pid = rec.payload.participant_id
    await conn.execute("DELETE FROM participant_consents WHERE participant_id = $1", pid)
    await conn.execute("DELETE FROM participants WHERE participant_id = $1", pid)
