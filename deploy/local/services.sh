#!/usr/bin/env bash
# Start/stop the four services and the portal in the background against the local stack.
#   deploy/local/services.sh start|stop|status|logs
# Logs: .local/logs/<service>.log (JSON lines). Ports: intake 8001, casework 8002,
# placement 8003, reporting 8004, portal 8005 (override with <SERVICE>_HTTP_PORT).
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
# shellcheck source=_lib.sh
. "$HERE/_lib.sh"

RUN_DIR="$LOCAL_DIR/run"
LOG_DIR="$LOCAL_DIR/logs"
PY="$REPO_ROOT/.venv/bin/python"
declare -A PORTS=([intake]=8001 [casework]=8002 [placement]=8003 [reporting]=8004 [portal]=8005)
SERVICES=(intake casework placement reporting portal)

start_one() {
  local name=$1 port_var port db
  port_var="$(echo "$name" | tr '[:lower:]' '[:upper:]')_HTTP_PORT"
  port="${!port_var:-${PORTS[$name]}}"
  db="postgresql://postgres@127.0.0.1:${PGPORT_LOCAL:-25432}/$name"
  if pid_alive "$RUN_DIR/$name.pid"; then
    log "$name already running (pid $(cat "$RUN_DIR/$name.pid"))"
    return
  fi
  log "starting $name on :$port"
  (
    cd "$REPO_ROOT"
    export "$(echo "$name" | tr '[:lower:]' '[:upper:]')_DATABASE_URL=$db"
    export "$port_var=$port"
    export REHAPRO_KAFKA_BOOTSTRAP="127.0.0.1:${KAFKA_PORT:-29092}"
    # the portal calls the services' APIs (it has no database and no topic of its own)
    for svc in intake casework placement reporting; do
      svc_var="$(echo "$svc" | tr '[:lower:]' '[:upper:]')_HTTP_PORT"
      export "PORTAL_$(echo "$svc" | tr '[:lower:]' '[:upper:]')_URL=http://127.0.0.1:${!svc_var:-${PORTS[$svc]}}"
    done
    # signed checkpoints (docs/AUDIT.md): an Ed25519 key ring per service, made on the first start
    rings="$LOCAL_DIR/audit/{service}.json"
    export AUDIT_KEY_FILE="${AUDIT_KEY_FILE:-$rings}"
    ring="${AUDIT_KEY_FILE//\{service\}/$name}"
    [ "$name" = portal ] || [ -e "$ring" ] || "$PY" -m shared.audit.cli rotate-key --key-file "$ring" >/dev/null
    nohup "$PY" -m "services.$name" serve >>"$LOG_DIR/$name.log" 2>&1 &
    echo $! >"$RUN_DIR/$name.pid"
  )
}

wait_ready() {
  local name=$1 port=$2 i
  for i in $(seq 1 120); do
    if curl -fsS "http://127.0.0.1:$port/health/ready" >/dev/null 2>&1; then
      return 0
    fi
    pid_alive "$RUN_DIR/$name.pid" || { tail -n 30 "$LOG_DIR/$name.log" >&2; die "$name exited"; }
    sleep 0.5
  done
  tail -n 30 "$LOG_DIR/$name.log" >&2
  die "$name not ready after 60s"
}

case "${1:-}" in
  start)
    mkdir -p "$RUN_DIR" "$LOG_DIR"
    for s in "${SERVICES[@]}"; do start_one "$s"; done
    for s in "${SERVICES[@]}"; do wait_ready "$s" "${PORTS[$s]}"; done
    log "all services ready"
    ;;
  stop)
    for s in "${SERVICES[@]}"; do
      if pid_alive "$RUN_DIR/$s.pid"; then
        kill -TERM "$(cat "$RUN_DIR/$s.pid")" || true
      fi
    done
    for s in "${SERVICES[@]}"; do
      for _ in $(seq 1 60); do pid_alive "$RUN_DIR/$s.pid" || break; sleep 0.5; done
      rm -f "$RUN_DIR/$s.pid"
    done
    log "services stopped"
    ;;
  status)
    rc=0
    for s in "${SERVICES[@]}"; do
      if pid_alive "$RUN_DIR/$s.pid"; then echo "$s: running (pid $(cat "$RUN_DIR/$s.pid"), :${PORTS[$s]})"
      else echo "$s: stopped"; rc=1; fi
    done
    exit $rc
    ;;
  logs)
    tail -n 50 -F "$LOG_DIR"/*.log
    ;;
  *) echo "usage: $0 start|stop|status|logs" >&2; exit 2 ;;
esac
