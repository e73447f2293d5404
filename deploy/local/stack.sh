#!/usr/bin/env bash
# shellcheck source-path=SCRIPTDIR
# Whole local stack (PostgreSQL + Kafka + topics), no Docker.
#   deploy/local/stack.sh up|down|status
# See postgres.sh / kafka.sh / topics.sh for env knobs. State in <repo>/.local.
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
# shellcheck source=_lib.sh
. "$HERE/_lib.sh"

PG_PORT="${PGPORT_LOCAL:-25432}"
KAFKA_PORT="${KAFKA_PORT:-29092}"

print_conn() {
  cat <<INFO
Local stack:
  postgres  postgresql://postgres@127.0.0.1:$PG_PORT/intake
            postgresql://postgres@127.0.0.1:$PG_PORT/casework
            postgresql://postgres@127.0.0.1:$PG_PORT/placement
            postgresql://postgres@127.0.0.1:$PG_PORT/reporting
  kafka     127.0.0.1:$KAFKA_PORT
INFO
}

case "${1:-}" in
  up)
    require_root
    "$HERE/postgres.sh" start
    "$HERE/kafka.sh" fetch
    "$HERE/kafka.sh" start
    "$HERE/topics.sh"
    print_conn
    ;;
  down)
    require_root
    "$HERE/kafka.sh" stop
    "$HERE/postgres.sh" stop
    ;;
  status)
    rc=0
    "$HERE/postgres.sh" status || rc=1
    "$HERE/kafka.sh" status || rc=1
    exit $rc
    ;;
  *) echo "usage: $0 up|down|status" >&2; exit 2 ;;
esac
