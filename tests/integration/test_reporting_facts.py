"""reporting's facts projection on real PostgreSQL: case events find their participant, and an
erasure leaves the figures but nothing that links them to the person."""

from __future__ import annotations

from datetime import UTC, date, datetime

import asyncpg

from services.reporting.projections import facts
from shared.contracts.base import DomainEvent
from shared.contracts.casework import CaseOpened, PhaseEntered
from shared.contracts.common import Phase
from shared.contracts.intake import ParticipantDataErased
from shared.envelope import GENESIS_HASH, Actor, Envelope, new_id
from shared.projections import ProjectionRunner, Record

# The hash of the latest envelope made per (stream, version): the next version links to it, so
# consumers (which check the chain) accept the stream.
_HEADS: dict[tuple[str, int], str] = {}


def record(offset: int, stream: str, version: int, event: DomainEvent) -> Record:
    now = datetime.now(UTC)
    prev = _HEADS.get((stream, version - 1), GENESIS_HASH) if version > 1 else GENESIS_HASH
    env = Envelope(
        event_id=new_id(), event_type=event.event_type, schema_version=1, stream_id=stream, stream_type="x",
        version=version, occurred_at=now, recorded_at=now, agency="jc-en", project="pro-aktiv",
        actor=Actor(id="t", role="service"), correlation_id=new_id(), causation_id=None,
        payload=event.model_dump(mode="json"), prev_hash=prev,
    ).sealed()  # fmt: skip
    _HEADS[(stream, version)] = env.hash
    return Record("t.events", 0, offset, env.to_bytes())


async def test_case_events_join_their_participant_and_erasure_unlinks_all(pool: asyncpg.Pool) -> None:
    runner = ProjectionRunner(pool, facts, "proj_facts")
    await runner.setup()
    pid, other = new_id(), new_id()
    opened = CaseOpened(
        case_id=pid, participant_id=pid, agency="jc-en", project="pro-aktiv", opened_on=date(2026, 1, 5)
    )
    other_opened = opened.model_copy(update={"case_id": other, "participant_id": other})
    clearing = PhaseEntered(case_id=pid, phase=Phase.CLEARING, entered_on=date(2026, 2, 1))
    # first batch: the opening and a phase of the same case (the join happens inside the batch)
    await runner.apply([record(0, f"case-{pid}", 1, opened), record(1, f"case-{pid}", 2, clearing),
                        record(2, f"case-{other}", 1, other_opened)])  # fmt: skip
    rows = await pool.fetch("SELECT event_type, participant_id FROM proj_facts.facts ORDER BY recorded_at")
    assert [(r["event_type"], r["participant_id"]) for r in rows] == [
        ("CaseOpened", pid), ("PhaseEntered", pid), ("CaseOpened", other)]  # fmt: skip

    # second batch: erasure, then a late phase of the erased person's case (joins via the stored opening)
    stab = PhaseEntered(case_id=pid, phase=Phase.STABILISIERUNG, entered_on=date(2026, 3, 1))
    erased = ParticipantDataErased(participant_id=pid, erased_on=date(2026, 3, 2), legal_basis="Art. 17 GDPR")
    await runner.apply([record(3, f"participant-{pid}", 1, erased), record(4, f"case-{pid}", 3, stab)])
    rows = await pool.fetch("SELECT event_type, participant_id FROM proj_facts.facts")
    assert all(r["participant_id"] != pid for r in rows)
    assert len(rows) == 5  # the figures stay
    pseudonyms = {r["participant_id"] for r in rows if r["participant_id"] != other}
    assert len(pseudonyms) == 1  # still one (unlinkable) person, so counts per person stay right


async def test_events_overtaken_by_the_erasure_get_the_pseudonym_too(pool: asyncpg.Pool) -> None:
    """The erasure (intake topic) can be applied before the person's case events (casework
    topic, opened by a policy a moment later): those arrive unlinked as well."""
    runner = ProjectionRunner(pool, facts, "proj_facts")
    await runner.setup()
    pid = new_id()
    erased = ParticipantDataErased(participant_id=pid, erased_on=date(2026, 3, 2), legal_basis="Art. 17 GDPR")
    await runner.apply([record(0, f"participant-{pid}", 1, erased)])
    opened = CaseOpened(
        case_id=pid, participant_id=pid, agency="jc-en", project="pro-aktiv", opened_on=date(2026, 3, 1)
    )
    clearing = PhaseEntered(case_id=pid, phase=Phase.CLEARING, entered_on=date(2026, 3, 1))
    await runner.apply([record(1, f"case-{pid}", 1, opened), record(2, f"case-{pid}", 2, clearing)])
    rows = await pool.fetch("SELECT event_type, participant_id FROM proj_facts.facts")
    assert len(rows) == 3
    assert all(r["participant_id"] != pid for r in rows)
    assert len({r["participant_id"] for r in rows}) == 1  # one pseudonymous person
    assert await pool.fetchval("SELECT count(*) FROM proj_facts.erased_participants") == 1
