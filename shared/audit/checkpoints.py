"""Signed checkpoints: every N events or T seconds a service appends a ``CheckpointSigned`` to
its own event store, over the events since its previous one (in publish order), signed with the
service's Ed25519 key. It reaches the topic through the outbox like every other event.

write = publish missing keys -> read the last checkpoint -> read what follows it -> hash into a
Merkle root -> sign -> append (optimistic on the checkpoint stream: of two replicas one wins).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import structlog
from pydantic_settings import BaseSettings, SettingsConfigDict

from shared.audit.merkle import merkle_root
from shared.audit.reads import READ_TABLES, ReadPublisher, reads_route
from shared.audit.signing import SigningKey, load_keyring
from shared.contracts.audit import CheckpointSigned, CoveredRange, SigningKeyPublished
from shared.db import Conn
from shared.envelope import GENESIS_HASH, Actor, Envelope, new_id
from shared.eventstore import CommandContext, CommittedRow, ConcurrencyConflict, PostgresEventStore
from shared.recorded import Recorded

if TYPE_CHECKING:
    from shared.relay import OutboxRelay
    from shared.runtime import Runtime

log = structlog.get_logger(__name__)

AUDIT_STREAM_TYPE = "audit"
ZERO_ROOT = "0" * 64


def checkpoint_stream(service: str) -> str:
    return f"audit-checkpoints:{service}"


def keys_stream(service: str) -> str:
    return f"audit-keys:{service}"


class CheckpointSettings(BaseSettings):
    """``AUDIT_*`` from the environment. Without a key file no checkpoints are written."""

    model_config = SettingsConfigDict(env_prefix="AUDIT_", extra="ignore")

    key_file: str = ""  # may hold {service}: one file per service in one environment
    checkpoint_events: int = 500  # at most this many events per checkpoint; one is due at once then
    checkpoint_seconds: float = 60.0  # at the latest after this long, if any event is unsigned
    poll_seconds: float = 1.0

    def key_path(self, service: str) -> Path | None:
        return Path(self.key_file.format(service=service)) if self.key_file else None


# Events after the resume point, the audit streams left out, up to the limit: enough for "is one due".
_PENDING = """
SELECT count(*) FROM (
    SELECT 1 FROM events WHERE (xid, position) > ($1::text::xid8, $2) AND stream_type <> $3 LIMIT $4
) AS pending
"""

_LAST_EVENT = "SELECT envelope FROM events WHERE stream_id = $1 ORDER BY version DESC LIMIT 1"


@dataclass(frozen=True)
class Head:
    """The last checkpoint as the store holds it (or the start, before the first)."""

    version: int
    hash: str
    sequence: int
    root: str
    after: tuple[int, int]


def covered_ranges(envelopes: Sequence[Envelope]) -> list[CoveredRange]:
    """Per stream, the versions and hashes covered, streams in id order (the Merkle order)."""
    by_stream: dict[str, list[Envelope]] = {}
    for env in envelopes:
        by_stream.setdefault(env.stream_id, []).append(env)
    ranges = []
    for stream_id in sorted(by_stream):
        events = sorted(by_stream[stream_id], key=lambda e: e.version)
        ranges.append(
            CoveredRange(
                stream_id=stream_id,
                from_version=events[0].version,
                to_version=events[-1].version,
                hashes=[e.hash for e in events],
            )
        )
    return ranges


def range_hashes(ranges: Sequence[CoveredRange]) -> list[str]:
    return [h for r in ranges for h in r.hashes]


def signed_part(payload: CheckpointSigned | SigningKeyPublished) -> dict[str, Any]:
    """What the signature (or endorsement) covers: every field but itself."""
    exclude = {"signature"} if isinstance(payload, CheckpointSigned) else {"endorsement"}
    return payload.model_dump(mode="json", exclude=exclude)


def build_checkpoint(signer: str, head: Head, rows: Sequence[CommittedRow], key: SigningKey) -> CheckpointSigned | None:
    """The next checkpoint over ``rows`` (audit streams left out), or None if it covers nothing."""
    envelopes = [Envelope.from_bytes(r.envelope) for r in rows]
    covered = [e for e in envelopes if e.stream_type != AUDIT_STREAM_TYPE]
    if not covered:
        return None
    ranges = covered_ranges(covered)
    unsigned = CheckpointSigned(
        signer=signer, sequence=head.sequence + 1, previous_root=head.root, events=len(covered), streams=ranges,
        merkle_root=merkle_root(range_hashes(ranges)), store_xid=rows[-1].xid, store_position=rows[-1].position,
        key_id=key.key_id, signature="",
    )  # fmt: skip
    return unsigned.model_copy(update={"signature": key.sign(signed_part(unsigned))})


def endorse(signer: str, new: SigningKey, previous: SigningKey | None, valid_from: int) -> SigningKeyPublished:
    unsigned = SigningKeyPublished(
        signer=signer, key_id=new.key_id, public_key=new.public_key, valid_from_sequence=valid_from,
        previous_key_id=previous.key_id if previous else None,
    )  # fmt: skip
    if previous is None:
        return unsigned
    return unsigned.model_copy(update={"endorsement": previous.sign(signed_part(unsigned))})


class Checkpointer:
    """Writes one service's checkpoints (and publishes its keys) on its event store."""

    def __init__(
        self, store: PostgresEventStore, signer: str, keys: Sequence[SigningKey], settings: CheckpointSettings
    ):
        if not keys:
            raise ValueError("a checkpointer needs at least one key")
        self.store = store
        self.signer = signer
        self.keys = list(keys)
        self.settings = settings
        self.context = CommandContext(
            actor=Actor(id=f"{signer}-checkpointer", role="service"), agency="platform", project=None,
            correlation_id=new_id(),
        )  # fmt: skip
        self._last_written = time.monotonic()

    @property
    def key(self) -> SigningKey:
        return self.keys[-1]

    async def run(self) -> None:
        """Until cancelled: write a checkpoint whenever one is due; errors are logged and retried."""
        while True:
            try:
                while await self.due() and await self.write() is not None:
                    pass  # a backlog (checkpoints just switched on) is signed at once, not one a poll
            except asyncio.CancelledError:
                raise
            except ConcurrencyConflict:
                log.info("checkpoint.conflict", signer=self.signer)  # another replica wrote it
            except Exception as exc:
                log.warning("checkpoint.failed", signer=self.signer, error=repr(exc))
            await asyncio.sleep(self.settings.poll_seconds)

    async def due(self) -> bool:
        async with self.store.pool.acquire() as conn:
            head = await self.head(conn)
            pending = await conn.fetchval(
                _PENDING, str(head.after[0]), head.after[1], AUDIT_STREAM_TYPE, self.settings.checkpoint_events
            )
        if pending >= self.settings.checkpoint_events:
            return True
        return pending > 0 and time.monotonic() - self._last_written >= self.settings.checkpoint_seconds

    async def write(self) -> CheckpointSigned | None:
        """One checkpoint over what follows the last (at most ``checkpoint_events``), or None."""
        async with self.store.pool.acquire() as conn:
            async with conn.transaction():  # committed first: the checkpoint's read sees them as history
                await self.publish_keys(conn, (await self.head(conn)).sequence + 1)
            return await self._write_on(conn)

    async def _write_on(self, conn: Conn) -> CheckpointSigned | None:
        async with conn.transaction():
            head = await self.head(conn)
            rows = await self._read_after(conn, head.after)
            checkpoint = build_checkpoint(self.signer, head, rows, self.key)
            if checkpoint is None:
                return None
            await self.store.append(
                conn, stream_id=checkpoint_stream(self.signer), stream_type=AUDIT_STREAM_TYPE,
                expected_version=head.version, events=[checkpoint], context=self.context,
                head_hash=head.hash if head.version else GENESIS_HASH,
            )  # fmt: skip
        self._last_written = time.monotonic()
        log.info("checkpoint.written", signer=self.signer, sequence=checkpoint.sequence, events=checkpoint.events)
        return checkpoint

    async def _read_after(self, conn: Conn, after: tuple[int, int]) -> list[CommittedRow]:
        """Committed events after the resume point, in publish order, audit streams included
        (so the resume point moves past them), up to the limit of covered events."""
        rows, _ = await self.store.read_committed(after, self.settings.checkpoint_events, conn=conn)
        return rows

    async def head(self, conn: Conn) -> Head:
        raw = await conn.fetchval(_LAST_EVENT, checkpoint_stream(self.signer))
        if raw is None:
            return Head(0, GENESIS_HASH, 0, ZERO_ROOT, (0, 0))
        env = Envelope.from_bytes(raw)
        last = Recorded.decode(env).payload
        assert isinstance(last, CheckpointSigned)
        return Head(env.version, env.hash, last.sequence, last.merkle_root, (last.store_xid, last.store_position))

    async def publish_keys(self, conn: Conn, next_sequence: int) -> None:
        """Append every key of the ring not yet published, each endorsed by the one before."""
        stream = await self.store.read_stream(keys_stream(self.signer), conn=conn)
        published = {e.payload["key_id"] for e in stream}
        version, head_hash = (stream[-1].version, stream[-1].hash) if stream else (0, GENESIS_HASH)
        for i, key in enumerate(self.keys):
            if key.key_id in published:
                continue
            previous = self.keys[i - 1] if i > 0 else None
            sealed = await self.store.append(
                conn, stream_id=keys_stream(self.signer), stream_type=AUDIT_STREAM_TYPE, expected_version=version,
                events=[endorse(self.signer, key, previous, next_sequence)], context=self.context, head_hash=head_hash,
            )  # fmt: skip
            version, head_hash = sealed[-1].version, sealed[-1].hash
            log.info("checkpoint.key_published", signer=self.signer, key_id=key.key_id)


def start_audit_trail(
    runtime: Runtime, relay: OutboxRelay | None = None, settings: CheckpointSettings | None = None
) -> Checkpointer | None:
    """The runtime's hook: with a key file configured, a background checkpointer, and for a
    service that keeps read records, their publisher (``shared.audit.reads``), whose events the
    relay sends to the service's audit topic."""
    s = settings or CheckpointSettings()
    name = runtime.definition.name
    path = s.key_path(name)
    if path is None:
        return None
    store = PostgresEventStore(runtime.pool)
    checkpointer = Checkpointer(store, name, load_keyring(path), s)
    runtime.spawn(checkpointer.run(), "checkpoints")
    if name in READ_TABLES:
        if relay is not None:
            relay.route = reads_route(runtime.settings.audit_topic(name))
        runtime.spawn(ReadPublisher(store, name, READ_TABLES[name], poll_seconds=s.poll_seconds).run(), "reads")
    return checkpointer
