"""casework's read models, built from its own topic."""

from __future__ import annotations

from pathlib import Path

from shared.contracts.casework import CaseOpened
from shared.db import Conn
from shared.envelope import Envelope
from shared.projections import Projection

cases = Projection(name="cases", sql=sorted((Path(__file__).parent / "projections").glob("*.sql")), topics=["casework"])


@cases.on("CaseOpened")
async def case_opened(conn: Conn, env: Envelope) -> None:
    e = CaseOpened.model_validate(env.payload)
    await conn.execute(
        "INSERT INTO cases (case_id, participant_id, agency, project, opened_on) VALUES ($1, $2, $3, $4, $5)"
        " ON CONFLICT (case_id) DO NOTHING",
        e.case_id,
        e.participant_id,
        e.agency,
        e.project,
        e.opened_on,
    )
