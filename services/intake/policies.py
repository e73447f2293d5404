"""Intake's own reactions: consent expiry, a scheduled policy.

Consents whose expiry date has come get a ConsentExpired event. The policy asks the register
projection for candidates (``DueConsents``) and sends ``ExpireConsents`` per participant
through the bus, so the aggregate, not the index, decides; reruns append nothing new.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from datetime import date
from typing import Protocol
from uuid import UUID

import structlog

from services.intake.commands import ExpireConsents
from shared.bus import Context, MessageBus
from shared.principal import Principal
from shared.vocabulary import Role

log = structlog.get_logger(__name__)

# The actor of the ConsentExpired events (its agency is not used: events carry the case's).
EXPIRY = Principal(subject="intake-consent-expiry", role=Role.SERVICE, agency="intake")


class DueConsents(Protocol):
    async def __call__(self, day: date, agency: str | None = None) -> list[UUID]:
        """Participants (of ``agency``'s register, or all) that may have a consent whose expiry
        date is ``day`` or earlier."""


class ConsentExpiry:
    def __init__(self, bus: MessageBus, due: DueConsents, clock: Callable[[], date], interval: float = 300.0) -> None:
        """``clock`` is the runtime's "today" (tests move it)."""
        self.bus = bus
        self.due = due
        self.clock = clock
        self.interval = interval

    async def run_once(self, today: date | None = None, agency: str | None = None) -> int:
        """Expire every due consent (``today`` overrides the clock, for drills; ``agency``
        limits the run to one agency's participants); returns how many ConsentExpired events
        were appended."""
        day = today or self.clock()
        total = 0
        for pid in await self.due(day, agency):
            result = await self.bus.handle(ExpireConsents(participant_id=pid), Context(principal=EXPIRY, today=day))
            total += int(result.body["expired"])
        if total:
            log.info("consents.expired", count=total, today=day.isoformat())
        return total

    async def loop(self) -> None:
        while True:
            try:
                await self.run_once()
            except Exception:
                log.exception("consents.expiry_failed")
            await asyncio.sleep(self.interval)
