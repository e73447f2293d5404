"""Reads of reporting's own tables and event store, shaped for the pure KPI module."""

from __future__ import annotations

from datetime import datetime

import orjson

from services.reporting import domain
from services.reporting.kpis import Fact, Quarter
from shared.commands import load
from shared.contracts.reporting import KpiSnapshotComputed
from shared.db import Conn
from shared.eventstore import PostgresEventStore


async def facts(conn: Conn, recorded_by: datetime | None = None) -> list[Fact]:
    rows = await conn.fetch(
        "SELECT event_id::text AS id, event_type, recorded_at, participant_id::text AS pid, on_date, data::text AS data"
        " FROM facts WHERE ($1::timestamptz IS NULL OR recorded_at <= $1)",
        recorded_by,
    )
    return [
        Fact(r["id"], r["event_type"], r["recorded_at"], r["pid"], r["on_date"], orjson.loads(r["data"])) for r in rows
    ]


async def snapshot(store: PostgresEventStore, agency: str, quarter: Quarter) -> KpiSnapshotComputed | None:
    loaded = await load(store, domain.period, domain.period_stream(agency, quarter))
    return loaded.state.snapshot
