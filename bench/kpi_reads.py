"""``python -m bench.kpi_reads [participants...]``: how long a KPI request takes, and where the
time goes, with the facts table at a given size.

The history is the reporting scenario's ten journeys (tests/reporting_scenario.py) copied under
fresh participant ids until the size asked for (ten participants per copy), written straight
into a scratch database's facts table (the rows the projection would write), and the journeys
folded from them as a rebuild's last step does (``projections.refold_all``). A request is
``views.reports`` for jc-en over the scenario's year, as the KPI routes call it: of the present
(the maintained journeys) and ``as_of`` a time after every fact (the facts path: the same
figures). Its phases are timed apart: reading the journeys; what a quarter's close and the
monitoring export read (``Reads.standing``: the journeys and the facts' count); the facts
query, decoding, the fold into journeys (what those two read before); the figures. No quarter
is closed (no snapshot read).
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import time
import uuid
from collections.abc import Awaitable, Callable
from datetime import UTC, date, datetime, timedelta
from typing import Any, cast

import asyncpg
import orjson

from bench.stack import create_databases, db_url, drop_databases
from services.reporting.domain import journey, kpis
from services.reporting.domain.periods import Quarter
from services.reporting.projections import KEPT, facts, participant_of, plans, reduce, refold_all
from services.reporting.views import Ask, Reads, reports
from services.reporting.views.reports import _FACTS
from shared.bus import Context
from shared.contracts.reporting import KpiSnapshotComputed
from shared.principal import Principal
from shared.runtime import Runtime
from shared.vocabulary import Role
from tests import reporting_scenario as sc

NS = uuid.UUID("5a1f0d52-3a43-4c1e-8a77-0d3e6f5b9c21")
T0 = datetime(2025, 1, 1, tzinfo=UTC)
LEAD = Principal("lead-jc-en", Role.PROJECT_LEAD, "jc-en")
TODAY = date(2026, 1, 15)
_COPY = (
    "facts",
    ["event_id", "event_type", "recorded_at", "participant_id", "on_date", "data"],
)


def rows(participants: int) -> list[tuple[Any, ...]]:
    """The scenario's facts, one copy per ten participants, each copy under its own ids."""
    kept = [s for s in sc.STEPS if type(s.event) in KEPT]
    out: list[tuple[Any, ...]] = []
    for copy in range(max(1, participants // 10)):
        for n, step in enumerate(kept):
            on, data = reduce(step.event)
            pid = uuid.uuid5(NS, f"{copy}:{participant_of(step.event)}")
            stamp = T0 + timedelta(seconds=copy * len(kept) + n)
            out.append((uuid.uuid4(), step.event.event_type, stamp, pid, on, orjson.dumps(data).decode()))
    return out


class Pooled:
    """What ``Reads`` needs of a runtime: the pool."""

    def __init__(self, pool: asyncpg.Pool) -> None:
        self.pool = pool
        self.consumers: list[Any] = []


class OpenReads(Reads):
    """Reads without reporting's event store: every quarter is open."""

    async def snapshot(self, agency: str, quarter: Quarter) -> KpiSnapshotComputed | None:
        return None


async def _timed(fn: Callable[[], Awaitable[Any]], repeat: int) -> list[float]:
    out = []
    for _ in range(repeat):
        t = time.perf_counter()
        await fn()
        out.append((time.perf_counter() - t) * 1000)
    return out


def _summary(ms: list[float]) -> dict[str, float]:
    ordered = sorted(ms)
    p95 = ordered[min(len(ordered) - 1, round(0.95 * (len(ordered) - 1)))]
    return {"p50_ms": round(statistics.median(ordered), 1), "p95_ms": round(p95, 1)}


async def measure(pool: asyncpg.Pool, repeat: int, period: str = "2025") -> dict[str, Any]:
    """A whole KPI request (p50/p95) and, once, its phases."""
    reads = OpenReads(cast("Runtime", Pooled(pool)))
    ctx = Context(principal=LEAD, today=TODAY)
    ask = Ask(period=period)
    whole = await _timed(lambda: reports(reads, ctx, ask), repeat)
    past = Ask(period=period, as_of=datetime(TODAY.year, TODAY.month, TODAY.day, tzinfo=UTC))
    of_facts = await _timed(lambda: reports(reads, ctx, past), repeat)
    raw = await pool.fetch("SELECT count(*) AS n FROM facts")
    t_journeys = time.perf_counter()
    maintained = await reads.journeys()
    t_read = time.perf_counter()
    standing, _ = await reads.standing()  # a quarter's close, the monitoring export
    t_standing = time.perf_counter()
    assert list(standing.items()) == list(maintained.items())
    t_count = time.perf_counter()
    await pool.fetch(_FACTS, None)
    t_query = time.perf_counter()
    decoded = await reads.facts()
    t_fetch = time.perf_counter()
    journeys = journey.build_participants(decoded)
    t_fold = time.perf_counter()
    assert list(maintained.items()) == list(journeys.items())
    for q in kpis.quarters(period, decoded):
        kpis.protected_report(journeys, q, LEAD.agency, rules=reads.rules)
    t_figs = time.perf_counter()
    return {
        "facts_rows": raw[0]["n"],
        "rows_read_per_request": len(decoded),
        "journeys": len(journeys),
        "request": _summary(whole),
        "request_as_of": _summary(of_facts),
        "phases_ms": {
            "journeys_read": round((t_read - t_journeys) * 1000, 1),
            "close_or_export_read": round((t_standing - t_read) * 1000, 1),
            "query_only": round((t_query - t_count) * 1000, 1),
            "query_and_decode": round((t_fetch - t_query) * 1000, 1),
            "fold_into_journeys": round((t_fold - t_fetch) * 1000, 1),
            "figures_4_quarters": round((t_figs - t_fold) * 1000, 1),
        },
    }


async def run(participants: int, repeat: int) -> dict[str, Any]:
    name = f"bench_kpi_{uuid.uuid4().hex[:8]}"
    await create_databases([name])
    try:
        pool = await asyncpg.create_pool(db_url(name), min_size=1, max_size=2)
        try:
            async with pool.acquire() as conn:
                for path in [*facts.sql, *plans.sql]:  # plans: the projects' members (none: the closed list)
                    await conn.execute(path.read_text())
                table, cols = _COPY
                await conn.copy_records_to_table(table, records=rows(participants), columns=cols)
                await conn.execute("ANALYZE facts")
                await refold_all(conn)
                await conn.execute("ANALYZE journeys")
            return {"participants": participants, **await measure(pool, repeat)}
        finally:
            await pool.close()
    finally:
        await drop_databases([name])


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(prog="python -m bench.kpi_reads", description=__doc__)
    p.add_argument("participants", nargs="*", type=int, default=[10, 2_000, 20_000])
    p.add_argument("--repeat", type=int, default=20, help="requests timed per size")
    args = p.parse_args(argv)
    for n in args.participants:
        print(orjson.dumps(asyncio.run(run(n, args.repeat))).decode())


if __name__ == "__main__":
    main()
