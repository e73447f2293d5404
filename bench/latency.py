"""``python -m bench.latency [--loads 20,200] [--seconds 10] [--single 10]``: only the e2e
latency and its per-hop breakdown at fixed offered loads, and one client sending the mix one
command at a time (its HTTP p50 and each process's CPU ms per command: the HTTP path at idle),
on the bench's own copy of the system (a minute instead of the full bench's many): what a change
to a wake, fetch or request path is measured with. Prints one JSON document."""

from __future__ import annotations

import argparse
import asyncio
import json
import os
from typing import Any

from bench import hops
from bench.__main__ import summarise
from bench.load import Load, World, percentiles
from bench.progress import Progress, Tracker
from bench.stack import REPO, CpuMeter, Scratch, Services


async def run(loads: list[int], seconds: float, warmup: float, single: float) -> dict[str, Any]:
    scratch = Scratch()
    services = Services(scratch, prefix=f"{scratch.run}.", log_dir=REPO / ".local" / "bench" / scratch.run)
    out: dict[str, Any] = {"load_average_start": os.getloadavg()[0]}
    try:
        await services.start()
        tracker = Tracker(services)
        await tracker.start()
        progress = Progress(services, tracker.targets)
        await progress.start()
        async with Load(services, tracker, World()) as load:
            await load.closed_loop(warmup, 8)
            await progress.caught_up(tracker)
            await asyncio.sleep(1.0)
            for rate in loads:
                before = await hops.snapshot(services)
                tracker.notify_ms = []
                stats = await load.open_loop(seconds, rate)
                await tracker.drain()
                after = await hops.snapshot(services)
                out[str(rate)] = {
                    "e2e": summarise(stats),
                    "hops": hops.breakdown(before, after, tracker.notify_ms),
                    "hops_by_service": hops.per_service(before, after),
                    "relay_reads": hops.relay_reads(before, after),
                }
            if single > 0:
                await tracker.drain()
                pids = {n: s.pid for n, s in services.processes.items()}
                with CpuMeter(pids) as cpu:
                    stats = await load.closed_loop(single, 1)
                out["single_client"] = {
                    "commands": stats.ok,
                    "http": percentiles(stats.http_ms),
                    "cpu_ms_per_command": cpu.per_command_ms(stats.ok),
                }
        await progress.stop()
        await tracker.stop()
    finally:
        services.stop()
        await scratch.cleanup()
    out["load_average_end"] = os.getloadavg()[0]
    return out


def main() -> None:
    p = argparse.ArgumentParser(prog="python -m bench.latency", description=__doc__)
    p.add_argument("--loads", default="20,200", help="fixed offered loads in commands/s, comma separated")
    p.add_argument("--seconds", type=float, default=10.0, help="seconds per load")
    p.add_argument("--warmup", type=float, default=3.0, help="closed-loop warm-up seconds")
    p.add_argument("--single", type=float, default=10.0, help="seconds of one client, one command at a time (0: none)")
    args = p.parse_args()
    loads = [int(x) for x in args.loads.split(",") if x]
    print(json.dumps(asyncio.run(run(loads, args.seconds, args.warmup, args.single))))


if __name__ == "__main__":
    main()
