#!/usr/bin/env bash
# Local Kafka and Redis for development and for the *.real.test.ts suites, without Docker.
#
#   scripts/services.sh kafka          start|stop|status|logs [-f]
#   scripts/services.sh redis          start|stop|status
#   scripts/services.sh redis-cluster  start|stop|status
#   scripts/services.sh all            start|stop|status      (Kafka + Redis)
#
# `start` is idempotent: if the service already answers (whoever started it) it says so and exits 0.
# `stop` only stops what this script started; a service someone else runs is left alone.
# `status` exits 0 when the service answers, 3 when it does not.
#
# Kafka is the plain broker jar from Maven Central (versions pinned in pom.xml), one node in KRaft
# mode. All state lives under .services/ (git-ignored). Configuration, shared with the TypeScript
# config (runtime/config.ts) and docker-compose.yml:
#   KAFKA_BROKERS          127.0.0.1:9092      what clients use; KAFKA_PORT defaults to its first port
#   KAFKA_PORT             9092                where the local broker listens
#   KAFKA_CONTROLLER_PORT  9093                the KRaft controller listener
#   REDIS_URL              redis://127.0.0.1:6379   REDIS_PORT defaults to its port
#   REDIS_PORT             6379
#   REDIS_CLUSTER_NODES    127.0.0.1:7001,127.0.0.1:7002,127.0.0.1:7003
#   REDIS_CLUSTER_PORTS    "7001 7002 7003"    defaults to the ports of REDIS_CLUSTER_NODES
# Tuning: KAFKA_HEAP_OPTS (-Xms256m -Xmx768m), KAFKA_START_TIMEOUT (120 s), KAFKA_STOP_TIMEOUT (60 s),
# KAFKA_LIBS_DIR (.services/kafka/libs), SERVICES_DIR (.services).
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
SERVICES_DIR="${SERVICES_DIR:-$ROOT/.services}"

say() { printf 'services: %s\n' "$*"; }
die() { printf 'services: ERROR: %s\n' "$*" >&2; exit 1; }

# --- configuration -----------------------------------------------------------------------------

# Port of a "host:port" (or "[v6]:port") entry; empty when there is none.
port_of() {
  local hp="${1##*://}"
  hp="${hp%%/*}"
  hp="${hp##*@}"
  case "$hp" in
    *\]:*) printf '%s' "${hp##*\]:}" ;;
    *\]) ;;
    *:*) printf '%s' "${hp##*:}" ;;
  esac
}

check_port() { # name value
  [[ "$2" =~ ^[0-9]+$ ]] && (( 10#$2 >= 1 && 10#$2 <= 65535 )) || die "$1 must be a TCP port (1-65535), got '$2'"
}

kafka_port() {
  local p="${KAFKA_PORT:-}"
  if [[ -z "$p" && -n "${KAFKA_BROKERS:-}" ]]; then p="$(port_of "${KAFKA_BROKERS%%,*}")"; fi
  p="${p:-9092}"
  check_port KAFKA_PORT "$p"
  printf '%s' "$p"
}

kafka_controller_port() {
  local p="${KAFKA_CONTROLLER_PORT:-9093}"
  check_port KAFKA_CONTROLLER_PORT "$p"
  printf '%s' "$p"
}

redis_port() {
  local p="${REDIS_PORT:-}"
  if [[ -z "$p" && -n "${REDIS_URL:-}" ]]; then p="$(port_of "$REDIS_URL")"; fi
  p="${p:-6379}"
  check_port REDIS_PORT "$p"
  printf '%s' "$p"
}

redis_cluster_ports() {
  local raw="${REDIS_CLUSTER_PORTS:-}" out=() entry p
  if [[ -z "$raw" && -n "${REDIS_CLUSTER_NODES:-}" ]]; then
    for entry in ${REDIS_CLUSTER_NODES//,/ }; do raw+=" $(port_of "$entry")"; done
  fi
  raw="${raw:-7001 7002 7003}"
  for p in ${raw//,/ }; do check_port REDIS_CLUSTER_PORTS "$p"; out+=("$p"); done
  (( ${#out[@]} >= 3 )) || die "a Redis Cluster needs at least 3 masters; REDIS_CLUSTER_PORTS gives ${#out[@]}"
  printf '%s\n' "${out[@]}"
}

# --- helpers -----------------------------------------------------------------------------------

tcp_open() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

# Alive and not a zombie: a daemon whose new parent does not reap it stays <defunct> after exiting.
pid_alive() {
  [[ -n "${1:-}" ]] && kill -0 "$1" 2>/dev/null || return 1
  local stat
  stat="$(cat "/proc/$1/stat" 2>/dev/null)" || return 1
  stat="${stat##*) }"
  [[ "${stat:0:1}" != "Z" ]]
}

read_pid() { [[ -f "$1" ]] && tr -dc '0-9' <"$1" || true; }

pid_cmdline() { tr '\0' ' ' <"/proc/$1/cmdline" 2>/dev/null; }

# The process is alive and its command line contains the given marker (guards against pid reuse).
pid_is() { # pid marker
  local cmd
  pid_alive "$1" && cmd="$(pid_cmdline "$1")" && [[ "$cmd" == *"$2"* ]]
}

# Send SIGTERM, wait up to $2 seconds, then SIGKILL.
terminate() { # pid timeout name
  local pid="$1" timeout="$2" name="$3" waited=0
  kill -TERM "$pid" 2>/dev/null || return 0
  while pid_alive "$pid"; do
    if (( waited >= timeout * 10 )); then
      say "$name (pid $pid) did not stop within ${timeout}s; sending SIGKILL"
      kill -KILL "$pid" 2>/dev/null || true
      sleep 0.5
      break
    fi
    sleep 0.1
    waited=$((waited + 1))
  done
}

need() { command -v "$1" >/dev/null 2>&1 || die "'$1' is not installed or not on PATH ($2)"; }

# --- Kafka -------------------------------------------------------------------------------------

KAFKA_DIR="$SERVICES_DIR/kafka"
KAFKA_LIBS="${KAFKA_LIBS_DIR:-$KAFKA_DIR/libs}"
KAFKA_PID="$KAFKA_DIR/kafka.pid"
KAFKA_LOG="$KAFKA_DIR/kafka.log"
KAFKA_PROPS="$KAFKA_DIR/server.properties"

kafka_our_pid() {
  local pid
  pid="$(read_pid "$KAFKA_PID")"
  if pid_is "$pid" "$KAFKA_PROPS"; then printf '%s' "$pid"; fi
}

# Fetch the broker jars once; re-fetch only when pom.xml changes.
kafka_libs() {
  local stamp="$KAFKA_LIBS/.pom.sha256" want tmp
  want="$(sha256sum "$ROOT/pom.xml" | cut -d' ' -f1)"
  if [[ -f "$stamp" && "$(cat "$stamp")" == "$want" ]]; then return 0; fi
  need mvn "Maven fetches the Kafka jars"
  say "fetching Kafka jars with Maven into $KAFKA_LIBS (first run may take a few minutes)"
  mkdir -p "$(dirname "$KAFKA_LIBS")"
  tmp="$(mktemp -d "$(dirname "$KAFKA_LIBS")/.libs.XXXXXX")"
  if ! mvn -q -B -Dstyle.color=never -f "$ROOT/pom.xml" dependency:copy-dependencies \
      -DincludeScope=runtime -DoutputDirectory="$tmp" </dev/null >"$tmp.mvn.log" 2>&1; then
    tail -n 40 "$tmp.mvn.log" >&2 || true
    rm -rf "$tmp" "$tmp.mvn.log"
    die "Maven could not fetch the Kafka jars (see above)"
  fi
  rm -f "$tmp.mvn.log"
  printf '%s\n' "$want" >"$tmp/.pom.sha256"
  rm -rf "$KAFKA_LIBS"
  mv "$tmp" "$KAFKA_LIBS"
}

kafka_write_config() {
  local port="$1" cport="$2"
  [[ "$port" != "$cport" ]] || die "KAFKA_PORT and KAFKA_CONTROLLER_PORT must differ (both $port)"
  cat >"$KAFKA_PROPS" <<EOF
# Written by scripts/services.sh on every start; edits are overwritten.
process.roles=broker,controller
node.id=1
controller.quorum.voters=1@127.0.0.1:${cport}
listeners=PLAINTEXT://127.0.0.1:${port},CONTROLLER://127.0.0.1:${cport}
advertised.listeners=PLAINTEXT://127.0.0.1:${port}
listener.security.protocol.map=PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT
controller.listener.names=CONTROLLER
inter.broker.listener.name=PLAINTEXT
log.dirs=${KAFKA_DIR}/data
num.partitions=3
default.replication.factor=1
auto.create.topics.enable=true
delete.topic.enable=true
offsets.topic.replication.factor=1
transaction.state.log.replication.factor=1
transaction.state.log.min.isr=1
min.insync.replicas=1
group.initial.rebalance.delay.ms=0
EOF
  # Broker log goes to stdout, which start() redirects into kafka.log.
  cat >"$KAFKA_DIR/log4j.properties" <<'EOF'
log4j.rootLogger=INFO, stdout
log4j.appender.stdout=org.apache.log4j.ConsoleAppender
log4j.appender.stdout.layout=org.apache.log4j.PatternLayout
log4j.appender.stdout.layout.ConversionPattern=[%d] %p %m (%c)%n
log4j.logger.kafka.request.logger=WARN
log4j.logger.kafka.authorizer.logger=WARN
log4j.logger.org.apache.kafka.clients=WARN
EOF
  # Command line tools (format, readiness probe) only speak up on errors.
  cat >"$KAFKA_DIR/tools-log4j.properties" <<'EOF'
log4j.rootLogger=ERROR, stderr
log4j.appender.stderr=org.apache.log4j.ConsoleAppender
log4j.appender.stderr.Target=System.err
log4j.appender.stderr.layout=org.apache.log4j.PatternLayout
log4j.appender.stderr.layout.ConversionPattern=[%d] %p %m (%c)%n
EOF
}

kafka_java_tool() { # main-class args...
  java -Xmx256m -XX:TieredStopAtLevel=1 -Dlog4j.configuration="file:$KAFKA_DIR/tools-log4j.properties" \
    -cp "$KAFKA_LIBS/*" "$@" </dev/null
}

# Asks the broker for its API versions over the Kafka protocol: it answers once it serves clients.
kafka_probe() { # port
  timeout 60 java -Xmx256m -XX:TieredStopAtLevel=1 -Dlog4j.configuration="file:$KAFKA_DIR/tools-log4j.properties" \
    -cp "$KAFKA_LIBS/*" kafka.admin.BrokerApiVersionsCommand --bootstrap-server "127.0.0.1:$1" \
    </dev/null >/dev/null 2>&1
}

# Prints the message and the tail of the broker log; stops a broker still starting; exits 1.
kafka_fail() { # message [pid]
  printf 'services: ERROR: %s\n' "$1" >&2
  if [[ -f "$KAFKA_LOG" ]]; then
    printf 'services: last 40 lines of %s:\n' "$KAFKA_LOG" >&2
    tail -n 40 "$KAFKA_LOG" >&2 || true
  fi
  if [[ -n "${2:-}" ]]; then terminate "$2" 10 Kafka; fi
  rm -f "$KAFKA_PID"
  exit 1
}

kafka_start() {
  local port cport pid t0 deadline timeout
  port="$(kafka_port)"
  cport="$(kafka_controller_port)"
  timeout="${KAFKA_START_TIMEOUT:-120}"
  mkdir -p "$KAFKA_DIR"
  exec 9>"$KAFKA_DIR/.lock"
  flock -w 600 9 || die "another services.sh is starting or stopping Kafka; gave up waiting"

  pid="$(kafka_our_pid)"
  if [[ -n "$pid" ]]; then
    say "Kafka already running (pid $pid) on 127.0.0.1:$port"
    return 0
  fi
  if tcp_open "$port"; then
    need java "Kafka tools run on the JVM"
    kafka_libs
    kafka_write_config "$port" "$cport"
    if kafka_probe "$port"; then
      say "Kafka already answers on 127.0.0.1:$port (not started by this script; leaving it alone)"
      return 0
    fi
    die "port $port is in use by something that is not a Kafka broker; set KAFKA_PORT (and KAFKA_BROKERS) to a free port"
  fi
  if tcp_open "$cport"; then
    die "controller port $cport is in use; set KAFKA_CONTROLLER_PORT to a free port"
  fi

  need java "the Kafka broker runs on the JVM"
  kafka_libs
  kafka_write_config "$port" "$cport"
  mkdir -p "$KAFKA_DIR/data"

  if [[ ! -f "$KAFKA_DIR/data/meta.properties" ]]; then
    local cluster_id
    cluster_id="$(kafka_java_tool kafka.tools.StorageTool random-uuid 2>/dev/null | tail -n 1)"
    [[ -n "$cluster_id" ]] || die "kafka.tools.StorageTool random-uuid printed nothing"
    kafka_java_tool kafka.tools.StorageTool format -t "$cluster_id" -c "$KAFKA_PROPS" >/dev/null \
      || die "formatting the Kafka storage in $KAFKA_DIR/data failed"
    say "formatted KRaft storage (cluster id $cluster_id)"
  fi

  [[ -f "$KAFKA_LOG" ]] && mv -f "$KAFKA_LOG" "$KAFKA_LOG.prev"
  # A broker killed with -9 leaves its pid file behind: read before the new broker writes its own,
  # the dead pid would read as "exited during startup". The wait below only trusts a fresh file.
  rm -f "$KAFKA_PID"
  t0=$(date +%s)
  # setsid: the broker outlives the shell (and the test runner) that started it.
  # 9>&-: the broker must not inherit the start lock.
  # shellcheck disable=SC2086
  setsid bash -c 'echo $$ >"$1"; shift; exec "$@"' _ "$KAFKA_PID" \
    java ${KAFKA_HEAP_OPTS:--Xms256m -Xmx768m} -server -XX:+UseG1GC -XX:MaxGCPauseMillis=20 \
    -XX:InitiatingHeapOccupancyPercent=35 -XX:+ExplicitGCInvokesConcurrent -Djava.awt.headless=true \
    -Dlog4j.configuration="file:$KAFKA_DIR/log4j.properties" -Dkafka.logs.dir="$KAFKA_DIR" \
    -cp "$KAFKA_LIBS/*" kafka.Kafka "$KAFKA_PROPS" \
    </dev/null >>"$KAFKA_LOG" 2>&1 9>&- &
  say "starting Kafka on 127.0.0.1:$port (controller 127.0.0.1:$cport), log $KAFKA_LOG"

  deadline=$((t0 + timeout))
  while :; do
    pid="$(read_pid "$KAFKA_PID")"
    if [[ -n "$pid" ]] && ! pid_alive "$pid"; then
      kafka_fail "the Kafka broker exited during startup"
    fi
    if [[ -n "$pid" ]] && tcp_open "$port" && kafka_probe "$port"; then break; fi
    if (( $(date +%s) >= deadline )); then
      kafka_fail "Kafka did not answer on 127.0.0.1:$port within ${timeout}s (KAFKA_START_TIMEOUT); stopping it" "$pid"
    fi
    sleep 1
  done
  say "Kafka is up (pid $pid) on 127.0.0.1:$port after $(( $(date +%s) - t0 ))s"
}

kafka_stop() {
  local pid
  mkdir -p "$KAFKA_DIR"
  exec 9>"$KAFKA_DIR/.lock"
  flock -w 600 9 || die "another services.sh is starting or stopping Kafka; gave up waiting"
  pid="$(kafka_our_pid)"
  if [[ -z "$pid" ]]; then
    rm -f "$KAFKA_PID"
    if tcp_open "$(kafka_port)"; then
      say "Kafka on 127.0.0.1:$(kafka_port) was not started by this script; leaving it running"
    else
      say "Kafka is not running"
    fi
    return 0
  fi
  say "stopping Kafka (pid $pid)"
  terminate "$pid" "${KAFKA_STOP_TIMEOUT:-60}" Kafka
  rm -f "$KAFKA_PID"
  say "Kafka stopped"
}

kafka_status() {
  local pid port
  port="$(kafka_port)"
  pid="$(kafka_our_pid)"
  if [[ -n "$pid" ]]; then
    if tcp_open "$port"; then
      say "Kafka running (pid $pid, started by this script) on 127.0.0.1:$port"
    else
      say "Kafka process running (pid $pid) but 127.0.0.1:$port is not accepting connections (starting or stuck?)"
      return 3
    fi
  elif tcp_open "$port"; then
    say "something is listening on 127.0.0.1:$port (not started by this script)"
  else
    say "Kafka not running on 127.0.0.1:$port"
    return 3
  fi
}

kafka_logs() {
  [[ -f "$KAFKA_LOG" ]] || die "no Kafka log yet ($KAFKA_LOG)"
  if [[ "${1:-}" == "-f" ]]; then exec tail -n "${LINES:-100}" -F "$KAFKA_LOG"; fi
  tail -n "${LINES:-100}" "$KAFKA_LOG"
}

# --- Redis -------------------------------------------------------------------------------------

REDIS_DIR="$SERVICES_DIR/redis"

redis_ping() { [[ "$(redis-cli -h 127.0.0.1 -p "$1" ping 2>/dev/null)" == "PONG" ]]; }

# Starts a throwaway redis-server (no persistence) in $dir; extra args are passed through.
redis_launch() { # port dir extra...
  local port="$1" dir="$2"
  shift 2
  mkdir -p "$dir"
  rm -f "$dir/redis.log"
  redis-server --daemonize yes --bind 127.0.0.1 --port "$port" --save '' --appendonly no \
    --dir "$dir" --pidfile "$dir/redis.pid" --logfile "$dir/redis.log" "$@" </dev/null >/dev/null 9>&- \
    || die "redis-server refused to start on port $port (log: $dir/redis.log)"
  local i
  for ((i = 0; i < 100; i++)); do
    redis_ping "$port" && return 0
    sleep 0.1
  done
  [[ -f "$dir/redis.log" ]] && tail -n 20 "$dir/redis.log" >&2
  die "redis-server on port $port did not answer PING within 10s (log: $dir/redis.log)"
}

# Stops a redis-server we launched in $dir, if it is still the process we launched.
redis_shutdown() { # port dir
  local port="$1" dir="$2" pid
  pid="$(read_pid "$dir/redis.pid")"
  if pid_is "$pid" "redis-server"; then
    redis-cli -h 127.0.0.1 -p "$port" shutdown nosave >/dev/null 2>&1 || true
    terminate "$pid" 10 "redis-server:$port"
  fi
  rm -f "$dir/redis.pid"
}

# redis-server names itself "redis-server 127.0.0.1:<port>" in its command line.
redis_ours() { # port dir
  local pid cmd
  pid="$(read_pid "$2/redis.pid")"
  pid_is "$pid" "redis-server" && cmd="$(pid_cmdline "$pid")" && [[ "$cmd" =~ :$1([^0-9]|$) ]]
}

redis_start() {
  local port
  port="$(redis_port)"
  need redis-cli "the Redis command line client"
  if redis_ping "$port"; then
    if redis_ours "$port" "$REDIS_DIR/$port"; then
      say "Redis already running on 127.0.0.1:$port (started by this script)"
    else
      say "Redis already running on 127.0.0.1:$port (not started by this script; leaving it alone)"
    fi
    return 0
  fi
  tcp_open "$port" && die "port $port is in use by something that does not answer Redis PING; set REDIS_PORT"
  need redis-server "the Redis server"
  redis_launch "$port" "$REDIS_DIR/$port"
  say "Redis is up on 127.0.0.1:$port (no persistence; data in $REDIS_DIR/$port)"
}

redis_stop() {
  local port
  port="$(redis_port)"
  if redis_ours "$port" "$REDIS_DIR/$port"; then
    redis_shutdown "$port" "$REDIS_DIR/$port"
    say "Redis on 127.0.0.1:$port stopped"
  elif redis_ping "$port"; then
    say "Redis on 127.0.0.1:$port was not started by this script; leaving it running"
  else
    say "Redis is not running on 127.0.0.1:$port"
  fi
}

redis_status() {
  local port
  port="$(redis_port)"
  need redis-cli "the Redis command line client"
  if redis_ping "$port"; then
    if redis_ours "$port" "$REDIS_DIR/$port"; then
      say "Redis running on 127.0.0.1:$port (started by this script)"
    else
      say "Redis running on 127.0.0.1:$port (not started by this script)"
    fi
  else
    say "Redis not running on 127.0.0.1:$port"
    return 3
  fi
}

# --- Redis Cluster -----------------------------------------------------------------------------

CLUSTER_DIR="$SERVICES_DIR/redis-cluster"

cluster_ok() { # port
  local info
  info="$(redis-cli -h 127.0.0.1 -p "$1" cluster info 2>/dev/null)" || return 1
  [[ "$info" =~ (^|$'\n')cluster_state:ok($'\r'|$'\n'|$) ]]
}

cluster_all_ok() {
  local p
  for p in "$@"; do cluster_ok "$p" || return 1; done
}

# Every node must also report the same slot map: right after `cluster create` a node can say
# cluster_state:ok while its view of who owns which slots is still stale, and a client that asks it
# would be redirected (MOVED) to the wrong node again and again.
cluster_agree() {
  local p first="" slots
  for p in "$@"; do
    slots="$(redis-cli -h 127.0.0.1 -p "$p" cluster slots 2>/dev/null | paste -sd ' ')" || return 1
    [[ -n "$slots" ]] || return 1
    if [[ -z "$first" ]]; then first="$slots"; elif [[ "$slots" != "$first" ]]; then return 1; fi
  done
}

redis_cluster_start() {
  local ports=() p nodes=() i
  mapfile -t ports < <(redis_cluster_ports)
  need redis-cli "the Redis command line client"
  need redis-server "the Redis server"
  mkdir -p "$CLUSTER_DIR"
  exec 9>"$CLUSTER_DIR/.lock"
  flock -w 120 9 || die "another services.sh is starting or stopping the Redis Cluster"

  if cluster_all_ok "${ports[@]}"; then
    say "Redis Cluster already running on ports ${ports[*]}"
    return 0
  fi
  # Anything half-up from an earlier run of ours is thrown away: the cluster holds no durable data.
  for p in "${ports[@]}"; do
    if redis_ours "$p" "$CLUSTER_DIR/$p"; then
      redis_shutdown "$p" "$CLUSTER_DIR/$p"
    elif tcp_open "$p"; then
      die "port $p is in use by a process this script did not start; set REDIS_CLUSTER_PORTS"
    fi
  done
  for p in "${ports[@]}"; do
    rm -rf "${CLUSTER_DIR:?}/$p"
    redis_launch "$p" "$CLUSTER_DIR/$p" --cluster-enabled yes --cluster-config-file "nodes-$p.conf" \
      --cluster-node-timeout 5000
    nodes+=("127.0.0.1:$p")
  done
  if ! redis-cli --cluster create "${nodes[@]}" --cluster-replicas 0 --cluster-yes \
      </dev/null >"$CLUSTER_DIR/create.log" 2>&1; then
    tail -n 30 "$CLUSTER_DIR/create.log" >&2
    for p in "${ports[@]}"; do redis_shutdown "$p" "$CLUSTER_DIR/$p"; done
    die "redis-cli --cluster create failed (log: $CLUSTER_DIR/create.log)"
  fi
  for ((i = 0; i < 300; i++)); do
    if cluster_all_ok "${ports[@]}" && cluster_agree "${ports[@]}"; then
      say "Redis Cluster is up: ${nodes[*]} (3 masters, no replicas, no persistence)"
      return 0
    fi
    sleep 0.1
  done
  for p in "${ports[@]}"; do redis_shutdown "$p" "$CLUSTER_DIR/$p"; done
  die "Redis Cluster did not reach cluster_state:ok within 30s"
}

redis_cluster_stop() {
  local ports=() p stopped=0
  mapfile -t ports < <(redis_cluster_ports)
  mkdir -p "$CLUSTER_DIR"
  exec 9>"$CLUSTER_DIR/.lock"
  flock -w 120 9 || die "another services.sh is starting or stopping the Redis Cluster"
  for p in "${ports[@]}"; do
    if redis_ours "$p" "$CLUSTER_DIR/$p"; then
      redis_shutdown "$p" "$CLUSTER_DIR/$p"
      stopped=$((stopped + 1))
    elif redis_ping "$p"; then
      say "Redis on port $p was not started by this script; leaving it running"
    fi
    rm -rf "${CLUSTER_DIR:?}/$p"
  done
  say "Redis Cluster: stopped $stopped node(s)"
}

redis_cluster_status() {
  local ports=() p down=0
  mapfile -t ports < <(redis_cluster_ports)
  need redis-cli "the Redis command line client"
  for p in "${ports[@]}"; do
    if cluster_ok "$p"; then
      say "cluster node 127.0.0.1:$p: cluster_state:ok"
    elif redis_ping "$p"; then
      say "cluster node 127.0.0.1:$p: answers but cluster is not ok"
      down=1
    else
      say "cluster node 127.0.0.1:$p: not running"
      down=1
    fi
  done
  return $((down * 3))
}

# --- dispatch ----------------------------------------------------------------------------------

usage() {
  sed -n '2,12p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'
  exit "${1:-2}"
}

service="${1:-}"
action="${2:-}"
case "$service:$action" in
  kafka:start) kafka_start ;;
  kafka:stop) kafka_stop ;;
  kafka:status) kafka_status ;;
  kafka:logs) kafka_logs "${3:-}" ;;
  redis:start) redis_start ;;
  redis:stop) redis_stop ;;
  redis:status) redis_status ;;
  redis-cluster:start) redis_cluster_start ;;
  redis-cluster:stop) redis_cluster_stop ;;
  redis-cluster:status) redis_cluster_status ;;
  all:start) bash "${BASH_SOURCE[0]}" kafka start && bash "${BASH_SOURCE[0]}" redis start ;;
  all:stop)
    rc=0
    bash "${BASH_SOURCE[0]}" kafka stop || rc=$?
    bash "${BASH_SOURCE[0]}" redis stop || rc=$?
    exit "$rc"
    ;;
  all:status)
    rc=0
    bash "${BASH_SOURCE[0]}" kafka status || rc=$?
    bash "${BASH_SOURCE[0]}" redis status || rc=$?
    exit "$rc"
    ;;
  -h:* | --help:* | help:*) usage 0 ;;
  *) usage 2 ;;
esac
