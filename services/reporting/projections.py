"""reporting's read models: everything here can be re-derived from the topics."""

from __future__ import annotations

from pathlib import Path

from shared.db import Conn
from shared.envelope import Envelope
from shared.projections import Projection

counts = Projection(
    name="counts",
    sql=sorted((Path(__file__).parent / "projections").glob("*.sql")),
    topics=["intake", "casework"],
)

_METRIC = {"ReferralReceived": "referrals", "ParticipantEnrolled": "enrolments", "CaseOpened": "open_cases"}


async def _bump(conn: Conn, agency: str, project: str, metric: str) -> None:
    await conn.execute(
        "INSERT INTO funnel_counts (agency, project, metric, count) VALUES ($1, $2, $3, 1)"
        " ON CONFLICT (agency, project, metric) DO UPDATE SET count = funnel_counts.count + 1",
        agency,
        project,
        metric,
    )


@counts.on(*_METRIC)
async def count(conn: Conn, env: Envelope) -> None:
    agency = env.payload.get("agency") or env.payload.get("source_agency") or env.agency
    project = env.payload.get("project") or env.project or "-"
    await _bump(conn, agency, project, _METRIC[env.event_type])
