#!/usr/bin/env bash
# Create the project's Kafka topics if missing (existing topics are left alone).
#   deploy/local/topics.sh [extra-topic ...]
# Env: KAFKA_PARTITIONS (default 3), KAFKA_PORT (default 29092).
# Replication 1, topic config retention.ms=-1 / retention.bytes=-1 (keep forever).
# Uses one JVM for list+create (deploy/local/kafka/EnsureTopics.java).
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"

# <service>.audit: the read records each service publishes with AUDIT_KEY_FILE (docs/AUDIT.md)
TOPICS=(intake.events casework.events placement.events reporting.events
        intake.audit casework.audit placement.audit reporting.audit "$@")
"$HERE/kafka.sh" admin ensure "${KAFKA_PARTITIONS:-3}" "${TOPICS[@]}"
