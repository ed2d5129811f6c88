#!/usr/bin/env bash
# Jaeger v2 on loopback for local runs and tests (in-memory storage, config: scripts/jaeger/config.yaml).
#
#   scripts/jaeger.sh up       build/reuse the cached binary (scripts/tools.sh jaeger), start, wait
#   scripts/jaeger.sh down     stop it
#   scripts/jaeger.sh status   exit 0 when the query API answers
#
# Ports (all on 127.0.0.1): OTLP gRPC LEDGER_JAEGER_OTLP_GRPC_PORT=4317, OTLP HTTP
# LEDGER_JAEGER_OTLP_HTTP_PORT=4318, query API/UI LEDGER_JAEGER_QUERY_PORT=16686 (gRPC query 16685,
# health 13133, own metrics 8888). State (pid, log) in <repo>/.stack/jaeger.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
STATE="${LEDGER_STACK_DIR:-$ROOT/.stack}/jaeger"
TIMEOUT="${LEDGER_STACK_TIMEOUT:-60}"
CONFIG="$ROOT/scripts/jaeger/config.yaml"
PID="$STATE/jaeger.pid"
LOG="$STATE/jaeger.log"

# The config reads these (collector `${env:...}` expansion).
export JAEGER_OTLP_GRPC_PORT="${LEDGER_JAEGER_OTLP_GRPC_PORT:-4317}"
export JAEGER_OTLP_HTTP_PORT="${LEDGER_JAEGER_OTLP_HTTP_PORT:-4318}"
export JAEGER_QUERY_HTTP_PORT="${LEDGER_JAEGER_QUERY_PORT:-16686}"
export JAEGER_QUERY_GRPC_PORT="${LEDGER_JAEGER_QUERY_GRPC_PORT:-16685}"
export JAEGER_HEALTH_PORT="${LEDGER_JAEGER_HEALTH_PORT:-13133}"
export JAEGER_METRICS_PORT="${LEDGER_JAEGER_METRICS_PORT:-8888}"
QUERY_URL="http://127.0.0.1:$JAEGER_QUERY_HTTP_PORT"

log() { echo "jaeger: $*" >&2; }
die() { echo "jaeger: ERROR: $*" >&2; exit 1; }

# shellcheck source=scripts/lib/proc.sh
source "$ROOT/scripts/lib/proc.sh"

ours() { pid_alive "$PID" 'jaeger.*--config'; }

# exited_during_start: the pid file names a process that is gone or a zombie. Deliberately not
# `! ours`: while bash execs jaeger, /proc/<pid>/cmdline can read empty for a moment (the likely
# cause of a CI run that reported "exited during start-up" with an empty jaeger log).
exited_during_start() { [ -s "$PID" ] && proc_dead "$(head -n1 "$PID")"; }

# The query API lists services once storage and the HTTP server are up.
ready() { curl -fsS --max-time 2 "$QUERY_URL/api/services" 2>/dev/null | grep -q '"data"'; }

cmd_up() {
  local start=$SECONDS bin deadline
  if ready; then
    ours || log "something already serves the query API on $QUERY_URL; reusing it"
    log "ready: OTLP grpc 127.0.0.1:$JAEGER_OTLP_GRPC_PORT http 127.0.0.1:$JAEGER_OTLP_HTTP_PORT, query $QUERY_URL"
    return 0
  fi
  command -v curl >/dev/null || die "curl is needed for the readiness check (apt-get install curl)"
  bin="$("$ROOT/scripts/tools.sh" jaeger)/jaeger"
  mkdir -p "$STATE"
  rm -f "$PID" # a stale one would look like an exit before the new process writes its pid
  : >"$LOG"
  # setsid + nohup: outlives this script and a Ctrl-C in the calling terminal.
  # shellcheck disable=SC2016 # $$ is the inner shell's pid (written before exec)
  setsid nohup bash -c 'echo $$ >"$1"; shift; exec "$@"' _ "$PID" \
    "$bin" --config "$CONFIG" >>"$LOG" 2>&1 </dev/null &
  deadline=$((SECONDS + TIMEOUT))
  until ready; do
    if exited_during_start; then
      tail -n 40 "$LOG" >&2
      die "jaeger exited during start-up (log: $LOG)"
    fi
    if [ "$SECONDS" -ge "$deadline" ]; then
      tail -n 40 "$LOG" >&2
      die "jaeger not ready after ${TIMEOUT}s (log: $LOG)"
    fi
    sleep 0.2
  done
  log "ready in $((SECONDS - start))s: OTLP grpc 127.0.0.1:$JAEGER_OTLP_GRPC_PORT" \
    "http 127.0.0.1:$JAEGER_OTLP_HTTP_PORT, query $QUERY_URL"
}

cmd_down() {
  local pid i
  if ! ours; then rm -f "$PID"; log "stopped"; return 0; fi
  pid=$(head -n1 "$PID")
  kill -TERM "$pid" 2>/dev/null || true
  for ((i = 0; i < 100; i++)); do kill -0 "$pid" 2>/dev/null || break; sleep 0.2; done
  if kill -0 "$pid" 2>/dev/null; then
    log "did not stop within 20s; killing pid $pid"
    kill -KILL "$pid" 2>/dev/null || true
  fi
  rm -f "$PID"
  log "stopped"
}

cmd_status() {
  if ready; then echo "jaeger   up   $QUERY_URL"; else echo "jaeger   down $QUERY_URL"; return 1; fi
}

case "${1:-}" in
  up) cmd_up ;;
  down) cmd_down ;;
  status) cmd_status ;;
  *) awk 'NR > 1 && !/^#/ { exit } NR > 1 { sub(/^# ?/, ""); print }' "${BASH_SOURCE[0]}" >&2; exit 2 ;;
esac
