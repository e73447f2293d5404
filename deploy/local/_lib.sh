# shellcheck shell=bash
# Shared helpers for deploy/local/*.sh. Source it; do not execute it.
# All runtime state lives under <repo>/.local (git-ignored).

LIB_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
REPO_ROOT="$(cd "$LIB_DIR/../.." && pwd)"
# shellcheck disable=SC2034  # used by the sourcing scripts
LOCAL_DIR="$REPO_ROOT/.local"

log()  { printf '[%s] %s\n' "$(date +%H:%M:%S)" "$*" >&2; }
die()  { printf '[%s] ERROR: %s\n' "$(date +%H:%M:%S)" "$*" >&2; exit 1; }

require_root() {
  [ "$(id -u)" -eq 0 ] || die "must run as root (postgres is started via runuser -u postgres)"
}

# port_open HOST PORT -> 0 when something accepts TCP connections there.
port_open() {
  (exec 3<>"/dev/tcp/$1/$2") 2>/dev/null
}

# pid_alive PIDFILE -> 0 when the pid in PIDFILE is a live process.
pid_alive() {
  local pid
  [ -s "$1" ] || return 1
  pid="$(cat "$1")"
  [[ "$pid" =~ ^[0-9]+$ ]] || return 1
  kill -0 "$pid" 2>/dev/null
}

# wait_for_time_wait PORT... -> returns once no socket on these local ports is in TIME-WAIT
# (at most ~70 s). A server stopped moments ago, or a client connection that happened to get one
# of these ports as its ephemeral port, leaves such sockets, and binding then fails with
# "Address already in use" here.
wait_for_time_wait() {
  local i filter="" p
  for p in "$@"; do filter="${filter:+$filter or }sport = :$p"; done
  for i in $(seq 1 70); do
    if ! ss -Htan state time-wait "( $filter )" 2>/dev/null | grep -q .; then
      return 0
    fi
    [ "$i" = 1 ] && log "waiting for old connections on ports $* to time out"
    sleep 1
  done
}
