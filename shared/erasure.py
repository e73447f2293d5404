"""Erasure that survives a restore: on start, before it serves, a service re-applies every
erasure recorded on the topics it learns erasures from.

A database restored from a backup taken before an erasure holds the erased person's wrapped
key again, and the consumer groups' offsets (kept by Kafka) are already past the erasure
event, so no projection would see it again. The topics are the record of what was erased: the
service reads them from where its own database says it last looked (``keys.erasure_scan``,
restored together with the keys, so a restore rewinds it to the backup's moment) up to their
end at start, and destroys each erased subject's key again.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import structlog
from aiokafka import AIOKafkaConsumer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient

from shared.contracts.base import DomainEvent
from shared.db import Conn
from shared.envelope import Envelope

log = structlog.get_logger(__name__)


@dataclass(frozen=True)
class ErasureRule:
    """An erasure event (on the topic of the service that owns its contract) whose payload names
    a subject whose key must go."""

    event: type[DomainEvent]
    subject: Callable[[Mapping[str, Any]], str]

    @property
    def topic_service(self) -> str:
        return self.event.service

    @property
    def event_type(self) -> str:
        return self.event.event_type


_CHECKPOINTS = "SELECT partition, next_offset FROM keys.erasure_scan WHERE topic = $1"
_SAVE = """
INSERT INTO keys.erasure_scan (topic, partition, next_offset) VALUES ($1, $2, $3)
ON CONFLICT (topic, partition) DO UPDATE SET next_offset = EXCLUDED.next_offset
"""
# Erase again only what is not erased (the first erasure's time is kept).
_ERASE_AGAIN = """
INSERT INTO keys.subject_keys (subject_id, kek_id, wrapped, erased_at) VALUES ($1, NULL, NULL, now())
ON CONFLICT (subject_id) DO UPDATE SET kek_id = NULL, wrapped = NULL, erased_at = now()
WHERE keys.subject_keys.wrapped IS NOT NULL
RETURNING subject_id
"""


async def _scan_topic(
    conn: Conn, bootstrap: str, topic: str, rules: Sequence[ErasureRule], options: Mapping[str, Any]
) -> tuple[int, int]:
    """(records read, keys erased again) for one topic, from the stored offsets to the end.
    ``options``: how to connect (``shared.kafka_auth.client_options``: SASL, TLS)."""
    by_type = {r.event_type: r for r in rules}
    stored = {int(r["partition"]): int(r["next_offset"]) for r in await conn.fetch(_CHECKPOINTS, topic)}
    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap, enable_auto_commit=False, group_id=None, **options)
    await consumer.start()
    read = erased = 0
    try:
        partitions = [TopicPartition(topic, p) for p in await _partitions(bootstrap, topic, options)]
        if not partitions:
            return 0, 0
        consumer.assign(partitions)
        ends = await consumer.end_offsets(partitions)
        for tp in partitions:
            consumer.seek(tp, stored.get(tp.partition, 0))
        pending = {tp for tp in partitions if stored.get(tp.partition, 0) < ends[tp]}
        while pending:
            batches = await consumer.getmany(*pending, timeout_ms=1000)
            for tp, records in batches.items():
                for record in records:
                    if record.offset < ends[tp]:
                        read += 1
                        erased += await _apply(conn, record.value, by_type)
            for tp in list(pending):
                if await consumer.position(tp) >= ends[tp]:
                    pending.discard(tp)
        for tp in partitions:
            await conn.execute(_SAVE, topic, tp.partition, ends[tp])
    finally:
        await consumer.stop()
    return read, erased


async def _partitions(bootstrap: str, topic: str, options: Mapping[str, Any]) -> list[int]:
    """The topic's partitions (none if it does not exist yet: nothing was ever erased there)."""
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap, **options)
    await admin.start()
    try:
        described = await admin.describe_topics([topic])
    finally:
        await admin.close()
    return sorted(int(p["partition"]) for d in described if d["error_code"] == 0 for p in d["partitions"])


async def _apply(conn: Conn, value: bytes | None, by_type: Mapping[str, ErasureRule]) -> int:
    if value is None or not any(t.encode() in value for t in by_type):
        return 0  # cheap pre-filter: most records are no erasure
    try:
        env = Envelope.from_bytes(value)
    except ValueError:
        return 0  # not an envelope: the projections park it, nothing to erase here
    rule = by_type.get(env.event_type)
    if rule is None:
        return 0
    return 1 if await conn.fetchval(_ERASE_AGAIN, rule.subject(env.payload)) else 0


async def reapply_erasures(
    conn: Conn,
    bootstrap: str,
    topic_of: Callable[[str], str],
    rules: Sequence[ErasureRule],
    options: Mapping[str, Any] | None = None,
) -> int:
    """Re-apply every erasure on the rules' topics since the last scan; returns keys erased again."""
    total_read = total_erased = 0
    for service in sorted({r.topic_service for r in rules}):
        topic = topic_of(service)
        own = [r for r in rules if r.topic_service == service]
        read, erased = await _scan_topic(conn, bootstrap, topic, own, options or {})
        total_read += read
        total_erased += erased
    log.info("erasures.reapplied", records=total_read, erased_again=total_erased)
    return total_erased
