"""Outbox relay: publishes committed events from the event store to the service's topic.

At least once, in commit-safe order, keyed by stream id. One active relay per service (a
session advisory lock); woken by NOTIFY, with polling as the fallback.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import time
from collections.abc import Callable
from typing import Any

import asyncpg
import structlog
from aiokafka import AIOKafkaProducer

from shared import metrics
from shared.db import Conn
from shared.eventstore import PostgresEventStore

log = structlog.get_logger(__name__)


def relay_lock_key(topic: str) -> int:
    return int.from_bytes(hashlib.sha256(f"relay:{topic}".encode()).digest()[:8], "big", signed=True)


def new_producer(bootstrap: str, client_id: str, **options: Any) -> AIOKafkaProducer:
    """Idempotent, acks=all, batching producer: the relay's only way to Kafka. ``options``: how
    to connect (``shared.kafka_auth.client_options``)."""
    return AIOKafkaProducer(
        bootstrap_servers=bootstrap,
        client_id=client_id,
        **options,
        acks="all",
        enable_idempotence=True,
        linger_ms=0,  # the relay sends a whole read at once, so it batches without waiting
        max_batch_size=256 * 1024,
        compression_type=None,
    )


class OutboxRelay:
    def __init__(
        self,
        store: PostgresEventStore,
        producer: AIOKafkaProducer,
        topic: str,
        *,
        batch_size: int = 2000,
        poll_interval: float = 0.5,
        route: Callable[[str], str | None] | None = None,
    ) -> None:
        self.store = store
        self.producer = producer
        self.topic = topic
        self.route = route  # stream id -> another topic for it (the audit topic), None: ``topic``
        self.batch_size = batch_size
        self.poll_interval = poll_interval
        self._wake = asyncio.Event()
        self._stopping = asyncio.Event()
        self.is_leader = False
        metrics.RELAY_LEADER.labels(topic).set(0)  # exported from the start: "no leader" is visible
        self._after: tuple[int, int] | None = None  # the checkpoint this relay last wrote
        self._woken_at: float | None = None  # first wake since the last read (hop metrics)

    async def checkpoint(self, conn: Conn) -> tuple[int, int]:
        row = await conn.fetchrow(
            "SELECT last_xid::text::bigint AS x, last_position AS p FROM relay_checkpoint WHERE topic = $1",
            self.topic,
        )
        return (row["x"], row["p"]) if row else (0, 0)

    async def publish_once(self, conn: Conn) -> tuple[int, bool]:
        """Publish the next batch of committed events.

        Returns how many were published and whether committed events are held back behind an
        older in-flight transaction (then the caller looks again shortly).
        """
        # Only the leader writes the checkpoint, so after its first read it is known here: one
        # round trip fewer per batch. Re-read whenever leadership is (re)gained.
        woken, self._woken_at = self._woken_at or time.perf_counter(), None
        after = self._after if self._after is not None else await self.checkpoint(conn)
        rows, held = await self.store.read_committed(after, self.batch_size, conn=conn)
        metrics.RELAY_READS.labels(self.topic).inc()
        if held:
            metrics.RELAY_HELD.labels(self.topic).inc()
            self._woken_at = woken  # the held events wait since then (the hop metric counts it)
        if not rows:
            return 0, held
        sending = time.perf_counter()
        futures = [
            await self.producer.send(self._topic_of(row.stream_id), value=row.envelope, key=row.stream_id.encode())
            for row in rows
        ]
        await asyncio.gather(*futures)
        metrics.RELAY_SECONDS.labels(self.topic, "wake_to_read").observe(sending - woken)
        metrics.RELAY_SECONDS.labels(self.topic, "produce").observe(time.perf_counter() - sending)
        last_xid, last_pos = rows[-1].xid, rows[-1].position
        await conn.execute(
            """
            INSERT INTO relay_checkpoint (topic, last_xid, last_position) VALUES ($1, $2::text::xid8, $3)
            ON CONFLICT (topic) DO UPDATE SET last_xid = excluded.last_xid, last_position = excluded.last_position
            """,
            self.topic,
            str(last_xid),
            last_pos,
        )
        self._after = (last_xid, last_pos)
        metrics.RELAY_PUBLISHED.labels(self.topic).inc(len(rows))
        return len(rows), held

    def _topic_of(self, stream_id: str) -> str:
        return (self.route(stream_id) if self.route else None) or self.topic

    def wake(self) -> None:
        if self._woken_at is None:
            self._woken_at = time.perf_counter()
        self._wake.set()

    def stop(self) -> None:
        self._stopping.set()
        self._wake.set()

    async def run(self) -> None:
        """Wait for leadership, then publish until stopped. Safe to run in every replica;
        a lost database connection gives up leadership and competes for it again."""
        while not self._stopping.is_set():
            try:
                await self._lead()
            except (OSError, asyncpg.PostgresError, asyncpg.InterfaceError) as exc:
                log.warning("relay.connection_lost", topic=self.topic, error=repr(exc))
                metrics.RELAY_ERRORS.labels(self.topic).inc()
                self.is_leader = False
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._stopping.wait(), timeout=1.0)

    async def _lead(self) -> None:
        pool = self.store.pool
        lock = relay_lock_key(self.topic)
        async with pool.acquire() as conn:
            while not self._stopping.is_set():
                if await conn.fetchval("SELECT pg_try_advisory_lock($1)", lock):
                    break
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._stopping.wait(), timeout=2.0)
            if self._stopping.is_set():
                return
            self.is_leader = True
            metrics.RELAY_LEADER.labels(self.topic).set(1)
            self._after = None
            log.info("relay.leader", topic=self.topic)

            def on_notify(*_: object) -> None:
                self.wake()

            await conn.add_listener("events_appended", on_notify)
            try:
                await self._publish_loop(conn)
            finally:
                self.is_leader = False
                metrics.RELAY_LEADER.labels(self.topic).set(0)
                with contextlib.suppress(Exception):  # the connection may be gone already
                    await conn.remove_listener("events_appended", on_notify)
                    await conn.execute("SELECT pg_advisory_unlock($1)", lock)

    async def _publish_loop(self, conn: Conn) -> None:
        while not self._stopping.is_set():
            # Cleared before reading: an append that commits while this batch is being read or
            # published wakes the next round instead of waiting for the poll.
            self._wake.clear()
            try:
                published, held = await self.publish_once(conn)
            except (OSError, asyncpg.PostgresError, asyncpg.InterfaceError):
                raise  # the connection (and with it the lock) may be gone: compete again
            except Exception as exc:  # Kafka errors: the checkpoint did not move; retry
                log.warning("relay.retry", topic=self.topic, error=repr(exc))
                metrics.RELAY_ERRORS.labels(self.topic).inc()
                await asyncio.sleep(1.0)
                continue
            if published == self.batch_size:
                continue
            if held:
                await asyncio.sleep(0.005)
                continue
            if self._stopping.is_set():
                break
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), timeout=self.poll_interval)
