"""A consumed event as handlers see it: the envelope's metadata and the decoded, upcast payload.

The runner decodes each record once (``registry.load``: upcasters first, then the contract's
model), so projection and policy handlers never read a raw payload dict or a type name.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Generic, TypeVar
from uuid import UUID

from shared.contracts.base import DomainEvent, registry
from shared.envelope import Actor, Envelope

E = TypeVar("E", bound=DomainEvent, covariant=True)


@dataclass(frozen=True, slots=True)
class Recorded(Generic[E]):
    envelope: Envelope
    payload: E

    @classmethod
    def decode(cls, envelope: Envelope) -> Recorded[DomainEvent]:
        """Decode and upcast the envelope's payload into its current contract."""
        return Recorded(envelope, registry.load(envelope.event_type, envelope.schema_version, envelope.payload))

    @property
    def stream_id(self) -> str:
        return self.envelope.stream_id

    @property
    def version(self) -> int:
        return self.envelope.version

    @property
    def event_id(self) -> UUID:
        return self.envelope.event_id

    @property
    def event_type(self) -> str:
        return self.envelope.event_type

    @property
    def agency(self) -> str:
        return self.envelope.agency

    @property
    def project(self) -> str | None:
        return self.envelope.project

    @property
    def actor(self) -> Actor:
        return self.envelope.actor

    @property
    def occurred_at(self) -> datetime:
        return self.envelope.occurred_at

    @property
    def recorded_at(self) -> datetime:
        return self.envelope.recorded_at

    @property
    def correlation_id(self) -> UUID:
        return self.envelope.correlation_id
