"""``python -m bench [--quick] [sizes...]``: run every measurement in one go, print a table and
write ``bench/results/latest.json``."""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import sys
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import asyncpg
from rich.console import Console
from rich.table import Table

from bench import raw
from bench.load import Load, Stats, Tracker, World, percentiles
from bench.replay import replay_all
from bench.stack import REPO, RssSampler, Scratch, Services

RESULTS = REPO / "bench" / "results"
TARGETS = {
    "commands_per_s": 2500,
    "p99_ms_at_1000": 25,
    "replay_events_per_s": 30_000,
    "rss_steady_mib": 150,
    "peer_ratio": 5,
}


def machine() -> dict[str, Any]:
    meminfo = Path("/proc/meminfo").read_text().splitlines()
    total_kib = int(next(line for line in meminfo if line.startswith("MemTotal")).split()[1])
    model = next(
        (
            line.split(":", 1)[1].strip()
            for line in Path("/proc/cpuinfo").read_text().splitlines()
            if line.startswith("model name")
        ),
        platform.processor(),
    )
    return {
        "cores": os.cpu_count(),
        "memory_mib": total_kib // 1024,
        "cpu_model": model,
        "python": platform.python_version(),
        "load_average_start": list(os.getloadavg()),
    }


def parse(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    p.add_argument("--quick", action="store_true", help="tiny sizes: a smoke test of every measurement (for make test)")
    p.add_argument("--loads", default="200,1000", help="fixed offered loads in commands/s, comma separated")
    p.add_argument("--load-seconds", type=float, default=10.0, help="seconds per fixed offered load")
    p.add_argument("--saturation-seconds", type=float, default=15.0, help="seconds of closed-loop saturation")
    p.add_argument("--concurrency", type=int, default=48, help="closed-loop clients at saturation")
    p.add_argument(
        "--replay-events", type=int, default=300_000, help="events in the replayed history (1,000,000 for docs)"
    )
    p.add_argument(
        "--raw-messages", type=int, default=100_000, help="messages/rows for the raw Kafka and PostgreSQL limits"
    )
    p.add_argument("--peer-appends", type=int, default=5_000, help="appends for ours vs the eventsourcing library")
    p.add_argument("--out", type=Path, default=RESULTS / "latest.json")
    p.add_argument("--keep", action="store_true", help="keep the bench databases and topics (for inspection)")
    p.add_argument("--profile", type=Path, default=None, help="py-spy each service during saturation into this folder")
    args = p.parse_args(argv)
    if args.quick:
        args.loads, args.load_seconds, args.saturation_seconds, args.concurrency = "200", 2.0, 3.0, 16
        args.replay_events, args.raw_messages, args.peer_appends = 3_000, 5_000, 400
    return args


async def expected_counts(services: Services) -> dict[str, int]:
    async def one(name: str, sql: str) -> int:
        conn = await asyncpg.connect(services.running[name].database_url)
        try:
            return int(await conn.fetchval(sql) or 0)
        finally:
            await conn.close()

    return {
        "reporting_referrals": await one(
            "reporting", "SELECT sum(count) FROM proj_counts.funnel_counts WHERE metric='referrals'"
        ),
        "reporting_enrolments": await one(
            "reporting", "SELECT sum(count) FROM proj_counts.funnel_counts WHERE metric='enrolments'"
        ),
        "reporting_open_cases": await one(
            "reporting", "SELECT sum(count) FROM proj_counts.funnel_counts WHERE metric='open_cases'"
        ),
        "casework_cases": await one("casework", "SELECT count(*) FROM proj_cases.cases"),
        "placement_participants": await one("placement", "SELECT count(*) FROM proj_participants.known_participants"),
    }


async def caught_up(services: Services, world: World, tracker: Tracker, timeout: float = 180.0) -> float:
    """Wait until every service's projections reflect every accepted command; returns when."""
    enrolled = len(world.enrolled)
    want = {
        "reporting_referrals": len(world.referred) + enrolled,
        "reporting_enrolments": enrolled,
        "reporting_open_cases": enrolled,
        "casework_cases": enrolled,
        "placement_participants": enrolled,
    }
    deadline = time.monotonic() + timeout
    while True:
        got = await expected_counts(services)
        if got == want and not tracker.pending:
            return time.perf_counter()
        if time.monotonic() > deadline:
            raise RuntimeError(f"projections did not catch up: want {want}, got {got}")
        await asyncio.sleep(0.05)


def summarise(stats: Stats) -> dict[str, Any]:
    return {
        "offered_s": round(stats.load_s, 2),
        "sent": stats.sent,
        "ok": stats.ok,
        "achieved_per_s": round(stats.sent / stats.load_s, 1) if stats.load_s else 0,
        "writes_tracked": stats.writes,
        "reflected": len(stats.e2e_ms),
        **percentiles(stats.e2e_ms),
        "http": percentiles(stats.http_ms),
        "errors": stats.errors,
    }


async def run(args: argparse.Namespace) -> dict[str, Any]:
    console = Console(stderr=True)
    result: dict[str, Any] = {"when": datetime.now(UTC).isoformat(timespec="seconds"), "machine": machine()}
    result["mode"] = "quick" if args.quick else "full"
    scratch = Scratch()
    services = Services(scratch, prefix=f"{scratch.run}.", log_dir=REPO / ".local" / "bench" / scratch.run)
    try:
        console.log(f"starting the four services on bench data ({scratch.run})")
        await services.start()
        tracker = Tracker(services.running["reporting"].database_url)
        await tracker.start()
        world = World()
        async with Load(services, tracker, world, connections=max(64, args.concurrency)) as load:
            console.log("warm-up")
            await load.closed_loop(1.0 if args.quick else 3.0, 8)
            await caught_up(services, world, tracker)
            await asyncio.sleep(1.0)
            rss_idle = services.rss()

            latency: dict[str, Any] = {}
            for rate in [int(x) for x in args.loads.split(",") if x]:
                console.log(f"fixed offered load {rate} commands/s for {args.load_seconds}s")
                stats = await load.open_loop(args.load_seconds, rate)
                await tracker.drain()
                latency[str(rate)] = summarise(stats)

            console.log(f"saturation: {args.concurrency} clients for {args.saturation_seconds}s")
            pids = {n: s.pid for n, s in services.running.items()}
            spies = await profile(args.profile, pids, args.saturation_seconds) if args.profile else []
            with RssSampler(pids) as sampler:
                stats = await load.closed_loop(args.saturation_seconds, args.concurrency)
                done = await caught_up(services, world, tracker)
            await tracker.drain()
            for spy in spies:
                await spy.wait()
            latency["saturation"] = summarise(stats)
            elapsed = done - stats.started
            result["commands_per_s"] = round(stats.ok / elapsed, 1)
            result["throughput"] = {
                "commands_ok": stats.ok,
                "load_s": round(stats.load_s, 2),
                "until_caught_up_s": round(elapsed, 2),
                "http_only_per_s": round(stats.ok / stats.load_s, 1),
                "mix": stats.by_command,
                "projections": await expected_counts(services),
            }
            result["e2e_latency_ms"] = latency
            await asyncio.sleep(2.0)
            rss_steady = services.rss()
        await tracker.stop()
        services.stop()

        console.log(f"raw limits: Kafka {args.raw_messages} messages")
        raw_figures: dict[str, Any] = await raw.kafka_rate(scratch, args.raw_messages)
        console.log(f"raw limits: PostgreSQL {args.raw_messages} rows")
        raw_figures |= await raw.pg_rates(scratch, args.raw_messages)
        result["raw"] = raw_figures
        console.log(f"peer: {args.peer_appends} appends, ours and eventsourcing")
        result["peer"] = await raw.peer(scratch, args.peer_appends)
        console.log(f"replay: {args.replay_events} events")
        replay = await replay_all(scratch, args.replay_events)
        result["replay"] = replay
        result["replay_events_per_s"] = {
            "from_kafka": replay["reporting.counts"]["events_per_s"],
            "from_event_store": replay["casework.cases"]["events_per_s"],
            "events": args.replay_events,
        }
        replay_rss = {
            "reporting": replay["reporting.counts"]["rss_peak_mib"],
            "placement": replay["placement.participants"]["rss_peak_mib"],
            "casework": replay["casework.cases"]["rss_peak_mib"],
            "intake": None,  # intake has no projections to replay
        }
        result["rss_mib"] = {
            name: {
                "idle_start": _r(rss_idle.get(name)),
                "steady": _r(rss_steady.get(name)),
                "load_peak": _r(sampler.peak.get(name)),
                "replay": replay_rss[name],
            }
            for name in services.running
        }
        result["ratios"] = ratios(result)
        result["targets"] = TARGETS
        result["machine"]["load_average_end"] = list(os.getloadavg())
    finally:
        services.stop()
        if not args.keep:
            await scratch.cleanup()
    return result


async def profile(folder: Path, pids: dict[str, int], seconds: float) -> list[asyncio.subprocess.Process]:
    """Start ``py-spy record`` (collapsed stacks) on every service for the saturation run."""
    folder.mkdir(parents=True, exist_ok=True)
    spy = str(Path(sys.executable).parent / "py-spy")
    return [
        await asyncio.create_subprocess_exec(
            spy,
            "record",
            "--nonblocking",
            "-r",
            "50",
            "-d",
            str(int(seconds)),
            "-f",
            "raw",
            "-o",
            str(folder / f"{name}.txt"),
            "-p",
            str(pid),
            stdout=asyncio.subprocess.DEVNULL,
            stderr=asyncio.subprocess.DEVNULL,
        )
        for name, pid in pids.items()
    ]


def _r(v: float | None) -> float | None:
    return round(v, 1) if v is not None else None


def ratios(r: dict[str, Any]) -> dict[str, float | None]:
    def div(a: float | None, b: float | None) -> float | None:
        return round(a / b, 3) if a and b else None

    raw_, rep = r["raw"], r["replay_events_per_s"]
    return {
        "replay_from_kafka_vs_kafka_raw": div(rep["from_kafka"], raw_["kafka_msgs_per_s"]),
        "replay_from_store_vs_pg_copy": div(rep["from_event_store"], raw_["pg_rows_per_s_copy"]),
        "appends_vs_pg_batched": div(r["peer"]["ours_appends_per_s"], raw_["pg_rows_per_s_batched"]),
        "commands_vs_kafka_raw": div(r["commands_per_s"], raw_["kafka_msgs_per_s"]),
        "ours_vs_eventsourcing": r["peer"]["ratio"],
    }


def render(r: dict[str, Any]) -> None:
    console = Console(width=150)
    m = r["machine"]
    console.print(
        f"[bold]rehapro bench[/] ({r['mode']}) {r['when']} on {m['cores']} cores, {m['memory_mib']} MiB,"
        f" {m['cpu_model']};"
        f" load average at start {m['load_average_start'][0]:.2f}, at end {m['load_average_end'][0]:.2f}"
    )
    t = Table("figure", "value", "target / reference")
    t.add_row(
        "commands/s sustained (projections caught up)",
        f"{r['commands_per_s']:,.0f}",
        f"≥ {TARGETS['commands_per_s']:,}",
    )
    t.add_row("  HTTP only (until the last response)", f"{r['throughput']['http_only_per_s']:,.0f}", "")
    for load, v in r["e2e_latency_ms"].items():
        label = f"{load} commands/s" if load != "saturation" else "saturation"
        target = f"p99 ≤ {TARGETS['p99_ms_at_1000']} ms" if load == "1000" else ""
        t.add_row(
            f"e2e ms p50/p95/p99 @ {label} (achieved {v['achieved_per_s']:,.0f}/s)",
            f"{v['p50']} / {v['p95']} / {v['p99']}",
            target,
        )
    rep = r["replay_events_per_s"]
    t.add_row(
        f"replay from Kafka, events/s ({rep['events']:,} requested)",
        f"{rep['from_kafka']:,}",
        f"≥ {TARGETS['replay_events_per_s']:,}",
    )
    t.add_row(
        "replay from the event store, events/s", f"{rep['from_event_store']:,}", f"≥ {TARGETS['replay_events_per_s']:,}"
    )
    for name, v in r["rss_mib"].items():
        t.add_row(
            f"RSS MiB {name}: steady / load peak / replay",
            f"{v['steady']} / {v['load_peak']} / {v['replay']}",
            f"≤ {TARGETS['rss_steady_mib']} steady",
        )
    raw_ = r["raw"]
    t.add_row("raw Kafka produce+consume msgs/s", f"{raw_['kafka_msgs_per_s']:,}", f"{raw_['payload_bytes']} B payload")
    t.add_row(
        "raw PostgreSQL rows/s: batched unnest / COPY",
        f"{raw_['pg_rows_per_s_batched']:,} / {raw_['pg_rows_per_s_copy']:,}",
        "",
    )
    p = r["peer"]
    t.add_row(
        "appends/s: ours / eventsourcing",
        f"{p['ours_appends_per_s']:,} / {p['eventsourcing_appends_per_s']:,}",
        f"ratio {p['ratio']} (target ≥ {TARGETS['peer_ratio']})",
    )
    for k, v in r["ratios"].items():
        t.add_row(f"ratio {k}", str(v), "")
    console.print(t)


def main(argv: list[str] | None = None) -> None:
    args = parse(argv)
    result = asyncio.run(run(args))
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=2) + "\n")
    render(result)
    Console(stderr=True).log(f"written {args.out}")


if __name__ == "__main__":
    main()
