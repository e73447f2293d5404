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


@participants.on("ParticipantEnrolled")
async def enrolled(conn: Conn, env: Envelope) -> None:
    e = ParticipantEnrolled.model_validate(env.payload)
    await conn.execute(
        "INSERT INTO known_participants (participant_id, agency, project, enrolled_on) VALUES ($1, $2, $3, $4)"
        " ON CONFLICT (participant_id) DO NOTHING",
        e.participant_id,
        e.agency,
        e.project,
        e.start_date,
    )
