"""The "one HTTP request + one single-row commit" limit: a minimal FastAPI endpoint served the way
the services are (``uvicorn.run`` with their options, so the same event loop and HTTP parser),
doing one autocommitted INSERT on the same PostgreSQL server, driven by the same aiohttp client
at the same concurrency as the saturation run. Commands/s divided by this says how much of the
stack's own floor the system reaches.

``python -m bench.raw_http <database url> <port>`` is the server process.
"""

from __future__ import annotations

import asyncio
import contextlib
import subprocess
import sys
import time
from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import asyncpg
import uvicorn
from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse

from bench.stack import REPO, Scratch, free_port

_TABLE = "CREATE TABLE IF NOT EXISTS raw_commands (id bigserial PRIMARY KEY, body bytea NOT NULL)"
_INSERT = "INSERT INTO raw_commands (body) VALUES ($1) RETURNING id"
# About the size of a referral (the largest command of the mix).
_BODY = {
    "project": "pro-aktiv",
    "received_on": "2026-03-01",
    "sex": "female",
    "identity": {
        "first_name": "Erika",
        "last_name": "Mustermann",
        "birth_date": "1970-01-01",
        "address": "Hauptstr. 1, 58452 Witten",
    },
    "reason": "Rückenschmerzen, längere Arbeitsunfähigkeit",
}


def build(database_url: str) -> FastAPI:
    """The endpoint: read the body, one INSERT (its own transaction), answer with the row id."""

    @contextlib.asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        pool = await asyncpg.create_pool(database_url, min_size=4, max_size=10)
        assert pool is not None
        await pool.execute(_TABLE)
        app.state.pool = pool
        yield
        await pool.close()

    app = FastAPI(lifespan=lifespan)

    @app.post("/commands", status_code=201)
    async def command(request: Request) -> JSONResponse:
        body = await request.body()
        row_id = await request.app.state.pool.fetchval(_INSERT, body)
        return JSONResponse({"id": row_id}, status_code=201)

    @app.get("/ready")
    async def ready() -> dict[str, str]:
        return {"status": "ready"}

    return app


async def _wait_ready(http: aiohttp.ClientSession, url: str, proc: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError("raw HTTP server exited")
        with contextlib.suppress(aiohttp.ClientError, OSError):
            async with http.get(url) as r:
                if r.status == 200:
                    return
        await asyncio.sleep(0.2)
    raise RuntimeError("raw HTTP server not ready")


async def http_commit_rate(scratch: Scratch, seconds: float, concurrency: int) -> dict[str, Any]:
    """Closed loop of ``concurrency`` clients for ``seconds``: requests/s and client-side p50."""
    url = await scratch.database("raw_http")
    port = free_port()
    proc = subprocess.Popen(
        [sys.executable, "-m", "bench.raw_http", url, str(port)],
        cwd=REPO,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    base = f"http://127.0.0.1:{port}"
    latencies: list[float] = []
    try:
        connector = aiohttp.TCPConnector(limit=max(64, concurrency), limit_per_host=max(64, concurrency))
        async with aiohttp.ClientSession(connector=connector) as http:
            await _wait_ready(http, f"{base}/ready", proc)

            async def client(end: float, sink: list[float] | None) -> int:
                n = 0
                while time.perf_counter() < end:
                    t0 = time.perf_counter()
                    async with http.post(f"{base}/commands", json=_BODY) as r:
                        await r.read()
                        if r.status != 201:
                            raise RuntimeError(f"raw HTTP endpoint answered {r.status}")
                    if sink is not None:
                        sink.append((time.perf_counter() - t0) * 1000)
                    n += 1
                return n

            warm = time.perf_counter() + min(2.0, seconds)
            await asyncio.gather(*(client(warm, None) for _ in range(concurrency)))
            started = time.perf_counter()
            counts = await asyncio.gather(*(client(started + seconds, latencies) for _ in range(concurrency)))
            elapsed = time.perf_counter() - started
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
    latencies.sort()
    return {
        "http_commit_per_s": round(sum(counts) / elapsed, 1),
        "http_commit_p50_ms": round(latencies[len(latencies) // 2], 2) if latencies else None,
        "http_commit_concurrency": concurrency,
    }


def serve(database_url: str, port: str) -> None:
    """Run like ``shared.cli``'s ``serve``: the same uvicorn options as the services."""
    uvicorn.run(
        build(database_url),
        host="127.0.0.1",
        port=int(port),
        log_config=None,
        access_log=False,
        timeout_graceful_shutdown=20,
    )


if __name__ == "__main__":
    serve(*sys.argv[1:3])
