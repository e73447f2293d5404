"""Wires a service's projection runners to Kafka through one FastStream batch subscriber.

One consumer group per service (``ServiceConsumer``) reads the union of its projections'
topics, decodes each record once and applies every projection's part of a batch in one
transaction (``shared.projections.apply_shared``). Positions live in PostgreSQL with each
projection, so on every partition assignment the consumer seeks to the lowest stored position of
the projections reading that topic (the others skip what they hold); Kafka's own committed
offsets are only informative (they feed external lag tools). Bad records are parked by each
runner (and written here to that projection's dead-letter topic); a batch that fails transiently
(database or broker away) is retried with a short, capped backoff. ``ProjectionConsumer`` is one
projection's share: its topics, lag, progress and stall.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Awaitable, Callable, Mapping, Sequence
from itertools import chain
from typing import TYPE_CHECKING, Any, TypeVar

import structlog
from aiokafka import AIOKafkaProducer, ConsumerRebalanceListener, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from aiokafka.errors import TopicAlreadyExistsError
from faststream import AckPolicy
from faststream.kafka import KafkaBroker
from faststream.kafka.annotations import KafkaMessage

from shared import metrics
from shared.eventstore import ConcurrencyConflict
from shared.projections import (
    BatchResult,
    Parked,
    PartFailed,
    ProjectionRunner,
    Record,
    Share,
    apply_shared,
    is_transient,
)

if TYPE_CHECKING:
    from aiokafka import AIOKafkaConsumer, ConsumerRecord

log = structlog.get_logger(__name__)

_COMMIT_EVERY_S = 1.0
_POLL_MS = 200  # longest wait in one poll; a record that arrives ends it at once
# Retry waits for a transient failure: short enough that consumers resume within a few seconds
# of the database or broker coming back, long enough not to hammer it meanwhile.
_RETRY_FIRST_S = 0.1
_RETRY_CAP_S = 2.0


def dead_letter_topic(group_id: str) -> str:
    """``<prefix><service>.<projection>.dlq``: one per projection, named after the consumer group
    each projection had before they shared one (``<prefix><service>.projections``)."""
    return f"{group_id}.dlq"


def dead_letter_headers(parked: Parked) -> list[tuple[str, bytes]]:
    """What an operator (or a tool reading the topic) needs to find the original record."""
    r = parked.record
    return [
        ("reason", parked.reason.encode()),
        ("source-topic", r.topic.encode()),
        ("source-partition", str(r.partition).encode()),
        ("source-offset", str(r.offset).encode()),
        ("error", parked.error.encode()),
    ]


class DeadLetters:
    """Writes parked records, byte for byte with their key, to one projection's ``.dlq``
    topic; creates the topic on first use (the brokers do not auto-create topics)."""

    def __init__(
        self, producer: AIOKafkaProducer, bootstrap: str, topic: str, options: Mapping[str, Any] | None = None
    ) -> None:
        self.producer = producer
        self.bootstrap = bootstrap
        self.options = dict(options or {})  # how to connect (shared.kafka_auth.client_options)
        self.topic = topic
        self._ready = False

    async def __call__(self, parked: Sequence[Parked]) -> None:
        if not self._ready:
            await self._ensure_topic()
        futures = [
            await self.producer.send(self.topic, value=p.record.value, key=p.record.key, headers=dead_letter_headers(p))
            for p in parked
        ]
        await asyncio.gather(*futures)

    async def _ensure_topic(self) -> None:
        admin = AIOKafkaAdminClient(bootstrap_servers=self.bootstrap, **self.options)
        await admin.start()
        try:
            brokers = len((await admin.describe_cluster()).get("brokers", [])) or 1
            await admin.create_topics([NewTopic(self.topic, 1, min(3, brokers), topic_configs={"retention.ms": "-1"})])
        except TopicAlreadyExistsError:
            pass
        finally:
            await admin.close()
        self._ready = True


T = TypeVar("T")


async def _until_done(
    apply: Callable[[], Awaitable[T]], stopping: asyncio.Event, batch: Sequence[Record], names: Sequence[str]
) -> T | None:
    """Retry a batch that fails (the runners park bad records, so what is left is the database
    or broker being away) instead of moving on: the next batch must never be applied past one
    that is missing. Waits are capped at a few seconds, so the consumer resumes soon after the
    outage ends. None when stopping: nothing stored, the next start re-reads the batch."""
    delay = _RETRY_FIRST_S
    while True:
        try:
            return await apply()
        except Exception as failed:
            exc, culprits = (failed.cause, [failed.projection]) if isinstance(failed, PartFailed) else (failed, names)
            if isinstance(exc, ConcurrencyConflict):
                # A policy raced an HTTP command on the same stream: routine, retry at once
                # (the batch rolled back; the fresh transaction sees the new head).
                log.info("projection.batch_conflict", projection=culprits[0], detail=str(exc))
                await asyncio.sleep(0.01)
            else:
                _log_failure(exc, batch, culprits, delay)
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(stopping.wait(), timeout=delay)
                delay = min(delay * 2, _RETRY_CAP_S)
        if stopping.is_set():
            return None


def _log_failure(exc: BaseException, batch: Sequence[Record], culprits: Sequence[str], delay: float) -> None:
    first = batch[0]
    fields = {
        "projection": ",".join(culprits), "size": len(batch), "topic": first.topic,
        "partition": first.partition, "offset": first.offset, "retry_in": delay,
    }  # fmt: skip
    if is_transient(exc):
        log.warning("projection.batch_failed", transient=True, error=repr(exc), **fields)
    else:  # not a bad record (those are parked): a platform bug, with its traceback
        log.error("projection.batch_failed", transient=False, exc_info=exc, **fields)
    for name in culprits:
        metrics.PROJECTION_FAILURES.labels(name).inc()


async def _as_is(msg: KafkaMessage) -> KafkaMessage:
    """The message itself as the handler's argument (the broker applies no types)."""
    return msg


class ServiceConsumer:
    """The one consumer-group member of a service: fetches once, decodes once and applies the
    batch to all its projections in one transaction, committing Kafka offsets once."""

    def __init__(
        self, broker: KafkaBroker, service: str, parts: Sequence[tuple[ProjectionRunner, list[str], str]],
        group_id: str, max_records: int = 1000,
    ) -> None:  # fmt: skip
        self.group_id = group_id
        self.feeds = tuple(ProjectionConsumer(self, runner, topics, own) for runner, topics, own in parts)
        self.topics = sorted({t for feed in self.feeds for t in feed.topics})
        self.stopping = asyncio.Event()
        self.batches = 0
        # the projection whose part failed the last attempt (None once a batch commits)
        self.failing: str | None = None
        self._committed_at = 0.0
        self._uncommitted = False
        self._max_records = max_records
        outer = self

        class _Seek(ConsumerRebalanceListener):  # type: ignore[misc]
            async def on_partitions_revoked(self, revoked: Any) -> None:
                return None

            async def on_partitions_assigned(self, assigned: Any) -> None:
                await outer.seek_to_stored(list(assigned))

        names = ", ".join(f.runner.projection.name for f in self.feeds)
        self.subscriber = broker.subscriber(
            *self.topics,
            group_id=group_id,
            batch=True,
            max_records=max_records,
            batch_timeout_ms=_POLL_MS,  # only _get_batch polls, with this timeout
            auto_offset_reset="earliest",
            ack_policy=AckPolicy.MANUAL,
            listener=_Seek(),
            decoder=_as_is,  # the handler parses the records itself (decode_shared)
            title=f"{service} projections",
            description=f"Applies {', '.join(self.topics)} to the {service} read models and policies ({names})",
        )
        self.subscriber(self.handle)
        # FastStream's batch fetch sleeps batch_timeout_ms after every empty poll, so the first
        # event after a quiet spell waited up to that long (on every hop of a chain of services).
        # Waiting inside getmany alone wakes as soon as a record arrives.
        self.subscriber.get_msg = self._get_batch  # type: ignore[method-assign]

    async def _get_batch(self, consumer: AIOKafkaConsumer) -> tuple[ConsumerRecord[bytes, bytes], ...]:
        got = await consumer.getmany(timeout_ms=self.subscriber.batch_timeout_ms, max_records=self._max_records)
        return tuple(chain.from_iterable(got.values()))

    @property
    def consumer(self) -> AIOKafkaConsumer | None:
        return self.subscriber.consumer

    async def seek_to_stored(self, partitions: list[TopicPartition]) -> None:
        """Each partition from the lowest position stored by the projections reading its topic
        (from the beginning if one has none): a projection rebuilt or behind gets what it
        misses, the others drop what they hold before decoding it. A new group id (the
        per-projection groups before) therefore starts where the database says."""
        consumer = self.consumer
        if consumer is None or not partitions:
            return
        stored = [(set(f.topics), await f.runner.positions(f.topics)) for f in self.feeds]
        for tp in partitions:
            position = lowest(tp, stored)
            if position is None:
                await consumer.seek_to_beginning(tp)
            else:
                consumer.seek(tp, position)
        log.info("projection.assigned", group=self.group_id, partitions=len(partitions))

    async def handle(self, msg: KafkaMessage) -> None:
        raw = msg.raw_message
        records = raw if isinstance(raw, tuple) else (raw,)
        batch = [Record(r.topic, r.partition, r.offset, r.value or b"", r.key) for r in records]
        if not batch:
            return
        self._observe_fetch(records)
        results = await self._apply_until_done(batch)
        if results is None:
            return  # shutting down: nothing stored, the next start re-reads this batch
        self.batches += 1
        self.failing = None
        for feed, result in zip(self.feeds, results, strict=True):
            feed.progressed(result)
        # Kafka's committed offsets only inform outside lag tools (PostgreSQL holds the truth),
        # so they are committed at most once a second, not after every batch: each commit is a
        # broker round trip and a write to __consumer_offsets. The lag loop commits the rest.
        now = time.monotonic()
        if now - self._committed_at >= _COMMIT_EVERY_S:
            self._committed_at = now
            self._uncommitted = False
            try:
                await msg.ack()
            except Exception as exc:  # informational commit only
                log.warning("projection.kafka_commit_failed", error=repr(exc))
        else:
            self._uncommitted = True

    def _observe_fetch(self, records: Sequence[ConsumerRecord[bytes, bytes]]) -> None:
        """The producer's send time (CreateTime) to now, per projection reading the batch's
        topics: a catch-up shows its backlog here."""
        oldest_ms = min(r.timestamp for r in records)
        if oldest_ms <= 0:
            return
        delay = max(0.0, time.time() - oldest_ms / 1000)
        topics = {r.topic for r in records}
        for feed in self.feeds:
            if topics & set(feed.topics):
                metrics.CONSUMER_FETCH_SECONDS.labels(feed.runner.projection.name).observe(delay)

    async def _apply_until_done(self, batch: list[Record]) -> list[BatchResult] | None:
        shares = [Share(f.runner, frozenset(f.topics)) for f in self.feeds]
        names = [f.runner.projection.name for f in self.feeds]

        async def attempt() -> list[BatchResult]:
            try:
                # the runners share the service's background pool (shared.runtime)
                return await apply_shared(self.feeds[0].runner.pool, shares, batch)
            except PartFailed as exc:
                self.failing = exc.projection
                raise
            except Exception:
                self.failing = None  # not one part's: the pool, the connection, the commit
                raise

        return await _until_done(attempt, self.stopping, batch, names)

    async def commit_pending(self) -> None:
        """Commit the consumed positions to Kafka if a batch since the last commit left them out."""
        consumer = self.consumer
        if consumer is None or not self._uncommitted:
            return
        self._uncommitted = False
        self._committed_at = time.monotonic()
        try:
            await consumer.commit()
        except Exception as exc:
            log.warning("projection.kafka_commit_failed", error=repr(exc))


def lowest(tp: TopicPartition, stored: Sequence[tuple[set[str], dict[tuple[str, int], int]]]) -> int | None:
    """The lowest stored position of ``tp`` over the projections reading its topic; None if
    one of them has none (it starts from the beginning)."""
    positions = [found.get((tp.topic, tp.partition)) for topics, found in stored if tp.topic in topics]
    if not positions or any(p is None for p in positions):
        return None
    return min(p for p in positions if p is not None)


class ProjectionConsumer:
    """One projection's share of its service's consumer: its topics, lag, progress and stall
    (``service`` fetches and applies; this only reads its runner's positions)."""

    def __init__(self, service: ServiceConsumer, runner: ProjectionRunner, topics: list[str], group_id: str) -> None:
        self.service = service
        self.runner = runner
        self.topics = topics
        # the group this projection had alone; names its dead-letter topic (``dead_letter_topic``)
        self.group_id = group_id
        self.lag: dict[tuple[str, int], int] = {}
        self.stopping = asyncio.Event()
        self.batches = 0
        # when the projection last moved forward or was caught up (a stall is lag without it)
        self.progressed_at = time.monotonic()

    @property
    def consumer(self) -> AIOKafkaConsumer | None:
        return self.service.consumer

    def progressed(self, result: BatchResult) -> None:
        self.batches += 1
        self.progressed_at = time.monotonic()
        self._update_lag(result.positions)

    async def commit_pending(self) -> None:
        await self.service.commit_pending()

    async def _apply_until_done(self, batch: list[Record]) -> BatchResult | None:
        """This projection alone, in its own transaction, retried like a shared batch (tools
        and tests; the service's consumer applies all projections together)."""
        return await _until_done(lambda: self.runner.apply(batch), self.stopping, batch, [self.runner.projection.name])

    def _update_lag(self, positions: dict[tuple[str, int], int]) -> None:
        consumer = self.consumer
        if consumer is None:
            return
        for (topic, partition), nxt in positions.items():
            high = consumer.highwater(TopicPartition(topic, partition))
            if high is None:
                continue
            lag = max(0, high - nxt)
            self.lag[(topic, partition)] = lag
            metrics.CONSUMER_LAG.labels(self.runner.projection.name, topic, str(partition)).set(lag)

    async def refresh_lag(self) -> int:
        """Lag against the brokers' end offsets (also when idle); returns the total."""
        consumer = self.consumer
        if consumer is None:
            return 0
        assignment = [tp for tp in consumer.assignment() if tp.topic in self.topics]
        if not assignment:
            return 0
        ends = await consumer.end_offsets(assignment)
        stored = await self.runner.positions(self.topics)
        total = 0
        for tp in assignment:
            lag = max(0, ends.get(tp, 0) - stored.get((tp.topic, tp.partition), 0))
            self.lag[(tp.topic, tp.partition)] = lag
            metrics.CONSUMER_LAG.labels(self.runner.projection.name, tp.topic, str(tp.partition)).set(lag)
            total += lag
        if total == 0:
            self.progressed_at = time.monotonic()
        return total

    def stalled(self, after_s: float) -> bool:
        """Behind, and no batch applied for ``after_s`` seconds. While the service's consumer
        retries a batch because of one projection's part, only that one is stalled: the others
        wait behind it (their lag shows it) and readiness names the cause."""
        failing = self.service.failing
        if failing is not None and failing != self.runner.projection.name:
            return False
        return self.total_lag > 0 and time.monotonic() - self.progressed_at > after_s

    @property
    def total_lag(self) -> int:
        return sum(self.lag.values())
