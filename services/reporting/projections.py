"""reporting's read models: everything here can be re-derived from the topics."""

from __future__ import annotations

from collections import Counter
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


@counts.on_batch(*_METRIC)
async def count(conn: Conn, envs: list[Envelope]) -> None:
    """Adds up a run of events in memory and applies one upsert per (agency, project, metric)."""
    totals: Counter[tuple[str, str, str]] = Counter()
    for env in envs:
        agency = env.payload.get("agency") or env.payload.get("source_agency") or env.agency
        project = env.payload.get("project") or env.project or "-"
        totals[(agency, project, _METRIC[env.event_type])] += 1
    await conn.execute(
        "INSERT INTO funnel_counts (agency, project, metric, count)"
        " SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::bigint[])"
        " ON CONFLICT (agency, project, metric) DO UPDATE SET count = funnel_counts.count + excluded.count",
        [k[0] for k in totals],
        [k[1] for k in totals],
        [k[2] for k in totals],
        list(totals.values()),
    )
