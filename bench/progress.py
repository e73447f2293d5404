"""Where the system is: which projections read which topic, whether everything is published and
applied ("caught up"), and when one write is reflected everywhere it is read (e2e latency).

Only the platform's own tracking tables are used — ``events`` / ``relay_checkpoint`` (outbox)
and ``proj_<name>.projection_offsets`` / ``projection_streams`` (consumers), found through
``information_schema`` in each service's database — never a service's domain tables, so the
bench keeps working while the services' read models change.

E2e: a write to stream S of service X is *reflected* once every projection that reads X's topic
(in any service, side-effect policies included) has S at least at the written version.
Statement-level triggers, installed only in the bench's databases, send each projection
batch's (stream, version) pairs with ``NOTIFY`` at commit; the tracker listens and never
queries. The added cost is a few notifications per batch, not queries per write.
Latency runs from the *intended* send time (open loop), so a generator that falls behind
cannot hide queueing (no coordinated omission).
"""

from __future__ import annotations

import asyncio
import importlib
import time
from collections.abc import Callable
from dataclasses import dataclass, field

import asyncpg
from aiokafka import AIOKafkaConsumer, TopicPartition

from bench.stack import KAFKA, Services
from shared.migrations import _quote_ident

CHANNEL = "bench_applied"


@dataclass(frozen=True)
class Target:
    """One projection (of one service) and the services whose topics it reads."""

    service: str
    schema: str
    projection: str
    reads: frozenset[str]


async def discover(services: Services) -> list[Target]:
    """Every projection with tracking tables in a service's database, and what it reads.

    The schemas come from ``information_schema``; which topics each one reads comes from the
    service's definition (code), so a projection that has not seen a message yet still counts."""
    out: list[Target] = []
    for name, svc in services.running.items():
        definition = importlib.import_module(f"services.{name}.app").definition
        reads = {f"proj_{p.name}": (p.name, frozenset(p.topics)) for p in definition.projections}
        conn = await asyncpg.connect(svc.database_url)
        try:
            schemas = await conn.fetch(
                "SELECT table_schema FROM information_schema.tables"
                " WHERE table_name = 'projection_streams' AND table_schema LIKE 'proj\\_%'"
            )
        finally:
            await conn.close()
        for row in schemas:
            schema = row["table_schema"]
            if schema in reads:
                projection, topics = reads[schema]
                out.append(Target(name, schema, projection, topics))
    return out


@dataclass
class _Waiting:
    version: int
    t0: float
    sink: list[float]
    then: Callable[[], None] | None
    missing: set[Target] = field(default_factory=set)


# Statement-level triggers with a transition table: each projection batch that writes
# ``projection_streams`` notifies the (stream, version) pairs it wrote, in chunks that stay well
# under NOTIFY's 8,000-byte payload limit. The tracker never queries the services' databases.
# Its own search_path: its plans then stay valid whatever search_path the writing statement ran
# under (a shared batch's positions write runs under the last part's; otherwise PostgreSQL plans
# the trigger's query again on every batch, a cost of the instrument, not of the system).
_NOTIFY_FUNCTION = f"""
CREATE OR REPLACE FUNCTION public.bench_notify_applied() RETURNS trigger LANGUAGE plpgsql
SET search_path = pg_catalog AS $$
DECLARE chunk text;
BEGIN
    FOR chunk IN
        SELECT string_agg(stream_id || ' ' || version, ',')
        FROM (SELECT stream_id, version, (row_number() OVER ()) / 80 AS g FROM bench_rows) AS r GROUP BY g
    LOOP
        PERFORM pg_notify('{CHANNEL}', TG_TABLE_SCHEMA || ';' || extract(epoch FROM clock_timestamp()) || ';' || chunk);
    END LOOP;
    RETURN NULL;
END $$"""


class Tracker:
    """Times from intended send until every reader of the written topic reflects a write.

    Pushed, not polled: the bench's triggers send every projection batch's (stream, version)
    pairs at commit, so the measurement adds no queries to the databases it measures (an
    earlier polling tracker spent more PostgreSQL time than the services did)."""

    def __init__(self, services: Services) -> None:
        self.services = services
        self.targets: list[Target] = []
        self.pending: dict[str, list[_Waiting]] = {}
        self._seen: dict[tuple[Target, str], int] = {}
        self._by_schema: dict[tuple[str, str], Target] = {}
        self._conns: dict[str, asyncpg.Connection] = {}
        self.notify_ms: list[float] = []  # per notification: trigger -> tracker (commit included)

    async def start(self) -> None:
        self.targets = await discover(self.services)
        self._by_schema = {(t.service, t.schema): t for t in self.targets}
        for name in {t.service for t in self.targets}:
            conn = await asyncpg.connect(self.services.running[name].database_url)
            await conn.execute(_NOTIFY_FUNCTION)
            for t in self.targets:
                if t.service == name:
                    q = _quote_ident(t.schema)
                    for op in ("insert", "update"):
                        await conn.execute(
                            f"""DROP TRIGGER IF EXISTS bench_applied_{op} ON {q}.projection_streams;
                            CREATE TRIGGER bench_applied_{op} AFTER {op} ON {q}.projection_streams
                                REFERENCING NEW TABLE AS bench_rows
                                FOR EACH STATEMENT EXECUTE FUNCTION public.bench_notify_applied()"""
                        )
            await conn.add_listener(CHANNEL, lambda _c, _p, _ch, payload, svc=name: self._applied(svc, payload))
            self._conns[name] = conn

    def expect(
        self, service: str, stream: str, version: int, t0: float, sink: list[float], then: Callable[[], None] | None
    ) -> None:
        readers = {t for t in self.targets if service in t.reads}
        waiting = _Waiting(version, t0, sink, then, readers)
        # A fast projection may have applied the write before its HTTP response was handled.
        waiting.missing = {t for t in readers if self._seen.get((t, stream), 0) < version}
        if waiting.missing:
            self.pending.setdefault(stream, []).append(waiting)
        else:
            self._reflected(waiting, time.perf_counter())

    def _applied(self, service: str, payload: str) -> None:
        now = time.perf_counter()
        schema, _, rest = payload.partition(";")
        sent_at, _, pairs = rest.partition(";")
        target = self._by_schema.get((service, schema))
        if target is None or not pairs:
            return
        # the notify hop: the batch's last statement (its trigger) until this callback runs
        self.notify_ms.append(max(0.0, (time.time() - float(sent_at)) * 1000))
        for pair in pairs.split(","):
            stream, _, v = pair.rpartition(" ")
            version = int(v)
            key = (target, stream)
            if version > self._seen.get(key, 0):
                self._seen[key] = version
            waiting = self.pending.get(stream)
            if not waiting:
                continue
            for w in waiting:
                if w.version <= version:
                    w.missing.discard(target)
            done = [w for w in waiting if not w.missing]
            for w in done:
                waiting.remove(w)
                self._reflected(w, now)
            if not waiting:
                del self.pending[stream]

    @staticmethod
    def _reflected(w: _Waiting, now: float) -> None:
        w.sink.append((now - w.t0) * 1000)
        if w.then is not None:
            w.then()

    async def drain(self, timeout: float = 120.0) -> None:
        deadline = time.monotonic() + timeout
        while self.pending and time.monotonic() < deadline:
            await asyncio.sleep(0.02)

    async def stop(self) -> None:
        for conn in self._conns.values():
            await conn.close()


class Progress:
    """ "Caught up": every service's outbox published and every projection at its topics' end."""

    def __init__(self, services: Services, targets: list[Target]) -> None:
        self.services = services
        self.targets = targets
        self.consumer: AIOKafkaConsumer | None = None
        self.partitions: dict[str, list[TopicPartition]] = {}
        self.conns: dict[str, asyncpg.Connection] = {}

    async def start(self) -> None:
        for name, svc in self.services.running.items():
            self.conns[name] = await asyncpg.connect(svc.database_url)
        self.consumer = AIOKafkaConsumer(bootstrap_servers=KAFKA, group_id=None, enable_auto_commit=False)
        await self.consumer.start()
        for name in self.services.running:
            topic = self.topic(name)
            parts = self.consumer.partitions_for_topic(topic)
            if not parts:
                await self.consumer._client.force_metadata_update()
                parts = self.consumer.partitions_for_topic(topic) or set()
            self.partitions[name] = [TopicPartition(topic, p) for p in sorted(parts)]

    def topic(self, service: str) -> str:
        return f"{self.services.prefix}{service}.events"

    async def stop(self) -> None:
        if self.consumer is not None:
            await self.consumer.stop()
        for conn in self.conns.values():
            await conn.close()

    async def unpublished(self) -> dict[str, int]:
        """Events in each service's store after its relay checkpoint (publish order)."""
        out: dict[str, int] = {}
        for name, conn in self.conns.items():
            row = await conn.fetchrow(
                "SELECT last_xid::text AS x, last_position AS p FROM relay_checkpoint WHERE topic = $1",
                self.topic(name),
            )
            x, p = (row["x"], row["p"]) if row else ("0", 0)
            out[name] = int(
                await conn.fetchval("SELECT count(*) FROM events WHERE (xid, position) > ($1::text::xid8, $2)", x, p)
            )
        return out

    async def ends(self) -> dict[tuple[str, int], int]:
        assert self.consumer is not None
        parts = [tp for tps in self.partitions.values() for tp in tps]
        got = await self.consumer.end_offsets(parts)
        return {(tp.topic, tp.partition): off for tp, off in got.items()}

    async def _offsets(self, t: Target) -> dict[tuple[str, int], int]:
        rows = await self.conns[t.service].fetch(
            f"SELECT topic, partition, next_offset FROM {_quote_ident(t.schema)}.projection_offsets"
            " WHERE projection = $1",
            t.projection,
        )
        return {(r["topic"], r["partition"]): r["next_offset"] for r in rows}

    async def behind(self, ends: dict[tuple[str, int], int]) -> dict[str, int]:
        """Messages each projection still has to apply (its offsets vs the topics' ends)."""
        out: dict[str, int] = {}
        for t in self.targets:
            done = await self._offsets(t)
            topics = {self.topic(s) for s in t.reads}
            out[f"{t.service}.{t.projection}"] = sum(
                end - done.get(key, 0) for key, end in ends.items() if key[0] in topics
            )
        return out

    async def applied(self) -> dict[str, int]:
        """Messages each projection has applied so far (sum of its next offsets)."""
        return {f"{t.service}.{t.projection}": sum((await self._offsets(t)).values()) for t in self.targets}

    async def caught_up(self, tracker: Tracker, timeout: float = 180.0) -> float:
        """Wait until nothing is unpublished, every projection is at the topics' ends, and that
        still holds on a second look (policies append new events while they apply); returns when."""
        deadline = time.monotonic() + timeout
        while True:
            first = await self.unpublished()
            ends = await self.ends()
            behind = await self.behind(ends)
            if (
                not any(first.values())
                and not any(behind.values())
                and not tracker.pending
                and not any((await self.unpublished()).values())
                and await self.ends() == ends
            ):
                return time.perf_counter()
            if time.monotonic() > deadline:
                waiting = len(tracker.pending)
                raise RuntimeError(f"not caught up: unpublished {first}, behind {behind}, {waiting} writes pending")
            await asyncio.sleep(0.05)
