# shellcheck shell=bash
# Settings shared by the bench scripts (sourced by bench/run.sh): ports, paths, progress lines.
#
# Every port is LEDGER_BENCH_PORT_BASE (default 26400) plus a fixed offset, so the bench's stack
# never meets the dev stack (6379/5432/9092/9093/50051/9464/4317/16686) nor the tests'. Run two
# benches at once only with two bases.

PORT_BASE="${LEDGER_BENCH_PORT_BASE:-26400}"
REDIS_PORT=$((PORT_BASE + 1))
PG_PORT=$((PORT_BASE + 2))
KAFKA_PORT=$((PORT_BASE + 3))
KAFKA_CONTROLLER_PORT=$((PORT_BASE + 4))
JAEGER_OTLP_GRPC_PORT=$((PORT_BASE + 5))
JAEGER_QUERY_PORT=$((PORT_BASE + 7))
DURABLE_GRPC_PORT=$((PORT_BASE + 11)) DURABLE_HTTP_PORT=$((PORT_BASE + 12))
FAST_GRPC_PORT=$((PORT_BASE + 13)) FAST_HTTP_PORT=$((PORT_BASE + 14))
BASELINE_GRPC_PORT=$((PORT_BASE + 15)) BASELINE_METRICS_PORT=$((PORT_BASE + 17))

# The bench's own state dir (Redis, Postgres, Kafka, Jaeger data, logs and pids).
STATE="${LEDGER_BENCH_STATE_DIR:-$ROOT/.stack/bench}"

# Environment for scripts/stack.sh and scripts/jaeger.sh: the bench's ports and state dir, whatever
# the caller's LEDGER_* variables say (scripts/test.sh exports the test stack's).
STACK_ENV=(
  LEDGER_STACK_DIR="$STATE" LEDGER_REDIS_PORT="$REDIS_PORT" LEDGER_PG_PORT="$PG_PORT"
  LEDGER_KAFKA_PORT="$KAFKA_PORT" LEDGER_KAFKA_CONTROLLER_PORT="$KAFKA_CONTROLLER_PORT"
  LEDGER_KAFKA_JAVA_OPTS=-XX:TieredStopAtLevel=4
  LEDGER_JAEGER_OTLP_GRPC_PORT="$JAEGER_OTLP_GRPC_PORT" LEDGER_JAEGER_OTLP_HTTP_PORT=$((PORT_BASE + 6))
  LEDGER_JAEGER_QUERY_PORT="$JAEGER_QUERY_PORT" LEDGER_JAEGER_QUERY_GRPC_PORT=$((PORT_BASE + 8))
  LEDGER_JAEGER_HEALTH_PORT=$((PORT_BASE + 9)) LEDGER_JAEGER_METRICS_PORT=$((PORT_BASE + 10))
)

BENCH_T0=$SECONDS
# say <text>: one progress line, with the time since the bench started.
say() { printf '[bench %02d:%02d] %s\n' $(((SECONDS - BENCH_T0) / 60)) $(((SECONDS - BENCH_T0) % 60)) "$*"; }
die() { echo "bench: ERROR: $*" >&2; exit 1; }

port_free() { ! timeout 1 bash -c "exec 3<>/dev/tcp/127.0.0.1/$1" 2>/dev/null; }

# wait_for <seconds> <cmd...>: poll every 0.2 s; false when it never succeeded.
wait_for() {
  local deadline=$((SECONDS + $1))
  shift
  until "$@" >/dev/null 2>&1; do
    [ "$SECONDS" -lt "$deadline" ] || return 1
    sleep 0.2
  done
}
