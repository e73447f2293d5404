"""``python -m bench [--quick] [sizes...]``: run every measurement in one go, print a table and
write ``bench/results/latest.json``."""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import asyncpg
from rich.console import Console
from rich.table import Table

from bench import hops, raw
from bench.load import Load, Stats, World, percentiles
from bench.progress import Progress, Tracker
from bench.raw_http import http_commit_rate
from bench.replay import replay_all
from bench.scale import scale_out
from bench.stack import REPO, CpuMeter, RssSampler, Scratch, Services

RESULTS = REPO / "bench" / "results"
REPLAY_DEFAULT = 300_000
SIZES = (10_000_000, 100_000_000)  # the replay sizes projected in the JSON and the table
# issue 18's targets (the bench reports them, no test asserts them)
TARGETS = {
    "commands_per_s": 2500,
    "p99_ms_at_1000": 25,
    "replay_events_per_s": 30_000,
    "rss_steady_mib": 120,
    "peer_ratio": 8,
}
E2E_TARGETS = {"20": "p50 ≤ 10 ms, p99 ≤ 25 ms", "200": "p99 ≤ 50 ms", "1000": f"p99 ≤ {TARGETS['p99_ms_at_1000']} ms"}


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
    p.add_argument("--loads", default="20,200,1000", help="fixed offered loads in commands/s, comma separated")
    p.add_argument("--load-seconds", type=float, default=10.0, help="seconds per fixed offered load")
    p.add_argument("--saturation-seconds", type=float, default=15.0, help="seconds of closed-loop saturation")
    p.add_argument("--concurrency", type=int, default=48, help="closed-loop clients at saturation")
    p.add_argument(
        "--replay-events", type=int, default=REPLAY_DEFAULT, help="events in the replayed history (1,000,000 for docs)"
    )
    p.add_argument(
        "--replay-workers",
        type=int,
        default=os.cpu_count() or 1,
        help="processes for rebuilding stream-local projections (the others use one)",
    )
    p.add_argument(
        "--raw-messages", type=int, default=100_000, help="messages/rows for the raw Kafka and PostgreSQL limits"
    )
    p.add_argument("--peer-appends", type=int, default=5_000, help="appends for ours vs the eventsourcing library")
    p.add_argument("--peer-writers", default="8,64", help="concurrent writers for the append comparison")
    p.add_argument("--warmup-seconds", type=float, default=3.0, help="closed-loop warm-up before measuring")
    p.add_argument("--out", type=Path, default=RESULTS / "latest.json")
    p.add_argument("--keep", action="store_true", help="keep the bench databases and topics (for inspection)")
    p.add_argument(
        "--split",
        default="",
        help="services to run as two processes, API and worker (relay, consumers), e.g. intake,casework",
    )
    p.add_argument(
        "--scale-out",
        default="1,2,4",
        help="intake process counts for the scale-out figure (referrals only, own databases); empty: skip",
    )
    p.add_argument("--scale-seconds", type=float, default=10.0, help="seconds of closed loop per scale-out count")
    p.add_argument("--profile", type=Path, default=None, help="py-spy each service during saturation into this folder")
    args = p.parse_args(argv)
    if args.quick:
        args.loads, args.load_seconds, args.saturation_seconds, args.concurrency = "200", 2.0, 2.0, 16
        args.raw_messages, args.peer_appends = 3_000, 240
        if args.replay_events == REPLAY_DEFAULT:  # an explicit size still counts (the million-event run)
            args.replay_events = 2_100
        args.peer_writers, args.warmup_seconds = "8", 2.0
        if args.scale_out == "1,2,4":  # an explicit list still counts
            args.scale_out, args.scale_seconds = "1,2", 2.0
    return args


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
    services = Services(
        scratch,
        prefix=f"{scratch.run}.",
        log_dir=REPO / ".local" / "bench" / scratch.run,
        split=frozenset(x for x in args.split.split(",") if x),
    )
    try:
        console.log(f"starting the four services on bench data ({scratch.run})")
        await services.start()
        tracker = Tracker(services)
        await tracker.start()
        progress = Progress(services, tracker.targets)
        await progress.start()
        world = World()
        async with Load(services, tracker, world, connections=max(64, args.concurrency)) as load:
            console.log("warm-up")
            await load.closed_loop(args.warmup_seconds, 8)
            await progress.caught_up(tracker)
            await asyncio.sleep(0.5 if args.quick else 1.0)
            rss_idle = services.rss()

            latency: dict[str, Any] = {}
            result["latency_breakdown_ms"], result["latency_by_service_ms"], result["relay_reads"] = {}, {}, {}
            for rate in [int(x) for x in args.loads.split(",") if x]:
                console.log(f"fixed offered load {rate} commands/s for {args.load_seconds}s")
                hops_before = await hops.snapshot(services)
                tracker.notify_ms = []
                stats = await load.open_loop(args.load_seconds, rate)
                await tracker.drain()
                latency[str(rate)] = summarise(stats)
                hops_after = await hops.snapshot(services)
                result["latency_breakdown_ms"][str(rate)] = hops.breakdown(hops_before, hops_after, tracker.notify_ms)
                result["latency_by_service_ms"][str(rate)] = hops.per_service(hops_before, hops_after)
                result["relay_reads"][str(rate)] = hops.relay_reads(hops_before, hops_after)

            console.log(f"saturation: {args.concurrency} clients for {args.saturation_seconds}s")
            pids = {n: s.pid for n, s in services.processes.items()}
            spies = await profile(args.profile, pids, args.saturation_seconds) if args.profile else []
            before = await progress.applied()
            batches_before = await services.batch_counts()
            with RssSampler(pids) as sampler, CpuMeter(pids) as cpu:
                stats = await load.closed_loop(args.saturation_seconds, args.concurrency)
                done = await progress.caught_up(tracker)
            await tracker.drain()
            for spy in spies:
                await spy.wait()
            latency["saturation"] = summarise(stats)
            elapsed = done - stats.started
            after = await progress.applied()
            batches_after = await services.batch_counts()
            result["commands_per_s"] = round(stats.ok / elapsed, 1)
            result["throughput"] = {
                "commands_ok": stats.ok,
                "load_s": round(stats.load_s, 2),
                "until_caught_up_s": round(elapsed, 2),
                "http_only_per_s": round(stats.ok / stats.load_s, 1),
                "mix": stats.by_command,
                "errors": stats.errors,
                "events_applied_by_projection": {k: after[k] - before.get(k, 0) for k in after},
                "cases_opened": await cases_opened(services),
                "participants_enrolled": len(world.enrolled),
                "mean_batch_by_projection": {
                    k: round((a - batches_before.get(k, (0, 0))[1]) / (n - batches_before.get(k, (0, 0))[0]), 1)
                    for k, (n, a) in batches_after.items()
                    if n > batches_before.get(k, (0, 0))[0]
                },
                "cpu_s": {k: round(v, 2) for k, v in cpu.seconds.items()},
                "cpu_ms_per_command": cpu.per_command_ms(stats.ok),
                "cpu_window_s": round(cpu.wall_s, 2),
            }
            result["e2e_latency_ms"] = latency
            await asyncio.sleep(0.5 if args.quick else 2.0)
            rss_steady = services.rss()
        await progress.stop()
        await tracker.stop()
        services.stop()

        console.log(f"raw limits: Kafka {args.raw_messages} messages")
        raw_figures: dict[str, Any] = await raw.kafka_rate(scratch, args.raw_messages)
        console.log(f"raw limits: PostgreSQL {args.raw_messages} rows")
        raw_figures |= await raw.pg_rates(scratch, args.raw_messages)
        console.log(f"raw limits: HTTP + one commit, {args.concurrency} clients for {args.saturation_seconds}s")
        raw_figures |= await http_commit_rate(scratch, args.saturation_seconds, args.concurrency)
        result["raw"] = raw_figures
        result["peer"] = {}
        for writers in [int(x) for x in args.peer_writers.split(",") if x]:
            console.log(f"peer: {args.peer_appends} appends by {writers} writers, ours and eventsourcing")
            result["peer"][str(writers)] = await raw.peer(scratch, args.peer_appends, writers=writers)
        counts = [int(x) for x in args.scale_out.split(",") if x]
        if counts:
            console.log(f"scale-out: intake with {args.scale_out} processes, {args.scale_seconds}s each")
            result["scale_out"] = await scale_out(scratch, counts, args.scale_seconds, args.concurrency)
        console.log(f"replay: {args.replay_events} events")
        replay = await replay_all(scratch, args.replay_events, args.replay_workers)
        result["replay"] = replay
        every = {**replay["from_kafka"], **replay["from_event_store"]}
        result["replay_events_per_s"] = {
            "from_kafka": min(v["events_per_s"] for v in replay["from_kafka"].values()),
            "from_event_store": replay["from_event_store"]["casework.cases"]["events_per_s"],
            "per_projection": {k: v["events_per_s"] for k, v in every.items()},
            "events": args.replay_events,
        }
        result["replay_projected_s"] = projected_replay_s(result["replay_events_per_s"]["per_projection"])
        replay_rss: dict[str, float | None] = {"intake": None}  # intake's register is not replayed here
        for key, v in every.items():
            svc = key.split(".")[0]
            replay_rss[svc] = max(replay_rss.get(svc) or 0.0, v["rss_peak_mib"])
        result["rss_mib"] = {
            name: {
                "idle_start": _r(rss_idle.get(name)),
                "steady": _r(rss_steady.get(name)),
                "load_peak": _r(sampler.peak.get(name)),
                "replay": replay_rss.get(name),
            }
            for name in services.processes
        }
        result["ratios"] = ratios(result)
        result["targets"] = TARGETS
        result["machine"]["load_average_end"] = list(os.getloadavg())
    finally:
        services.stop()
        if not args.keep:
            await scratch.cleanup()
    return result


async def cases_opened(services: Services) -> int:
    """Case streams in casework's event store (platform table): one per enrolment, if no event was lost."""
    conn = await asyncpg.connect(services.running["casework"].database_url)
    try:
        return int(await conn.fetchval("SELECT count(DISTINCT stream_id) FROM events WHERE stream_type = 'case'"))
    finally:
        await conn.close()


async def profile(folder: Path, pids: dict[str, int], seconds: float) -> list[asyncio.subprocess.Process]:
    """Start ``py-spy record`` (collapsed stacks) on every service for the saturation run."""
    folder.mkdir(parents=True, exist_ok=True)
    spy = str(Path(sys.executable).parent / "py-spy")
    return [
        await asyncio.create_subprocess_exec(
            spy,
            "record",
            # BENCH_PROFILE_NATIVE=1: C/Cython frames too (pauses the process for each sample)
            "--native" if os.environ.get("BENCH_PROFILE_NATIVE") else "--nonblocking",
            "-r",
            "100",
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


def projected_replay_s(rates: dict[str, float]) -> dict[str, Any]:
    """Seconds each replay would take at 10 M and 100 M events at the rate measured now: a
    linear projection (the rebuild streams, so memory stays flat; what it cannot see is the
    index and cache behaviour of tables ten to a thousand times larger)."""
    return {
        "basis": "linear from this run's rate",
        **{f"{size // 1_000_000}M": {k: round(size / v) for k, v in rates.items() if v} for size in SIZES},
    }


def _r(v: float | None) -> float | None:
    return round(v, 1) if v is not None else None


def ratios(r: dict[str, Any]) -> dict[str, float | None]:
    def div(a: float | None, b: float | None) -> float | None:
        return round(a / b, 3) if a and b else None

    raw_, rep = r["raw"], r["replay_events_per_s"]
    return {
        "commands_vs_http_commit": div(r["commands_per_s"], raw_["http_commit_per_s"]),
        "replay_from_kafka_vs_kafka_consume": div(rep["from_kafka"], raw_["kafka_consume_msgs_per_s"]),
        "replay_from_kafka_vs_kafka_raw": div(rep["from_kafka"], raw_["kafka_msgs_per_s"]),
        "replay_from_store_vs_pg_copy": div(rep["from_event_store"], raw_["pg_rows_per_s_copy"]),
        **{
            f"appends_{w}_writers_vs_pg_batched": div(p["ours_appends_per_s"], raw_["pg_rows_per_s_batched"])
            for w, p in r["peer"].items()
        },
        "commands_vs_kafka_raw": div(r["commands_per_s"], raw_["kafka_msgs_per_s"]),
        **{f"ours_vs_eventsourcing_{w}_writers": p["ratio"] for w, p in r["peer"].items()},
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
    raw_ = r["raw"]
    t.add_row(
        "commands/s sustained (projections caught up)",
        f"{r['commands_per_s']:,.0f}",
        f"≥ {TARGETS['commands_per_s']:,} and ≥ 0.5 x HTTP + one commit",
    )
    t.add_row(
        f"  raw limit: HTTP + one commit ({raw_['http_commit_concurrency']} clients) / ratio",
        f"{raw_['http_commit_per_s']:,.0f} / {r['ratios']['commands_vs_http_commit']}",
        f"raw p50 {raw_['http_commit_p50_ms']} ms",
    )
    t.add_row("  HTTP only (until the last response)", f"{r['throughput']['http_only_per_s']:,.0f}", "")
    per_cmd = r["throughput"].get("cpu_ms_per_command", {})
    t.add_row(
        "  CPU ms per command at saturation",
        f"{sum(per_cmd.values()):.1f}",
        ", ".join(f"{k} {v}" for k, v in sorted(per_cmd.items(), key=lambda kv: -kv[1])),
    )
    for load, v in r["e2e_latency_ms"].items():
        label = f"{load} commands/s" if load != "saturation" else "saturation"
        target = E2E_TARGETS.get(load, "")
        t.add_row(
            f"e2e ms p50/p95/p99 @ {label} (achieved {v['achieved_per_s']:,.0f}/s)",
            f"{v['p50']} / {v['p95']} / {v['p99']}",
            target,
        )
    rep = r["replay_events_per_s"]
    t.add_row(
        f"replay from Kafka, events/s ({rep['events']:,} requested)",
        f"{rep['from_kafka']:,}",
        f"≥ {TARGETS['replay_events_per_s']:,} and ≥ 0.9 x Kafka consume alone",
    )
    t.add_row(
        "replay from the event store, events/s",
        f"{rep['from_event_store']:,}",
        f"≥ {TARGETS['replay_events_per_s']:,} and ≥ 0.8 x raw COPY",
    )
    for name, v in r["rss_mib"].items():
        t.add_row(
            f"RSS MiB {name}: steady / load peak / replay",
            f"{v['steady']} / {v['load_peak']} / {v['replay']}",
            f"≤ {TARGETS['rss_steady_mib']} steady",
        )
    t.add_row(
        "raw Kafka consume alone msgs/s / replay ratio",
        f"{raw_['kafka_consume_msgs_per_s']:,} / {r['ratios']['replay_from_kafka_vs_kafka_consume']}",
        "≥ 0.9 each projection",
    )
    t.add_row("raw Kafka produce+consume msgs/s", f"{raw_['kafka_msgs_per_s']:,}", f"{raw_['payload_bytes']} B payload")
    t.add_row(
        "raw PostgreSQL rows/s: batched unnest / COPY",
        f"{raw_['pg_rows_per_s_batched']:,} / {raw_['pg_rows_per_s_copy']:,}",
        "",
    )
    for writers, p in r["peer"].items():
        t.add_row(
            f"appends/s with {writers} writers: ours / eventsourcing",
            f"{p['ours_appends_per_s']:,} / {p['eventsourcing_appends_per_s']:,}"
            f" (ours without group commit {p['ours_without_group_commit_appends_per_s']:,})",
            f"ratio {p['ratio']} (target ≥ {TARGETS['peer_ratio']})",
        )
    for n, v in r.get("scale_out", {}).get("processes", {}).items():
        t.add_row(
            f"scale-out: intake x{n}, referrals/s (HTTP p50 ms)",
            f"{v['per_s']:,} ({v['http_ms']['p50']})",
            f"x{r['scale_out']['speedup_vs_one'][n]} vs one; mean group {v['mean_group_size']}",
        )
    for key, rate in rep["per_projection"].items():
        workers = {**r["replay"]["from_kafka"], **r["replay"]["from_event_store"]}[key].get("workers", 1)
        projected = r.get("replay_projected_s", {})
        at = " / ".join(
            f"{size}: {projected[size].get(key, 0) / 60:,.0f} min" for size in ("10M", "100M") if size in projected
        )
        t.add_row(f"  replay {key}, events/s ({workers} worker{'s' if workers > 1 else ''})", f"{rate:,}", at)
    for k, v in r["ratios"].items():
        t.add_row(f"ratio {k}", str(v), "")
    console.print(t)
    console.print(hop_table(r.get("latency_breakdown_ms", {})))


def hop_table(breakdown: dict[str, Any]) -> Table:
    """Per hop and fixed load: mean / p50 / p99 ms (bench/hops.py says where each comes from)."""
    t = Table("hop (ms mean / p50 / p99)", *(f"@ {load}/s" for load in breakdown))
    for hop in next(iter(breakdown.values()), {}):
        t.add_row(hop, *(f"{b[hop]['mean_ms']} / {b[hop]['p50_ms']} / {b[hop]['p99_ms']}" for b in breakdown.values()))
    return t


def main(argv: list[str] | None = None) -> None:
    args = parse(argv)
    result = asyncio.run(run(args))
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=2) + "\n")
    render(result)
    Console(stderr=True).log(f"written {args.out}")


if __name__ == "__main__":
    main()
