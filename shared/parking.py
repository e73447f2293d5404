"""Parked records as an operator sees them: list, show, skip (audited in the service's own
event store). Retrying goes through the runner (``ProjectionRunner.retry``), so a re-driven
record passes exactly the checks and handlers a consumed one does."""

from __future__ import annotations

import base64
from typing import Any

from shared.contracts.platform import ParkedRecordSkipped
from shared.domain import NotFound
from shared.envelope import Actor, new_id
from shared.eventstore import CommandContext, PostgresEventStore
from shared.migrations import _quote_ident
from shared.projections import ProjectionRunner

_LIST = """
SELECT id, projection, topic, partition, "offset", stream_id, event_id, reason, state, parked_at, error
FROM {schema}.parked WHERE projection = $1 AND ($2 OR state = 'parked') ORDER BY topic, partition, "offset"
"""
_SHOW = "SELECT *, record FROM {schema}.parked WHERE projection = $1 AND id = $2"
_MARK_SKIPPED = """
UPDATE {schema}.parked SET state = 'skipped' WHERE projection = $1 AND id = $2 AND state = 'parked'
RETURNING topic, partition, "offset", stream_id, event_id, reason
"""


def _jsonable(row: Any) -> dict[str, object]:
    out: dict[str, object] = {}
    for key, value in dict(row).items():
        if isinstance(value, bytes):
            try:
                out[key] = value.decode("utf-8")
            except UnicodeDecodeError:
                out[key + "_base64"] = base64.b64encode(value).decode()
        elif value is None or isinstance(value, int | str | bool):
            out[key] = value
        else:
            out[key] = str(value)
    return out


async def list_parked(runner: ProjectionRunner, *, everything: bool = False) -> list[dict[str, object]]:
    """Parked records of one projection (also those already retried or skipped, if asked)."""
    async with runner.pool.acquire() as conn:
        rows = await conn.fetch(_LIST.format(schema=_quote_ident(runner.schema)), runner.projection.name, everything)
    return [_jsonable(r) for r in rows]


async def show_parked(runner: ProjectionRunner, parked_id: int) -> dict[str, object]:
    async with runner.pool.acquire() as conn:
        row = await conn.fetchrow(_SHOW.format(schema=_quote_ident(runner.schema)), runner.projection.name, parked_id)
    if row is None:
        raise NotFound(f"no parked record {parked_id} in {runner.projection.name}")
    return _jsonable(row)


async def skip_parked(
    runner: ProjectionRunner, store: PostgresEventStore, parked_id: int, *, reason: str, actor: Actor, agency: str
) -> ParkedRecordSkipped:
    """Mark a parked record skipped and append the decision to the service's own event store,
    in one transaction: no skip without its audit record."""
    schema = _quote_ident(runner.schema)
    async with runner.pool.acquire() as conn, conn.transaction():
        row = await conn.fetchrow(_MARK_SKIPPED.format(schema=schema), runner.projection.name, parked_id)
        if row is None:
            raise NotFound(f"no parked record {parked_id} still parked in {runner.projection.name}")
        skipped = ParkedRecordSkipped(
            projection=runner.projection.name, topic=row["topic"], partition=row["partition"], offset=row["offset"],
            parked_reason=row["reason"], stream_id=row["stream_id"],
            event_id=str(row["event_id"]) if row["event_id"] else None, reason=reason,
        )  # fmt: skip
        context = CommandContext(actor=actor, agency=agency, project=None, correlation_id=new_id())
        await store.append(
            conn, stream_id=f"parked-{runner.projection.name}-{parked_id}", stream_type="parked-record",
            expected_version=0, events=[skipped], context=context,
        )  # fmt: skip
    return skipped
