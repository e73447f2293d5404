"""Test doubles for the Kafka side only; PostgreSQL stays real in integration tests."""

from __future__ import annotations

import asyncio
from datetime import date
from typing import ClassVar

from shared.contracts.base import DomainEvent
from shared.envelope import Actor, Envelope, new_id
from shared.eventstore import CommandContext


class Noted(DomainEvent):
    """A throwaway contract for store tests (not registered globally)."""

    event_type: ClassVar[str] = "Noted"
    service: ClassVar[str] = "test"
    text: str
    on: date = date(2026, 1, 1)


def ctx() -> CommandContext:
    return CommandContext(
        actor=Actor(id="cm-1", role="case-manager"), agency="jc-en", project="pro-aktiv", correlation_id=new_id()
    )


class CapturingProducer:
    """Stands in for AIOKafkaProducer.send: records what the relay would publish."""

    def __init__(self) -> None:
        self.sent: list[tuple[str, bytes, bytes]] = []

    async def send(self, topic: str, value: bytes, key: bytes) -> asyncio.Future[None]:
        self.sent.append((topic, key, value))
        fut: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        fut.set_result(None)
        return fut

    def envelopes(self) -> list[Envelope]:
        return [Envelope.from_bytes(v) for _, _, v in self.sent]
