"""The short version of ``make chaos`` in ``make test``: kill -9 of a service (casework: the API
behind half the mix, its projections and its policy that opens cases) under a steady mixed load,
on real processes, Kafka and PostgreSQL. Every acknowledged write is stored, published and
applied; none is lost or applied twice.

No wall-clock assertion: the harness logs a line per step and the test fails only when no line
came for ``CHAOS_SMOKE_STALL_S`` (180 s), so a slow machine passes and a hung harness fails."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

from tests.bench.test_bench_quick import Run

pytestmark = pytest.mark.e2e
STALL_S = 180.0


def test_kill9_of_a_service_under_load_loses_nothing_and_doubles_nothing(tmp_path: Path) -> None:
    out = tmp_path / "chaos.json"
    run = Run(
        [
            sys.executable,
            "-m",
            "chaos",
            "--faults",
            "kill9-casework",
            "--steady-s",
            "3",
            "--after-s",
            "3",
            "--out",
            str(out),
        ]
    )
    returncode = run.wait(STALL_S, 900.0)
    stderr = "".join(run.stderr)[-3000:]
    r = json.loads(out.read_text())
    [f] = r["faults"]
    assert f["fault"] == "kill9-casework"
    assert f["acknowledged"] > 0, stderr
    assert f["note"]["killed_pid"] > 0
    assert (f["lost"], f["doubled"], f["unapplied"]) == (0, 0, 0), f
    assert f["acknowledged"] == f["stored"] == f["published"] == f["applied"]
    assert f["caught_up_s"] is not None, f["not_caught_up"]
    assert f["readiness_after"]
    assert all(s == "200" for s in f["readiness_after"].values())
    assert "down" in f["readiness_during"]["casework"], "the kill must land while casework is probed"
    assert returncode == 0, stderr
