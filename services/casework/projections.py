"""casework's read models, built from its own topic."""

from __future__ import annotations

from pathlib import Path

from shared.contracts.casework import CaseOpened
from shared.db import Conn
from shared.envelope import Envelope
from shared.projections import Projection

cases = Projection(name="cases", sql=sorted((Path(__file__).parent / "projections").glob("*.sql")), topics=["casework"])


@cases.on_batch("CaseOpened")
async def case_opened(conn: Conn, envs: list[Envelope]) -> None:
    """One INSERT for a run of openings (replays apply thousands per batch)."""
    opened = [CaseOpened.model_validate(env.payload) for env in envs]
    await conn.execute(
        "INSERT INTO cases (case_id, participant_id, agency, project, opened_on)"
        " SELECT * FROM unnest($1::uuid[], $2::uuid[], $3::text[], $4::text[], $5::date[])"
        " ON CONFLICT (case_id) DO NOTHING",
        [e.case_id for e in opened],
        [e.participant_id for e in opened],
        [e.agency for e in opened],
        [e.project for e in opened],
        [e.opened_on for e in opened],
    )
