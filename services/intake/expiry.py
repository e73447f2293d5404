"""Background task: consents whose ``expires_on`` has come get a ConsentExpired event.

It scans the consent index of the ``register`` projection and runs the ``expire_consents``
command per participant (so the aggregate, not the index, decides). ``clock`` is injectable
so that tests can move "today".
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from datetime import date

import structlog

from services.intake import domain
from shared.commands import execute
from shared.envelope import Actor, new_id
from shared.eventstore import CommandContext
from shared.runtime import Runtime

log = structlog.get_logger(__name__)

SYSTEM = Actor(id="intake-consent-expiry", role="service")


class ConsentExpiry:
    def __init__(self, runtime: Runtime, clock: Callable[[], date] = date.today, interval: float = 300.0) -> None:
        self.runtime = runtime
        self.clock = clock
        self.interval = interval

    async def run_once(self, today: date | None = None) -> int:
        """Expire every due consent; returns how many ConsentExpired events were appended."""
        day = today or self.clock()
        rt = self.runtime
        assert rt.pool is not None
        assert rt.store is not None
        rows = await rt.pool.fetch(
            "SELECT DISTINCT c.participant_id, p.agency, p.project FROM participant_consents c"
            " JOIN participants p USING (participant_id)"
            " WHERE c.status = 'active' AND c.expires_on <= $1",
            day,
        )
        total = 0
        for row in rows:
            pid = row["participant_id"]
            outcome = await execute(
                rt.store,
                domain.participant,
                stream_id=domain.stream_id(pid),
                context=CommandContext(
                    actor=SYSTEM, agency=row["agency"], project=row["project"], correlation_id=new_id()
                ),
                decide=lambda state, _v: domain.expire_consents(state, day),
                respond=lambda _s, events: {"expired": len(events)},
            )
            total += int(outcome.body["expired"])
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
