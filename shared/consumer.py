"""Wires a ProjectionRunner to Kafka through a FastStream batch subscriber.

Positions live in PostgreSQL with the projection, so on every partition assignment the
consumer seeks to the stored position; Kafka's own committed offsets are only informative
(they feed external lag tools). A failed batch seeks back and is retried.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from itertools import chain
from typing import TYPE_CHECKING, Any

import structlog
from aiokafka import ConsumerRebalanceListener, TopicPartition
from faststream import AckPolicy
from faststream.kafka import KafkaBroker
from faststream.kafka.annotations import KafkaMessage

from shared import metrics
from shared.eventstore import ConcurrencyConflict
from shared.projections import BatchResult, ProjectionRunner, Record

if TYPE_CHECKING:
    from aiokafka import AIOKafkaConsumer, ConsumerRecord

log = structlog.get_logger(__name__)

_COMMIT_EVERY_S = 1.0
_POLL_MS = 200  # longest wait in one poll; a record that arrives ends it at once


class ProjectionConsumer:
    """One consumer-group member feeding one projection runner."""

    def __init__(
        self, broker: KafkaBroker, runner: ProjectionRunner, topics: list[str], group_id: str, max_records: int = 1000
    ) -> None:
        self.runner = runner
        self.topics = topics
        self.lag: dict[tuple[str, int], int] = {}
        self.stopping = asyncio.Event()
        self.batches = 0
        self._committed_at = 0.0
        self._uncommitted = False
        outer = self

        class _Seek(ConsumerRebalanceListener):  # type: ignore[misc]
            async def on_partitions_revoked(self, revoked: Any) -> None:
                return None

            async def on_partitions_assigned(self, assigned: Any) -> None:
                await outer.seek_to_stored(list(assigned))

        self.subscriber = broker.subscriber(
            *topics,
            group_id=group_id,
            batch=True,
            max_records=max_records,
            batch_timeout_ms=_POLL_MS,  # only _get_batch polls, with this timeout
            auto_offset_reset="earliest",
            ack_policy=AckPolicy.MANUAL,
            listener=_Seek(),
            title=f"{runner.projection.name} projection",
            description=f"Applies {', '.join(topics)} to the {runner.projection.name} read model",
        )
        self.subscriber(self.handle)
        self._max_records = max_records
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
        consumer = self.consumer
        if consumer is None or not partitions:
            return
        stored = await self.runner.positions(self.topics)
        for tp in partitions:
            position = stored.get((tp.topic, tp.partition))
            if position is None:
                await consumer.seek_to_beginning(tp)
            else:
                consumer.seek(tp, position)
        log.info("projection.assigned", projection=self.runner.projection.name, partitions=len(partitions))

    async def handle(self, msg: KafkaMessage) -> None:
        raw = msg.raw_message
        records = raw if isinstance(raw, tuple) else (raw,)
        batch = [Record(r.topic, r.partition, r.offset, r.value or b"") for r in records]
        if not batch:
            return
        result = await self._apply_until_done(batch)
        if result is None:
            return  # shutting down: nothing stored, the next start re-reads this batch
        self.batches += 1
        self._update_lag(result.positions)
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

    async def _apply_until_done(self, batch: list[Record]) -> BatchResult | None:
        """Retry a failing batch (database down, handler bug) instead of moving on: the next
        batch must never be applied past one that is missing. A poison event therefore stalls
        its partition, visibly: lag grows, readiness fails, the error is logged each attempt."""
        delay = 0.5
        while True:
            try:
                return await self.runner.apply(batch)
            except ConcurrencyConflict as exc:
                # A policy raced an HTTP command on the same stream: routine, retry at once
                # (the batch rolled back; the fresh transaction sees the new head).
                log.info("projection.batch_conflict", projection=self.runner.projection.name, detail=str(exc))
                await asyncio.sleep(0.01)
            except Exception:
                log.exception(
                    "projection.batch_failed", projection=self.runner.projection.name, size=len(batch), retry_in=delay
                )
                metrics.PROJECTION_FAILURES.labels(self.runner.projection.name).inc()
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self.stopping.wait(), timeout=delay)
                delay = min(delay * 2, 30.0)
            if self.stopping.is_set():
                return None

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
        assignment = list(consumer.assignment())
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
        return total

    @property
    def total_lag(self) -> int:
        return sum(self.lag.values())
