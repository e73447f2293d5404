"""``Projection.replaying``: the handlers a rebuild's replay applies. Replay handlers take the
place of batch handlers only where an ``after_rebuild`` step finishes the job; live runners
never see them."""

from __future__ import annotations

from typing import Any

from services.reporting.projections import facts, record, record_replayed
from shared.contracts.intake import ParticipantDataErased, ReferralReceived
from shared.db import Conn
from shared.projections import Projection
from shared.recorded import Recorded


async def _live(conn: Conn, batch: list[Recorded[Any]]) -> None: ...


async def _replayed(conn: Conn, batch: list[Recorded[Any]]) -> None: ...


async def _finish(conn: Conn, share: tuple[int, int]) -> None: ...


def _projection(*, finished: bool) -> Projection:
    p = Projection(name="p", sql=[])
    p.on_batch(ReferralReceived, ParticipantDataErased)(_live)
    p.on_replay(ReferralReceived)(_replayed)
    if finished:
        p.on_rebuilt(_finish)
    return p


def test_a_replay_uses_the_replay_handlers_and_leaves_the_projection_as_it_is() -> None:
    p = _projection(finished=True)
    replaying = p.replaying()
    assert replaying.batch_handlers == {"ReferralReceived": _replayed, "ParticipantDataErased": _live}
    assert (replaying.name, replaying.module) == (p.name, p.module)
    assert replaying.after_rebuild is _finish
    assert p.batch_handlers == {"ReferralReceived": _live, "ParticipantDataErased": _live}


def test_without_an_after_rebuild_step_a_replay_applies_the_live_handlers() -> None:
    p = _projection(finished=False)
    assert p.replaying() is p


def test_the_facts_replay_stores_facts_without_folding_and_live_batches_fold() -> None:
    kept = set(facts.batch_handlers)
    assert set(facts.batch_handlers.values()) == {record}
    assert set(facts.replaying().batch_handlers.values()) == {record_replayed}
    assert set(facts.replaying().batch_handlers) == kept
