"""Scale-out: commands/s with 1, 2, 4 … processes of intake on one database.

For each count a fresh database and topic set; that many ``python -m services.intake serve``
processes (each with its relay, of which one leads; the first also runs intake's consumers, the
others serve commands only: the commands are what is scaled here, and four consumer groups'
worth of rebalancing on a loaded machine kept processes unready for minutes), and the load generator's
closed loop of referrals spread round-robin over them. It
answers "does a second process add throughput, and where does it stop": on a machine with two
cores the processes, PostgreSQL and the load generator share those cores, so the figure stops
where the CPU does; ``cpu_ms_per_command`` says who took it. Each process's group commit is on
(``append_groups_total`` / appends gives the mean group size).

``python -m bench.scale --processes 1,2,4 --seconds 10`` prints the JSON.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import time
from pathlib import Path
from typing import Any

import aiohttp
from prometheus_client.parser import text_string_to_metric_families

from bench.load import Call, World, _referral, percentiles
from bench.stack import JWT_SECRET, REPO, CpuMeter, Scratch, Service, Services
from shared.auth import issue_token
from shared.vocabulary import Role


async def _closed_loop(
    http: aiohttp.ClientSession, processes: list[Service], seconds: float, concurrency: int
) -> dict[str, Any]:
    """``concurrency`` clients sending referrals, the i-th command to process i mod n."""
    world = World()
    ok, errors, http_ms = 0, dict[str, int](), list[float]()
    turn = iter(range(1 << 62))
    end = time.perf_counter() + seconds

    async def client() -> None:
        nonlocal ok
        while time.perf_counter() < end:
            call: Call = _referral(world)
            svc = processes[next(turn) % len(processes)]
            t0 = time.perf_counter()
            try:
                async with http.post(svc.base_url + call.path, json=call.body) as r:
                    await r.read()
                    status = r.status
            except (aiohttp.ClientError, OSError, TimeoutError) as exc:
                errors[type(exc).__name__] = errors.get(type(exc).__name__, 0) + 1
                continue
            if status >= 400:
                errors[str(status)] = errors.get(str(status), 0) + 1
                continue
            ok += 1
            http_ms.append((time.perf_counter() - t0) * 1000)

    started = time.perf_counter()
    await asyncio.gather(*(client() for _ in range(concurrency)))
    elapsed = time.perf_counter() - started
    return {
        "ok": ok,
        "seconds": round(elapsed, 2),
        "per_s": round(ok / elapsed, 1),
        "http_ms": percentiles(http_ms),
        "errors": errors,
    }


async def _group_stats(http: aiohttp.ClientSession, processes: list[Service]) -> tuple[float, float]:
    """(group statements, appends) so far, summed over the processes' ``/metrics``."""
    groups = appended = 0.0
    for svc in processes:
        async with http.get(f"{svc.base_url}/metrics") as r:
            text = await r.text()
        for family in text_string_to_metric_families(text):
            for sample in family.samples:
                if sample.name == "append_groups_total":
                    groups += sample.value
                elif sample.name == "append_group_size_sum":
                    appended += sample.value
    return groups, appended


async def run_count(scratch: Scratch, n: int, seconds: float, concurrency: int, warmup: float) -> dict[str, Any]:
    """One count: start ``n`` intake processes on a fresh database, warm up, measure, stop."""
    services = Services(scratch, prefix=f"{scratch.run}.scale{n}.", log_dir=REPO / ".local" / "bench" / scratch.run)
    services.log_dir.mkdir(parents=True, exist_ok=True)
    await scratch.topic_set(services.prefix)
    url = await scratch.database(f"scale{n}_intake")
    api_only = {"INTAKE_PROJECTIONS_ENABLED": "false"}
    for i in range(n):
        services.running[f"intake-{i + 1}"] = services._spawn("intake", f"intake-{i + 1}", url, api_only if i else {})
    try:
        await services.wait_ready()
        token = issue_token(JWT_SECRET, subject="bench", role=Role.CASE_MANAGER, agency="jc-en")
        connector = aiohttp.TCPConnector(limit=max(64, concurrency))
        async with aiohttp.ClientSession(headers={"Authorization": f"Bearer {token}"}, connector=connector) as http:
            processes = list(services.running.values())
            await _closed_loop(http, processes, warmup, min(8, concurrency))
            before = await _group_stats(http, processes)
            with CpuMeter({s.name: s.pid for s in processes}) as cpu:
                figure = await _closed_loop(http, processes, seconds, concurrency)
            after = await _group_stats(http, processes)
        groups, appended = after[0] - before[0], after[1] - before[1]
        figure["mean_group_size"] = round(appended / groups, 2) if groups else None
        figure["cpu_ms_per_command"] = cpu.per_command_ms(figure["ok"])
        return figure
    finally:
        services.stop()


async def scale_out(
    scratch: Scratch, counts: list[int], seconds: float, concurrency: int, warmup: float = 2.0
) -> dict[str, Any]:
    """The figure for each process count, and each count's commands/s as a multiple of one process's."""
    by_count = {str(n): await run_count(scratch, n, seconds, concurrency, warmup) for n in counts}
    base = by_count.get("1", {}).get("per_s")
    speedup = {k: round(v["per_s"] / base, 2) if base else None for k, v in by_count.items()}
    return {"processes": by_count, "speedup_vs_one": speedup, "concurrency": concurrency, "seconds": seconds}


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(prog="python -m bench.scale", description=__doc__)
    p.add_argument("--processes", default="1,2,4", help="intake process counts, comma separated")
    p.add_argument("--seconds", type=float, default=10.0)
    p.add_argument("--concurrency", type=int, default=48)
    p.add_argument("--out", type=Path, default=None, help="also write the JSON here")
    args = p.parse_args(argv)

    async def go() -> dict[str, Any]:
        scratch = Scratch()
        try:
            counts = [int(x) for x in args.processes.split(",") if x]
            return await scale_out(scratch, counts, args.seconds, args.concurrency)
        finally:
            await scratch.cleanup()

    result = asyncio.run(go())
    text = json.dumps(result, indent=2)
    if args.out is not None:
        args.out.write_text(text + "\n")
    sys.stdout.write(text + "\n")


if __name__ == "__main__":
    main()
