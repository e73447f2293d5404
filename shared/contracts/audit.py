"""Events of the audit trail itself: signed checkpoints over a service's events and the public
keys that verify them. Every service appends them to its own event store, so they reach the
topic through the outbox like every other event (no second write path). No projection handles
them: the runners pass them by as events they do not need (``shared.projections.decode_record``)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, TypeAlias
from uuid import UUID

from pydantic import BaseModel, ConfigDict, Field

from shared.contracts.base import Plain, event
from shared.contracts.platform import PlatformEvent

Digest: TypeAlias = Annotated[str, Plain("a SHA-256 digest in hex (of an envelope, or a Merkle root)")]
KeyText: TypeAlias = Annotated[str, Plain("an Ed25519 public key, key id or signature (base64): no person's data")]
StreamRef: TypeAlias = Annotated[str, Plain("a stream id: a random participant or aggregate id, never a name")]
ServiceName: TypeAlias = Annotated[str, Plain("the name of the service that signs (intake, casework, ...)")]


class CoveredRange(BaseModel):
    """The versions of one stream a checkpoint covers, with each event's hash in version order
    (so a verifier can name the first event that differs, not only that the root does)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    stream_id: StreamRef
    from_version: int = Field(ge=1)
    to_version: int = Field(ge=1)
    hashes: list[Digest] = Field(description="hash of each covered event, from_version..to_version")


@event
class CheckpointSigned(PlatformEvent):
    """A service signed the Merkle root over the hashes of its events since its previous
    checkpoint (the hashes cover ciphertext: an erasure, which only drops keys, never breaks it)."""

    signer: ServiceName
    sequence: int = Field(ge=1, description="1 for the first checkpoint of the service, then +1")
    previous_root: Digest = Field(description="merkle_root of the previous checkpoint (zeros for the first)")
    events: int = Field(ge=0, description="how many events it covers")
    streams: list[CoveredRange]
    merkle_root: Digest = Field(description="root over the covered hashes, ordered by stream id, then version")
    store_xid: int = Field(ge=0, description="where it ends in the signer's own event store (its resume point)")
    store_position: int = Field(ge=0, description="with store_xid: the last event it read there")
    key_id: KeyText
    signature: KeyText = Field(description="Ed25519 over the canonical JSON of every other field (base64)")


@event
class SigningKeyPublished(PlatformEvent):
    """A service's checkpoint key: the first is pinned in the auditors' configuration; each
    later one (a rotation) is endorsed by the key before it."""

    signer: ServiceName
    key_id: KeyText
    public_key: KeyText = Field(description="raw Ed25519 public key, base64")
    valid_from_sequence: int = Field(
        ge=1, description="the first checkpoint it signs; from this one on the previous key signs none"
    )
    previous_key_id: KeyText | None = Field(default=None, description="the key this one replaces")
    endorsement: KeyText | None = Field(
        default=None, description="signature by the previous key over every other field (base64)"
    )


@event
class DataRead(PlatformEvent):
    """Someone was shown a person's protected data (identity, referral reason, health data): the
    service's append-only read record, published so the access log travels, hash-chained and
    signed, with everything else (``shared.audit.reads``)."""

    reader: ServiceName = Field(description="the service that answered the read")
    read_id: UUID
    row_id: int = Field(ge=1, description="the read record's id in the service (the publisher's resume point)")
    read_at: datetime
    subject: Annotated[str, Plain("pseudonymous staff user id (the token's subject) or a service")]
    role: Annotated[str, Plain("the reader's role")]
    agency: Annotated[str, Plain("the reader's agency code")]
    participant_id: UUID
    participant_agency: Annotated[str, Plain("the agency running the person's case")]
    what: Annotated[str, Plain("what was shown, by category: identity, referral-reason, timeline, health-records")]
    correlation_id: UUID | None = None


@event
class AuditKeyGranted(PlatformEvent):
    """A data protection officer sealed one participant's data key at one service for one
    auditor's public key (``shared.audit.grants``), so that auditor can open that person's sealed
    fields on the topics; the key-encryption key never left the service."""

    grant_id: UUID
    participant_id: UUID
    granted_service: ServiceName
    auditor_key_id: KeyText = Field(description="fingerprint of the auditor's X25519 public key (16 hex digits)")
    reason: Annotated[
        str, Plain("the audit mandate (its reference and purpose), written by the officer, no health data")
    ]
