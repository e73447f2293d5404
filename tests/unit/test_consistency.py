"""The consistency token's format and which read models a read waits for."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import cast

import asyncpg
import pytest

from shared import consistency
from shared.consistency import BadToken, Token, read_models_of, unqualified
from shared.projections import Projection, ProjectionRunner


def test_a_token_names_service_stream_and_version() -> None:
    token = Token.parse("intake:participant-01a2:7")
    assert (token.service, token.stream_id, token.version) == ("intake", "participant-01a2", 7)
    assert str(token) == "intake:participant-01a2:7"
    assert Token.parse("casework:case:with:colons:3").stream_id == "case:with:colons"
    assert unqualified("case-1", 4) == "case-1:4"
    assert unqualified("case-1", None) is None


@pytest.mark.parametrize("raw", ["", "intake", "intake:stream", "intake:stream:x", ":stream:1", "intake::1"])
def test_a_malformed_token_is_refused_naming_the_header(raw: str) -> None:
    with pytest.raises(BadToken) as refused:
        Token.parse(raw)
    assert refused.value.field == "X-Consistency-Token"


class _Runner:
    def __init__(self, projection: Projection) -> None:
        self.projection = projection


def test_a_read_waits_only_for_read_models_on_the_writers_topic() -> None:
    cases = Projection(name="cases", sql=[Path("x")], topics=["casework"])
    consents = Projection(name="consents", sql=[Path("x")], topics=["intake", "casework"])
    policy = Projection(name="enrolments", sql=[], topics=["intake"], side_effects=True)
    runners = cast("tuple[ProjectionRunner, ...]", tuple(_Runner(p) for p in (cases, consents, policy)))

    def names(service: str) -> list[str]:
        return [r.projection.name for r in read_models_of(runners, service)]

    assert names("intake") == ["consents"]
    assert names("casework") == ["cases", "consents"]
    assert names("placement") == []


async def test_a_waiting_read_looks_again_as_soon_as_its_read_model_commits_a_batch(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """With the read model in this process, its next batch ends the wait, not the next poll
    (a poll of a minute here: the wait would outlast the test's bound without the signal)."""
    runner = ProjectionRunner(cast("asyncpg.Pool", None), Projection(name="cases", sql=[], topics=["casework"]), "p")
    applied = {"case-1": 0}

    async def version(_runner: ProjectionRunner, stream_id: str) -> int:
        return applied[stream_id]

    monkeypatch.setattr(consistency, "_applied", version)
    monkeypatch.setattr(consistency, "_POLL_FIRST_S", 60.0)
    waiting = asyncio.create_task(consistency.wait_for([runner], Token("casework", "case-1", 3), bound_s=120.0))
    await asyncio.sleep(0)  # the read looked once and waits
    assert not waiting.done()
    applied["case-1"] = 3
    runner._signal_applied()  # what apply() does after each committed batch
    assert await asyncio.wait_for(waiting, timeout=30) == consistency.CURRENT
