"""Smoke test of the benchmark harness: every measurement runs (tiny sizes) against the real
stack and the JSON has every key with sane types. No timing assertions; it finishes in about
20-40 s (one start of the four services, tiny sizes).

No wall-clock bound that a slow machine could hit: the harness logs a line as it starts each
step, and the test fails only when no line came for ``BENCH_SMOKE_STALL_S`` (240 s: a step that
long at tiny sizes is a hung harness, not a slow machine), or after a generous overall bound
(``BENCH_SMOKE_MAX_S``, 1200 s). A broken harness still fails: exit status and every figure of
the JSON are asserted."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import IO

import pytest

REPO = Path(__file__).resolve().parents[2]


STALL_S = float(os.environ.get("BENCH_SMOKE_STALL_S", "240"))
MAX_S = float(os.environ.get("BENCH_SMOKE_MAX_S", "1200"))


class Run:
    """A subprocess whose output lines are collected as they come, noting when the last came."""

    def __init__(self, argv: list[str]) -> None:
        self.proc = subprocess.Popen(argv, cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        self.stdout: list[str] = []
        self.stderr: list[str] = []
        self.last_line = time.monotonic()
        assert self.proc.stdout is not None
        assert self.proc.stderr is not None
        self._readers = [
            threading.Thread(target=self._read, args=(self.proc.stdout, self.stdout), daemon=True),
            threading.Thread(target=self._read, args=(self.proc.stderr, self.stderr), daemon=True),
        ]
        for t in self._readers:
            t.start()

    def _read(self, stream: IO[str], into: list[str]) -> None:
        for line in stream:
            into.append(line)
            self.last_line = time.monotonic()

    def wait(self, stall_s: float, max_s: float) -> int:
        started = time.monotonic()
        while self.proc.poll() is None:
            now = time.monotonic()
            why = (
                f"no progress line for {stall_s:.0f}s"
                if now - self.last_line > stall_s
                else f"still running after {max_s:.0f}s"
                if now - started > max_s
                else None
            )
            if why is not None:
                self.proc.kill()
                self.proc.wait()
                raise AssertionError(f"bench harness hung ({why}); stderr:\n{''.join(self.stderr)[-3000:]}")
            time.sleep(0.5)
        for t in self._readers:
            t.join(timeout=10)
        return self.proc.returncode


def _number(v: object) -> bool:
    return isinstance(v, int | float) and not isinstance(v, bool) and v >= 0


@pytest.mark.e2e
def test_quick_bench_writes_every_figure(tmp_path: Path) -> None:
    out = tmp_path / "bench.json"
    done = Run([sys.executable, "-m", "bench", "--quick", "--out", str(out)])
    returncode = done.wait(STALL_S, MAX_S)
    assert returncode == 0, "".join(done.stderr)[-3000:]
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
        assert _number(peer["ours_without_group_commit_appends_per_s"])
    scale = r["scale_out"]
    assert set(scale["processes"]) == {"1", "2"}  # intake with one and with two processes
    for figure in scale["processes"].values():
        assert figure["ok"] > 0
        assert _number(figure["per_s"])
        assert figure["errors"] == {}
    assert scale["speedup_vs_one"]["1"] == 1.0
    projected = r["replay_projected_s"]
    assert set(projected["100M"]) == set(per_projection)
    assert all(projected["100M"][k] > projected["10M"][k] > 0 for k in per_projection)
    assert _number(r["raw"]["http_commit_per_s"])
    assert r["raw"]["http_commit_per_s"] > 0
    assert _number(r["raw"]["kafka_consume_msgs_per_s"])
    assert r["raw"]["kafka_consume_msgs_per_s"] > 0
    assert _number(r["ratios"]["commands_vs_http_commit"])
    assert _number(r["ratios"]["replay_from_kafka_vs_kafka_consume"])
    hops = r["latency_breakdown_ms"]["200"]
    assert set(hops) == {"http", "commit", "relay_wake_to_read", "relay_produce", "fetch", "projection_txn", "notify"}
    for hop in hops.values():  # every hop was observed in the window, with sane figures
        assert hop["n"] > 0
        assert all(_number(hop[k]) for k in ("mean_ms", "p50_ms", "p99_ms"))
    # the same hops per service: every service's consumer applied batches in the window
    assert set(r["latency_by_service_ms"]["200"]["projection_txn"]) == {"intake", "casework", "placement", "reporting"}
    assert "commands/s" in "".join(done.stdout)
