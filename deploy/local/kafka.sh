#!/usr/bin/env bash
# shellcheck source-path=SCRIPTDIR
# Local single-node Kafka (KRaft, broker+controller in one JVM) for dev/CI.
#   deploy/local/kafka.sh fetch|start|stop|status
#   deploy/local/kafka.sh admin list | admin ensure <partitions> <topic>...
# Env: KAFKA_PORT (29092), KAFKA_CONTROLLER_PORT (29093), KAFKA_PARTITIONS (3),
#      KAFKA_HEAP_OPTS ("-Xms256m -Xmx512m"), KAFKA_START_TIMEOUT (90 seconds),
#      KAFKA_STATE_DIR (<repo>/.local/kafka: data, properties, pid, logs; the jars stay there),
#      KAFKA_AUTH ("" or scram): scram = a SASL_PLAINTEXT client listener with SCRAM-SHA-512, the
#        StandardAuthorizer (no ACL, no access) and KAFKA_SCRAM_USERS ("admin=pw intake=pw ...",
#        created at format time; the first is the super user and the inter-broker identity; the
#        controller listener authenticates it with SASL PLAIN). `admin` then authenticates as it.
# Jars come from Maven via deploy/local/kafka/pom.xml into .local/kafka/libs.
# State: <repo>/.local/kafka/{libs,data,server.properties,kafka.pid,kafka.log,kafka.out}
set -euo pipefail
# shellcheck source=_lib.sh
. "$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)/_lib.sh"

KAFKA_HOST=127.0.0.1
KAFKA_PORT="${KAFKA_PORT:-29092}"
KAFKA_CONTROLLER_PORT="${KAFKA_CONTROLLER_PORT:-29093}"
KAFKA_PARTITIONS="${KAFKA_PARTITIONS:-3}"
KAFKA_HEAP_OPTS="${KAFKA_HEAP_OPTS:--Xms256m -Xmx512m}"
KAFKA_START_TIMEOUT="${KAFKA_START_TIMEOUT:-90}"
BOOTSTRAP="$KAFKA_HOST:$KAFKA_PORT"

SRC_DIR="$LIB_DIR/kafka"
POM="$SRC_DIR/pom.xml"
K_DIR="${KAFKA_STATE_DIR:-$LOCAL_DIR/kafka}"
LIBS="$LOCAL_DIR/kafka/libs"
CLASSES="$LOCAL_DIR/kafka/classes"
KAFKA_AUTH="${KAFKA_AUTH:-}"
KAFKA_SCRAM_USERS="${KAFKA_SCRAM_USERS:-}"
DATA="$K_DIR/data"
PROPS="$K_DIR/server.properties"
PIDFILE="$K_DIR/kafka.pid"
OUT="$K_DIR/kafka.out"
CLUSTER_ID_FILE="$K_DIR/cluster.id"

# Short-lived CLI JVMs: small heap, fast startup, quiet logging.
TOOL_OPTS=(-Xmx256m -XX:+UseSerialGC -XX:TieredStopAtLevel=1 -Djava.awt.headless=true
           "-Dlog4j2.configurationFile=$SRC_DIR/tools-log4j2.xml")

scram_admin() { local first="${KAFKA_SCRAM_USERS%% *}"; echo "${first%%=*}"; }
scram_admin_password() { local first="${KAFKA_SCRAM_USERS%% *}"; echo "${first#*=}"; }

# The admin tool's security settings (read by EnsureTopics through KAFKA_ADMIN_CONFIG).
admin_config() {
  [ "$KAFKA_AUTH" = scram ] || return 0
  mkdir -p "$K_DIR"
  cat >"$K_DIR/admin.properties" <<CONF
security.protocol=SASL_PLAINTEXT
sasl.mechanism=SCRAM-SHA-512
sasl.jaas.config=org.apache.kafka.common.security.scram.ScramLoginModule required username="$(scram_admin)" password="$(scram_admin_password)";
CONF
  export KAFKA_ADMIN_CONFIG="$K_DIR/admin.properties"
}

hash_of() { cat "$@" | sha256sum | cut -d' ' -f1; }

libs_ok() {
  [ -f "$LIBS/.stamp" ] && [ "$(cat "$LIBS/.stamp")" = "$(hash_of "$POM")" ] \
    && compgen -G "$LIBS/kafka_2.13-*.jar" >/dev/null
}

cmd_fetch() {
  if libs_ok; then
    log "kafka jars present ($(kafka_version)), skipping fetch"
  else
    command -v mvn >/dev/null || die "mvn not found"
    log "fetching kafka jars with maven (pom: $POM)"
    mkdir -p "$K_DIR"
    rm -rf "$LIBS.tmp"
    mvn -B -q -f "$POM" dependency:copy-dependencies \
      -DoutputDirectory="$LIBS.tmp" -DincludeScope=runtime >"$K_DIR/fetch.log" 2>&1 \
      || { cat "$K_DIR/fetch.log" >&2; die "maven fetch failed (see $K_DIR/fetch.log)"; }
    hash_of "$POM" >"$LIBS.tmp/.stamp"
    rm -rf "$LIBS"
    mv "$LIBS.tmp" "$LIBS"
    log "fetched $(ls "$LIBS" | wc -l) jars ($(kafka_version))"
  fi
  ensure_admin_tool
}

kafka_version() {
  local j
  j="$(basename "$(compgen -G "$LIBS/kafka_2.13-*.jar" | head -n1)")"
  j="${j#kafka_2.13-}"; echo "kafka ${j%.jar}"
}

# Compile deploy/local/kafka/EnsureTopics.java once (recompiled when it or the jars change).
ensure_admin_tool() {
  local want
  want="$(hash_of "$SRC_DIR/EnsureTopics.java" "$LIBS/.stamp")"
  if [ -f "$CLASSES/.stamp" ] && [ "$(cat "$CLASSES/.stamp")" = "$want" ]; then return; fi
  rm -rf "$CLASSES"; mkdir -p "$CLASSES"
  javac -nowarn -cp "$LIBS/*" -d "$CLASSES" "$SRC_DIR/EnsureTopics.java"
  echo "$want" >"$CLASSES/.stamp"
}

cmd_admin() {
  libs_ok || cmd_fetch
  ensure_admin_tool
  admin_config
  java "${TOOL_OPTS[@]}" -cp "$CLASSES:$LIBS/*" EnsureTopics "$BOOTSTRAP" "$@"
}

listener_props() {
  if [ "$KAFKA_AUTH" != scram ]; then
    cat <<PROPS
listeners=PLAINTEXT://$KAFKA_HOST:$KAFKA_PORT,CONTROLLER://$KAFKA_HOST:$KAFKA_CONTROLLER_PORT
advertised.listeners=PLAINTEXT://$KAFKA_HOST:$KAFKA_PORT
inter.broker.listener.name=PLAINTEXT
listener.security.protocol.map=PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT
PROPS
    return
  fi
  [ -n "$KAFKA_SCRAM_USERS" ] || die "KAFKA_AUTH=scram needs KAFKA_SCRAM_USERS"
  local admin pw
  admin="$(scram_admin)"; pw="$(scram_admin_password)"
  cat <<PROPS
listeners=SASL_PLAINTEXT://$KAFKA_HOST:$KAFKA_PORT,CONTROLLER://$KAFKA_HOST:$KAFKA_CONTROLLER_PORT
advertised.listeners=SASL_PLAINTEXT://$KAFKA_HOST:$KAFKA_PORT
inter.broker.listener.name=SASL_PLAINTEXT
listener.security.protocol.map=SASL_PLAINTEXT:SASL_PLAINTEXT,CONTROLLER:SASL_PLAINTEXT
sasl.enabled.mechanisms=SCRAM-SHA-512
sasl.mechanism.inter.broker.protocol=SCRAM-SHA-512
listener.name.sasl_plaintext.scram-sha-512.sasl.jaas.config=org.apache.kafka.common.security.scram.ScramLoginModule required username="$admin" password="$pw";
sasl.mechanism.controller.protocol=PLAIN
listener.name.controller.sasl.enabled.mechanisms=PLAIN
listener.name.controller.plain.sasl.jaas.config=org.apache.kafka.common.security.plain.PlainLoginModule required username="$admin" password="$pw" user_$admin="$pw";
authorizer.class.name=org.apache.kafka.metadata.authorizer.StandardAuthorizer
super.users=User:$admin
allow.everyone.if.no.acl.found=false
PROPS
}

write_props() {
  mkdir -p "$DATA"
  {
    cat <<PROPS
# Generated by deploy/local/kafka.sh on every start - do not edit.
process.roles=broker,controller
node.id=1
controller.quorum.voters=1@$KAFKA_HOST:$KAFKA_CONTROLLER_PORT
controller.listener.names=CONTROLLER
PROPS
    listener_props
    cat <<PROPS
log.dirs=$DATA
num.partitions=$KAFKA_PARTITIONS
default.replication.factor=1
min.insync.replicas=1
auto.create.topics.enable=false
delete.topic.enable=true
log.retention.ms=-1
log.retention.bytes=-1
offsets.topic.replication.factor=1
offsets.topic.num.partitions=10
transaction.state.log.replication.factor=1
transaction.state.log.min.isr=1
transaction.state.log.num.partitions=10
share.coordinator.state.topic.replication.factor=1
share.coordinator.state.topic.min.isr=1
group.initial.rebalance.delay.ms=0
# small machine
num.network.threads=2
num.io.threads=4
log.cleaner.dedupe.buffer.size=33554432
PROPS
  } >"$PROPS.tmp"
  mv "$PROPS.tmp" "$PROPS"
}

format_storage() {
  if [ -f "$DATA/meta.properties" ]; then return; fi
  local cid
  if [ -s "$CLUSTER_ID_FILE" ]; then
    cid="$(cat "$CLUSTER_ID_FILE")"
  else
    cid="$(java "${TOOL_OPTS[@]}" -cp "$LIBS/*" kafka.tools.StorageTool random-uuid)"
    echo "$cid" >"$CLUSTER_ID_FILE"
  fi
  log "formatting $DATA (cluster id $cid)"
  local scram=() user
  if [ "$KAFKA_AUTH" = scram ]; then
    for user in $KAFKA_SCRAM_USERS; do
      scram+=(--add-scram "SCRAM-SHA-512=[name=${user%%=*},password=${user#*=}]")
    done
  fi
  java "${TOOL_OPTS[@]}" -cp "$LIBS/*" kafka.tools.StorageTool format \
    -t "$cid" -c "$PROPS" --ignore-formatted "${scram[@]}" >"$K_DIR/format.log" 2>&1 \
    || { cat "$K_DIR/format.log" >&2; die "kafka storage format failed"; }
}

kafka_pid() { [ -s "$PIDFILE" ] && cat "$PIDFILE"; }

# The broker process is alive (the pid file names the process that runs, or is about to exec,
# the JVM: it is written by that very process, see cmd_start).
alive() {
  local pid
  pid="$(kafka_pid)" && proc_alive "$pid"
}

# A broker of ours runs: alive, and its executable is java running kafka.Kafka.
running() {
  local pid
  pid="$(kafka_pid)" && proc_alive "$pid" && exe_is "$pid" java \
    && grep -q 'kafka\.Kafka' "/proc/$pid/cmdline" 2>/dev/null
}

answers() {
  admin_config
  port_open "$KAFKA_HOST" "$KAFKA_PORT" \
    && java "${TOOL_OPTS[@]}" -cp "$CLASSES:$LIBS/*" EnsureTopics "$BOOTSTRAP" list >/dev/null 2>&1
}

wait_ready() {
  local deadline=$((SECONDS + KAFKA_START_TIMEOUT))
  while [ $SECONDS -lt $deadline ]; do
    # Until the JVM answers, only ask that the process be alive: right after the fork it is
    # still the shell about to exec java (checking its command line then was a start race).
    if ! alive; then
      log "kafka process exited; last log lines:"
      tail -n 40 "$K_DIR/kafka.log" "$OUT" >&2 2>/dev/null || true
      die "kafka failed to start"
    fi
    if exe_is "$(kafka_pid)" java && answers; then return 0; fi
    sleep 1
  done
  tail -n 40 "$K_DIR/kafka.log" "$OUT" >&2 2>/dev/null || true
  die "kafka did not answer on $BOOTSTRAP within ${KAFKA_START_TIMEOUT}s"
}

cmd_start() {
  libs_ok || cmd_fetch
  ensure_admin_tool
  mkdir -p "$K_DIR"
  if running; then
    wait_ready
    log "kafka already running (pid $(cat "$PIDFILE")) on $BOOTSTRAP"
    return
  fi
  rm -f "$PIDFILE"
  if port_open "$KAFKA_HOST" "$KAFKA_PORT" || port_open "$KAFKA_HOST" "$KAFKA_CONTROLLER_PORT"; then
    die "port $KAFKA_PORT or $KAFKA_CONTROLLER_PORT already in use by another process"
  fi
  wait_for_ports_free "$KAFKA_PORT" "$KAFKA_CONTROLLER_PORT"
  write_props
  format_storage
  log "starting kafka on $BOOTSTRAP (log: $K_DIR/kafka.log)"
  # The process that becomes the JVM writes its own pid and then execs java, so the pid file
  # is right whether or not setsid had to fork (as $! would not be).
  # shellcheck disable=SC2086,SC2016  # KAFKA_HEAP_OPTS is a list of flags; $$ is the child's
  nohup setsid bash -c 'echo $$ >"$0"; exec "$@"' "$PIDFILE" java $KAFKA_HEAP_OPTS \
    -XX:+UseG1GC -XX:MaxGCPauseMillis=20 -XX:InitiatingHeapOccupancyPercent=35 \
    -XX:+ExplicitGCInvokesConcurrent -Djava.awt.headless=true \
    "-Dlog4j2.configurationFile=$SRC_DIR/log4j2.xml" "-Dkafka.logs.dir=$K_DIR" \
    -cp "$LIBS/*" kafka.Kafka "$PROPS" >>"$OUT" 2>&1 </dev/null &
  for _ in $(seq 1 50); do [ -s "$PIDFILE" ] && break; sleep 0.1; done
  [ -s "$PIDFILE" ] || die "kafka launcher did not start"
  wait_ready
  log "kafka ready on $BOOTSTRAP (pid $(cat "$PIDFILE"), $(kafka_version))"
}

cmd_stop() {
  if ! running; then
    rm -f "$PIDFILE"
    log "kafka not running"
    return
  fi
  local pid
  pid="$(cat "$PIDFILE")"
  log "stopping kafka (pid $pid)"
  kill -TERM "$pid"
  for _ in $(seq 1 120); do
    kill -0 "$pid" 2>/dev/null || break
    sleep 0.5
  done
  if kill -0 "$pid" 2>/dev/null; then
    log "kafka did not stop in 60s; sending SIGKILL"
    kill -KILL "$pid" || true
  fi
  rm -f "$PIDFILE"
}

cmd_status() {
  if running && port_open "$KAFKA_HOST" "$KAFKA_PORT"; then
    echo "kafka: running on $BOOTSTRAP (pid $(cat "$PIDFILE"))"
  else
    echo "kafka: stopped"
    return 1
  fi
}

case "${1:-}" in
  fetch) cmd_fetch ;;
  start) cmd_start ;;
  stop) cmd_stop ;;
  status) cmd_status ;;
  admin) shift; cmd_admin "$@" ;;
  *) echo "usage: $0 fetch|start|stop|status|admin ..." >&2; exit 2 ;;
esac
