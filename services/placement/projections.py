"""placement's read models."""

from __future__ import annotations

from pathlib import Path

from shared.contracts.intake import ParticipantEnrolled
from shared.db import Conn
from shared.envelope import Envelope
from shared.projections import Projection

participants = Projection(
    name="participants", sql=sorted((Path(__file__).parent / "projections").glob("*.sql")), topics=["intake"]
)


@participants.on_batch("ParticipantEnrolled")
async def enrolled(conn: Conn, envs: list[Envelope]) -> None:
    """One INSERT for a run of enrolments."""
    events = [ParticipantEnrolled.model_validate(env.payload) for env in envs]
    await conn.execute(
        "INSERT INTO known_participants (participant_id, agency, project, enrolled_on)"
        " SELECT * FROM unnest($1::uuid[], $2::text[], $3::text[], $4::date[])"
        " ON CONFLICT (participant_id) DO NOTHING",
        [e.participant_id for e in events],
        [e.agency for e in events],
        [e.project for e in events],
        [e.start_date for e in events],
    )
