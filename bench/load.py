"""HTTP load: a command mix (a table that grows with the APIs), closed-loop saturation and
open-loop fixed offered load, and the end-to-end latency tracker.

"Reflected" means: reporting's projection tracking table ``projection_streams`` holds the
stream at (at least) the version the command wrote. A statement-level trigger, installed only
in the bench's reporting database, sends one ``NOTIFY`` per projection batch transaction; the
tracker wakes on it and asks for just the pending streams. So there is no busy polling, the
wake-up happens at commit, and the added cost is one notification per batch (not per event).
Latency runs from the *intended* send time (open loop), so a generator that falls behind
cannot hide queueing (no coordinated omission).
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import random
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date
from typing import Any

import aiohttp
import asyncpg

from bench.stack import JWT_SECRET, Services
from shared.auth import issue_token
from shared.vocabulary import Role


@dataclass
class Call:
    """One HTTP request of the mix; ``track`` names the stream and version it writes (if any)."""

    service: str
    method: str
    path: str
    body: dict[str, Any] | None = None
    on_ok: Callable[[dict[str, Any]], tuple[str, int] | None] | None = None


class World:
    """What the load generator knows exists, so later commands can refer to it."""

    def __init__(self, seed: int = 7) -> None:
        self.rng = random.Random(seed)  # noqa: S311 - not for security
        self.referred: deque[str] = deque()
        self.enrolled: list[str] = []
        self.counter = itertools.count()


def _referral(w: World) -> Call:
    n = next(w.counter)
    body = {
        "project": "pro-aktiv",
        "received_on": "2024-03-01",
        "sex": w.rng.choice(["female", "male", "diverse", "unknown"]),
        "identity": {
            "first_name": f"Erika{n}",
            "last_name": "Mustermann",
            "birth_date": date(1960 + n % 40, 1 + n % 12, 1 + n % 28).isoformat(),
            "address": "Hauptstr. 1, 58452 Witten",
        },
        "reason": "Rückenschmerzen, längere Arbeitsunfähigkeit",
    }

    def ok(r: dict[str, Any]) -> tuple[str, int]:
        w.referred.append(r["participant_id"])
        return f"participant-{r['participant_id']}", int(r["version"])

    return Call("intake", "POST", "/referrals", body, ok)


def _enrolment(w: World) -> Call | None:
    if not w.referred:
        return None
    pid = w.referred.popleft()

    def ok(r: dict[str, Any]) -> tuple[str, int]:
        w.enrolled.append(pid)
        return f"participant-{pid}", int(r["version"])

    return Call("intake", "POST", f"/participants/{pid}/enrolment", {"start_date": "2024-04-01"}, ok)


def _get_participant(w: World) -> Call | None:
    if not w.enrolled:
        return None
    return Call("intake", "GET", f"/participants/{w.rng.choice(w.enrolled)}")


def _get_case(w: World) -> Call | None:
    if len(w.enrolled) < 50:
        return None
    # an older enrolment, whose case casework has very likely opened by now
    return Call("casework", "GET", f"/cases/{w.enrolled[w.rng.randrange(len(w.enrolled) - 40)]}")


def _counts(w: World) -> Call:
    return Call("reporting", "GET", "/kpis/counts?project=pro-aktiv")


@dataclass(frozen=True)
class Command:
    """One row of the mix: a name, a relative weight and how to build the request. A builder
    may return None when the world does not allow it yet; then a referral is sent instead."""

    name: str
    weight: int
    build: Callable[[World], Call | None]


# The command mix. New APIs add rows here (weights are relative).
MIX: tuple[Command, ...] = (
    Command("intake: POST /referrals", 40, _referral),
    Command("intake: POST /participants/{id}/enrolment", 30, _enrolment),
    Command("intake: GET /participants/{id}", 14, _get_participant),
    Command("casework: GET /cases/{id}", 14, _get_case),
    Command("reporting: GET /kpis/counts", 2, _counts),
)


def next_call(w: World, mix: tuple[Command, ...] = MIX) -> tuple[str, Call]:
    cmd = w.rng.choices(mix, weights=[c.weight for c in mix])[0]
    call = cmd.build(w)
    if call is None:
        return MIX[0].name, _referral(w)
    return cmd.name, call


@dataclass
class Stats:
    sent: int = 0
    ok: int = 0
    errors: dict[str, int] = field(default_factory=dict)
    by_command: dict[str, int] = field(default_factory=dict)
    http_ms: list[float] = field(default_factory=list)
    e2e_ms: list[float] = field(default_factory=list)
    writes: int = 0
    started: float = 0.0
    load_s: float = 0.0


class Tracker:
    """Times from intended send to the reporting projection reflecting a write."""

    CHANNEL = "bench_applied"

    def __init__(self, reporting_url: str, schema: str = "proj_counts") -> None:
        self.url = reporting_url
        self.schema = schema
        self.pending: dict[str, list[tuple[int, float, Stats]]] = {}
        self._wake = asyncio.Event()
        self._conn: asyncpg.Connection | None = None
        self._task: asyncio.Task[None] | None = None

    async def start(self) -> None:
        conn = await asyncpg.connect(self.url)
        await conn.execute(
            f"""
            CREATE OR REPLACE FUNCTION public.bench_notify_applied() RETURNS trigger LANGUAGE plpgsql AS $$
            BEGIN PERFORM pg_notify('{self.CHANNEL}', ''); RETURN NULL; END $$;
            DROP TRIGGER IF EXISTS bench_applied ON {self.schema}.projection_streams;
            CREATE TRIGGER bench_applied AFTER INSERT OR UPDATE ON {self.schema}.projection_streams
                FOR EACH STATEMENT EXECUTE FUNCTION public.bench_notify_applied();
            """
        )
        await conn.add_listener(self.CHANNEL, lambda *_: self._wake.set())
        self._conn = conn
        self._task = asyncio.create_task(self._run())

    def expect(self, stream: str, version: int, t0: float, stats: Stats) -> None:
        self.pending.setdefault(stream, []).append((version, t0, stats))
        self._wake.set()

    async def _run(self) -> None:
        assert self._conn is not None
        while True:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), timeout=0.05)
            self._wake.clear()
            if not self.pending:
                continue
            rows = await self._conn.fetch(
                f"SELECT stream_id, version FROM {self.schema}.projection_streams"
                " WHERE projection = 'counts' AND stream_id = ANY($1::text[])",
                list(self.pending),
            )
            now = time.perf_counter()
            for r in rows:
                waiting = self.pending.get(r["stream_id"], [])
                for version, t0, stats in [w for w in waiting if w[0] <= r["version"]]:
                    stats.e2e_ms.append((now - t0) * 1000)
                    waiting.remove((version, t0, stats))
                if not waiting:
                    self.pending.pop(r["stream_id"], None)

    async def drain(self, timeout: float = 120.0) -> None:
        deadline = time.monotonic() + timeout
        while self.pending and time.monotonic() < deadline:
            await asyncio.sleep(0.02)

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
        if self._conn is not None:
            await self._conn.close()


class Load:
    """Sends the mix to the running services over keep-alive connections."""

    def __init__(self, services: Services, tracker: Tracker, world: World, connections: int = 64) -> None:
        self.services = services
        self.tracker = tracker
        self.world = world
        self.connections = connections
        token = issue_token(JWT_SECRET, subject="bench", role=Role.CASE_MANAGER, agency="jc-en")
        self.headers = {"Authorization": f"Bearer {token}"}
        self.session: aiohttp.ClientSession | None = None

    async def __aenter__(self) -> Load:
        self.session = aiohttp.ClientSession(
            connector=aiohttp.TCPConnector(limit=self.connections, limit_per_host=self.connections),
            headers=self.headers,
        )
        return self

    async def __aexit__(self, *_: object) -> None:
        if self.session is not None:
            await self.session.close()

    async def one(self, stats: Stats, t0: float | None = None) -> None:
        assert self.session is not None
        name, call = next_call(self.world)
        svc = self.services.running[call.service]
        t0 = t0 if t0 is not None else time.perf_counter()
        stats.sent += 1
        stats.by_command[name] = stats.by_command.get(name, 0) + 1
        try:
            async with self.session.request(call.method, svc.base_url + call.path, json=call.body) as r:
                data = await r.json(content_type=None)
                status = r.status
        except (aiohttp.ClientError, OSError, TimeoutError) as exc:
            key = type(exc).__name__
            stats.errors[key] = stats.errors.get(key, 0) + 1
            return
        stats.http_ms.append((time.perf_counter() - t0) * 1000)
        if status >= 400:
            key = f"{name} -> {status}"
            stats.errors[key] = stats.errors.get(key, 0) + 1
            return
        stats.ok += 1
        if call.on_ok is not None:
            tracked = call.on_ok(data)
            if tracked is not None:
                stats.writes += 1
                self.tracker.expect(tracked[0], tracked[1], t0, stats)

    async def closed_loop(self, seconds: float, concurrency: int) -> Stats:
        """Saturation: ``concurrency`` clients, each sending its next command when the last returns."""
        stats = Stats(started=time.perf_counter())
        end = stats.started + seconds

        async def client() -> None:
            while time.perf_counter() < end:
                await self.one(stats)

        await asyncio.gather(*(client() for _ in range(concurrency)))
        stats.load_s = time.perf_counter() - stats.started
        return stats

    async def open_loop(self, seconds: float, rate: float) -> Stats:
        """Fixed offered load: command i is due at start + i/rate, whether or not earlier ones returned."""
        stats = Stats(started=time.perf_counter())
        total = int(seconds * rate)
        tasks: set[asyncio.Task[None]] = set()
        for i in range(total):
            due = stats.started + i / rate
            delay = due - time.perf_counter()
            if delay > 0:
                await asyncio.sleep(delay)
            task = asyncio.create_task(self.one(stats, t0=due))
            tasks.add(task)
            task.add_done_callback(tasks.discard)
        if tasks:
            await asyncio.gather(*tasks)
        stats.load_s = time.perf_counter() - stats.started
        return stats


def percentiles(values: list[float]) -> dict[str, float | None]:
    if not values:
        return {"p50": None, "p95": None, "p99": None}
    s = sorted(values)

    def pick(q: float) -> float:
        return round(s[min(len(s) - 1, int(q * len(s)))], 2)

    return {"p50": pick(0.50), "p95": pick(0.95), "p99": pick(0.99)}
