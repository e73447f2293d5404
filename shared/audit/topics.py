"""Reading whole topics from offset 0 up to their end offsets at the start, with no consumer
group and no database: what an auditor holds is the log itself."""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass
from typing import Any

from aiokafka import AIOKafkaConsumer, TopicPartition

from shared.projections import Record

EVENTS_SUFFIX = ".events"
AUDIT_SUFFIX = ".audit"  # a service's read records (``ServiceSettings.audit_topic``)


def family(topic: str) -> str:
    """The event topic a topic belongs with: an audit topic with its service's event topic (one
    service's streams and checkpoints span both), any other topic with itself."""
    return topic.removesuffix(AUDIT_SUFFIX) + EVENTS_SUFFIX if topic.endswith(AUDIT_SUFFIX) else topic


def audit_topics(topics: Sequence[str]) -> list[str]:
    """The audit topic of each event topic given (read after them, where it exists)."""
    return [t.removesuffix(EVENTS_SUFFIX) + AUDIT_SUFFIX for t in topics if t.endswith(EVENTS_SUFFIX)]


@dataclass(frozen=True)
class Span:
    """Where reading starts and ends per partition (the end as seen at the start)."""

    starts: dict[tuple[str, int], int]
    ends: dict[tuple[str, int], int]

    @property
    def total(self) -> int:
        return sum(self.ends[k] - self.starts[k] for k in self.ends)


class TopicReader:
    """``async with TopicReader(...) as r``: ``r.span``, then ``async for batch in r.batches()``.
    ``optional`` topics are read where they exist and left out where not, each after all of
    ``topics``: a stream that moved from an event topic to its audit topic is fed in version order."""

    def __init__(
        self,
        bootstrap: str,
        topics: Sequence[str],
        options: dict[str, Any] | None = None,
        optional: Sequence[str] = (),
    ) -> None:
        self.topics = list(topics)
        self.optional = [t for t in optional if t not in self.topics]
        self.consumer = AIOKafkaConsumer(
            bootstrap_servers=bootstrap,
            enable_auto_commit=False,
            group_id=None,
            max_partition_fetch_bytes=8 * 1024 * 1024,
            fetch_max_bytes=64 * 1024 * 1024,
            **(options or {}),
        )
        self.span = Span({}, {})
        self._partitions: list[TopicPartition] = []
        self._later: set[TopicPartition] = set()  # the optional topics' partitions: read second

    async def __aenter__(self) -> TopicReader:
        await self.consumer.start()
        try:
            await self.consumer._client.force_metadata_update()
            for topic in self.topics:
                found = self.consumer.partitions_for_topic(topic)
                if not found:
                    raise LookupError(f"topic {topic} not found")
                self._partitions += [TopicPartition(topic, p) for p in sorted(found)]
            for topic in self.optional:
                self._later |= {TopicPartition(topic, p) for p in self.consumer.partitions_for_topic(topic) or ()}
            self._partitions += sorted(self._later)
            self.topics += [t for t in self.optional if any(tp.topic == t for tp in self._partitions)]
            self.consumer.assign(self._partitions)
            await self.consumer.seek_to_beginning(*self._partitions)
            starts = await self.consumer.beginning_offsets(self._partitions)
            ends = await self.consumer.end_offsets(self._partitions)
            self.span = Span(
                {(tp.topic, tp.partition): starts[tp] for tp in self._partitions},
                {(tp.topic, tp.partition): ends[tp] for tp in self._partitions},
            )
        except BaseException:
            await self.consumer.stop()
            raise
        return self

    async def __aexit__(self, *_: object) -> None:
        await self.consumer.stop()

    async def batches(self, max_records: int = 5000) -> AsyncIterator[list[Record]]:
        """Records in offset order per partition, until every partition reached its end; the
        optional topics' partitions once the others are done."""
        first = [tp for tp in self._partitions if tp not in self._later]
        for phase in (first, sorted(self._later)):
            async for batch in self._read(phase, max_records):
                yield batch

    async def _read(self, partitions: Sequence[TopicPartition], max_records: int) -> AsyncIterator[list[Record]]:
        ends = self.span.ends
        todo = {tp for tp in partitions if ends[(tp.topic, tp.partition)] > self.span.starts[(tp.topic, tp.partition)]}
        while todo:
            fetched = await self.consumer.getmany(*todo, timeout_ms=1000, max_records=max_records)
            batch: list[Record] = []
            for tp, messages in fetched.items():
                end = ends[(tp.topic, tp.partition)]
                batch += [
                    Record(m.topic, m.partition, m.offset, m.value or b"", m.key) for m in messages if m.offset < end
                ]
                if messages and messages[-1].offset + 1 >= end:
                    todo.discard(tp)
            if batch:
                yield batch
