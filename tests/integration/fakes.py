"""Test doubles for the Kafka side only; PostgreSQL stays real in integration tests."""

from __future__ import annotations

import asyncio
from datetime import date
from typing import Any, ClassVar

import asyncpg

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


class Counting:
    """A pool whose connections count the statements sent (one round trip each; the
    transaction's BEGIN and COMMIT aside). ``CountingConnection`` alone wraps one connection."""

    def __init__(self, pool: asyncpg.Pool) -> None:
        self.pool, self.sent, self.acquired = pool, 0, 0

    def acquire(self) -> Any:
        outer = self
        self.acquired += 1

        class Acquired:
            async def __aenter__(self) -> Any:
                self.cm = outer.pool.acquire()
                return CountingConnection(await self.cm.__aenter__(), outer)

            async def __aexit__(self, *exc: Any) -> None:
                await self.cm.__aexit__(*exc)

        return Acquired()


class CountingConnection:
    def __init__(self, conn: Any, counts: Counting | None = None) -> None:
        self.conn, self.counts, self.sent = conn, counts, 0

    def __getattr__(self, name: str) -> Any:
        found = getattr(self.conn, name)
        if name in ("execute", "executemany", "fetch", "fetchrow", "fetchval"):
            self.sent += 1
            if self.counts is not None:
                self.counts.sent += 1
        return found
