"""Replay runs: fill topics / an event store with a synthetic history, then rebuild a service's
projection in its own process (the service's code, ``shared.rebuild``), sampling its RSS.

``python -m bench.replay kafka|store <service> <projection>`` is the worker; it reads the
service's settings from the environment (as ``serve`` does) and prints the stats as JSON.
"""

from __future__ import annotations

import asyncio
import importlib
import itertools
import json
import resource
import subprocess
import sys
import time
from typing import Any

import asyncpg
import uvloop
from aiokafka import AIOKafkaProducer

from bench import synth
from bench.stack import KAFKA, REPO, RssSampler, Scratch, service_env
from shared import rebuild
from shared.migrations import EVENTSTORE_SQL, migrate
from shared.settings import load_settings


def log(message: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


async def produce_history(prefix: str, events: int) -> int:
    """Publish a synthetic history to ``<prefix>intake.events`` / ``<prefix>casework.events``."""
    producer = AIOKafkaProducer(
        bootstrap_servers=KAFKA, acks="all", enable_idempotence=True, linger_ms=5, max_batch_size=512 * 1024
    )
    await producer.start()
    n = 0
    try:
        pending = []
        for row in synth.history(events):
            pending.append(
                await producer.send(f"{prefix}{row.service}.events", value=row.envelope, key=row.stream_id.encode())
            )
            n += 1
            if len(pending) >= 5000:
                await asyncio.gather(*pending)
                pending = []
        await asyncio.gather(*pending)
    finally:
        await producer.stop()
    return n


async def store_cases(database_url: str, events: int, chunk: int = 50_000) -> int:
    """COPY ``events`` CaseOpened events into a casework event store, ``chunk`` rows at a time
    (generated as they are copied: 10 M events never sit in memory at once)."""
    conn = await asyncpg.connect(database_url)
    try:
        await migrate(conn, EVENTSTORE_SQL)
        source = (r.record() for r in synth.cases(events))
        cols = ["event_id", "stream_id", "stream_type", "version", "event_type", "recorded_at", "hash", "envelope"]
        events = 0
        while rows := list(itertools.islice(source, chunk)):
            await conn.copy_records_to_table("events", records=rows, columns=cols)
            events += len(rows)
        await conn.execute("ANALYZE events")
    finally:
        await conn.close()
    return events


async def run_worker(
    service: str, projection_name: str, source: str, database_url: str, prefix: str, workers: int = 1
) -> dict[str, Any]:
    """Rebuild one projection in a child process (with ``workers`` processes of its own for a
    stream-local projection); returns its stats and the peak RSS of any one of its processes."""
    env = service_env(service, database_url, prefix)
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "bench.replay", source, service, projection_name, str(workers),
        cwd=REPO, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
    )  # fmt: skip
    with RssSampler({service: proc.pid}, interval=0.1) as sampler:
        out, err = await proc.communicate()
    if proc.returncode != 0:
        raise RuntimeError(f"replay worker failed: {err.decode()[-2000:]}")
    stats: dict[str, Any] = json.loads(out.decode().strip().splitlines()[-1])
    stats["rss_peak_mib"] = round(sampler.peak.get(service, 0.0), 1)
    return stats


def kafka_replays() -> list[tuple[str, str]]:
    """(service, projection) rebuilt from Kafka: placement's drv-exchange ``access`` (intake's
    topic) and every read model of reporting (whatever its definition holds today)."""
    reporting = importlib.import_module("services.reporting.app").definition
    return [("placement", "access"), *(("reporting", p.name) for p in reporting.projections if not p.side_effects)]


def workers_for(service: str, projection_name: str, workers: int) -> int:
    """``workers`` for a stream-local projection (streams split over processes), else 1."""
    definition = importlib.import_module(f"services.{service}.app").definition
    projection = next(p for p in definition.projections if p.name == projection_name)
    return workers if projection.stream_local else 1


async def replay_all(scratch: Scratch, events: int, workers: int = 1) -> dict[str, Any]:
    """Read models from offset 0 of the topics; casework's cases from its own event store.
    Stream-local projections are rebuilt by ``workers`` processes, the others by one."""
    prefix = f"{scratch.run}r."
    await scratch.topic_set(prefix)
    t = time.perf_counter()
    produced = await produce_history(prefix, events)
    produce_s = time.perf_counter() - t
    log(f"replay: {produced} events on the topics in {produce_s:.1f}s")
    out: dict[str, Any] = {"events_requested": events, "produced": produced, "produce_s": round(produce_s, 2)}
    kafka: dict[str, Any] = {}
    for service, projection in kafka_replays():
        url = await scratch.database(f"replay_{service}_{projection}")
        n = workers_for(service, projection, workers)
        kafka[f"{service}.{projection}"] = await run_worker(service, projection, "kafka", url, prefix, n)
        log(f"replay: {service}.{projection} rebuilt from Kafka: {kafka[f'{service}.{projection}']}")
    out["from_kafka"] = kafka
    store_url = await scratch.database("replay_casework")
    t = time.perf_counter()
    stored = await store_cases(store_url, events)
    out["store_fill_s"] = round(time.perf_counter() - t, 2)
    log(f"replay: {stored} events in casework's event store in {out['store_fill_s']}s")
    n = workers_for("casework", "cases", workers)
    out["from_event_store"] = {"casework.cases": await run_worker("casework", "cases", "store", store_url, prefix, n)}
    return out


def _worker(source: str, service: str, projection_name: str, workers: str = "1") -> None:
    app = importlib.import_module(f"services.{service}.app")
    projection = next(p for p in app.definition.projections if p.name == projection_name)
    settings = load_settings(service)
    schema = settings.schema_for(projection.name) + "_rebuild"
    stats = uvloop.run(rebuild.rebuild_parallel(settings, projection, schema, source=source, workers=int(workers)))
    usage = resource.getrusage(resource.RUSAGE_SELF)
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    print(
        json.dumps(
            {
                "events": stats.events,
                "seconds": round(stats.seconds, 3),
                "events_per_s": round(stats.events_per_s),
                "workers": int(workers),
                # the workers' own CPU (start-up included): near workers x "seconds" means Python-bound
                "worker_cpu_s": round(usage.ru_utime + usage.ru_stime + children.ru_utime + children.ru_stime, 2),
            }
        )
    )


if __name__ == "__main__":
    _worker(*sys.argv[1:5])
