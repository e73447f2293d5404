"""Prometheus metrics shared by all services (one registry per process)."""

from prometheus_client import Counter, Gauge, Histogram

RELAY_PUBLISHED = Counter("relay_events_published_total", "Events published by the outbox relay", ["topic"])
RELAY_HELD = Counter(
    "relay_held_total", "Relay reads that found committed events held back by an older in-flight transaction", ["topic"]
)
RELAY_READS = Counter("relay_reads_total", "Reads of the outbox by the relay (empty ones included)", ["topic"])
RELAY_LEADER = Gauge("relay_leader", "1 while this process holds the outbox relay's leadership", ["topic"])
RELAY_ERRORS = Counter("relay_errors_total", "Relay attempts that failed and will be retried", ["topic"])
EVENTS_APPENDED = Counter("events_appended_total", "Events appended to the event store", ["event_type"])
CONFLICTS = Counter("append_conflicts_total", "Optimistic concurrency conflicts", ["stream_type"])
PROJECTION_APPLIED = Counter("projection_events_applied_total", "Events applied by a projection runner", ["projection"])
PROJECTION_DUPLICATES = Counter(
    "projection_duplicates_total", "Redelivered or duplicate events skipped", ["projection"]
)
PROJECTION_FAILURES = Counter(
    "projection_batch_failures_total", "Batches that failed and are being retried", ["projection"]
)
PROJECTION_GAPS = Counter("projection_gaps_total", "Gaps detected in stream versions", ["projection"])
CONSUMER_LAG = Gauge(
    "consumer_lag_messages", "Messages behind the partition high-water mark", ["projection", "topic", "partition"]
)
PROJECTION_BATCH_SECONDS = Histogram(
    "projection_batch_seconds", "Time to apply one batch inside its transaction", ["projection"]
)
HTTP_REQUESTS = Histogram("http_request_seconds", "HTTP request latency", ["method", "route", "status"])
HEALTH_DATA_READS = Counter("health_data_reads_total", "Audited reads of health data", ["service"])
PROJECTION_IGNORED = Counter(
    "projection_ignored_total", "Events of a type no contract knows, kept in order but not applied", ["projection"]
)
PROJECTION_PARKED_TOTAL = Counter(
    "projection_parked_total", "Records parked (dead-lettered) instead of applied", ["projection"]
)
PROJECTION_PARKED = Gauge("projection_parked_records", "Records parked and not yet retried or skipped", ["projection"])
PROJECTION_PARKED_OLDEST = Gauge(
    "projection_parked_oldest_seconds", "Age of the oldest record still parked (0: none)", ["projection"]
)
CONSUMER_STALLED = Gauge(
    "consumer_stalled", "1 while a consumer has lag and made no progress for the configured time", ["projection"]
)
OUTBOX_BACKLOG = Gauge("outbox_backlog_rows", "Events stored but not yet published (after the relay checkpoint)")
OUTBOX_BACKLOG_AGE = Gauge("outbox_backlog_age_seconds", "Age of the oldest unpublished event (0: none)")

# Per-hop latency of the write path (bench/hops.py reads them for its breakdown). Buckets fine
# enough for sub-millisecond hops; the default buckets start at 5 ms.
HOP_BUCKETS = (0.0005, 0.001, 0.002, 0.003, 0.005, 0.0075, 0.01, 0.015, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0)
APPEND_SECONDS = Histogram(
    "eventstore_append_seconds",
    "One append's insert statement (with its commit when it is autocommitted)",
    buckets=HOP_BUCKETS,
)
APPEND_GROUPS = Counter(
    "append_groups_total", "Insert statements of grouped autocommitted appends (shared.group_commit)"
)
APPEND_GROUP_SIZE = Histogram(
    "append_group_size",
    "Appends collected into one group commit",
    buckets=(1, 2, 4, 8, 16, 32, 64, 128, 256),
)
RELAY_SECONDS = Histogram(
    "relay_publish_seconds",
    "Relay hops per publish: wake_to_read (woken by an append or NOTIFY until the outbox read"
    " returned) and produce (first send until every record is acknowledged)",
    ["topic", "stage"],
    buckets=HOP_BUCKETS,
)
CONSUMER_FETCH_SECONDS = Histogram(
    "consumer_fetch_delay_seconds",
    "From a batch's oldest record's Kafka timestamp (the relay's send) until the batch reaches the runner",
    ["projection"],
    buckets=HOP_BUCKETS,
)
