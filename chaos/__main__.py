"""``python -m chaos [--faults a,b] [--out file]`` (``make chaos``): inject each fault into the real
local stack under a steady mixed load, then account for every acknowledged write.

The four services run as processes on fresh databases and topics (bench's harness), plus a
second intake process with a relay, so the relay has a leader to kill. Per fault: steady load,
the fault, load on until the system is ready and writing again, then the load stops, the
pipeline catches up and every 2xx write of the window is looked up: stored (event store),
published (topic), applied (every projection reading that topic). Writes JSON
(``chaos/results/latest.json``) and prints a table; exits 1 unless lost = doubled = unapplied = 0
and every poison record is parked (dead-letter topics ``<prefix><service>.<projection>.dlq``)."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import importlib
import json
import os
import sys
import time
from collections import Counter
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import aiohttp
from rich.console import Console
from rich.table import Table

from bench.load import Load, Stats, World
from bench.progress import Target, Tracker, discover
from bench.stack import REPO, Scratch, Services
from chaos import account, faults
from shared.contracts.intake import ReferralReceived

RESULTS = REPO / "chaos" / "results"
Fault = Callable[[Services], Awaitable[dict[str, Any]]]
FAULTS: dict[str, Fault] = {
    "kill9-intake": lambda s: faults.kill9(s, "intake"),
    "kill9-casework": lambda s: faults.kill9(s, "casework"),
    "kill9-placement": lambda s: faults.kill9(s, "placement"),
    "kill9-reporting": lambda s: faults.kill9(s, "reporting"),
    "kill9-relay-leader": faults.kill9_relay_leader,
    "restart-kafka": faults.restart_kafka,
    "restart-postgres": faults.restart_postgres,
    "kill9-postmaster": faults.kill9_postmaster,
    "duplicates": faults.duplicates,
    "poison": faults.poison,  # last: without parking, the consumers stall on it
}
INFRA = {"restart-kafka", "restart-postgres", "kill9-postmaster"}
console = Console(stderr=True)


class Acks(Tracker):
    """Takes the load's 2xx writes instead of timing them; moves the world on a little later
    (a case is usable once casework has applied the enrolment)."""

    def __init__(self, services: Services) -> None:
        super().__init__(services)
        self.acks: list[tuple[float, account.Ack]] = []

    def expect(
        self, service: str, stream: str, version: int, t0: float, sink: list[float], then: Callable[[], None] | None
    ) -> None:
        self.acks.append((time.monotonic(), (service, stream, version)))
        if then is not None:
            asyncio.get_running_loop().call_later(1.5, then)


class Readiness:
    """``GET /health/ready`` of every process every half second: status counts and the reasons."""

    def __init__(self, services: Services) -> None:
        self.services = services
        self.statuses: dict[str, Counter[str]] = {}
        self.reasons: dict[str, list[str]] = {}
        self.all_ready_at = 0.0
        self.probed_at = 0.0  # start of the last complete round of probes
        self._task: asyncio.Task[None] | None = None

    async def probe(self, http: aiohttp.ClientSession) -> dict[str, str]:
        out: dict[str, str] = {}
        for name, svc in self.services.processes.items():
            try:
                async with http.get(f"{svc.base_url}/health/ready", timeout=aiohttp.ClientTimeout(total=2)) as r:
                    out[name] = str(r.status)
                    if r.status != 200:
                        body = await r.text()
                        seen = self.reasons.setdefault(name, [])
                        if body[:300] not in seen and len(seen) < 5:
                            seen.append(body[:300])
            except (aiohttp.ClientError, OSError, TimeoutError):
                out[name] = "down"
        return out

    async def _run(self) -> None:
        async with aiohttp.ClientSession() as http:
            while True:
                started = time.monotonic()
                got = await self.probe(http)
                for name, status in got.items():
                    self.statuses.setdefault(name, Counter())[status] += 1
                if all(s == "200" for s in got.values()):
                    self.all_ready_at = self.all_ready_at or time.monotonic()
                else:
                    self.all_ready_at = 0.0
                self.probed_at = started
                await asyncio.sleep(0.5)

    def __enter__(self) -> Readiness:
        self._task = asyncio.get_running_loop().create_task(self._run())
        return self

    def __exit__(self, *_: object) -> None:
        if self._task is not None:
            self._task.cancel()


async def steady_load(load: Load, stats: Stats, stop: asyncio.Event, clients: int) -> None:
    async def client() -> None:
        while not stop.is_set():
            await load.one(stats)
            if stats.sent % 50 == 0:
                await asyncio.sleep(0)  # keep the readiness probe and the fault itself responsive

    await asyncio.gather(*(client() for _ in range(clients)))


async def wait_caught_up(services: Services, targets: list[Target], timeout: float) -> tuple[float | None, Any]:
    """Seconds until every event is published and applied, or None with what was left when no
    progress came for ``timeout`` seconds: a busy machine catches up slowly, a stuck one not at all."""
    t0 = last_progress = time.monotonic()
    last: Any = None
    left: int | None = None
    while time.monotonic() - last_progress < timeout:
        try:
            pos = await account.position(services, targets)
            last = {"unpublished": pos.unpublished, "behind": {k: v for k, v in pos.behind.items() if v}}
            if pos.caught_up:
                await asyncio.sleep(1.0)  # policies may append as they apply: look twice
                pos = await account.position(services, targets)
                if pos.caught_up:
                    return time.monotonic() - t0, None
            now_left = pos.unpublished + sum(pos.behind.values())
            if left is None or now_left < left:
                if left is not None:
                    console.log(f"catching up: {now_left} left")
                left, last_progress = now_left, time.monotonic()
        except Exception as exc:
            last = repr(exc)
        await asyncio.sleep(0.5)
    return None, last


async def dlq_counts(services: Services, targets: list[Target]) -> dict[str, int]:
    topics = {account.dlq_topic(services, t) for t in targets}
    present = topics & await account.existing_topics()
    found = await account.read_topics(sorted(present)) if present else {}
    return {t: len(found.get(t, [])) for t in sorted(topics)}


async def run_fault(
    name: str, services: Services, targets: list[Target], load: Load, acks: Acks, args: argparse.Namespace
) -> dict[str, Any]:
    console.log(f"fault {name}: steady load")
    first = len(acks.acks)
    dlq_before = await dlq_counts(services, targets)
    counters_before = await account.counters(services)
    stats = Stats(started=time.perf_counter())
    stop = asyncio.Event()
    with Readiness(services) as during:
        traffic = asyncio.create_task(steady_load(load, stats, stop, args.clients))
        await asyncio.sleep(args.steady_s)
        console.log(f"fault {name}: inject")
        injected = time.monotonic()
        note = await FAULTS[name](services)
        console.log(f"fault {name}: injected {note}")
        recovered: float | None = None
        while time.monotonic() - injected < args.recover_s:
            wrote = any(t > injected for t, _ in acks.acks[first:])
            # ready again (a round of probes begun after the fault says so) and writing again
            if during.probed_at > injected and during.all_ready_at and wrote:
                first_write = next(t for t, _ in acks.acks[first:] if t > injected)
                recovered = max(during.all_ready_at, first_write, injected)
                break
            await asyncio.sleep(0.2)
        await asyncio.sleep(args.after_s)
        stop.set()
        await traffic
    console.log(f"fault {name}: load stopped, waiting for the pipeline to catch up")
    settle = args.poison_settle_s if name == "poison" else args.settle_s
    caught_up_s, stuck = await wait_caught_up(services, targets, settle)
    async with aiohttp.ClientSession() as http:
        after = await Readiness(services).probe(http)
    window = [a for _, a in acks.acks[first:]]
    stored = await account.stored(services, window)
    topics = [f"{services.prefix}{s}.events" for s in services.running]
    on_topics = await account.read_topics(topics)
    published_keys: Counter[tuple[str, int]] = Counter()
    for records in on_topics.values():
        published_keys += account.envelope_keys(records)
    published = {a for a in window if (a[1], a[2]) in published_keys}
    applied = await account.applied(services, targets, window)
    counters_after = await account.counters(services)
    dlq_after = await dlq_counts(services, targets)
    parked = {t: dlq_after[t] - dlq_before.get(t, 0) for t in dlq_after}
    errors: Counter[str] = Counter()
    for key, n in stats.errors.items():
        errors[key.rsplit(" -> ", 1)[1] if " -> " in key else key] += n
    result: dict[str, Any] = {
        "fault": name,
        "note": note,
        "commands_sent": stats.sent,
        "acknowledged": len(window),
        "stored": len(stored),
        "published": len(published),
        "applied": len(applied),
        "lost": len(set(window) - stored) + len(stored - published),
        "unapplied": len(published - applied),
        "doubled": sum(max(0, c["counted"] - c["stored"]) for c in counters_after.values()),
        "counters": counters_after,
        "counters_before": counters_before,
        "republished_on_topics": sum(n - 1 for n in published_keys.values() if n > 1),
        "parked": sum(parked.values()),
        "parked_by_dlq": parked,
        "client_errors": dict(sorted(errors.items())),
        "recovery_s": round(recovered - injected, 2) if recovered else None,
        "caught_up_s": round(caught_up_s, 2) if caught_up_s is not None else None,
        "not_caught_up": stuck,
        "readiness_during": {k: dict(v) for k, v in during.statuses.items()},
        "readiness_not_ready_bodies": during.reasons,
        "readiness_after": after,
    }
    if name == "poison":
        readers = [t for t in targets if "intake" in t.reads]
        expected = {account.dlq_topic(services, t): _poison_parked_by(t) for t in readers}
        result["parked_expected"] = expected
        result["poison_ok"] = all(parked.get(t, 0) >= n for t, n in expected.items())
    result["ok"] = (
        result["lost"] == 0
        and result["doubled"] == 0
        and result["unapplied"] == 0
        and result["acknowledged"] > 0
        and caught_up_s is not None
        and result.get("poison_ok", result["parked"] == 0)
    )
    console.log(f"fault {name}: {'ok' if result['ok'] else 'FAILED'}")
    return result


def parse(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="python -m chaos", description=__doc__)
    p.add_argument("--faults", default=",".join(FAULTS), help=f"comma separated, in order; of {', '.join(FAULTS)}")
    p.add_argument("--clients", type=int, default=6, help="closed-loop clients of the steady load")
    p.add_argument("--steady-s", type=float, default=4.0, help="load before each fault")
    p.add_argument("--after-s", type=float, default=4.0, help="load after recovery")
    p.add_argument("--recover-s", type=float, default=60.0, help="bound on recovery (ready and writing again)")
    p.add_argument("--settle-s", type=float, default=90.0, help="bound on no progress while catching up")
    p.add_argument("--poison-settle-s", type=float, default=30.0, help="the same after poison")
    p.add_argument("--out", type=Path, default=RESULTS / "latest.json")
    args = p.parse_args(argv)
    unknown = set(args.faults.split(",")) - set(FAULTS)
    if unknown:
        p.error(f"unknown faults: {', '.join(sorted(unknown))}")
    return args


async def run(args: argparse.Namespace) -> dict[str, Any]:
    names = [f for f in args.faults.split(",") if f]
    why_not = faults.own_stack() if INFRA & set(names) else None
    if why_not:
        console.log(f"skipping {', '.join(sorted(INFRA & set(names)))}: {why_not}")
        names = [n for n in names if n not in INFRA]
    scratch = Scratch(run="chaos" + os.urandom(4).hex())
    services = Services(scratch, prefix=f"{scratch.run}.", log_dir=REPO / ".local" / "chaos" / scratch.run)
    result: dict[str, Any] = {
        "when": datetime.now(UTC).isoformat(timespec="seconds"),
        "command": "python -m chaos " + " ".join(sys.argv[1:]),
        "cores": os.cpu_count(),
        "skipped": {n: why_not for n in INFRA if why_not and n in args.faults.split(",")},
        "faults": [],
    }
    t_start = time.monotonic()
    try:
        console.log(f"starting the four services on chaos data ({scratch.run})")
        await services.start()
        if "kill9-relay-leader" in names:
            faults.start_relay_standby(services)
            await services.wait_ready()
        targets = await discover(services)
        acks = Acks(services)
        async with Load(services, acks, World(seed=11), connections=32) as load:
            for name in names:
                result["faults"].append(await run_fault(name, services, targets, load, acks, args))
    finally:
        services.stop()
        with contextlib.suppress(Exception):
            await scratch.cleanup()
    result["total_s"] = round(time.monotonic() - t_start, 1)
    result["ok"] = all(f["ok"] for f in result["faults"])
    return result


def render(r: dict[str, Any]) -> None:
    t = Table(title=f"rehapro chaos {r['when']} ({r['total_s']} s, {'ok' if r['ok'] else 'FAILED'})")
    for col in (
        "fault",
        "acked",
        "stored",
        "published",
        "applied",
        "lost",
        "doubled",
        "unapplied",
        "parked",
        "client errors",
        "recovery s",
        "caught up s",
        "ready during / after",
        "ok",
    ):
        t.add_column(col, justify="left" if col in {"fault", "client errors", "ready during / after"} else "right")
    for f in r["faults"]:
        during = {k: ",".join(f"{s}:{n}" for s, n in v.items() if s != "200") for k, v in f["readiness_during"].items()}
        not_ready = "; ".join(f"{k} {v}" for k, v in during.items() if v) or "ready"
        after = "ready" if all(s == "200" for s in f["readiness_after"].values()) else str(f["readiness_after"])
        t.add_row(
            f["fault"],
            str(f["acknowledged"]),
            str(f["stored"]),
            str(f["published"]),
            str(f["applied"]),
            str(f["lost"]),
            str(f["doubled"]),
            str(f["unapplied"]),
            str(f["parked"]) + (f"/{sum(f['parked_expected'].values())}" if "parked_expected" in f else ""),
            ", ".join(f"{k}: {v}" for k, v in f["client_errors"].items()) or "-",
            str(f["recovery_s"]),
            str(f["caught_up_s"]),
            f"{not_ready} / {after}",
            "yes" if f["ok"] else "NO",
        )
    Console(width=220).print(t)


def _poison_parked_by(target: Target) -> int:
    """How many of the poison records this projection must park: the undecodable and the forged
    one always; the invalid contract (a broken ``ReferralReceived``) only where the projection
    handles referrals, because a runner decodes only the types it handles."""
    definition = importlib.import_module(f"services.{target.service}.app").definition
    projection = next(p for p in definition.projections if p.name == target.projection)
    handles = projection.handles(ReferralReceived.event_type)
    return sum(1 for kind in faults.POISON_PARKED if kind != "invalid_contract" or handles)


def main() -> None:
    args = parse()
    result = asyncio.run(run(args))
    args.out.parent.mkdir(parents=True, exist_ok=True)
    tmp = args.out.with_suffix(".tmp")
    tmp.write_text(json.dumps(result, indent=2, default=str) + "\n")
    tmp.replace(args.out)
    render(result)
    console.log(f"results: {args.out}")
    sys.exit(0 if result["ok"] else 1)


if __name__ == "__main__":
    main()
