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
