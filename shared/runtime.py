"""A service's moving parts (pool, event store, broker, relay, projection consumers) and
their start/stop order, so shutdown finishes in-flight work before connections close."""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Callable, Coroutine, Sequence
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

import asyncpg
import structlog
from aiokafka import AIOKafkaProducer
from faststream.kafka import KafkaBroker

from shared import consent, keyprovider, metrics
from shared.audit.checkpoints import start_audit_trail
from shared.consumer import DeadLetters, ProjectionConsumer, ServiceConsumer, dead_letter_topic
from shared.crypto import SubjectKeys
from shared.db import Conn
from shared.envelope import Envelope
from shared.erasure import ErasureRule, reapply_erasures
from shared.eventstore import PostgresEventStore
from shared.group_commit import group_committer
from shared.kafka_auth import broker_security, client_options
from shared.migrations import EVENTSTORE_SQL, TRACKING_SQL, _quote_ident, migrate, pending
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
    subject_keys: bool = False  # holds per-subject data keys (schema keys, wrapped by the KEK)
    erasures: Sequence[ErasureRule] = ()  # erasure events re-applied on start (shared/erasure.py)


@dataclass(frozen=True)
class Connected:
    """What ``connect()`` builds: the request pool (migrated), the store and the runners."""

    pool: asyncpg.Pool
    store: PostgresEventStore
    runners: tuple[ProjectionRunner, ...]


@dataclass(frozen=True)
class Running:
    """What ``start()`` adds. The relay and the projection consumers get their own pool: under
    request load they would otherwise queue behind HTTP handlers for connections, and every
    event's way to the other services would wait with them. Absent parts are switched off."""

    background_pool: asyncpg.Pool | None
    relay: OutboxRelay | None
    broker: KafkaBroker | None
    consumer: ServiceConsumer | None

    @property
    def consumers(self) -> tuple[ProjectionConsumer, ...]:
        return self.consumer.feeds if self.consumer is not None else ()


def group_id(settings: ServiceSettings, projection: Projection) -> str:
    """The group one projection of one service had alone, before they shared one
    (``service_group_id``); still the name of its dead-letter topic (with ``.dlq``)."""
    return f"{settings.group_prefix or settings.topic_prefix}{settings.service}.{projection.name}"


SERVICE_GROUP = "projections"


def service_group_id(settings: ServiceSettings) -> str:
    """The one consumer group of a service's projections and policies: inside the service's
    group prefix ``<prefix><service>.`` (the chart's ACL), so no projection may be named so."""
    return f"{settings.group_prefix or settings.topic_prefix}{settings.service}.{SERVICE_GROUP}"


# Unpublished events: those after the relay's checkpoint (all of them before its first run).
_OUTBOX_BACKLOG = """
WITH cp AS (SELECT coalesce((SELECT last_xid FROM relay_checkpoint WHERE topic = $1), '0'::xid8) AS x,
                   coalesce((SELECT last_position FROM relay_checkpoint WHERE topic = $1), 0) AS p)
SELECT count(*) AS rows, coalesce(extract(epoch FROM now() - min(recorded_at)), 0)::float8 AS age
FROM events, cp WHERE (events.xid, events.position) > (cp.x, cp.p)
"""

_PARKED_SUMMARY = """
SELECT count(*) AS n, coalesce(extract(epoch FROM now() - min(parked_at)), 0)::float8 AS age
FROM {schema}.parked WHERE projection = $1 AND state = 'parked'
"""


def build_broker(
    settings: ServiceSettings, definition: ServiceDefinition, runners: Sequence[ProjectionRunner]
) -> tuple[KafkaBroker, ServiceConsumer | None]:
    """The FastStream broker with one batch subscriber for all the service's projections (also
    used for AsyncAPI); none without projections."""
    s = settings
    # No FastDepends on the one subscriber (ServiceConsumer.handle takes the message as it is): its
    # Context injection of the message ran in a worker thread for every batch (py-spy).
    broker = KafkaBroker(
        s.kafka_bootstrap, client_id=s.service, logger=None, security=broker_security(s), apply_types=False
    )
    parts = [
        (runner, [s.source_topic(t) for t in runner.projection.topics], group_id(s, runner.projection))
        for runner in runners
    ]
    consumer = (
        ServiceConsumer(broker, s.service, parts, service_group_id(s), max_records=s.consumer_batch) if parts else None
    )
    topic = s.topic(definition.name)
    broker.publisher(topic, title=topic, description=f"Events of the {s.service} service", schema=Envelope)
    return broker, consumer


class Runtime:
    """One service process: built in two phases, each complete when it exists — ``connect()``
    (pool, migrations, store, runners) and ``start()`` (relay, consumers, background tasks)."""

    def __init__(
        self, settings: ServiceSettings, definition: ServiceDefinition, clock: Callable[[], date] = date.today
    ) -> None:
        self.settings = settings
        self.definition = definition
        # "today" for every command and view of the service (tests inject their own day)
        self.clock = clock
        self.connected: Connected | None = None
        self.running: Running | None = None
        self._tasks: list[asyncio.Task[None]] = []
        self._dlq_producer: AIOKafkaProducer | None = None

    def _connection(self) -> Connected:
        if self.connected is None:
            raise RuntimeError(f"the {self.settings.service} runtime is not connected")
        return self.connected

    @property
    def pool(self) -> asyncpg.Pool:
        return self._connection().pool

    @property
    def store(self) -> PostgresEventStore:
        return self._connection().store

    @property
    def runners(self) -> tuple[ProjectionRunner, ...]:
        return self._connection().runners

    @property
    def relay(self) -> OutboxRelay | None:
        return self.running.relay if self.running else None

    @property
    def broker(self) -> KafkaBroker | None:
        return self.running.broker if self.running else None

    @property
    def consumers(self) -> tuple[ProjectionConsumer, ...]:
        """Each projection's share of the service's consumer (its lag, progress and stall)."""
        return self.running.consumers if self.running else ()

    @property
    def consumer(self) -> ServiceConsumer | None:
        return self.running.consumer if self.running else None

    def unit_of_work(self, transactional: bool) -> PostgresUnitOfWork:
        """A unit of work on the request pool (the bus makes one per command attempt)."""
        return PostgresUnitOfWork(self.store, transactional=transactional)

    def spawn(self, coro: Coroutine[Any, Any, None], name: str) -> None:
        """Run a background task of the service until it stops (cancelled at shutdown)."""
        self._tasks.append(asyncio.create_task(coro, name=name))

    @property
    def topic(self) -> str:
        return self.settings.topic(self.definition.name)

    async def connect(self) -> Connected:
        """Open the pool and apply migrations (event store, service tables, projections), or, with
        ``migrate_on_start`` off, wait until the ``migrate`` command (a Kubernetes Job) applied them."""
        if self.connected is not None:
            return self.connected
        s = self.settings
        consent.install_index_key(s.name_index_key)
        pool = await self._create_pool(s.db_pool_min, s.db_pool_max)
        runners = tuple(ProjectionRunner(pool, p, s.schema_for(p.name)) for p in self.definition.projections)
        if s.migrate_on_start:
            async with pool.acquire() as conn:
                await migrate(conn, [*EVENTSTORE_SQL, *self.definition.sql], schema="public")
                if self.definition.subject_keys:
                    await self._prepare_keys(conn)
            for runner in runners:
                await runner.setup()
        else:
            await self._await_migrations(pool)
            if self.definition.subject_keys:
                self._install_key_provider()
        self.connected = Connected(pool, PostgresEventStore(pool, group=group_committer(s)), runners)
        return self.connected

    def _install_key_provider(self) -> keyprovider.KeyProvider:
        """Install the configured KEK provider (and the name index key, ``shared.consent``)."""
        s = self.settings
        pkcs11 = {"module": s.pkcs11_module, "token": s.pkcs11_token, "pin": s.pkcs11_pin, "key": s.pkcs11_key}
        provider = keyprovider.provider_from_settings(
            s.kek_provider, kek_file=s.kek_file, kek_env=s.kek_env, pkcs11=pkcs11
        )
        keyprovider.install(provider)
        return provider

    async def _prepare_keys(self, conn: Conn) -> None:
        """Install the configured KEK provider and wrap any plain keys left from before."""
        provider = self._install_key_provider()
        moved = await SubjectKeys(provider).prepare(conn)
        if moved:
            log.info("keys.wrapped_legacy", rows=moved, kek=provider.current)

    def _migrations(self) -> list[tuple[str, list[Path]]]:
        s = self.settings
        own: list[tuple[str, list[Path]]] = [("public", [*EVENTSTORE_SQL, *self.definition.sql])]
        return own + [(s.schema_for(p.name), [*TRACKING_SQL, *p.sql]) for p in self.definition.projections]

    async def _await_migrations(self, pool: asyncpg.Pool) -> None:
        while True:
            async with pool.acquire() as conn:
                missing = [n for schema, files in self._migrations() for n in await pending(conn, files, schema=schema)]
            if not missing:
                return
            log.info("migrations.waiting", pending=len(missing), first=missing[0])
            await asyncio.sleep(2.0)

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

    def asyncapi_broker(self) -> KafkaBroker:
        """The running broker, or one built for the AsyncAPI document only."""
        if self.broker is not None:
            return self.broker
        return build_broker(self.settings, self.definition, self.runners)[0]

    async def start(self) -> None:
        connected = await self.connect()
        s = self.settings
        if self.definition.erasures and (s.relay_enabled or s.projections_enabled):
            # before anything is served: a database restored from before an erasure forgets again
            # (a process with neither relay nor consumers never talks to the broker: docs/SECURITY.md)
            async with connected.pool.acquire() as conn:
                await reapply_erasures(conn, s.kafka_bootstrap, s.topic, self.definition.erasures, client_options(s))
        consuming = s.projections_enabled and bool(self.definition.projections)
        background = (1 if s.relay_enabled else 0) + (len(connected.runners) if consuming else 0)
        background_pool = None
        if background:
            # as many as with one consumer per projection: the consumer's batch transaction holds
            # one, the others serve read-your-writes look-ups (shared.consistency), lag checks
            # and seeks without making the batch wait; one spare
            background_pool = await self._create_pool(1, background + 1)
            for runner in connected.runners:
                runner.pool = background_pool
        relay = None
        if s.relay_enabled and background_pool is not None:
            producer = new_producer(s.kafka_bootstrap, f"{s.service}-relay", **client_options(s))
            await producer.start()
            relay = OutboxRelay(PostgresEventStore(background_pool), producer, self.topic)
            connected.store.local_relay = relay  # autocommitted appends wake it in-process
            self.spawn(relay.run(), "relay")
            start_audit_trail(self, relay)  # checkpoints, reads on the audit topic, with AUDIT_KEY_FILE (docs/AUDIT.md)
        broker: KafkaBroker | None = None
        consumer: ServiceConsumer | None = None
        if consuming:
            broker, consumer = build_broker(s, self.definition, connected.runners)
            await self._attach_dead_letters(consumer.feeds if consumer is not None else ())
            await broker.start()
            self.spawn(self._lag_loop(), "lag")
        self.running = Running(background_pool, relay, broker, consumer)
        log.info("service.started", topic=self.topic)

    async def _attach_dead_letters(self, consumers: Sequence[ProjectionConsumer]) -> None:
        """One producer for every projection's ``<group>.dlq`` topic."""
        s = self.settings
        self._dlq_producer = new_producer(s.kafka_bootstrap, f"{s.service}-dlq", **client_options(s))
        await self._dlq_producer.start()
        for c in consumers:
            c.runner.dead_letters = DeadLetters(
                self._dlq_producer, s.kafka_bootstrap, dead_letter_topic(c.group_id), client_options(s)
            )

    async def _lag_loop(self) -> None:
        while True:
            await asyncio.sleep(5)
            if self.consumer is not None:
                with contextlib.suppress(Exception):
                    await self.consumer.commit_pending()
            for c in self.consumers:
                with contextlib.suppress(Exception):
                    await c.refresh_lag()
            with contextlib.suppress(Exception):
                await self.pipeline_health()

    async def outbox_backlog(self) -> tuple[int, float]:
        """Unpublished events and the age in seconds of the oldest (also exported as metrics)."""
        async with self.pool.acquire(timeout=2) as conn:
            row = await conn.fetchrow(_OUTBOX_BACKLOG, self.topic)
        assert row is not None  # an aggregate: always one row
        rows, age = int(row["rows"]), float(row["age"])
        metrics.OUTBOX_BACKLOG.set(rows)
        metrics.OUTBOX_BACKLOG_AGE.set(age)
        return rows, age

    async def parked(self) -> dict[str, tuple[int, float]]:
        """Records still parked per projection, and the age of the oldest (also metrics)."""
        out: dict[str, tuple[int, float]] = {}
        async with self.pool.acquire(timeout=2) as conn:
            for runner in self.runners:
                row = await conn.fetchrow(
                    _PARKED_SUMMARY.format(schema=_quote_ident(runner.schema)), runner.projection.name
                )
                assert row is not None
                name = runner.projection.name
                out[name] = (int(row["n"]), float(row["age"]))
                metrics.PROJECTION_PARKED.labels(name).set(out[name][0])
                metrics.PROJECTION_PARKED_OLDEST.labels(name).set(out[name][1])
        return out

    def stalled(self) -> list[str]:
        """Projections whose consumer is behind and has not moved for the configured time."""
        after = self.settings.consumer_stall_after_s
        names = []
        for c in self.consumers:
            stalled = c.stalled(after)
            metrics.CONSUMER_STALLED.labels(c.runner.projection.name).set(1 if stalled else 0)
            if stalled:
                names.append(c.runner.projection.name)
        return names

    async def pipeline_health(self) -> dict[str, object]:
        """Stalled consumers, outbox backlog and parked records: what readiness adds to the
        database and broker checks, refreshed as metrics by the lag loop too."""
        checks: dict[str, object] = {"stalled": self.stalled()}
        try:
            rows, age = await self.outbox_backlog()
            checks["outbox_backlog"], checks["outbox_backlog_age_s"] = rows, round(age, 1)
            checks["parked"] = {name: n for name, (n, _) in (await self.parked()).items()}
        except Exception as exc:
            checks["outbox_backlog"] = f"error: {exc!r}"
        return checks

    async def stop(self) -> None:
        """Graceful: stop consuming (finishing the batch in hand), stop the relay, close the pool."""
        started = time.perf_counter()
        if self.consumer is not None:
            self.consumer.stopping.set()  # a batch being retried gives up instead of holding the stop
            for feed in self.consumer.feeds:
                feed.stopping.set()
            with contextlib.suppress(Exception):
                await self.consumer.commit_pending()  # informational: lag tools see the last positions
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
        for producer in (self.relay.producer if self.relay is not None else None, self._dlq_producer):
            if producer is not None:
                with contextlib.suppress(Exception):
                    await producer.stop()
        self._dlq_producer = None
        if self.running is not None and self.running.background_pool is not None:
            await asyncio.wait_for(self.running.background_pool.close(), timeout=10)
        self.running = None
        if self.connected is not None:
            await asyncio.wait_for(self.connected.pool.close(), timeout=10)
        self.connected = None
        log.info(
            "service.stopped",
            broker_s=round(t_broker - started, 2),
            tasks_s=round(t_tasks - t_broker, 2),
            rest_s=round(time.perf_counter() - t_tasks, 2),
        )

    async def readiness(self) -> dict[str, object]:
        """Database reachable, broker connected, projections not too far behind, no consumer
        stalled, the outbox not holding events back for too long (with the relay here)."""
        checks: dict[str, object] = {}
        try:
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
        checks |= await self.pipeline_health()
        age = checks.get("outbox_backlog_age_s")
        outbox_ok = self.relay is None or (isinstance(age, float) and age <= self.settings.ready_max_outbox_age_s)
        checks["ready"] = (
            checks.get("database") == "ok"
            and checks.get("broker", "ok") == "ok"
            and lag <= self.settings.ready_max_lag
            and not checks["stalled"]
            and outbox_ok
        )
        return checks
