#!/usr/bin/env bash
# Self-provisioned test services without Docker: Redis, Postgres 15, Kafka 4.4 (KRaft).
#
#   scripts/stack.sh up     [service...]   install what is missing, start, wait for real readiness
#   scripts/stack.sh down   [service...]   stop what this script started
#   scripts/stack.sh status [service...]   one line per service; exit 1 if any requested one is down
#   scripts/stack.sh reset  [service...]   wipe data (restarting services that were running)
#   scripts/stack.sh kill   [service...]   SIGKILL what this script started, like a crash (`up` restarts it)
#   scripts/stack.sh env                   print export lines (LEDGER_REDIS_URL, ...)
#
# Services: redis postgres kafka (default: all three). Everything binds to 127.0.0.1.
# Ports: LEDGER_REDIS_PORT=6379 LEDGER_PG_PORT=5432 LEDGER_KAFKA_PORT=9092
#        LEDGER_KAFKA_CONTROLLER_PORT=9093. Readiness waits are bounded by LEDGER_STACK_TIMEOUT=60 s.
# Runtime state (data, logs, pid files) lives in <repo>/.stack (LEDGER_STACK_DIR); downloads
# (Kafka jars, Maven repo) in ${LEDGER_CACHE:-~/.cache/ledger}. Postgres data moves to
# /var/tmp/ledger-pg-<hash of repo path> when the `postgres` user cannot reach the repo (see pg_base).
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
CACHE="${LEDGER_CACHE:-$HOME/.cache/ledger}"
STATE="${LEDGER_STACK_DIR:-$ROOT/.stack}"
TIMEOUT="${LEDGER_STACK_TIMEOUT:-60}"
HOST=127.0.0.1
REDIS_PORT="${LEDGER_REDIS_PORT:-6379}"
PG_PORT="${LEDGER_PG_PORT:-5432}"
KAFKA_PORT="${LEDGER_KAFKA_PORT:-9092}"
KAFKA_CONTROLLER_PORT="${LEDGER_KAFKA_CONTROLLER_PORT:-9093}"
PG_MAJOR="${LEDGER_PG_MAJOR:-15}"
ALL_SERVICES=(redis postgres kafka)

# ---------------------------------------------------------------------------------------------
# helpers

log() { echo "stack: $*" >&2; }
die() { echo "stack: ERROR: $*" >&2; exit 1; }
now() { echo "${EPOCHREALTIME/./}"; } # microseconds
elapsed() { local us=$(($(now) - $1)); printf '%d.%01ds' $((us / 1000000)) $((us % 1000000 / 100000)); }

# as_root <cmd...>: apt needs root; use sudo when this runs as a normal user.
as_root() { if [ "$EUID" -eq 0 ]; then "$@"; else sudo "$@"; fi; }

port_open() { timeout 1 bash -c "exec 3<>/dev/tcp/$HOST/$1" 2>/dev/null; }

# proc_zombie, pid_alive
# shellcheck source=scripts/lib/proc.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib/proc.sh"

# wait_until <what> <logfile> <cmd...>: poll cmd every 0.2 s for at most $TIMEOUT seconds; on
# timeout fail loudly with the tail of the service's log.
wait_until() {
  local what=$1 logfile=$2 deadline=$((SECONDS + TIMEOUT))
  shift 2
  until "$@" >/dev/null 2>&1; do
    if [ "$SECONDS" -ge "$deadline" ]; then
      echo "stack: ERROR: $what not ready after ${TIMEOUT}s; last lines of $logfile:" >&2
      tail -n 40 "$logfile" >&2 2>/dev/null || true
      exit 1
    fi
    sleep 0.2
  done
}

# stop_pid <what> <pidfile> <pattern>: SIGTERM, wait up to 30 s for a clean exit, then SIGKILL.
stop_pid() {
  local what=$1 pidfile=$2 pattern=$3 pid i
  if ! pid_alive "$pidfile" "$pattern"; then
    rm -f "$pidfile"
    return 0
  fi
  pid=$(head -n1 "$pidfile")
  kill -TERM "$pid" 2>/dev/null || true
  for ((i = 0; i < 150; i++)); do
    kill -0 "$pid" 2>/dev/null || break
    sleep 0.2
  done
  if kill -0 "$pid" 2>/dev/null; then
    log "$what (pid $pid) did not stop within 30s; killing it"
    kill -KILL "$pid" 2>/dev/null || true
  fi
  rm -f "$pidfile"
}

# kill_pid <what> <pidfile> <pattern>: SIGKILL (a crash: nothing flushed), wait (bounded) until it
# is gone or a zombie, drop the stale pid file.
kill_pid() {
  local pidfile=$2 pattern=$3
  pid_alive "$pidfile" "$pattern" || return 0
  kill_wait "$1" "$(head -n1 "$pidfile")"
  rm -f "$pidfile"
}

# kill_wait <what> <pid...>: SIGKILL and wait up to 10 s until every one is dead.
kill_wait() {
  local what=$1 pid i
  shift
  kill -KILL "$@" 2>/dev/null || true
  for pid in "$@"; do
    for ((i = 0; i < 50; i++)); do
      proc_dead "$pid" && break
      sleep 0.2
    done
    proc_dead "$pid" || die "$what: pid $pid still alive 10 s after SIGKILL"
  done
}

# apt_install <pkg...>: install the missing Debian packages in one apt-get call. `apt-get update`
# runs only when the package lists are absent or an install fails on stale lists.
apt_install() {
  local missing=() p
  for p in "$@"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
  done
  [ ${#missing[@]} -gt 0 ] || return 0
  command -v apt-get >/dev/null || die "need Debian packages ${missing[*]} but apt-get is missing"
  log "installing Debian packages: ${missing[*]}"
  # Package scripts must not start system services (a Debian redis/postgres on the default ports
  # would collide with ours): a policy-rc.d that exits 101 forbids that. Docker images ship one.
  local policy=/usr/sbin/policy-rc.d added_policy=
  if [ ! -e "$policy" ]; then
    printf '#!/bin/sh\nexit 101\n' | as_root tee "$policy" >/dev/null
    as_root chmod +x "$policy"
    added_policy=1
  fi
  local apt=(env DEBIAN_FRONTEND=noninteractive apt-get -y -q -o DPkg::Lock::Timeout=300)
  local aptlog="$STATE/apt.log"
  if ! compgen -G '/var/lib/apt/lists/*_Packages*' >/dev/null; then # never updated
    as_root "${apt[@]}" update >>"$aptlog" 2>&1 || { tail -n 20 "$aptlog" >&2; die "apt-get update failed"; }
  fi
  if ! as_root "${apt[@]}" install --no-install-recommends "${missing[@]}" >>"$aptlog" 2>&1; then
    as_root "${apt[@]}" update >>"$aptlog" 2>&1 || true
    as_root "${apt[@]}" install --no-install-recommends "${missing[@]}" >>"$aptlog" 2>&1 \
      || { tail -n 20 "$aptlog" >&2; die "apt-get install ${missing[*]} failed (log: $aptlog)"; }
  fi
  if [ -n "$added_policy" ]; then as_root rm -f "$policy"; fi
}

# ---------------------------------------------------------------------------------------------
# redis: Debian redis-server, in-memory only (no RDB/AOF), daemonized.

REDIS_DIR="$STATE/redis"
REDIS_PID="$REDIS_DIR/redis.pid"
REDIS_LOG="$REDIS_DIR/redis.log"

redis_packages() { command -v redis-server >/dev/null && command -v redis-cli >/dev/null || echo redis-server; }
redis_ping() { [ "$(timeout 2 redis-cli -h $HOST -p "$REDIS_PORT" ping 2>/dev/null)" = PONG ]; }
redis_ours() { pid_alive "$REDIS_PID" redis-server; }

redis_start() {
  if redis_ping; then
    redis_ours || log "redis: something already answers PING on $HOST:$REDIS_PORT; reusing it"
    return 0
  fi
  port_open "$REDIS_PORT" && die "redis: port $REDIS_PORT is taken by something that is not Redis"
  mkdir -p "$REDIS_DIR"
  redis-server --bind $HOST --port "$REDIS_PORT" --daemonize yes --save '' --appendonly no \
    --dir "$REDIS_DIR" --pidfile "$REDIS_PID" --logfile "$REDIS_LOG" 9>&-
}

redis_wait() { wait_until redis "$REDIS_LOG" redis_ping; }
redis_stop() { stop_pid redis "$REDIS_PID" redis-server; }
redis_kill() { kill_pid redis "$REDIS_PID" redis-server; }
redis_status() { redis_ping; }

# Redis keeps nothing on disk, so wiping means flushing the running server.
redis_reset() {
  if redis_ping; then redis-cli -h $HOST -p "$REDIS_PORT" flushall >/dev/null; fi
  rm -f "$REDIS_DIR"/*.rdb "$REDIS_DIR"/*.aof
}

# ---------------------------------------------------------------------------------------------
# postgres: Debian postgresql-15 binaries, our own cluster run as the `postgres` OS user
# (postgres refuses to run as root). Role/password ledger/ledger, databases ledger and ledger_test.

pg_bin() {
  local d="${LEDGER_PG_BIN:-/usr/lib/postgresql/$PG_MAJOR/bin}"
  [ -x "$d/pg_ctl" ] && echo "$d"
}
pg_packages() { pg_bin >/dev/null || echo "postgresql-$PG_MAJOR postgresql-client-$PG_MAJOR"; }

# as_pg <cmd...>: run as the postgres OS user when we are root, as ourselves otherwise.
as_pg() {
  # From / so a cwd the postgres user cannot enter (e.g. a clone under /root) does not matter.
  if [ "$EUID" -eq 0 ]; then (cd / && runuser -u postgres -- "$@"); else "$@"; fi
}

# pg_base: the Postgres state dir. Normally <state>/pg; but the `postgres` user must be able to
# traverse every parent directory (a clone under /root is not) and the socket path must fit in
# sockaddr_un (~107 bytes), so otherwise use /var/tmp/ledger-pg-<hash of the repo path>.
pg_base() {
  local base="$STATE/pg"
  mkdir -p "$STATE"
  if [ "$EUID" -eq 0 ] && ! runuser -u postgres -- test -x "$STATE" 2>/dev/null; then
    base=""
  elif [ $((${#base} + 20)) -gt 100 ]; then
    base=""
  fi
  if [ -z "$base" ]; then
    # Keyed by the repo path for the default state dir (as before), by the state dir otherwise, so
    # a second stack of the same checkout (LEDGER_STACK_DIR, e.g. the bench's) gets its own.
    local key="$ROOT"
    [ "$STATE" = "$ROOT/.stack" ] || key="$STATE"
    base="/var/tmp/ledger-pg-$(printf '%s' "$key" | sha256sum | cut -c1-12)"
    echo "$base" >"$STATE/pg.location" # so people find the data dir and log
  fi
  echo "$base"
}

PG_BASE=""
pg_paths() {
  [ -n "$PG_BASE" ] && return 0
  PG_BASE="$(pg_base)"
  PG_DATA="$PG_BASE/data"
  PG_RUN="$PG_BASE/run"
  PG_LOG="$PG_BASE/postgres.log"
}

pg_isready_tcp() { "$(pg_bin)/pg_isready" -q -h $HOST -p "$PG_PORT" -t 2; }
pg_ledger_ok() {
  PGPASSWORD=ledger PGCONNECT_TIMEOUT=3 "$(pg_bin)/psql" -X -q -h $HOST -p "$PG_PORT" -U ledger -d ledger \
    -tAc 'select 1' 2>/dev/null | grep -qx 1
}
# Live processes working in our data dir: the postmaster and every backend chdir there. This is
# what "our server is running" means; pg_ctl status is fooled by a zombie postmaster.
pg_procs() {
  local d
  for d in /proc/[0-9]*; do
    [ "$(readlink "$d/cwd" 2>/dev/null)" = "$PG_DATA" ] || continue
    proc_zombie "${d#/proc/}" || echo "${d#/proc/}"
  done
}
pg_ours() { pg_paths; [ -n "$(pg_procs)" ]; }

pg_init() {
  [ -f "$PG_DATA/PG_VERSION" ] && return 0
  log "postgres: initdb in $PG_DATA"
  mkdir -p "$PG_BASE"
  [ "$EUID" -eq 0 ] && chown postgres:postgres "$PG_BASE"
  chmod 700 "$PG_BASE"
  # trust on the socket (only the postgres user can reach it: the dir is 0700), passwords on TCP.
  as_pg "$(pg_bin)/initdb" -D "$PG_DATA" -U postgres -E UTF8 --locale=C \
    --auth-local=trust --auth-host=scram-sha-256 >"$PG_BASE/initdb.log" 2>&1 \
    || { tail -n 20 "$PG_BASE/initdb.log" >&2; die "postgres: initdb failed"; }
  echo "include_if_exists = 'ledger.conf'" | as_pg tee -a "$PG_DATA/postgresql.conf" >/dev/null
}

# Rewritten on every start so a changed LEDGER_PG_PORT takes effect.
pg_write_conf() {
  as_pg mkdir -p "$PG_RUN"
  as_pg tee "$PG_DATA/ledger.conf" >/dev/null <<EOF
# written by scripts/stack.sh on every start
listen_addresses = '$HOST'
port = $PG_PORT
unix_socket_directories = '$PG_RUN'
max_connections = 200
shared_buffers = 128MB
fsync = on                 # the tests check durability: keep it real
synchronous_commit = on
full_page_writes = on
autovacuum_naptime = 10s   # ledger_kafka_queue churns (see its vacuum migration); 1 min lets dead rows pile up
logging_collector = off
log_min_messages = warning
EOF
}

pg_start() {
  pg_paths
  if pg_ours; then return 0; fi
  if port_open "$PG_PORT"; then
    if pg_ledger_ok; then
      log "postgres: a server on $HOST:$PG_PORT already accepts ledger/ledger; reusing it"
      return 0
    fi
    die "postgres: port $PG_PORT is taken by something we cannot use (not ours, ledger login fails)"
  fi
  local ver
  if [ -f "$PG_DATA/PG_VERSION" ] && ver=$(cat "$PG_DATA/PG_VERSION") && [ "$ver" != "$PG_MAJOR" ]; then
    die "postgres: $PG_DATA was made by Postgres $ver, binaries are $PG_MAJOR; run: $0 reset postgres"
  fi
  pg_init
  # No live process uses the data dir (checked above), so a postmaster.pid left by a killed server
  # is stale. Postgres clears it itself unless its pid is a not-yet-reaped zombie: do it here. The
  # same holds for the socket's lock file (the port is free, checked above): a zombie's pid in it
  # stops the start with "lock file .s.PGSQL.<port>.lock already exists".
  if [ -f "$PG_DATA/postmaster.pid" ]; then
    log "postgres: removing stale postmaster.pid (server was killed)"
    rm -f "$PG_DATA/postmaster.pid"
  fi
  if [ -f "$PG_RUN/.s.PGSQL.$PG_PORT.lock" ]; then
    log "postgres: removing stale socket lock file (server was killed)"
    rm -f "$PG_RUN/.s.PGSQL.$PG_PORT.lock" "$PG_RUN/.s.PGSQL.$PG_PORT"
  fi
  pg_write_conf
  # No -w: we poll ourselves (bounded, with the log tail on failure).
  as_pg "$(pg_bin)/pg_ctl" -D "$PG_DATA" -l "$PG_LOG" -s start >/dev/null 9>&-
}

pg_provision() {
  # Idempotent: create-if-missing, and reset the password in case someone changed it.
  as_pg "$(pg_bin)/psql" -X -q -v ON_ERROR_STOP=1 -h "$PG_RUN" -p "$PG_PORT" -U postgres -d postgres >/dev/null <<'SQL'
SELECT 'CREATE ROLE ledger LOGIN CREATEDB' WHERE NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'ledger')\gexec
ALTER ROLE ledger WITH LOGIN CREATEDB PASSWORD 'ledger';
SELECT 'CREATE DATABASE ledger OWNER ledger' WHERE NOT EXISTS (SELECT FROM pg_database WHERE datname = 'ledger')\gexec
SELECT 'CREATE DATABASE ledger_test OWNER ledger' WHERE NOT EXISTS (SELECT FROM pg_database WHERE datname = 'ledger_test')\gexec
SQL
}

pg_wait() {
  pg_paths
  wait_until postgres "$PG_LOG" pg_isready_tcp
  if pg_ours; then pg_provision; fi
  wait_until "postgres (select 1 as ledger)" "$PG_LOG" pg_ledger_ok
}

pg_stop() {
  pg_paths
  pg_ours || return 0
  as_pg "$(pg_bin)/pg_ctl" -D "$PG_DATA" -m fast -w -t 30 -s stop
}

# Every process of the cluster at once (postmaster and backends), as a machine crash would; the
# next start runs crash recovery.
pg_kill() {
  local pids
  pg_paths
  mapfile -t pids < <(pg_procs)
  [ ${#pids[@]} -eq 0 ] || kill_wait postgres "${pids[@]}"
}

pg_status() { pg_isready_tcp && pg_ledger_ok; }

pg_reset() {
  pg_paths
  pg_stop
  rm -rf "$PG_BASE"
}

# ---------------------------------------------------------------------------------------------
# kafka: Apache Kafka in KRaft mode (one process is broker and controller), jars from Maven
# Central via scripts/kafka/pom.xml, cached per pom content.

KAFKA_POM="$ROOT/scripts/kafka/pom.xml"
KAFKA_DIR="$STATE/kafka"
KAFKA_DATA="$KAFKA_DIR/data"
KAFKA_PID="$KAFKA_DIR/kafka.pid"
KAFKA_LOG="$KAFKA_DIR/kafka.log"
KAFKA_PROPS="$KAFKA_DIR/server.properties"

kafka_lib() { echo "$CACHE/kafka-$(sha256sum "$KAFKA_POM" | cut -c1-12)/lib"; }

java_major() { "$1" -version 2>&1 | sed -nE '1s/.*version "([0-9]+).*/\1/p'; }

# Kafka 4.x brokers need Java 17+. Prefer LEDGER_JAVA, then the system java, then a newer JDK.
kafka_java() {
  local j v
  for j in ${LEDGER_JAVA:-} /usr/bin/java /usr/lib/jvm/java-17-openjdk-amd64/bin/java \
    /usr/lib/jvm/temurin-25-jdk-amd64/bin/java; do
    [ -x "$j" ] || continue
    v=$(java_major "$j")
    if [ -n "$v" ] && [ "$v" -ge 17 ]; then echo "$j"; return 0; fi
  done
  return 1
}

kafka_packages() {
  kafka_java >/dev/null || echo openjdk-17-jre-headless
  command -v kcat >/dev/null || echo kcat
  # Maven only matters until the jars are cached.
  [ -f "$(kafka_lib)/../.complete" ] || command -v mvn >/dev/null || echo maven
}

# Fetch the runtime jars once; a changed pom gets a new cache dir. Download to a temp dir and
# rename so an interrupted fetch never looks complete.
kafka_fetch() {
  local lib dir tmp
  lib="$(kafka_lib)"
  dir="$(dirname "$lib")"
  [ -f "$dir/.complete" ] && return 0
  log "kafka: fetching jars with Maven (first time only) into $dir"
  mkdir -p "$CACHE/tmp"
  tmp=$(mktemp -d "$CACHE/tmp/kafka.XXXXXX")
  mvn -B -Dstyle.color=never -f "$KAFKA_POM" -Dmaven.repo.local="$CACHE/m2" \
    dependency:copy-dependencies -DincludeScope=runtime -DoutputDirectory="$tmp/lib" \
    >"$tmp/mvn.log" 2>&1 \
    || { tail -n 30 "$tmp/mvn.log" >&2; die "kafka: mvn dependency:copy-dependencies failed"; }
  touch "$tmp/.complete"
  chmod 755 "$tmp" # mktemp made it 0700
  rm -rf "$dir"
  mv "$tmp" "$dir"
}

kafka_ready() {
  port_open "$KAFKA_PORT" || return 1
  # A metadata round trip (all topics: naming one would auto-create it) proves the broker serves.
  timeout 5 kcat -L -b "$HOST:$KAFKA_PORT" -m 4 2>/dev/null | grep -q "broker 1 at $HOST:$KAFKA_PORT"
}
kafka_ours() { pid_alive "$KAFKA_PID" kafka.Kafka; }

kafka_write_props() {
  cat >"$KAFKA_PROPS" <<EOF
# written by scripts/stack.sh on every start: single node, broker + controller (KRaft)
process.roles=broker,controller
node.id=1
controller.quorum.voters=1@$HOST:$KAFKA_CONTROLLER_PORT
listeners=PLAINTEXT://$HOST:$KAFKA_PORT,CONTROLLER://$HOST:$KAFKA_CONTROLLER_PORT
advertised.listeners=PLAINTEXT://$HOST:$KAFKA_PORT
controller.listener.names=CONTROLLER
inter.broker.listener.name=PLAINTEXT
listener.security.protocol.map=CONTROLLER:PLAINTEXT,PLAINTEXT:PLAINTEXT
log.dirs=$KAFKA_DATA
num.partitions=1
auto.create.topics.enable=true
# Internal topics with 1 partition: created in milliseconds on first use (the defaults of 50
# partitions make the first consumer group or transaction wait).
offsets.topic.replication.factor=1
offsets.topic.num.partitions=1
transaction.state.log.replication.factor=1
transaction.state.log.min.isr=1
transaction.state.log.num.partitions=1
share.coordinator.state.topic.replication.factor=1
share.coordinator.state.topic.min.isr=1
share.coordinator.state.topic.num.partitions=1
default.replication.factor=1
min.insync.replicas=1
group.initial.rebalance.delay.ms=0
EOF
}

# C1-only JIT: the broker is up in about half the time (it is a test broker: throughput is ample).
# For full JIT (e.g. benchmarks) set LEDGER_KAFKA_JAVA_OPTS=-XX:TieredStopAtLevel=4; its flags come
# last and win.
KAFKA_JAVA_OPTS=(
  -Xms256m -Xmx512m -XX:+UseG1GC -XX:MaxGCPauseMillis=20 -XX:+ExitOnOutOfMemoryError
  -XX:TieredStopAtLevel=1
  -Djava.awt.headless=true
  # slf4j-simple (see scripts/kafka/pom.xml) is configured by system properties only.
  -Dorg.slf4j.simpleLogger.defaultLogLevel=info
  -Dorg.slf4j.simpleLogger.showDateTime=true
  "-Dorg.slf4j.simpleLogger.dateTimeFormat=yyyy-MM-dd'T'HH:mm:ss.SSS"
)

# Application class-data sharing: a broker started without an archive dumps the classes it loaded
# when it exits (to a private file, adopted by the next start with an atomic rename); later starts
# map the archive instead of parsing thousands of classes again. The name carries the exact JVM
# version because HotSpot ignores (with a warning) an archive from another build, which is also
# all that happens to a broken one: this can only make start-up faster.
kafka_cds_opts() {
  local jsa f
  jsa="$(dirname "$(kafka_lib)")/kafka-java-$("$(kafka_java)" -version 2>&1 | sed -nE '1s/.*version "([^"]+)".*/\1/p').jsa"
  if [ ! -s "$jsa" ]; then
    for f in "$jsa".dump.*; do
      if [ -s "$f" ] && mv -f "$f" "$jsa"; then break; fi
    done
  fi
  if [ -s "$jsa" ]; then echo "-XX:SharedArchiveFile=$jsa"; else echo "-XX:ArchiveClassesAtExit=$jsa.dump.$$"; fi
}

kafka_run_class() { "$(kafka_java)" "${KAFKA_JAVA_OPTS[@]}" -cp "$(kafka_lib)/*" "$@"; }

# What `StorageTool random-uuid` prints (16 random bytes, unpadded URL-safe base64, not starting
# with '-'), without paying for a JVM start.
kafka_cluster_id() {
  local id
  while :; do
    id=$(head -c 16 /dev/urandom | base64 | tr '+/' '-_' | tr -d '=')
    [ "${id:0:1}" != - ] && break
  done
  echo "$id"
}

# The cluster id is made once per data dir and kept beside it; formatting is skipped when the
# data dir already has meta.properties (saves a JVM start on every warm `up`).
kafka_format() {
  [ -f "$KAFKA_DATA/meta.properties" ] && return 0
  local id_file="$KAFKA_DIR/cluster.id"
  [ -s "$id_file" ] || kafka_cluster_id >"$id_file"
  log "kafka: formatting $KAFKA_DATA (cluster id $(cat "$id_file"))"
  kafka_run_class kafka.tools.StorageTool format -t "$(cat "$id_file")" -c "$KAFKA_PROPS" \
    --ignore-formatted >"$KAFKA_DIR/format.log" 2>&1 \
    || { tail -n 20 "$KAFKA_DIR/format.log" >&2; die "kafka: storage format failed"; }
}

kafka_start() {
  if kafka_ours; then return 0; fi
  if port_open "$KAFKA_PORT"; then
    kafka_ready || die "kafka: port $KAFKA_PORT is taken by something that does not answer as a broker"
    log "kafka: a broker already answers on $HOST:$KAFKA_PORT; reusing it"
    return 0
  fi
  port_open "$KAFKA_CONTROLLER_PORT" && die "kafka: controller port $KAFKA_CONTROLLER_PORT is taken"
  kafka_java >/dev/null || die "kafka: no Java 17+ found (set LEDGER_JAVA)"
  kafka_fetch
  mkdir -p "$KAFKA_DATA"
  kafka_write_props
  kafka_format
  # setsid + nohup: the broker outlives this script and a Ctrl-C in the calling terminal.
  : >"$KAFKA_LOG"
  rm -f "$KAFKA_PID" # stale (not ours: checked above); the wait below must see the new one
  # shellcheck disable=SC2016,SC2086 # $$ is the inner shell's; extra JVM options are split on purpose
  setsid nohup bash -c 'echo $$ >"$1"; shift; exec "$@"' _ "$KAFKA_PID" \
    "$(kafka_java)" "${KAFKA_JAVA_OPTS[@]}" "$(kafka_cds_opts)" ${LEDGER_KAFKA_JAVA_OPTS:-} \
    -cp "$(kafka_lib)/*" kafka.Kafka "$KAFKA_PROPS" \
    >>"$KAFKA_LOG" 2>&1 </dev/null 9>&- &
  # Wait (bounded) for the pid file so a fast `status`/`down` sees it.
  local i
  for ((i = 0; i < 50; i++)); do [ -s "$KAFKA_PID" ] && break; sleep 0.1; done
}

kafka_wait() {
  local deadline=$((SECONDS + TIMEOUT))
  until kafka_ready; do
    if [ -s "$KAFKA_PID" ] && ! kafka_ours; then
      tail -n 40 "$KAFKA_LOG" >&2
      die "kafka: the broker exited during start-up (log: $KAFKA_LOG)"
    fi
    if [ "$SECONDS" -ge "$deadline" ]; then
      tail -n 40 "$KAFKA_LOG" >&2
      die "kafka not ready after ${TIMEOUT}s (log: $KAFKA_LOG)"
    fi
    sleep 0.2
  done
}

kafka_stop() { stop_pid kafka "$KAFKA_PID" kafka.Kafka; }
kafka_kill() { kill_pid kafka "$KAFKA_PID" kafka.Kafka; }
kafka_status() { kafka_ready; }
kafka_reset() { kafka_stop; rm -rf "$KAFKA_DIR"; }

# ---------------------------------------------------------------------------------------------
# commands

svc_fn() { # svc_fn <service> <action> -> function name
  case "$1" in
    redis) echo "redis_$2" ;;
    postgres) echo "pg_$2" ;;
    kafka) echo "kafka_$2" ;;
  esac
}

endpoint() {
  case "$1" in
    redis) echo "redis://$HOST:$REDIS_PORT" ;;
    postgres) echo "postgres://ledger:ledger@$HOST:$PG_PORT/ledger" ;;
    kafka) echo "$HOST:$KAFKA_PORT" ;;
  esac
}

cmd_up() {
  local t0 s pkgs
  t0=$(now)
  # One apt-get call for everything missing.
  pkgs=$(for s in "$@"; do "$(svc_fn "$s" packages)"; done | xargs)
  # shellcheck disable=SC2086
  [ -z "$pkgs" ] || apt_install $pkgs
  mkdir -p "$STATE"
  # Start everything first, then wait: Kafka's first-time fetch/format and JVM start run in a
  # background subshell, overlapping Postgres' initdb.
  local kafka_starter=""
  for s in "$@"; do
    if [ "$s" = kafka ]; then
      kafka_start &
      kafka_starter=$!
    fi
  done
  for s in "$@"; do
    [ "$s" = kafka ] || "$(svc_fn "$s" start)"
  done
  if [ -n "$kafka_starter" ]; then wait "$kafka_starter" || die "kafka: start failed"; fi
  for s in "$@"; do
    "$(svc_fn "$s" wait)"
    log "$(printf '%-8s ready  %-45s (%s since up)' "$s" "$(endpoint "$s")" "$(elapsed "$t0")")"
  done
  log "up: $* in $(elapsed "$t0")"
}

cmd_down() {
  local s
  for s in "$@"; do
    if ! "$(svc_fn "$s" ours)" && "$(svc_fn "$s" status)" 2>/dev/null; then
      log "$(printf '%-8s left running: it was not started by stack.sh' "$s")"
      continue
    fi
    "$(svc_fn "$s" stop)"
    log "$(printf '%-8s stopped' "$s")"
  done
}

# For fault tests: only what this script started (a reused external server is left alone).
cmd_kill() {
  local s
  for s in "$@"; do
    if ! "$(svc_fn "$s" ours)"; then
      log "$(printf '%-8s not started by stack.sh: not killed' "$s")"
      continue
    fi
    "$(svc_fn "$s" kill)"
    log "$(printf '%-8s killed (SIGKILL)' "$s")"
  done
}

service_line() {
  local s=$1 state=down who=""
  if "$(svc_fn "$s" status)" 2>/dev/null; then
    state=up
    if "$(svc_fn "$s" ours)" 2>/dev/null; then who="(managed by stack.sh)"; else who="(external)"; fi
  fi
  printf '%-8s %-4s %-45s %s\n' "$s" "$state" "$(endpoint "$s")" "$who"
  [ "$state" = up ]
}

cmd_status() {
  local s rc=0
  for s in "$@"; do service_line "$s" || rc=1; done
  return $rc
}

cmd_reset() {
  local s running=()
  for s in "$@"; do
    if "$(svc_fn "$s" status)" 2>/dev/null && [ "$s" != redis ]; then running+=("$s"); fi
    "$(svc_fn "$s" reset)"
    log "$(printf '%-8s wiped' "$s")"
  done
  # Bring back what was running so tests get a clean, running service.
  [ ${#running[@]} -eq 0 ] || cmd_up "${running[@]}"
}

# Connection settings for the app and tests: `eval "$(scripts/stack.sh env)"`. The app reads
# LEDGER_REDIS_URL (src/config/config.ts); the Postgres/Kafka names are the ones to use when wiring
# those in.
cmd_env() {
  cat <<EOF
export LEDGER_REDIS_URL=redis://$HOST:$REDIS_PORT/0
export LEDGER_DATABASE_URL=postgres://ledger:ledger@$HOST:$PG_PORT/ledger
export LEDGER_TEST_DATABASE_URL=postgres://ledger:ledger@$HOST:$PG_PORT/ledger_test
export LEDGER_KAFKA_BROKERS=$HOST:$KAFKA_PORT
EOF
}

usage() {
  awk 'NR > 1 && !/^#/ { exit } NR > 1 { sub(/^# ?/, ""); print }' "${BASH_SOURCE[0]}" >&2
  exit 2
}

main() {
  [ $# -ge 1 ] || usage
  local cmd=$1 s
  shift
  [ "$cmd" = env ] && { cmd_env; return; }
  [ $# -gt 0 ] || set -- "${ALL_SERVICES[@]}"
  for s in "$@"; do
    case "$s" in redis | postgres | kafka) ;; *) die "unknown service '$s' (redis postgres kafka)" ;; esac
  done
  case "$cmd" in
    up | down | reset | kill)
      # One stack.sh at a time per state dir (parallel test jobs calling `up` must not race).
      # fd 9 holds the lock: every daemon we launch gets `9>&-` so it does not keep the lock.
      mkdir -p "$STATE"
      exec 9>"$STATE/.lock"
      flock -w "$((TIMEOUT * 3))" 9 || die "another stack.sh holds $STATE/.lock"
      "cmd_$cmd" "$@"
      ;;
    status) cmd_status "$@" ;;
    *) usage ;;
  esac
}

main "$@"
