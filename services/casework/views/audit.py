"""The health-data read log, for auditors and data-protection officers."""

from __future__ import annotations

from typing import Any, Unpack

from services.casework import access
from services.casework.views.common import HEALTH_READS, Reader
from shared.bus import Context
from shared.read_log import ReadFilter


async def health_reads(db: Reader, ctx: Context, **query: Unpack[ReadFilter]) -> dict[str, Any]:
    """Who read health data of which case and when (auditors and data-protection officers of
    the case's agency or of the reader's agency)."""
    access.require_auditor(ctx.principal)
    return await HEALTH_READS.reads(db.pool, ctx, **query)
