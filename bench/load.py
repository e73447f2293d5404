"""HTTP load: a command mix (a table that grows with the APIs) that walks participants through
the real journey — referral, eligibility, participation consent, enrolment, then casework on the
opened case — plus reads; closed-loop saturation and open-loop fixed offered load.

End-to-end latency and "caught up" live in ``bench.progress`` and use only the platform's own
tracking tables, never a service's domain tables.
"""

from __future__ import annotations

import asyncio
import itertools
import random
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date
from typing import Any

import aiohttp

from bench.progress import Tracker
from bench.stack import JWT_SECRET, Services
from shared.auth import issue_token
from shared.vocabulary import Role

BENCH_SUBJECT = "bench"
PHASES = ("clearing", "stabilisierung", "produktionswerkstatt", "stellensuche")

# What a successful write reports to the tracker: (service, stream id, version) and what to do
# once every projection reading that service's topic reflects it.
Tracked = tuple[str, str, int, Callable[[], None] | None]


@dataclass
class Call:
    """One HTTP request of the mix; ``on_ok`` moves the world on and names what it wrote."""

    service: str
    method: str
    path: str
    body: dict[str, Any] | None = None
    on_ok: Callable[[dict[str, Any]], Tracked | None] | None = None
    on_fail: Callable[[], None] | None = None


class World:
    """What the load generator knows exists, per stage of the journey. A participant is in at
    most one queue at a time, so no two commands race on one stream (each stage pops it and the
    success puts it into the next queue)."""

    def __init__(self, seed: int = 7) -> None:
        self.rng = random.Random(seed)  # noqa: S311 - not for security
        self.referred: deque[str] = deque()
        self.met: deque[str] = deque()  # information meeting held (every project needs one first)
        self.eligible: deque[str] = deque()
        self.consented: deque[str] = deque()
        self.enrolled: list[str] = []  # ever enrolled (reads)
        self.cases: deque[str] = deque()  # case open everywhere, no case manager yet
        self.managed: deque[tuple[str, int]] = deque()  # case manager assigned; phase index
        self.counter = itertools.count()

    @property
    def writes_expected(self) -> int:
        return len(self.enrolled)


def _intake(pid: str, version: int, then: Callable[[], None] | None = None) -> Tracked:
    return ("intake", f"participant-{pid}", version, then)


def _referral(w: World) -> Call:
    n = next(w.counter)
    body = {
        "project": "pro-aktiv",
        "received_on": "2026-03-01",
        "sex": w.rng.choice(["female", "male", "diverse", "unknown"]),
        "identity": {
            "first_name": f"Erika{n}",
            "last_name": "Mustermann",
            "birth_date": date(1960 + n % 40, 1 + n % 12, 1 + n % 28).isoformat(),
            "address": "Hauptstr. 1, 58452 Witten",
        },
        "reason": "Rückenschmerzen, längere Arbeitsunfähigkeit",
    }

    def ok(r: dict[str, Any]) -> Tracked:
        w.referred.append(r["participant_id"])
        return _intake(r["participant_id"], int(r["version"]))

    return Call("intake", "POST", "/referrals", body, ok)


def _stage(source: deque[str], target: deque[str], path: str, body: dict[str, Any]) -> Callable[[World], Call | None]:
    def build(w: World) -> Call | None:
        if not source:
            return None
        pid = source.popleft()

        def ok(r: dict[str, Any]) -> Tracked:
            target.append(pid)
            return _intake(pid, int(r["version"]))

        return Call("intake", "POST", path.format(pid=pid), body, ok)

    return build


def _meeting(w: World) -> Call | None:
    return _stage(w.referred, w.met, "/participants/{pid}/information-meeting", {"held_on": "2026-03-05"})(w)


def _eligibility(w: World) -> Call | None:
    body = {"checked_on": "2026-03-09", "voluntary": True, "willing_to_address_impairments": True}
    return _stage(w.met, w.eligible, "/participants/{pid}/eligibility", body)(w)


def _consent(w: World) -> Call | None:
    body = {"purpose": "participation", "granted_on": "2026-03-09", "form": "written"}
    return _stage(w.eligible, w.consented, "/participants/{pid}/consents", body)(w)


def _enrolment(w: World) -> Call | None:
    if not w.consented:
        return None
    pid = w.consented.popleft()

    def ok(r: dict[str, Any]) -> Tracked:
        w.enrolled.append(pid)
        # the case is usable once every reader of intake's topic has the enrolment
        return _intake(pid, int(r["version"]), lambda: w.cases.append(pid))

    return Call("intake", "POST", f"/participants/{pid}/enrolment", {"start_date": "2026-03-16"}, ok)


def _case(pid: str, version: int) -> Tracked:
    return ("casework", f"case-{pid}", version, None)


def _assign(w: World) -> Call | None:
    if not w.cases:
        return None
    pid = w.cases.popleft()

    def ok(r: dict[str, Any]) -> Tracked:
        w.managed.append((pid, 0))
        return _case(pid, int(r["version"]))

    body = {"case_manager": BENCH_SUBJECT, "assigned_on": "2026-03-16"}
    return Call("casework", "POST", f"/cases/{pid}/case-manager", body, ok)


def _phase(w: World) -> Call | None:
    if not w.managed:
        return None
    pid, done = w.managed.popleft()
    if done >= len(PHASES):  # at Stellensuche: Nachbetreuung needs a job from placement
        w.managed.append((pid, done))
        return None

    def ok(r: dict[str, Any]) -> Tracked:
        w.managed.append((pid, done + 1))
        return _case(pid, int(r["version"]))

    body = {"phase": PHASES[done], "entered_on": f"2026-04-{1 + done:02d}"}
    return Call("casework", "POST", f"/cases/{pid}/phase", body, ok, on_fail=lambda: w.managed.append((pid, done)))


def _appointment(w: World) -> Call | None:
    if not w.managed:
        return None
    pid, done = w.managed.popleft()

    def ok(r: dict[str, Any]) -> Tracked:
        w.managed.append((pid, done))
        return _case(pid, int(r["version"]))

    body = {"scheduled_for": "2026-05-04", "with_member": BENCH_SUBJECT, "kind": "counselling"}
    return Call(
        "casework", "POST", f"/cases/{pid}/appointments", body, ok, on_fail=lambda: w.managed.append((pid, done))
    )


def _get_participant(w: World) -> Call | None:
    if not w.enrolled:
        return None
    return Call("intake", "GET", f"/participants/{w.rng.choice(w.enrolled)}")


def _get_case(w: World) -> Call | None:
    if not w.managed:
        return None
    return Call("casework", "GET", f"/cases/{w.managed[w.rng.randrange(len(w.managed))][0]}")


def _vacancies(w: World) -> Call:
    return Call("placement", "GET", "/vacancies")


def _counts(w: World) -> Call:
    return Call("reporting", "GET", "/kpis/counts?project=pro-aktiv")


@dataclass(frozen=True)
class Command:
    """One row of the mix: a name, a relative weight and how to build the request. A builder
    may return None when the world does not allow it yet; then a referral is sent instead."""

    name: str
    weight: int
    build: Callable[[World], Call | None]


# The command mix (weights are relative). About 80 % writes; every referral can walk the
# whole journey: 5 intake commands, then a case manager, phases and appointments in casework.
MIX: tuple[Command, ...] = (
    Command("intake: POST /referrals", 16, _referral),
    Command("intake: POST /participants/{id}/information-meeting", 14, _meeting),
    Command("intake: POST /participants/{id}/eligibility", 14, _eligibility),
    Command("intake: POST /participants/{id}/consents", 14, _consent),
    Command("intake: POST /participants/{id}/enrolment", 14, _enrolment),
    Command("casework: POST /cases/{id}/case-manager", 8, _assign),
    Command("casework: POST /cases/{id}/phase", 8, _phase),
    Command("casework: POST /cases/{id}/appointments", 6, _appointment),
    Command("intake: GET /participants/{id}", 8, _get_participant),
    Command("casework: GET /cases/{id}", 8, _get_case),
    Command("placement: GET /vacancies", 2, _vacancies),
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


class Load:
    """Sends the mix to the running services over keep-alive connections."""

    def __init__(self, services: Services, tracker: Tracker, world: World, connections: int = 64) -> None:
        self.services = services
        self.tracker = tracker
        self.world = world
        self.connections = connections
        token = issue_token(JWT_SECRET, subject=BENCH_SUBJECT, role=Role.CASE_MANAGER, agency="jc-en")
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
            if call.on_fail is not None:
                call.on_fail()
            return
        stats.http_ms.append((time.perf_counter() - t0) * 1000)
        if status >= 400:
            key = f"{name} -> {status}"
            stats.errors[key] = stats.errors.get(key, 0) + 1
            if call.on_fail is not None:
                call.on_fail()
            return
        stats.ok += 1
        if call.on_ok is not None:
            tracked = call.on_ok(data)
            if tracked is not None:
                stats.writes += 1
                service, stream, version, then = tracked
                self.tracker.expect(service, stream, version, t0, stats.e2e_ms, then)

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
