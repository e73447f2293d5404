"""Smoke test of the benchmark harness: every measurement runs (tiny sizes) against the real
stack and the JSON has every key with sane types. No timing assertions; it finishes in about
20-40 s (one start of the four services, tiny sizes), bounded at 150 s on a loaded machine."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]


def _number(v: object) -> bool:
    return isinstance(v, int | float) and not isinstance(v, bool) and v >= 0


@pytest.mark.e2e
def test_quick_bench_writes_every_figure(tmp_path: Path) -> None:
    out = tmp_path / "bench.json"
    done = subprocess.run(
        [sys.executable, "-m", "bench", "--quick", "--out", str(out)],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=150,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    r = json.loads(out.read_text())
    m = r["machine"]
    assert _number(m["cores"])
    assert _number(m["memory_mib"])
    assert isinstance(m["cpu_model"], str)
    assert len(m["load_average_start"]) == 3
    assert _number(r["commands_per_s"])
    assert r["commands_per_s"] > 0
    assert set(r["e2e_latency_ms"]) == {"200", "saturation"}
    for figures in r["e2e_latency_ms"].values():
        assert all(_number(figures[k]) for k in ("p50", "p95", "p99"))
        assert figures["p50"] <= figures["p95"] <= figures["p99"]
    assert _number(r["replay_events_per_s"]["from_kafka"])
    assert _number(r["replay_events_per_s"]["from_event_store"])
    per_projection = r["replay_events_per_s"]["per_projection"]
    assert {"placement.access", "casework.cases"} <= set(per_projection)
    assert all(_number(v) and v > 0 for v in per_projection.values())
    t = r["throughput"]
    assert t["cases_opened"] == t["participants_enrolled"] > 0  # every enrolment opened exactly one case
    assert all(_number(v) for v in t["events_applied_by_projection"].values())
    assert all(_number(v) for v in t["mix"].values())
    assert set(r["rss_mib"]) == {"intake", "casework", "placement", "reporting"}
    for name, rss in r["rss_mib"].items():
        assert _number(rss["steady"])
        assert rss["steady"] > 10
        assert rss["replay"] is None if name == "intake" else _number(rss["replay"])
    assert all(_number(r["raw"][k]) for k in ("kafka_msgs_per_s", "pg_rows_per_s_batched", "pg_rows_per_s_copy"))
    assert set(r["peer"]) == {"8"}
    for peer in r["peer"].values():
        assert _number(peer["eventsourcing_appends_per_s"])
        assert _number(peer["ours_appends_per_s"])
        assert _number(peer["ratio"])
    assert "commands/s" in done.stdout
