"""A service's moving parts (pool, event store, broker, relay, projection consumers) and
their start/stop order, so shutdown finishes in-flight work before connections close."""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

import asyncpg
import structlog
from faststream.kafka import KafkaBroker

from shared.consumer import ProjectionConsumer
from shared.envelope import Envelope
from shared.eventstore import PostgresEventStore
from shared.migrations import EVENTSTORE_SQL, migrate
from shared.projections import Projection, ProjectionRunner
from shared.relay import OutboxRelay, new_producer
from shared.settings import ServiceSettings
from shared.unit_of_work import PostgresUnitOfWork

log = structlog.get_logger(__name__)


async def _keep_session(conn: asyncpg.Connection) -> None:
    """Pool release hook: skip asyncpg's default ``RESET ALL; UNLISTEN *; CLOSE ALL;
    pg_advisory_unlock_all()`` round trip (about a tenth of intake's CPU under load).

    asyncpg still rolls back an unfinished transaction before calling this. No code path leaves
    session state behind: settings are ``SET LOCAL``, and the only session-level lock and LISTEN
    (the relay's) are released by the relay itself, or end with its broken connection.
    """
    return None


@dataclass
class ServiceDefinition:
    """What makes one service: its name, extra SQL for its own tables and its projections."""

    name: str
    sql: Sequence[Path] = ()
    projections: Sequence[Projection] = ()


@dataclass
class Runtime:
    settings: ServiceSettings
    definition: ServiceDefinition
    # "today" for every command and view of the service (tests inject their own day)
    clock: Callable[[], date] = date.today
    pool: asyncpg.Pool | None = None
    # The relay and the projection consumers get their own connections: under request load
    # they would otherwise queue behind HTTP handlers for the pool, and every event's way to
    # the other services (and the latency the bench measures) would wait with them.
    background_pool: asyncpg.Pool | None = None
    store: PostgresEventStore | None = None
    broker: KafkaBroker | None = None
    relay: OutboxRelay | None = None
    consumers: list[ProjectionConsumer] = field(default_factory=list)
    runners: list[ProjectionRunner] = field(default_factory=list)
    _tasks: list[asyncio.Task[None]] = field(default_factory=list)

    def unit_of_work(self, transactional: bool) -> PostgresUnitOfWork:
        """A unit of work on the request pool (the bus makes one per command attempt)."""
        if self.store is None:
            raise RuntimeError("the runtime is not connected")
        return PostgresUnitOfWork(self.store, transactional=transactional)

    @property
    def topic(self) -> str:
        return self.settings.topic(self.definition.name)

    async def connect(self) -> None:
        """Open the pool and apply migrations (event store, service tables, projections)."""
        s = self.settings
        self.pool = await self._create_pool(s.db_pool_min, s.db_pool_max)
        async with self.pool.acquire() as conn:
            await migrate(conn, [*EVENTSTORE_SQL, *self.definition.sql], schema="public")
        self.store = PostgresEventStore(self.pool)
        self.runners = [ProjectionRunner(self.pool, p, s.schema_for(p.name)) for p in self.definition.projections]
        for runner in self.runners:
            await runner.setup()

    async def _create_pool(self, min_size: int, max_size: int) -> asyncpg.Pool:
        s = self.settings
        schemas = [s.schema_for(p.name) for p in self.definition.projections]
        pool: asyncpg.Pool = await asyncpg.create_pool(
            s.database_url,
            min_size=min_size,
            max_size=max_size,
            reset=_keep_session,
            server_settings={
                "search_path": ", ".join([*(f'"{x}"' for x in schemas), "public"]),
                "application_name": s.service,
            },
        )
        return pool

    def build_broker(self) -> KafkaBroker:
        """The FastStream broker with one batch subscriber per projection (also used for AsyncAPI).
        Needs ``connect()`` first: the subscribers feed the runners it made."""
        if self.definition.projections and not self.runners:
            raise RuntimeError("connect() before building the broker")
        s = self.settings
        broker = KafkaBroker(s.kafka_bootstrap, client_id=s.service, logger=None)
        self.broker = broker
        self.consumers = []
        for runner in self.runners:
            topics = [s.topic(t) for t in runner.projection.topics]
            self.consumers.append(
                ProjectionConsumer(
                    broker,
                    runner,
                    topics,
                    group_id=f"{s.group_prefix or s.topic_prefix}{s.service}.{runner.projection.name}",
                    max_records=s.consumer_batch,
                )
            )
        broker.publisher(
            self.topic, title=self.topic, description=f"Events of the {s.service} service", schema=Envelope
        )
        return broker

    async def start(self) -> None:
        if self.pool is None:
            await self.connect()
        assert self.store is not None
        s = self.settings
        consuming = s.projections_enabled and bool(self.definition.projections)
        background = (1 if s.relay_enabled else 0) + (len(self.runners) if consuming else 0)
        if background:
            # one connection each (the relay's leader keeps its own), one spare for lag checks
            self.background_pool = await self._create_pool(1, background + 1)
            for runner in self.runners:
                runner.pool = self.background_pool
        if s.relay_enabled:
            assert self.background_pool is not None
            producer = new_producer(s.kafka_bootstrap, f"{s.service}-relay")
            await producer.start()
            self.relay = OutboxRelay(PostgresEventStore(self.background_pool), producer, self.topic)
            self.store.local_relay = self.relay  # autocommitted appends wake it in-process
            self._tasks.append(asyncio.create_task(self.relay.run(), name="relay"))
        if consuming:
            broker = self.build_broker()
            await broker.start()
            self._tasks.append(asyncio.create_task(self._lag_loop(), name="lag"))
        log.info("service.started", topic=self.topic)

    async def _lag_loop(self) -> None:
        while True:
            await asyncio.sleep(5)
            for c in self.consumers:
                with contextlib.suppress(Exception):
                    await c.commit_pending()
                    await c.refresh_lag()

    async def stop(self) -> None:
        """Graceful: stop consuming (finishing the batch in hand), stop the relay, close the pool."""
        started = time.perf_counter()
        for consumer in self.consumers:
            consumer.stopping.set()  # a batch being retried gives up instead of holding the stop
        for consumer in self.consumers:
            with contextlib.suppress(Exception):
                await consumer.commit_pending()  # informational: lag tools see the last positions
        if self.broker is not None:
            with contextlib.suppress(Exception):
                await self.broker.stop()
        t_broker = time.perf_counter()
        if self.relay is not None:
            self.relay.stop()
        for task in self._tasks:
            if task.get_name() != "relay":
                task.cancel()
        for task in self._tasks:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await asyncio.wait_for(task, timeout=10)
        self._tasks.clear()
        t_tasks = time.perf_counter()
        if self.relay is not None:
            with contextlib.suppress(Exception):
                await self.relay.producer.stop()
        if self.background_pool is not None:
            await asyncio.wait_for(self.background_pool.close(), timeout=10)
            self.background_pool = None
        if self.pool is not None:
            await asyncio.wait_for(self.pool.close(), timeout=10)
            self.pool = None
        log.info(
            "service.stopped",
            broker_s=round(t_broker - started, 2),
            tasks_s=round(t_tasks - t_broker, 2),
            rest_s=round(time.perf_counter() - t_tasks, 2),
        )

    async def readiness(self) -> dict[str, object]:
        """Database reachable, broker connected, projections not too far behind."""
        checks: dict[str, object] = {}
        try:
            assert self.pool is not None
            async with self.pool.acquire(timeout=2) as conn:
                await conn.fetchval("SELECT 1")
            checks["database"] = "ok"
        except Exception as exc:
            checks["database"] = f"error: {exc!r}"
        if self.relay is not None:
            try:
                await asyncio.wait_for(self.relay.producer.client.fetch_all_metadata(), timeout=2)
                checks["broker"] = "ok"
            except Exception as exc:
                checks["broker"] = f"error: {exc!r}"
        lag = sum(c.total_lag for c in self.consumers)
        checks["projection_lag"] = lag
        checks["ready"] = (
            checks.get("database") == "ok" and checks.get("broker", "ok") == "ok" and lag <= self.settings.ready_max_lag
        )
        return checks
