"""Latency per hop of the write path, from the services' own Prometheus histograms (scraped
before and after a fixed offered load, so only that window counts) and the tracker's notify
timestamps:

| hop | source |
|---|---|
| http | ``http_request_seconds``, POST routes (server side: routing, auth, the command) |
| commit | ``eventstore_append_seconds`` (the insert statement, autocommitted) |
| relay_wake_to_read | ``relay_publish_seconds{stage="wake_to_read"}`` (woken until the outbox read returned) |
| relay_produce | ``relay_publish_seconds{stage="produce"}`` (first send until every record acked) |
| fetch | ``consumer_fetch_delay_seconds`` (Kafka timestamp of a batch's oldest record until the runner has it) |
| projection_txn | ``projection_batch_seconds`` (decode + the batch's transaction) |
| notify | the bench's trigger (last statement of a projection batch) until the tracker's callback |

Means are exact (sum / count); p50 and p99 are interpolated within histogram buckets."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import aiohttp
from prometheus_client.parser import text_string_to_metric_families

from bench.load import percentiles
from bench.stack import Services

Labels = Mapping[str, str]


@dataclass(frozen=True)
class Hop:
    metric: str
    keep: Callable[[Labels], bool] = lambda _labels: True


HOPS: dict[str, Hop] = {
    "http": Hop("http_request_seconds", lambda labels: labels.get("method") == "POST"),
    "commit": Hop("eventstore_append_seconds"),
    "relay_wake_to_read": Hop("relay_publish_seconds", lambda labels: labels.get("stage") == "wake_to_read"),
    "relay_produce": Hop("relay_publish_seconds", lambda labels: labels.get("stage") == "produce"),
    "fetch": Hop("consumer_fetch_delay_seconds"),
    "projection_txn": Hop("projection_batch_seconds"),
}
# Counters beside the hops: how often the relay read and how often committed events were held
# back behind an older in-flight transaction of the same database (then it looks again in 5 ms).
COUNTERS = {"relay_reads": "relay_reads_total", "relay_held": "relay_held_total"}


@dataclass
class Hist:
    """One hop's histogram summed over every service, label set and process."""

    count: float = 0.0
    total: float = 0.0
    buckets: dict[float, float] = field(default_factory=dict)  # upper bound -> cumulative count

    def minus(self, other: Hist) -> Hist:
        return Hist(
            self.count - other.count,
            self.total - other.total,
            {le: n - other.buckets.get(le, 0.0) for le, n in self.buckets.items()},
        )

    def quantile(self, q: float) -> float | None:
        """Linear interpolation inside the bucket holding the q-th observation (as PromQL's
        ``histogram_quantile``)."""
        if self.count <= 0:
            return None
        rank = q * self.count
        lower, below = 0.0, 0.0
        for le in sorted(self.buckets):
            n = self.buckets[le]
            if n >= rank:
                if le == float("inf"):
                    return lower
                span = n - below
                return lower + (le - lower) * ((rank - below) / span if span else 0.0)
            lower, below = le, n
        return lower


async def snapshot(services: Services) -> dict[str, Hist]:
    """Every hop's histogram as the services' ``/metrics`` show it now: summed (key ``hop``)
    and per service (key ``hop@service``), so a breakdown can say which service a hop's time
    is spent in."""
    out = {name: Hist() for name in (*HOPS, *COUNTERS)}
    async with aiohttp.ClientSession() as http:
        for service, svc in services.processes.items():
            async with http.get(f"{svc.base_url}/metrics") as r:
                text = await r.text()
            for family in text_string_to_metric_families(text):
                for name, hop in HOPS.items():
                    if family.name == hop.metric:
                        _add(out[name], family.samples, hop)
                        _add(out.setdefault(f"{name}@{service}", Hist()), family.samples, hop)
                for name, metric in COUNTERS.items():
                    if family.name == metric.removesuffix("_total"):
                        out[name].count += sum(x.value for x in family.samples if x.name == metric)
    return out


def _add(into: Hist, samples: list[Any], hop: Hop) -> None:
    for sample in samples:
        labels = {k: v for k, v in sample.labels.items() if k != "le"}
        if not hop.keep(labels):
            continue
        if sample.name.endswith("_count"):
            into.count += sample.value
        elif sample.name.endswith("_sum"):
            into.total += sample.value
        elif sample.name.endswith("_bucket"):
            le = float(sample.labels["le"])
            into.buckets[le] = into.buckets.get(le, 0.0) + sample.value


def breakdown(before: dict[str, Hist], after: dict[str, Hist], notify_ms: list[float]) -> dict[str, Any]:
    """Per hop over the window: observations, mean, p50, p99 (ms)."""
    out: dict[str, Any] = {name: _summary(after[name].minus(before.get(name, Hist()))) for name in HOPS}
    pct = percentiles(notify_ms)
    out["notify"] = {
        "n": len(notify_ms),
        "mean_ms": round(sum(notify_ms) / len(notify_ms), 2) if notify_ms else None,
        "p50_ms": pct["p50"],
        "p99_ms": pct["p99"],
    }
    return out


def per_service(before: dict[str, Hist], after: dict[str, Hist]) -> dict[str, dict[str, Any]]:
    """Each hop per service over the window (the services where it was observed): which
    service's fetch or projection transaction the summed figure is made of."""
    out: dict[str, dict[str, Any]] = {}
    for key, hist in after.items():
        name, _, service = key.partition("@")
        window = hist.minus(before.get(key, Hist()))
        if service and window.count > 0:
            out.setdefault(name, {})[service] = _summary(window)
    return out


def _summary(window: Hist) -> dict[str, Any]:
    p50, p99 = window.quantile(0.5), window.quantile(0.99)
    return {
        "n": int(window.count),
        "mean_ms": round(window.total / window.count * 1000, 2) if window.count > 0 else None,
        "p50_ms": round(p50 * 1000, 2) if p50 is not None else None,
        "p99_ms": round(p99 * 1000, 2) if p99 is not None else None,
    }


def relay_reads(before: dict[str, Hist], after: dict[str, Hist]) -> dict[str, int]:
    """The relays' reads over the window, and how many of them held events back."""
    return {name: int(after[name].count - before.get(name, Hist()).count) for name in COUNTERS}
