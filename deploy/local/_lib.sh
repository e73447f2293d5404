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

# proc_alive PID -> 0 when PID is a live process (not a zombie awaiting its parent's wait).
proc_alive() {
  local state
  [[ "${1:-}" =~ ^[0-9]+$ ]] || return 1
  state="$(sed -E 's/^.*\) ([A-Za-z]).*$/\1/' "/proc/$1/stat" 2>/dev/null)" || return 1
  [ -n "$state" ] && [ "$state" != Z ] && [ "$state" != X ]
}

# exe_is PID NAME -> 0 when PID's executable (/proc/PID/exe) is called NAME. Unlike the command
# line, this names the program the process runs now, after any exec.
exe_is() {
  [ "$(basename "$(readlink "/proc/$1/exe" 2>/dev/null)")" = "$2" ]
}

# port_bindable PORT -> 0 when a server could listen on 127.0.0.1:PORT now (SO_REUSEADDR, as
# PostgreSQL and the JVM set it, so sockets in TIME-WAIT do not count).
port_bindable() {
  python3 - "$1" <<'PY' 2>/dev/null
import socket, sys
s = socket.socket()
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("127.0.0.1", int(sys.argv[1])))
s.close()
PY
}

# wait_for_ports_free PORT... -> returns once a server could bind every port; waits only while a
# port is really held (e.g. by a client connection that got it as its ephemeral port, or a server
# still exiting), at most PORT_FREE_TIMEOUT (10) seconds, then fails naming the holder. The default
# ports lie below Linux's ephemeral range (32768-60999), so normally nothing holds them and a
# restart does not wait; TIME-WAIT sockets never block the bind.
wait_for_ports_free() {
  local deadline=$((SECONDS + ${PORT_FREE_TIMEOUT:-10})) p held
  while :; do
    held=""
    for p in "$@"; do port_bindable "$p" || held="$held $p"; done
    [ -z "$held" ] && return 0
    if [ $SECONDS -ge $deadline ]; then
      for p in $held; do ss -Htanp "( sport = :$p )" >&2 2>/dev/null || true; done
      die "port(s)$held still held after ${PORT_FREE_TIMEOUT:-10}s"
    fi
    log "port(s)$held held; waiting"
    sleep 1
  done
}
