"""The health-data read log, for auditors and data-protection officers."""

from __future__ import annotations

from datetime import datetime
from typing import Any
from uuid import UUID

from services.casework import access
from services.casework.views.common import Reader
from shared.bus import Context

_HEALTH_READS = """
SELECT read_id, read_at, subject, role, agency, case_id AS participant_id, case_agency, what, correlation_id
FROM health_data_reads
WHERE (case_agency = $1 OR agency = $1)
  AND ($2::uuid IS NULL OR case_id = $2) AND ($3::text IS NULL OR subject = $3)
  AND ($4::timestamptz IS NULL OR read_at >= $4)
ORDER BY read_at DESC, id DESC LIMIT $5
"""


async def health_reads(
    db: Reader,
    ctx: Context,
    *,
    participant_id: UUID | None,
    subject: str | None,
    since: datetime | None,
    limit: int,
) -> dict[str, Any]:
    """Who read health data of which case and when (auditors and data-protection officers of
    the case's agency or of the reader's agency)."""
    access.require_auditor(ctx.principal)
    rows = await db.pool.fetch(_HEALTH_READS, ctx.principal.agency, participant_id, subject, since, limit)
    return {"count": len(rows), "reads": [dict(r) for r in rows]}
