#!/usr/bin/env bash
# A diagnostic, not part of `npm run bench`: where a Reserve's CPU goes, split by process. The
# service runs as two processes on the bench's stack, both in fast mode: one serves gRPC with
# LEDGER_WORKERS=false (the hot path only), the other only relays and publishes (its gRPC port gets
# no calls). ghz drives an open loop at the rate given. Prints CPU per call of each process, of
# Redis and of Postgres (from /proc), relay rounds (the relay's batch count) and latency.
#
#   npm run bench -- --smoke --keep-stack --systems fast   # once: the stack, a migrated database
#   bash bench/split-relay.sh [--rate 250] [--seconds 20] [--a-env "K=V ..."] [--b-env "K=V ..."]
#
# --a-env/--b-env add environment to the gRPC/relay process (e.g. OTEL_SDK_DISABLED=true,
# LEDGER_SNAPSHOT_EVERY=1000000); NODE_FLAGS_A/NODE_FLAGS_B add node flags (e.g. --cpu-prof).
set -Eeuo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
RATE=250 SECONDS_PER=20 A_ENV="" B_ENV=""
while [ $# -gt 0 ]; do
  case "$1" in
    --rate) RATE=$2; shift 2 ;;
    --seconds) SECONDS_PER=$2; shift 2 ;;
    --a-env) A_ENV=$2; shift 2 ;;
    --b-env) B_ENV=$2; shift 2 ;;
    *) echo "split-relay: unknown option $1" >&2; exit 2 ;;
  esac
done
source bench/lib/common.sh
source bench/lib/load.sh # json_array, GHZ_FLAGS
NODE="$(bash scripts/node24.sh)/node"
GHZ="$(bash scripts/tools.sh ghz | tail -1)/ghz"
LOGS=$(mktemp -d)
GRPC_A=$((PORT_BASE + 31)) HTTP_A=$((PORT_BASE + 32)) GRPC_B=$((PORT_BASE + 33)) HTTP_B=$((PORT_BASE + 34))
COMMON=(LEDGER_ACK_MODE=fast LEDGER_HTTP_HOST=127.0.0.1 LEDGER_REDIS_URL="redis://127.0.0.1:$REDIS_PORT/1"
  LEDGER_DATABASE_URL="postgres://ledger:ledger@127.0.0.1:$PG_PORT/ledger_bench_fast"
  LEDGER_KAFKA_BROKERS="127.0.0.1:$KAFKA_PORT" LEDGER_KAFKA_TOPIC=ledger.bench.split LEDGER_TELEMETRY=on LOG_LEVEL=warn
  OTEL_SERVICE_NAME=ledger-split OTEL_EXPORTER_OTLP_ENDPOINT="http://127.0.0.1:$JAEGER_OTLP_GRPC_PORT"
  OTEL_TRACES_SAMPLER=parentbased_traceidratio OTEL_TRACES_SAMPLER_ARG=0.1)
start() { # start <workers> <grpc port> <http port> <extra env> <node flags>: prints the pid
  local extra=()
  read -r -a extra <<<"$4"
  # shellcheck disable=SC2086 # node flags are words
  env -u NODE_OPTIONS "${COMMON[@]}" LEDGER_WORKERS="$1" LEDGER_GRPC_ADDRESS="127.0.0.1:$2" LEDGER_HTTP_PORT="$3" \
    "${extra[@]}" "$NODE" $5 --require ./dist/src/instrumentation.js dist/src/main.js >"$LOGS/$2.log" 2>&1 &
  echo $!
}
A=$(start false "$GRPC_A" "$HTTP_A" "$A_ENV" "${NODE_FLAGS_A:-}")
B=$(start true "$GRPC_B" "$HTTP_B" "$B_ENV" "${NODE_FLAGS_B:-}")
trap 'kill "$A" "$B" 2>/dev/null || true' EXIT
for port in "$HTTP_A" "$HTTP_B"; do
  wait_for 90 curl -sf "http://127.0.0.1:$port/health/ready" || die "a process did not become ready (logs: $LOGS)"
done
for i in $(seq 1 100); do printf '{"account_id":"split-%d","currency":"USD"}\n' "$i"; done | json_array >"$LOGS/open.json"
for i in $(seq 1 100); do
  printf '{"transaction_id":"split-fund-%d","account_id":"split-%d","amount":{"amount":"1000000000.00","currency":"USD"}}\n' "$i" "$i"
done | json_array >"$LOGS/deposit.json"
run=$RANDOM$RANDOM
for i in $(seq 1 100); do
  printf '{"reservation_id":"split-%s-{{.RequestNumber}}","account_id":"split-%d","amount":{"amount":"0.01","currency":"USD"}}\n' "$run" "$i"
done | json_array >"$LOGS/reserve.json"
"$GHZ" "${GHZ_FLAGS[@]}" --call ledger.v1.LedgerService/OpenAccount -D "$LOGS/open.json" -n 100 "127.0.0.1:$GRPC_A" >/dev/null
"$GHZ" "${GHZ_FLAGS[@]}" --call ledger.v1.LedgerService/Deposit -D "$LOGS/deposit.json" -n 100 "127.0.0.1:$GRPC_A" >/dev/null
load() { # load <seconds> [ghz flags...]
  local n=$((RATE * $1))
  shift
  "$GHZ" "${GHZ_FLAGS[@]}" --call ledger.v1.LedgerService/Reserve -D "$LOGS/reserve.json" --async --rps "$RATE" -n "$n" \
    --concurrency 200 --connections 4 "$@" "127.0.0.1:$GRPC_A"
}
load 5 >/dev/null # warm-up
ticks() { local s; read -r s <"/proc/$1/stat"; s=${s##*) }; read -r -a f <<<"$s"; echo $((f[11] + f[12])); }
pg_ticks() { # the postmaster and its children
  local main t p
  main=$(pgrep -f "postgres -D $(cat "$STATE/pg.location" 2>/dev/null || echo "$STATE/pg")/data" | head -1)
  t=$(ticks "$main")
  for p in $(pgrep -P "$main"); do t=$((t + $(ticks "$p" 2>/dev/null || echo 0))); done
  echo "$t"
}
rounds() { curl -s "http://127.0.0.1:$HTTP_B/metrics" | awk '/^ledger_relay_batch_size_count/ { print $2 }'; }
REDIS_PID=$(pgrep -f "redis-server 127.0.0.1:$REDIS_PORT" | head -1)
r0=$(rounds) a0=$(ticks "$A") b0=$(ticks "$B") d0=$(ticks "$REDIS_PID") p0=$(pg_ticks)
load "$SECONDS_PER" >"$LOGS/ghz.json"
r1=$(rounds) a1=$(ticks "$A") b1=$(ticks "$B") d1=$(ticks "$REDIS_PID") p1=$(pg_ticks)
calls=$((RATE * SECONDS_PER)) batches=$((${r1%.*} - ${r0%.*}))
per() { echo $((($2 - $1) * 10000 / calls)); } # ticks are 10 ms: us per call
echo "$calls calls at $RATE/s, $batches relay rounds; CPU us/call: gRPC process $(per "$a0" "$a1"), relay process $(per "$b0" "$b1"), Redis $(per "$d0" "$d1"), Postgres $(per "$p0" "$p1")"
# shellcheck disable=SC2016 # JavaScript, not shell
"$NODE" -e 'const j = require(process.argv[1]); const p = Object.fromEntries(j.latencyDistribution.map((d) => [d.percentage, (d.latency / 1e6).toFixed(2)]));
console.log(`achieved ${Math.round(j.rps)}/s, p50 ${p[50]} ms, p99 ${p[99]} ms, errors ${JSON.stringify(j.errorDistribution || {})}`)' "$LOGS/ghz.json"
echo "logs: $LOGS"
