"""Intake's own reactions: consent expiry and retention, scheduled policies; and one reaction
to casework's topic, ``transfers``: a case transfer moves the participant (``ParticipantTransferred``).

Consents whose expiry date has come get a ConsentExpired event. The policy asks the register
projection for candidates (``DueConsents``) and sends ``ExpireConsents`` per participant
through the bus, so the aggregate, not the index, decides; reruns append nothing new.

Retention (daily): the records whose period has run out under their agency's rules
(``services/intake/domain/retention.py``) are erased through the DPO's own command
(``EraseParticipant``, actor ``system``, legal basis ``retention: …``). Held records are
skipped (the aggregate refuses too, should a hold arrive meanwhile); an erased participant
refuses a second erasure and a concurrent run loses the append race, so each is erased once.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date
from typing import Any, Protocol
from uuid import UUID

import structlog

from services.intake import access, domain
from services.intake.commands import EraseParticipant, ExpireConsents
from services.intake.domain import retention
from shared.bus import Context, MessageBus
from shared.contracts.casework import CaseTransferred
from shared.db import Conn
from shared.domain import InvalidTransition, NotFound
from shared.envelope import Actor
from shared.eventstore import ConcurrencyConflict, PostgresEventStore
from shared.principal import Principal
from shared.projections import Projection
from shared.reactions import append_reaction
from shared.recorded import Recorded
from shared.schedule import every
from shared.unit_of_work import fold
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
        await every(self.interval, self.run_once, name="consents.expiry")


def retention_actor(agency: str) -> Principal:
    """The retention task acts as ``system`` for the agency that runs the participant's case."""
    return Principal(subject=access.RETENTION_ACTOR, role=Role.SERVICE, agency=agency)


class RetentionPort(Protocol):
    async def agencies(self) -> list[str]: ...
    async def records(self, agency: str) -> list[retention.Record]: ...
    async def held(self, agency: str, day: date) -> dict[str, dict[str, Any]]: ...
    async def rules(self, agency: str) -> retention.Rules: ...


@dataclass
class RetentionRun:
    """What one run did: erased and held participants (ids), per the run's day."""

    today: date
    erased: list[str] = field(default_factory=list)
    held: list[str] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return {"today": self.today.isoformat(), "erased": self.erased, "held": self.held}


class RetentionTask:
    def __init__(
        self,
        bus: MessageBus,
        port: RetentionPort,
        clock: Callable[[], date],
        interval: float = 86400.0,
        delay: float = 3600.0,
    ) -> None:
        """``clock`` is the runtime's "today"; runs every ``interval`` (a day), the first one
        ``delay`` after the start (an hour: a service restarted on a restored database first
        re-applies erasures and catches up its projections)."""
        self.bus = bus
        self.port = port
        self.clock = clock
        self.interval = interval
        self.delay = delay

    async def run_once(self, today: date | None = None, agency: str | None = None) -> RetentionRun:
        """Erase every record due by ``today`` (default: the clock) of ``agency`` (default: all)."""
        run = RetentionRun(today or self.clock())
        for code in [agency] if agency else await self.port.agencies():
            await self._run_agency(run, code)
        if run.erased or run.held:
            log.info("retention.run", erased=len(run.erased), held=len(run.held), today=run.today.isoformat())
        return run

    async def _run_agency(self, run: RetentionRun, agency: str) -> None:
        records, rules = await self.port.records(agency), await self.port.rules(agency)
        holds = await self.port.held(agency, run.today)
        for due in retention.due_by(records, rules, run.today):
            pid = due.record.participant_id
            outcome = "held" if pid in holds else await self._erase(due, agency, run.today)
            if outcome == "erased":
                run.erased.append(pid)
            elif outcome == "held":
                run.held.append(pid)

    async def _erase(self, due: retention.Due, agency: str, day: date) -> str:
        """Through the DPO's command: ``erased``; ``held`` when a hold arrived after the
        projection was read (the aggregate refuses); ``skipped`` when it was erased already
        (by another run or a DPO: gone, or the append race lost)."""
        command = EraseParticipant(participant_id=UUID(due.record.participant_id), legal_basis=due.legal_basis)
        try:
            await self.bus.handle(command, Context(principal=retention_actor(agency), today=day))
        except (NotFound, InvalidTransition, ConcurrencyConflict) as refused:
            log.info("retention.skipped", participant_id=due.record.participant_id, why=str(refused))
            return "held" if getattr(refused, "field", None) == "legal_hold" else "skipped"
        return "erased"

    async def loop(self) -> None:
        await every(self.interval, self.run_once, name="retention.run", first_after=self.delay)


# ------------------------------------------------------------------ case transfer (reaction)

# Casework decides a transfer; intake follows it on the participant's own stream, in the
# transaction that stores the consumer position (redelivery appends nothing twice).
transfers = Projection(name="transfers", sql=[], topics=["casework"], side_effects=True)
TRANSFER_ACTOR = Actor(id="intake", role="service")
_store = PostgresEventStore()


@transfers.on(CaseTransferred)
async def follow_transfer(conn: Conn, rec: Recorded[CaseTransferred]) -> None:
    """The participant moves to the receiving agency with the case (``ParticipantTransferred``)."""
    moved = rec.payload
    stream = domain.stream_id(moved.case_id)
    current = fold(domain.participant, stream, await _store.read_stream(stream, conn=conn))
    events = domain.follow_transfer(current.state, moved)
    if events:
        agency, project = current.state.agency, current.state.project or moved.project
        await append_reaction(_store, conn, rec, current, events, actor=TRANSFER_ACTOR, agency=agency, project=project)
