"""The one event envelope every service writes and reads.

An envelope is immutable once appended; its ``hash`` chains it to the previous event of its
stream, so an auditor can prove that no event was altered, removed or reordered.
"""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime
from typing import Any
from uuid import UUID

import orjson
from pydantic import BaseModel, ConfigDict, Field
from uuid_utils.compat import uuid7

GENESIS_HASH = "0" * 64


def new_id() -> UUID:
    """A time-ordered UUIDv7 (event ids, participant ids, correlation ids)."""
    return uuid7()


def utcnow() -> datetime:
    return datetime.now(UTC)


class Actor(BaseModel):
    """Who caused an event: a person (subject of the bearer token) or a service."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    id: str = Field(min_length=1, max_length=200)
    role: str = Field(min_length=1, max_length=64)


class Envelope(BaseModel):
    """Metadata plus payload of one stored event, identical in every service and on every topic."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    event_id: UUID
    event_type: str
    schema_version: int = Field(ge=1)
    stream_id: str
    stream_type: str
    version: int = Field(ge=1)
    occurred_at: datetime
    recorded_at: datetime
    agency: str
    project: str | None
    actor: Actor
    correlation_id: UUID
    causation_id: UUID | None
    payload: dict[str, Any]
    prev_hash: str
    hash: str = ""

    def canonical_body(self) -> bytes:
        """The bytes the hash covers: every field except ``hash``, keys sorted."""
        data = self.model_dump(mode="json", exclude={"hash"})
        return orjson.dumps(data, option=orjson.OPT_SORT_KEYS)

    def compute_hash(self) -> str:
        return hashlib.sha256(self.canonical_body()).hexdigest()

    def sealed(self) -> Envelope:
        """A copy with ``hash`` set from the content and ``prev_hash``."""
        return self.model_copy(update={"hash": self.compute_hash()})

    def to_bytes(self) -> bytes:
        """Wire and storage form (JSON, keys sorted, so it is stable byte for byte)."""
        return orjson.dumps(self.model_dump(mode="json"), option=orjson.OPT_SORT_KEYS)

    @classmethod
    def from_bytes(cls, raw: bytes | str) -> Envelope:
        """Parse and validate stored or consumed bytes (pydantic's JSON parser: one pass, no
        intermediate dict; ~25 % faster than orjson + ``model_validate``, which counts in replays)."""
        return cls.model_validate_json(raw)


class ChainBreak(BaseModel):
    """One place where a stream's hash chain does not hold."""

    stream_id: str
    version: int
    reason: str


def verify_chain(events: list[Envelope]) -> list[ChainBreak]:
    """Check one stream's events (in version order): versions 1..n, hashes and links intact."""
    breaks: list[ChainBreak] = []
    prev = GENESIS_HASH
    for expected_version, event in enumerate(events, start=1):
        if event.version != expected_version:
            breaks.append(
                ChainBreak(
                    stream_id=event.stream_id,
                    version=event.version,
                    reason=f"expected version {expected_version}",
                )
            )
        if event.prev_hash != prev:
            breaks.append(
                ChainBreak(stream_id=event.stream_id, version=event.version, reason="prev_hash does not link")
            )
        if event.compute_hash() != event.hash:
            breaks.append(
                ChainBreak(stream_id=event.stream_id, version=event.version, reason="content does not match hash")
            )
        prev = event.hash
    return breaks
