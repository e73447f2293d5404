"""``verify``: what the topics alone prove. Every record is parsed and checked against the
published schemas; every stream's versions must run 1, 2, 3 ... and each hash must cover its
event and link to the one before; every signed checkpoint must be signed by a key in force and
cover exactly the events on the topic. The first break per stream is reported with its topic,
partition and offset; what no checkpoint covers yet is reported as unsigned.

feed = parse -> check schemas -> check chain -> keep hash and offset; finish = trust keys ->
check checkpoints (sequence, signature, root, each covered event) -> count the unsigned tail.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

import orjson
from pydantic import ValidationError

from shared.audit.checkpoints import AUDIT_STREAM_TYPE, ZERO_ROOT, range_hashes, signed_part
from shared.audit.merkle import merkle_root
from shared.audit.schemas import PublishedSchemas
from shared.audit.signing import key_id_of, verify_signature
from shared.audit.topics import family
from shared.contracts.audit import CheckpointSigned, SigningKeyPublished
from shared.envelope import GENESIS_HASH, Envelope
from shared.projections import Record


@dataclass(frozen=True)
class Break:
    """The first place where one stream (of one topic) does not hold."""

    topic: str
    partition: int
    offset: int
    stream_id: str
    version: int | None
    reason: str

    def as_dict(self) -> dict[str, Any]:
        return {
            "topic": self.topic, "partition": self.partition, "offset": self.offset,
            "stream_id": self.stream_id, "version": self.version, "reason": self.reason,
        }  # fmt: skip


@dataclass
class Stream:
    """One stream as read so far: each version's hash (raw) and offset, in version order."""

    topic: str
    stream_type: str
    partition: int
    hashes: list[bytes] = field(default_factory=list)
    offsets: list[int] = field(default_factory=list)
    signed_through: int = 0
    broken: bool = False

    @property
    def version(self) -> int:
        return len(self.hashes)

    @property
    def head(self) -> str:
        return self.hashes[-1].hex() if self.hashes else GENESIS_HASH


@dataclass(frozen=True)
class Signed:
    """A checkpoint or key event where it was read."""

    record: Record
    envelope: Envelope


@dataclass(frozen=True)
class CheckpointRow:
    """One checkpoint as read, for the report."""

    topic: str
    partition: int
    offset: int
    signer: str
    sequence: int
    events: int
    key_id: str
    merkle_root: str
    verified: bool


@dataclass(frozen=True)
class KeyRow:
    """One published key, for the report."""

    signer: str
    key_id: str
    valid_from_sequence: int
    previous_key_id: str | None
    trusted: bool


@dataclass
class Coverage:
    """Per topic: events, and how many of them (audit streams left out) a valid checkpoint signs."""

    streams: int = 0
    events: int = 0
    signed: int = 0
    unsigned: int = 0


@dataclass
class Report:
    streams: int = 0
    events: int = 0
    duplicates: int = 0
    checkpoints: int = 0
    checkpoints_verified: int = 0
    keys: dict[str, list[str]] = field(default_factory=dict)  # signer -> trusted key ids, in order
    signed_events: int = 0
    unsigned_events: int = 0
    unsigned_streams: int = 0
    breaks: list[Break] = field(default_factory=list)
    checkpoint_rows: list[CheckpointRow] = field(default_factory=list)
    key_rows: list[KeyRow] = field(default_factory=list)
    coverage: dict[str, Coverage] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return not self.breaks

    def as_dict(self) -> dict[str, Any]:
        return {
            "ok": self.ok, "streams": self.streams, "events": self.events, "duplicates": self.duplicates,
            "checkpoints": self.checkpoints, "checkpoints_verified": self.checkpoints_verified, "keys": self.keys,
            "signed_events": self.signed_events, "unsigned_events": self.unsigned_events,
            "unsigned_streams": self.unsigned_streams, "breaks": [b.as_dict() for b in self.breaks],
            "coverage": {t: vars(c) for t, c in self.coverage.items()},
        }  # fmt: skip


class Verifier:
    """Fed records in offset order per partition; ``finish`` gives the report."""

    def __init__(self, schemas: PublishedSchemas, pins: dict[str, set[str]] | None = None) -> None:
        self.schemas = schemas
        self.pins = pins or {}  # signer -> pinned public keys (base64)
        self.streams: dict[tuple[str, str], Stream] = {}
        self.first_break: dict[tuple[str, str], Break] = {}
        self.checkpoints: list[Signed] = []
        self.key_events: list[Signed] = []
        self.events = 0
        self.duplicates = 0
        self.partition_ends: dict[tuple[str, int], int] = {}
        self.key_rows: list[KeyRow] = []

    def feed(self, records: Iterable[Record]) -> None:
        for record in records:
            self.events += 1
            self.partition_ends[(record.topic, record.partition)] = record.offset + 1
            self._check(record)

    def _check(self, record: Record) -> None:
        """parse -> schemas -> chain -> keep."""
        fallback = record.key.decode("utf-8", "replace") if record.key else "?"
        try:
            data = orjson.loads(record.value)
        except orjson.JSONDecodeError as exc:
            self._break(record, fallback, None, f"not JSON: {exc}")
            return
        if not isinstance(data, dict):
            self._break(record, fallback, None, "not a JSON object")
            return
        named = data.get("stream_id")
        stream_id = named if isinstance(named, str) else fallback
        problem = self.schemas.problem(data)
        if problem is not None:
            self._break(record, stream_id, data.get("version"), problem)
            return
        try:
            env = Envelope.model_validate(data)
        except ValidationError as exc:
            self._break(record, stream_id, data.get("version"), f"envelope: {exc.errors()[0]['msg']}")
            return
        self._chain(record, env)

    def _chain(self, record: Record, env: Envelope) -> None:
        key = (family(record.topic), env.stream_id)
        stream = self.streams.setdefault(key, Stream(record.topic, env.stream_type, record.partition))
        if stream.broken:
            return
        if env.version <= stream.version:
            if stream.hashes[env.version - 1].hex() == env.hash and env.compute_hash() == env.hash:
                self.duplicates += 1  # published twice (the relay is at least once): the same event
                return
            self._break(record, env.stream_id, env.version, f"version {env.version} again, with other content")
            return
        if env.version != stream.version + 1:
            self._break(record, env.stream_id, env.version, f"expected version {stream.version + 1}")
            return
        if env.compute_hash() != env.hash:
            self._break(record, env.stream_id, env.version, "content does not match its hash")
            return
        if env.prev_hash != stream.head:
            self._break(record, env.stream_id, env.version, f"prev_hash does not link to version {stream.version}")
            return
        stream.hashes.append(bytes.fromhex(env.hash))
        stream.offsets.append(record.offset)
        if env.event_type == CheckpointSigned.event_type:
            self.checkpoints.append(Signed(record, env))
        elif env.event_type == SigningKeyPublished.event_type:
            self.key_events.append(Signed(record, env))

    def _break(self, record: Record, stream_id: str, version: Any, reason: str) -> None:
        self._record_break(
            Break(
                record.topic,
                record.partition,
                record.offset,
                stream_id,
                version if isinstance(version, int) else None,
                reason,
            )
        )

    def _record_break(self, found: Break) -> None:
        """Keep the earliest break per stream; a broken stream is not followed further."""
        key = (family(found.topic), found.stream_id)
        known = self.first_break.get(key)
        if known is None or (found.partition, found.offset) < (known.partition, known.offset):
            self.first_break[key] = found
        if key in self.streams:
            self.streams[key].broken = True

    def finish(self) -> Report:
        trusted = self._trusted_keys()
        report = Report(streams=len(self.streams), events=self.events, duplicates=self.duplicates)
        report.checkpoints = len(self.checkpoints)
        report.keys = {signer: [k.key_id for k in keys] for signer, keys in sorted(trusted.items())}
        report.key_rows = self.key_rows
        last: dict[tuple[str, str], CheckpointSigned] = {}
        for signed in self.checkpoints:
            verified = self._checkpoint(signed, trusted, last)
            report.checkpoints_verified += verified
            report.checkpoint_rows.append(_row(signed, verified))
        for stream in self.streams.values():
            coverage = report.coverage.setdefault(stream.topic, Coverage())
            coverage.streams += 1
            coverage.events += stream.version
            if stream.stream_type == AUDIT_STREAM_TYPE:
                continue
            signed_events = min(stream.signed_through, stream.version)
            report.signed_events += signed_events
            coverage.signed += signed_events
            tail = stream.version - stream.signed_through
            if tail > 0:
                report.unsigned_events += tail
                report.unsigned_streams += 1
                coverage.unsigned += tail
        report.breaks = sorted(self.first_break.values(), key=lambda b: (b.topic, b.partition, b.offset))
        return report

    # keys --------------------------------------------------------------------------------------

    def _trusted_keys(self) -> dict[str, list[SigningKeyPublished]]:
        """Per signer, its keys in the order published: the first must be pinned, each later one
        pinned or endorsed by the key before it."""
        trusted: dict[str, list[SigningKeyPublished]] = {}
        for signed in self.key_events:
            key = SigningKeyPublished.model_validate(signed.envelope.payload)
            chain = trusted.setdefault(key.signer, [])
            if key in chain:
                continue  # the same key event on a second topic (a mirror, a copy)
            is_trusted = self._key_trusted(key, chain)
            self.key_rows.append(
                KeyRow(key.signer, key.key_id, key.valid_from_sequence, key.previous_key_id, is_trusted)
            )
            if is_trusted:
                chain.append(key)
            else:
                self._signed_break(signed, f"key {key.key_id} of {key.signer} is neither pinned nor endorsed")
        return trusted

    def _key_trusted(self, key: SigningKeyPublished, chain: list[SigningKeyPublished]) -> bool:
        if key_id_of(key.public_key) != key.key_id:
            return False
        if key.public_key in self.pins.get(key.signer, set()):
            return True
        previous = chain[-1] if chain else None
        if previous is None or key.previous_key_id != previous.key_id or key.endorsement is None:
            return False
        return verify_signature(previous.public_key, key.endorsement, signed_part(key))

    @staticmethod
    def _key_in_force(chain: list[SigningKeyPublished], sequence: int) -> SigningKeyPublished | None:
        """The last key whose validity began at or before this checkpoint's sequence."""
        in_force = [k for k in chain if k.valid_from_sequence <= sequence]
        return in_force[-1] if in_force else None

    # checkpoints -------------------------------------------------------------------------------

    def _checkpoint(
        self,
        signed: Signed,
        trusted: dict[str, list[SigningKeyPublished]],
        last: dict[tuple[str, str], CheckpointSigned],
    ) -> bool:
        """sequence -> signature -> root -> every covered event; marks covered versions signed."""
        cp = CheckpointSigned.model_validate(signed.envelope.payload)
        topic = signed.record.topic
        previous = last.get((topic, cp.signer))
        expected_sequence, expected_root = (previous.sequence + 1, previous.merkle_root) if previous else (1, ZERO_ROOT)
        problem = None
        if cp.sequence != expected_sequence or cp.previous_root != expected_root:
            problem = f"checkpoint {cp.sequence} does not follow checkpoint {expected_sequence - 1}"
        key = self._key_in_force(trusted.get(cp.signer, []), cp.sequence)
        public_key = key.public_key if key is not None and key.key_id == cp.key_id else None
        if problem is None and public_key is None:
            problem = f"checkpoint {cp.sequence} is not signed by the key in force"
        elif problem is None and public_key and not verify_signature(public_key, cp.signature, signed_part(cp)):
            problem = f"checkpoint {cp.sequence}: signature does not verify"
        elif problem is None and merkle_root(range_hashes(cp.streams)) != cp.merkle_root:
            problem = f"checkpoint {cp.sequence}: merkle root does not match its hashes"
        if problem is not None:
            self._signed_break(signed, problem)
            return False
        last[(topic, cp.signer)] = cp
        for covered in cp.streams:
            self._covered(signed, cp.sequence, covered.stream_id, covered.from_version, covered.hashes)
        return True

    def _covered(self, signed: Signed, sequence: int, stream_id: str, from_version: int, hashes: list[str]) -> None:
        topic = signed.record.topic
        stream = self.streams.get((family(topic), stream_id))
        if stream is None:
            self._record_break(
                Break(topic, signed.record.partition, signed.record.offset, stream_id, from_version,
                      f"checkpoint {sequence} covers this stream; it is not on the topic (nor its audit topic)")
            )  # fmt: skip
            return
        for version, expected in enumerate(hashes, start=from_version):
            if version > len(stream.hashes):
                end = self.partition_ends.get((stream.topic, stream.partition), 0)
                reason = f"version {version}, signed by checkpoint {sequence}, is missing"
                self._record_break(Break(stream.topic, stream.partition, end, stream_id, version, reason))
                return
            if stream.hashes[version - 1].hex() != expected:
                reason = f"differs from the event signed by checkpoint {sequence}"
                self._record_break(
                    Break(stream.topic, stream.partition, stream.offsets[version - 1], stream_id, version, reason)
                )
                return
        stream.signed_through = max(stream.signed_through, from_version + len(hashes) - 1)

    def _signed_break(self, signed: Signed, reason: str) -> None:
        r = signed.record
        self._record_break(
            Break(r.topic, r.partition, r.offset, signed.envelope.stream_id, signed.envelope.version, reason)
        )


def _row(signed: Signed, verified: bool) -> CheckpointRow:
    cp = CheckpointSigned.model_validate(signed.envelope.payload)
    r = signed.record
    return CheckpointRow(r.topic, r.partition, r.offset, cp.signer, cp.sequence, cp.events, cp.key_id, cp.merkle_root,
                         verified)  # fmt: skip
