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
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path

import aiohttp
import asyncpg
from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from prometheus_client.parser import text_string_to_metric_families

SERVICES = ("intake", "casework", "placement", "reporting")
REPO = Path(__file__).resolve().parent.parent
PG_ADMIN = os.environ.get(
    "BENCH_PG_ADMIN_URL", f"postgresql://postgres@127.0.0.1:{os.environ.get('PGPORT_LOCAL', '25432')}/postgres"
)
KAFKA = os.environ.get("BENCH_KAFKA_BOOTSTRAP", f"127.0.0.1:{os.environ.get('KAFKA_PORT', '29092')}")
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


def proc_entries(pid: int, sub: str) -> list[Path]:
    """The entries of ``/proc/<pid>/<sub>``; none once the process is gone (it may exit while we look)."""
    try:
        return list(Path(f"/proc/{pid}/{sub}").iterdir())
    except OSError:
        return []


def descendants(pid: int) -> list[int]:
    """Child processes of ``pid``, recursively (from /proc/<pid>/task/*/children)."""
    out: list[int] = []
    for task in proc_entries(pid, "task"):
        try:
            children = [int(c) for c in (task / "children").read_text().split()]
        except OSError:
            continue
        for child in children:
            out += [child, *descendants(child)]
    return out


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


async def admin_execute(statements: list[str], admin_url: str = PG_ADMIN) -> None:
    """Statements on the admin database one after another (CREATE/DROP DATABASE cannot run in a
    transaction). The bench's and the tests' scratch databases (tests/support.py) both come here."""
    conn = await asyncpg.connect(admin_url)
    try:
        for statement in statements:
            await conn.execute(statement)
    finally:
        await conn.close()


async def create_databases(names: list[str], admin_url: str = PG_ADMIN) -> None:
    await admin_execute([f'CREATE DATABASE "{n}"' for n in names], admin_url)


async def drop_databases(names: list[str], admin_url: str = PG_ADMIN) -> None:
    await admin_execute([f'DROP DATABASE IF EXISTS "{n}" WITH (FORCE)' for n in names], admin_url)


@contextlib.asynccontextmanager
async def kafka_admin(bootstrap: str = KAFKA) -> AsyncIterator[AIOKafkaAdminClient]:
    """A started admin client, closed again however the block ends."""
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    await admin.start()
    try:
        yield admin
    finally:
        await admin.close()


async def create_topics(names: list[str], partitions: int = 3, bootstrap: str = KAFKA) -> None:
    """Topics that keep every record (``retention.ms=-1``), as the event topics do."""
    async with kafka_admin(bootstrap) as admin:
        await admin.create_topics(
            [
                NewTopic(n, num_partitions=partitions, replication_factor=1, topic_configs={"retention.ms": "-1"})
                for n in names
            ]
        )


async def delete_topics(names: list[str], bootstrap: str = KAFKA) -> None:
    async with kafka_admin(bootstrap) as admin:
        with contextlib.suppress(Exception):
            await admin.delete_topics(names)


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
        # the load's users are made up: no staff directory unless the caller's environment asks for one
        "REHAPRO_STAFF_DIRECTORY": os.environ.get("REHAPRO_STAFF_DIRECTORY", "off"),
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
    # Services run as two processes: the API (HTTP only) and a worker (relay and projection
    # consumers), so the pipeline's event loop never waits behind request handlers.
    split: frozenset[str] = frozenset()
    running: dict[str, Service] = field(default_factory=dict)
    workers: dict[str, Service] = field(default_factory=dict)

    def _spawn(self, name: str, label: str, url: str, env_extra: dict[str, str]) -> Service:
        port = free_port()
        log = (self.log_dir / f"{label}.log").open("ab")
        proc = subprocess.Popen(
            [sys.executable, "-m", f"services.{name}", "serve"],
            cwd=REPO,
            env={**service_env(name, url, self.prefix, port), **env_extra},
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        return Service(label, port, url, proc)

    async def start(self) -> None:
        self.log_dir.mkdir(parents=True, exist_ok=True)
        await self.scratch.topic_set(self.prefix)
        for name in SERVICES:
            url = await self.scratch.database(name)
            up = name.upper()
            if name in self.split:
                off = {f"{up}_RELAY_ENABLED": "false", f"{up}_PROJECTIONS_ENABLED": "false"}
                self.running[name] = self._spawn(name, name, url, off)
                self.workers[name] = self._spawn(name, f"{name}-worker", url, {})
            else:
                self.running[name] = self._spawn(name, name, url, {})
        await self.wait_ready()

    @property
    def processes(self) -> dict[str, Service]:
        """Every process: the services (their API when split) and the split-off workers."""
        return {**self.running, **{w.name: w for w in self.workers.values()}}

    async def wait_ready(self, timeout: float = 90.0) -> None:
        deadline = time.monotonic() + timeout
        async with aiohttp.ClientSession() as http:
            for svc in self.processes.values():
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
        return {n: s.rss() for n, s in self.processes.items()}

    async def batch_counts(self) -> dict[str, tuple[float, float]]:
        """(batches, events applied) per projection so far, from each service's ``/metrics``."""
        out: dict[str, tuple[float, float]] = {}
        async with aiohttp.ClientSession() as http:
            for svc in self.processes.values():
                name = svc.name.removesuffix("-worker")
                async with http.get(f"{svc.base_url}/metrics") as r:
                    text = await r.text()
                batches: dict[str, float] = {}
                applied: dict[str, float] = {}
                for family in text_string_to_metric_families(text):
                    for sample in family.samples:
                        if sample.name == "projection_batch_seconds_count":
                            batches[sample.labels["projection"]] = sample.value
                        elif sample.name == "projection_events_applied_total":
                            applied[sample.labels["projection"]] = sample.value
                for projection, n in batches.items():
                    before = out.get(f"{name}.{projection}", (0.0, 0.0))
                    out[f"{name}.{projection}"] = (before[0] + n, before[1] + applied.get(projection, 0.0))
        return out

    def stop(self) -> None:
        for svc in self.processes.values():
            if svc.process.poll() is None:
                svc.process.send_signal(signal.SIGTERM)
        for svc in self.processes.values():
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
            for p in (pid, *descendants(pid)):  # a parallel rebuild's worker processes too
                value = rss_mib(p)
                if value is not None:
                    self.peak[name] = max(self.peak.get(name, 0.0), value)

    def __enter__(self) -> RssSampler:
        self._task = asyncio.get_running_loop().create_task(self._run())
        return self

    def __exit__(self, *_: object) -> None:
        self.sample()
        if self._task is not None:
            self._task.cancel()


def _cpu_seconds_by_process() -> dict[int, tuple[str, float]]:
    """utime + stime of every process on the machine, from /proc/<pid>/stat, in seconds."""
    tick = os.sysconf("SC_CLK_TCK")
    out: dict[int, tuple[str, float]] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            raw = (entry / "stat").read_text()
        except OSError:
            continue
        comm = raw[raw.index("(") + 1 : raw.rindex(")")]
        fields = raw[raw.rindex(")") + 2 :].split()
        out[int(entry.name)] = (comm, (int(fields[11]) + int(fields[12])) / tick)
    return out


class CpuMeter:
    """CPU seconds spent by each part of the stack over a window: the four services (by pid),
    PostgreSQL (every ``postgres`` process), Kafka (``java``), the bench's own load generator, and
    the rest. Divided by the commands of the window it says where each command's CPU goes."""

    def __init__(self, pids: dict[str, int]) -> None:
        self.pids = {pid: name for name, pid in pids.items()}
        self.pids[os.getpid()] = "bench (load generator)"
        self._start: dict[int, tuple[str, float]] = {}
        self._t0 = 0.0
        self.seconds: dict[str, float] = {}
        self.wall_s = 0.0

    def _group(self, pid: int, comm: str) -> str:
        if pid in self.pids:
            return self.pids[pid]
        if comm.startswith("postgres"):
            return "postgresql"
        if comm == "java":
            return "kafka"
        return "other"

    def __enter__(self) -> CpuMeter:
        self._t0 = time.monotonic()
        self._start = _cpu_seconds_by_process()
        return self

    def __exit__(self, *_: object) -> None:
        end = _cpu_seconds_by_process()
        self.wall_s = time.monotonic() - self._t0
        totals: dict[str, float] = {}
        for pid, (comm, cpu) in end.items():
            before = self._start.get(pid, (comm, 0.0))[1]  # a process born in the window counts whole
            group = self._group(pid, comm)
            totals[group] = totals.get(group, 0.0) + max(0.0, cpu - before)
        self.seconds = totals

    def per_command_ms(self, commands: int) -> dict[str, float]:
        return {k: round(v * 1000 / commands, 2) for k, v in sorted(self.seconds.items())} if commands else {}
