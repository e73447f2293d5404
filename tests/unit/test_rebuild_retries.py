"""A replayed batch that failed transiently (two parallel rebuild workers deadlocked on the rows
of a person whose streams they share) is applied again, as the live consumer would; any other
failure ends the rebuild at once."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, cast

import asyncpg
import pytest

from shared.projections import ProjectionRunner, Record
from shared.rebuild import _apply


class Flaky:
    """A runner whose first ``failures`` applies raise ``error``."""

    def __init__(self, error: Exception, failures: int) -> None:
        self.error, self.failures, self.calls = error, failures, 0
        self.projection = type("P", (), {"name": "facts"})()

    async def apply(self, records: Sequence[Record]) -> Any:
        self.calls += 1
        if self.calls <= self.failures:
            raise self.error


async def test_a_deadlocked_batch_is_applied_again() -> None:
    runner = Flaky(asyncpg.exceptions.DeadlockDetectedError("deadlock detected"), failures=2)
    await _apply(cast("ProjectionRunner", runner), [])
    assert runner.calls == 3


async def test_a_failure_that_is_not_transient_ends_the_rebuild() -> None:
    runner = Flaky(ValueError("bad"), failures=1)
    with pytest.raises(ValueError, match="bad"):
        await _apply(cast("ProjectionRunner", runner), [])
    assert runner.calls == 1


async def test_a_batch_that_keeps_failing_ends_the_rebuild_after_the_last_try() -> None:
    runner = Flaky(asyncpg.exceptions.DeadlockDetectedError("deadlock detected"), failures=99)
    with pytest.raises(asyncpg.exceptions.DeadlockDetectedError):
        await _apply(cast("ProjectionRunner", runner), [], attempts=3)
    assert runner.calls == 3
