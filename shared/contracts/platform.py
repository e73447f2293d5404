"""Events of the platform itself, written by any service into its own store (and topic): the
operator's decisions about the pipeline, audited like every other change."""

from __future__ import annotations

from typing import ClassVar

from pydantic import Field

from shared.contracts.base import DomainEvent, OperatorText, event


class PlatformEvent(DomainEvent):
    service: ClassVar[str] = "platform"


@event
class ParkedRecordSkipped(PlatformEvent):
    """An operator decided that a parked record is never to be applied (``dlq skip``)."""

    projection: OperatorText
    topic: OperatorText
    partition: int = Field(ge=0)
    offset: int = Field(ge=0)
    parked_reason: OperatorText = Field(description="why it was parked: undecodable, contract, tampered, handler, ...")
    stream_id: OperatorText | None = Field(default=None, description="the parked record's stream, if it could be read")
    event_id: OperatorText | None = Field(default=None, description="the parked record's event id, if it could be read")
    reason: OperatorText = Field(min_length=1, max_length=2000, description="the operator's reason for skipping it")
