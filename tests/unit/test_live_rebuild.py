"""A live rebuild refuses policies (their effects are history: replaying them would append the
same events again) before it touches a database or a broker."""

from __future__ import annotations

import asyncpg
import pytest
from typer.testing import CliRunner

from services.casework.app import build, definition
from services.casework.policies import enrolments
from shared.cli import make_cli
from shared.projections import is_transient
from shared.rebuild import _behind, rebuild_live
from shared.settings import load_settings


async def test_a_live_rebuild_of_a_policy_is_refused() -> None:
    with pytest.raises(ValueError, match="enrolments is a policy"):
        await rebuild_live(load_settings("casework"), enrolments)


def test_the_command_refuses_a_policy_and_a_live_rebuild_from_the_store() -> None:
    cli = make_cli(definition, build)
    policy = CliRunner().invoke(cli, ["rebuild", "enrolments", "--live"])
    assert policy.exit_code == 2
    assert "is a policy" in policy.output
    from_store = CliRunner().invoke(cli, ["rebuild", "cases", "--live", "--source", "store"])
    assert from_store.exit_code == 2
    assert "--live replays from kafka" in from_store.output


def test_only_what_the_rebuilt_schema_lacks_is_read_again() -> None:
    live = {("t", 0): 10, ("t", 1): 5, ("t", 2): 7}
    rebuilt = {("t", 0): 10, ("t", 1): 8, ("u", 0): 3}  # partition 1 ahead (the live runner lagged)
    missing = _behind(live, rebuilt)
    assert {(tp.topic, tp.partition): r for tp, r in missing.items()} == {("t", 2): (0, 7)}


def test_a_statement_cached_before_a_swap_retries_the_batch_instead_of_parking_it() -> None:
    """asyncpg drops the pool's cached statements when PostgreSQL reports one outdated; inside
    the batch's transaction it raises, and the runner must try the batch again, not park it."""
    assert is_transient(asyncpg.exceptions.InvalidCachedStatementError("cached plan must not change result type"))
    assert is_transient(asyncpg.exceptions.OutdatedSchemaCacheError("type changed"))
