"""intake's read models, built from its own topic: the participant register (lists per agency)
and the consent index the expiry task scans. Erasure deletes the person's rows."""

from __future__ import annotations

from pathlib import Path

from shared.contracts.intake import (
    ConsentExpired,
    ConsentGranted,
    ConsentWithdrawn,
    EligibilityChecked,
    ParticipantEnrolled,
    ReferralReceived,
)
from shared.db import Conn
from shared.envelope import Envelope
from shared.projections import Projection

register = Projection(
    name="register", sql=sorted((Path(__file__).parent / "projections").glob("*.sql")), topics=["intake"]
)

_STATUS = {"EnrolmentDeclined": "declined", "ReferralWithdrawn": "withdrawn"}


@register.on("ReferralReceived")
async def referred(conn: Conn, env: Envelope) -> None:
    e = ReferralReceived.model_validate(env.payload)
    await conn.execute(
        "INSERT INTO participants (participant_id, agency, source_agency, project, status, referred_on)"
        " VALUES ($1, $2, $3, $4, 'referred', $5) ON CONFLICT (participant_id) DO NOTHING",
        e.participant_id,
        e.agency or e.source_agency,
        e.source_agency,
        e.project,
        e.received_on,
    )


@register.on("EligibilityChecked")
async def checked(conn: Conn, env: Envelope) -> None:
    e = EligibilityChecked.model_validate(env.payload)
    await conn.execute("UPDATE participants SET eligible = $2 WHERE participant_id = $1", e.participant_id, e.eligible)


@register.on("ParticipantEnrolled")
async def enrolled(conn: Conn, env: Envelope) -> None:
    e = ParticipantEnrolled.model_validate(env.payload)
    await conn.execute(
        "UPDATE participants SET status = 'enrolled', start_date = $2 WHERE participant_id = $1",
        e.participant_id,
        e.start_date,
    )


@register.on(*_STATUS)
async def closed(conn: Conn, env: Envelope) -> None:
    await conn.execute(
        "UPDATE participants SET status = $2 WHERE participant_id = $1",
        env.payload["participant_id"],
        _STATUS[env.event_type],
    )


@register.on("ConsentGranted")
async def granted(conn: Conn, env: Envelope) -> None:
    e = ConsentGranted.model_validate(env.payload)
    await conn.execute(
        "INSERT INTO participant_consents (consent_id, participant_id, purpose, scope, granted_on, expires_on)"
        " VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (consent_id) DO NOTHING",
        e.consent_id,
        e.participant_id,
        e.purpose.value,
        e.scope,
        e.granted_on,
        e.expires_on,
    )


@register.on("ConsentWithdrawn")
async def withdrawn(conn: Conn, env: Envelope) -> None:
    e = ConsentWithdrawn.model_validate(env.payload)
    await conn.execute(
        "UPDATE participant_consents SET status = 'withdrawn', ended_on = $2 WHERE consent_id = $1",
        e.consent_id,
        e.effective_on,
    )


@register.on("ConsentExpired")
async def expired(conn: Conn, env: Envelope) -> None:
    e = ConsentExpired.model_validate(env.payload)
    await conn.execute(
        "UPDATE participant_consents SET status = 'expired', ended_on = $2 WHERE consent_id = $1",
        e.consent_id,
        e.expired_on,
    )


@register.on("ParticipantDataErased")
async def erased(conn: Conn, env: Envelope) -> None:
    pid = env.payload["participant_id"]
    await conn.execute("DELETE FROM participant_consents WHERE participant_id = $1", pid)
    await conn.execute("DELETE FROM participants WHERE participant_id = $1", pid)
