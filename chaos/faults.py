"""The faults: kill -9 of a service or of the relay's leader, restarts of Kafka and PostgreSQL, a
kill -9 of the postmaster, re-published duplicates and poison records.

Infrastructure faults act on this checkout's own local stack only (``deploy/local/*.sh`` with
their state in ``<repo>/.local``), and only when the harness talks to that stack."""

from __future__ import annotations

import asyncio
import os
import signal
import uuid
from pathlib import Path
from typing import Any

import orjson
from aiokafka import AIOKafkaProducer

from bench.stack import KAFKA, PG_ADMIN, REPO, Service, Services, proc_entries
from chaos.account import connect, read_topics
from shared.envelope import GENESIS_HASH, Envelope
from shared.relay import relay_lock_key

LOCAL = REPO / "deploy" / "local"
PG_DATA = REPO / ".local" / "pg" / "data"
KAFKA_PID = REPO / ".local" / "kafka" / "kafka.pid"
RELAY_STANDBY = "intake-relay"


def own_stack() -> str | None:
    """Why infrastructure faults must not run here, or None when the harness uses this checkout's stack."""
    pg_port = os.environ.get("PGPORT_LOCAL", "25432")
    kafka_port = os.environ.get("KAFKA_PORT", "29092")
    if f"127.0.0.1:{pg_port}/" not in PG_ADMIN or f"127.0.0.1:{kafka_port}" != KAFKA:
        return f"the harness uses {PG_ADMIN} / {KAFKA}, not this checkout's stack"
    if not (PG_DATA / "postmaster.pid").exists() or not KAFKA_PID.exists():
        return f"no local stack of this checkout under {REPO / '.local'} (deploy/local/stack.sh up)"
    return None


async def sh(*argv: str) -> None:
    proc = await asyncio.create_subprocess_exec(
        *argv, cwd=REPO, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT
    )
    out, _ = await proc.communicate()
    if proc.returncode != 0:
        raise RuntimeError(f"{' '.join(argv)} failed:\n{out.decode()[-2000:]}")


def respawn(services: Services, label: str) -> Service:
    """Start the process ``label`` again (same database, new port) and put it in its place."""
    if label == RELAY_STANDBY:
        old = services.workers[RELAY_STANDBY]
        new = services._spawn("intake", RELAY_STANDBY, old.database_url, {"INTAKE_PROJECTIONS_ENABLED": "false"})
        services.workers[RELAY_STANDBY] = new
    else:
        old = services.running[label]
        new = services._spawn(label, label, old.database_url, {})
        services.running[label] = new
    return new


async def kill9(services: Services, label: str) -> dict[str, Any]:
    svc = services.workers[label] if label == RELAY_STANDBY else services.running[label]
    svc.process.send_signal(signal.SIGKILL)
    svc.process.wait()
    respawn(services, label)
    return {"killed_pid": svc.pid}


def start_relay_standby(services: Services) -> None:
    """A second intake process with a relay (no projections): the relay's leader has a standby."""
    url = services.running["intake"].database_url
    services.workers[RELAY_STANDBY] = services._spawn(
        "intake", RELAY_STANDBY, url, {"INTAKE_PROJECTIONS_ENABLED": "false"}
    )


def _socket_inodes(port: int) -> set[str]:
    """Inodes of the TCP sockets whose local port is ``port`` (/proc/net/tcp{,6})."""
    out: set[str] = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        try:
            lines = Path(table).read_text().splitlines()[1:]
        except OSError:
            continue
        for line in lines:
            cols = line.split()
            if int(cols[1].rsplit(":", 1)[1], 16) == port:
                out.add(cols[9])
    return out


def _owns_socket(pid: int, inodes: set[str]) -> bool:
    for fd in proc_entries(pid, "fd"):
        try:
            link = os.readlink(fd)
        except OSError:
            continue
        if link.startswith("socket:[") and link[8:-1] in inodes:
            return True
    return False


async def relay_leader(services: Services) -> str:
    """The process holding intake's relay lock: its database session's client port, mapped to
    the candidate process that owns that socket."""
    key = relay_lock_key(f"{services.prefix}intake.events") & 0xFFFF_FFFF_FFFF_FFFF
    conn = await connect(services.running["intake"].database_url)
    try:
        port = await conn.fetchval(
            "SELECT a.client_port FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid"
            " WHERE l.locktype = 'advisory' AND l.granted AND l.objsubid = 1"
            " AND l.classid::bigint = $1 AND l.objid::bigint = $2",
            key >> 32,
            key & 0xFFFF_FFFF,
        )
    finally:
        await conn.close()
    if port is None:
        raise RuntimeError("no relay holds intake's lock")
    inodes = _socket_inodes(int(port))
    for label, svc in (("intake", services.running["intake"]), (RELAY_STANDBY, services.workers[RELAY_STANDBY])):
        if _owns_socket(svc.pid, inodes):
            return label
    raise RuntimeError(f"relay leader (client port {port}) is none of the intake processes")


async def kill9_relay_leader(services: Services) -> dict[str, Any]:
    label = await relay_leader(services)
    note = await kill9(services, label)
    return {"leader": label, **note}


async def restart_kafka(services: Services) -> dict[str, Any]:
    await sh(str(LOCAL / "kafka.sh"), "stop")
    await asyncio.sleep(1.0)
    await sh(str(LOCAL / "kafka.sh"), "start")
    return {}


async def restart_postgres(services: Services) -> dict[str, Any]:
    await sh(str(LOCAL / "postgres.sh"), "stop")
    await asyncio.sleep(1.0)
    await sh(str(LOCAL / "postgres.sh"), "start")
    return {}


async def kill9_postmaster(services: Services) -> dict[str, Any]:
    pid = int((PG_DATA / "postmaster.pid").read_text().split()[0])
    cmdline = Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode()  # noqa: ASYNC240
    if str(PG_DATA) not in cmdline:  # never anybody else's PostgreSQL
        raise RuntimeError(f"pid {pid} is not this checkout's postmaster: {cmdline}")
    os.kill(pid, signal.SIGKILL)
    for attempt in range(10):  # backends of the dead postmaster leave within a few seconds
        await asyncio.sleep(1.0)
        try:
            await sh(str(LOCAL / "postgres.sh"), "start")
            return {"killed_pid": pid, "start_attempts": attempt + 1}
        except RuntimeError:
            if attempt == 9:
                raise
    raise AssertionError("unreachable")


async def _produce(records: list[tuple[str, bytes | None, bytes]]) -> None:
    producer = AIOKafkaProducer(bootstrap_servers=KAFKA, acks="all")
    await producer.start()
    try:
        for topic, key, value in records:
            await producer.send_and_wait(topic, value=value, key=key)
    finally:
        await producer.stop()


async def duplicates(services: Services, per_topic: int = 300) -> dict[str, Any]:
    """Re-publish records already on intake's and casework's topics, unchanged (as a producer
    retry or a relay re-send after a crash would)."""
    topics = [f"{services.prefix}{s}.events" for s in ("intake", "casework")]
    found = await read_topics(topics)
    again = [(t, k, v) for t in topics for k, v in found[t][-per_topic:] if v is not None]
    await _produce(again)
    return {"republished": len(again)}


POISON_KINDS = ("undecodable", "unknown_type", "invalid_contract", "forged_hash")
# What the consumers must do with each: park it on the group's dead-letter topic, or (an event
# type nobody handles) count it as ignored and go on.
POISON_PARKED = ("undecodable", "invalid_contract", "forged_hash")


async def poison(services: Services) -> dict[str, Any]:
    """Publish one record of each poison kind to intake's topic, on new streams (keys)."""
    topic = f"{services.prefix}intake.events"
    template = None
    for _, value in reversed((await read_topics([topic]))[topic]):
        with_type = orjson.loads(value or b"{}")
        if with_type.get("event_type") == "ReferralReceived":
            template = Envelope.model_validate(with_type)
            break
    if template is None:
        raise RuntimeError("no ReferralReceived on intake's topic to build poison from")

    def fresh(**changes: Any) -> Envelope:
        sid = f"participant-{uuid.uuid4()}"
        return template.model_copy(
            update={"event_id": uuid.uuid4(), "stream_id": sid, "version": 1, "prev_hash": GENESIS_HASH, **changes}
        )

    unknown = fresh(event_type="ChaosSomethingHappened").sealed()
    invalid = fresh(payload={"participant_id": "not-a-uuid", "received_on": "yesterday"}).sealed()
    forged = fresh().sealed().model_copy(update={"hash": "f" * 64})
    records: list[tuple[str, bytes | None, bytes]] = [
        (topic, b"chaos-poison-undecodable", b"not json"),
        (topic, unknown.stream_id.encode(), unknown.to_bytes()),
        (topic, invalid.stream_id.encode(), invalid.to_bytes()),
        (topic, forged.stream_id.encode(), forged.to_bytes()),
    ]
    await _produce(records)
    return {"published": dict(zip(POISON_KINDS, [(r[1] or b"").decode() for r in records], strict=True))}
