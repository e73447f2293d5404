"""The bench's own copy of the system: fresh databases and topics (never dev data) and the four
services as real processes (``python -m services.<name> serve``), as deploy/local/services.sh
starts them."""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import socket
import subprocess
import sys
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path

import aiohttp
import asyncpg
from aiokafka.admin import AIOKafkaAdminClient, NewTopic

SERVICES = ("intake", "casework", "placement", "reporting")
REPO = Path(__file__).resolve().parent.parent
PG_ADMIN = os.environ.get("BENCH_PG_ADMIN_URL", "postgresql://postgres@127.0.0.1:55432/postgres")
KAFKA = os.environ.get("BENCH_KAFKA_BOOTSTRAP", "127.0.0.1:59092")
JWT_SECRET = "bench-only-secret-0123456789abcdef"


def db_url(name: str) -> str:
    return f"{PG_ADMIN.rpartition('/')[0]}/{name}"


def rss_mib(pid: int) -> float | None:
    """Resident set size of a live process (VmRSS of /proc/<pid>/status), in MiB."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    except OSError:
        return None
    return None


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


async def create_databases(names: list[str]) -> None:
    conn = await asyncpg.connect(PG_ADMIN)
    try:
        for n in names:
            await conn.execute(f'CREATE DATABASE "{n}"')
    finally:
        await conn.close()


async def drop_databases(names: list[str]) -> None:
    conn = await asyncpg.connect(PG_ADMIN)
    try:
        for n in names:
            await conn.execute(f'DROP DATABASE IF EXISTS "{n}" WITH (FORCE)')
    finally:
        await conn.close()


async def create_topics(names: list[str], partitions: int = 3) -> None:
    admin = AIOKafkaAdminClient(bootstrap_servers=KAFKA)
    await admin.start()
    try:
        await admin.create_topics(
            [
                NewTopic(n, num_partitions=partitions, replication_factor=1, topic_configs={"retention.ms": "-1"})
                for n in names
            ]
        )
    finally:
        await admin.close()


async def delete_topics(names: list[str]) -> None:
    admin = AIOKafkaAdminClient(bootstrap_servers=KAFKA)
    await admin.start()
    try:
        with contextlib.suppress(Exception):
            await admin.delete_topics(names)
    finally:
        await admin.close()


@dataclass
class Scratch:
    """Databases and topics made for one bench run, removed at the end."""

    run: str = field(default_factory=lambda: "bench" + uuid.uuid4().hex[:8])
    databases: list[str] = field(default_factory=list)
    topics: list[str] = field(default_factory=list)

    async def database(self, suffix: str) -> str:
        name = f"{self.run}_{suffix}"
        await create_databases([name])
        self.databases.append(name)
        return db_url(name)

    async def topic_set(self, prefix: str, partitions: int = 3) -> list[str]:
        names = [f"{prefix}{s}.events" for s in SERVICES]
        await create_topics(names, partitions)
        self.topics += names
        return names

    async def cleanup(self) -> None:
        await drop_databases(self.databases)
        if self.topics:
            await delete_topics(self.topics)


@dataclass
class Service:
    name: str
    port: int
    database_url: str
    process: subprocess.Popen[bytes]

    @property
    def pid(self) -> int:
        return self.process.pid

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def rss(self) -> float | None:
        return rss_mib(self.pid)


def service_env(name: str, database_url: str, prefix: str, port: int | None = None) -> dict[str, str]:
    """The environment deploy/local/services.sh gives a service, pointed at bench data."""
    up = name.upper()
    env = {
        **os.environ,
        f"{up}_DATABASE_URL": database_url,
        "REHAPRO_KAFKA_BOOTSTRAP": KAFKA,
        "REHAPRO_TOPIC_PREFIX": prefix,
        "REHAPRO_JWT_SECRET": JWT_SECRET,
        "REHAPRO_LOG_LEVEL": "WARNING",
    }
    if port is not None:
        env[f"{up}_HTTP_PORT"] = str(port)
    return env


@dataclass
class Services:
    """The four services running as processes against the bench databases and topics."""

    scratch: Scratch
    prefix: str
    log_dir: Path
    running: dict[str, Service] = field(default_factory=dict)

    async def start(self) -> None:
        self.log_dir.mkdir(parents=True, exist_ok=True)
        await self.scratch.topic_set(self.prefix)
        for name in SERVICES:
            url = await self.scratch.database(name)
            port = free_port()
            log = (self.log_dir / f"{name}.log").open("ab")
            proc = subprocess.Popen(
                [sys.executable, "-m", f"services.{name}", "serve"],
                cwd=REPO,
                env=service_env(name, url, self.prefix, port),
                stdout=log,
                stderr=subprocess.STDOUT,
            )
            self.running[name] = Service(name, port, url, proc)
        await self.wait_ready()

    async def wait_ready(self, timeout: float = 90.0) -> None:
        deadline = time.monotonic() + timeout
        async with aiohttp.ClientSession() as http:
            for svc in self.running.values():
                while True:
                    if svc.process.poll() is not None:
                        tail = (self.log_dir / f"{svc.name}.log").read_text()[-3000:]
                        raise RuntimeError(f"{svc.name} exited:\n{tail}")
                    with contextlib.suppress(aiohttp.ClientError, OSError):
                        async with http.get(f"{svc.base_url}/health/ready") as r:
                            if r.status == 200:
                                break
                    if time.monotonic() > deadline:
                        raise RuntimeError(f"{svc.name} not ready after {timeout}s")
                    await asyncio.sleep(0.2)

    def rss(self) -> dict[str, float | None]:
        return {n: s.rss() for n, s in self.running.items()}

    def stop(self) -> None:
        for svc in self.running.values():
            if svc.process.poll() is None:
                svc.process.send_signal(signal.SIGTERM)
        for svc in self.running.values():
            try:
                svc.process.wait(timeout=25)
            except subprocess.TimeoutExpired:
                svc.process.kill()
                svc.process.wait()


class RssSampler:
    """Peak RSS of a set of processes, sampled in the background every ``interval`` seconds."""

    def __init__(self, pids: dict[str, int], interval: float = 0.2) -> None:
        self.pids = pids
        self.interval = interval
        self.peak: dict[str, float] = {}
        self._task: asyncio.Task[None] | None = None

    async def _run(self) -> None:
        while True:
            self.sample()
            await asyncio.sleep(self.interval)

    def sample(self) -> None:
        for name, pid in self.pids.items():
            value = rss_mib(pid)
            if value is not None:
                self.peak[name] = max(self.peak.get(name, 0.0), value)

    def __enter__(self) -> RssSampler:
        self._task = asyncio.get_running_loop().create_task(self._run())
        return self

    def __exit__(self, *_: object) -> None:
        self.sample()
        if self._task is not None:
            self._task.cancel()
