"""``rebuild`` and ``diff``: a projection replayed from the topics into a scratch database (by the
services' own runner, ``shared.rebuild.rebuild_from_kafka``), and compared row by row with a
live database. What the topics say must be what the service shows."""

from __future__ import annotations

import importlib
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

import asyncpg

from shared.migrations import _quote_ident
from shared.projections import Projection
from shared.rebuild import RebuildStats, rebuild_from_kafka
from shared.settings import ServiceSettings, load_settings

SERVICES = ("intake", "casework", "placement", "reporting")
# The runner's own bookkeeping, not the read model (offsets differ between two topics' copies).
TRACKING_TABLES = frozenset(
    {"schema_migrations", "projection_offsets", "projection_streams", "projection_gaps", "parked"}
)

_TABLES = """
SELECT table_name FROM information_schema.tables
WHERE table_schema = $1 AND table_type = 'BASE TABLE' ORDER BY table_name
"""
_ROWS = "SELECT to_jsonb(t)::text AS row FROM {table} AS t"
_CONNECTION = ("kafka_security_protocol", "kafka_sasl_mechanism", "kafka_sasl_username", "kafka_sasl_password",
               "kafka_ssl_cafile")  # fmt: skip


def projections() -> dict[str, tuple[str, Projection]]:
    """``service.projection`` -> (service, projection), the policies left out (they append events)."""
    found: dict[str, tuple[str, Projection]] = {}
    for service in SERVICES:
        definition = importlib.import_module(f"services.{service}.app").definition
        for p in definition.projections:
            if not p.side_effects:
                found[f"{service}.{p.name}"] = (service, p)
    return found


def find_projection(name: str) -> tuple[str, Projection]:
    known = projections()
    if name not in known:
        raise LookupError(f"unknown projection {name}; known: {', '.join(sorted(known))}")
    return known[name]


def scratch_settings(
    service: str, database_url: str, bootstrap: str, topic_prefix: str = "", topics: dict[str, str] | None = None
) -> ServiceSettings:
    """The service's settings pointed at a scratch database and at the auditor's topics
    (``topics``: source service -> topic, e.g. a mirrored ``en.intake.events``)."""
    overrides: dict[str, object] = {f"topic_{source}": topic for source, topic in (topics or {}).items()}
    auditor = load_settings("audit")  # the auditor's own Kafka account, as ``verify`` connects
    overrides |= {name: getattr(auditor, name) for name in _CONNECTION}
    return load_settings(
        service, database_url=database_url, kafka_bootstrap=bootstrap, topic_prefix=topic_prefix, **overrides
    )


async def rebuild_into(settings: ServiceSettings, projection: Projection) -> RebuildStats:
    """Replay every topic the projection reads, from offset 0, into its schema in the scratch
    database (dropped first), exactly as the live runner applies batches."""
    return await rebuild_from_kafka(settings, projection, settings.schema_for(projection.name))


@dataclass
class TableDiff:
    table: str
    only_live: int = 0
    only_rebuilt: int = 0
    samples: list[dict[str, Any]] = field(default_factory=list)

    @property
    def equal(self) -> bool:
        return self.only_live == 0 and self.only_rebuilt == 0


async def _rows(conn: asyncpg.Connection, schema: str, table: str) -> Counter[str]:
    query = _ROWS.format(table=f"{_quote_ident(schema)}.{_quote_ident(table)}")
    return Counter(r["row"] for r in await conn.fetch(query))


async def _tables(conn: asyncpg.Connection, schema: str) -> set[str]:
    return {r["table_name"] for r in await conn.fetch(_TABLES, schema)} - TRACKING_TABLES


async def diff(live_url: str, rebuilt_url: str, schema: str, samples: int = 3) -> list[TableDiff]:
    """Per table of the projection's schema, the rows found on one side only (as multisets:
    a row twice on one side and once on the other counts once)."""
    live, rebuilt = await asyncpg.connect(live_url), await asyncpg.connect(rebuilt_url)
    try:
        in_live, in_rebuilt = await _tables(live, schema), await _tables(rebuilt, schema)
        out = []
        for table in sorted(in_live | in_rebuilt):
            a = await _rows(live, schema, table) if table in in_live else Counter[str]()
            b = await _rows(rebuilt, schema, table) if table in in_rebuilt else Counter[str]()
            only_a, only_b = a - b, b - a
            found = TableDiff(table, sum(only_a.values()), sum(only_b.values()))
            found.samples = [{"only_live": r} for r in list(only_a)[:samples]]
            found.samples += [{"only_rebuilt": r} for r in list(only_b)[:samples]]
            out.append(found)
        return out
    finally:
        await live.close()
        await rebuilt.close()
