#!/usr/bin/env bash
# Open-loop latency of Reserve: ghz at a fixed arrival rate against the built service, one fresh
# reservation id per request (no replays), on an account funded for the whole run.
#
#   bench/reserve.sh [--mode durable|fast] [--rps N] [--seconds S] [--accounts N] [--split] [--label NAME]
#
# --split runs the relay and publisher in a second process (LEDGER_WORKERS=false on the one that
# serves gRPC), so that their batches never hold up the event loop that answers calls.
#
# --accounts N (default 1) spreads the requests round-robin over N funded accounts: 1 is the
# hardest case (one account collecting every hold), many is closer to an order flow.
#
# Needs the stack (scripts/stack.sh up) and a build (npm run build). Starts its own service
# process on free ports, writes reports/<label>.json (ghz) and prints p50/p90/p99/max.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
mode=durable rps=1000 seconds=10 accounts=1 split=false label=""
while [ $# -gt 0 ]; do
  case "$1" in
    --mode) mode=$2; shift 2 ;;
    --rps) rps=$2; shift 2 ;;
    --seconds) seconds=$2; shift 2 ;;
    --accounts) accounts=$2; shift 2 ;;
    --split) split=true; shift ;;
    --label) label=$2; shift 2 ;;
    *) echo "unknown argument $1" >&2; exit 2 ;;
  esac
done
label=${label:-reserve-$mode-${rps}rps-${accounts}acct}
bin="$(bash scripts/tools.sh ghz grpcurl | tail -1)"
node_bin="$(bash scripts/node24.sh)"
grpc_port=$((50100 + RANDOM % 800)) http_port=$((9500 + RANDOM % 400))
log="$(mktemp)"
workers=true
[ "$split" = true ] && workers=false
LEDGER_WORKERS=$workers LEDGER_ACK_MODE=$mode LEDGER_GRPC_ADDRESS=127.0.0.1:$grpc_port LEDGER_HTTP_PORT=$http_port \
  LOG_LEVEL=warn "$node_bin/node" dist/src/main.js >"$log" 2>&1 &
pid=$!
pids=$pid
if [ "$split" = true ]; then
  # The worker serves gRPC too (on a port nobody calls); it runs the relay and the publisher.
  LEDGER_ACK_MODE=$mode LEDGER_GRPC_ADDRESS=127.0.0.1:$((grpc_port + 1)) LEDGER_HTTP_PORT=$((http_port + 1)) \
    LOG_LEVEL=warn "$node_bin/node" dist/src/main.js >>"$log" 2>&1 &
  pids="$pids $!"
fi
# shellcheck disable=SC2086 # $pids is a list
trap 'kill $pids 2>/dev/null; wait $pids 2>/dev/null || true; rm -f "$log"' EXIT
for _ in $(seq 1 100); do
  curl -sf "127.0.0.1:$http_port/health/ready" >/dev/null && break
  sleep 0.1
done
# Events left in the outbox by an earlier run (e.g. one with LEDGER_WORKERS=false) would be
# drained during this one and inflate its numbers: wait for the service to drain them first.
redis_url="${LEDGER_REDIS_URL:-redis://127.0.0.1:6379/0}"
backlog() {
  local b total=0
  for ((b = 0; b < ${LEDGER_BUCKETS:-16}; b++)); do
    total=$((total + $(redis-cli -u "$redis_url" XLEN "ledger:{b$b}:outbox")))
  done
  echo "$total"
}
for _ in $(seq 1 600); do [ "$(backlog)" -eq 0 ] && break; sleep 0.1; done
left=$(backlog)
if [ "$left" -ne 0 ]; then
  echo "the outbox still holds $left events after 60 s; not measuring on top of a backlog" >&2
  exit 1
fi
run="bench-$(date +%s)-$RANDOM"
g() { "$bin/grpcurl" -plaintext -d "$2" "127.0.0.1:$grpc_port" "ledger.v1.LedgerService/$1" >/dev/null; }
# One request template per account; ghz cycles through an array of messages for unary calls.
requests="["
for i in $(seq 1 "$accounts"); do
  account="$run-$i"
  g OpenAccount "{\"account_id\":\"$account\",\"currency\":\"USD\"}"
  g Deposit "{\"transaction_id\":\"$account-funding\",\"account_id\":\"$account\",\"amount\":{\"amount\":\"1000000000.00\",\"currency\":\"USD\"}}"
  [ "$i" -gt 1 ] && requests+=","
  requests+="{\"reservation_id\":\"$account-{{.RequestNumber}}\",\"account_id\":\"$account\",\"amount\":{\"amount\":\"0.01\",\"currency\":\"USD\"}}"
done
requests+="]"
mkdir -p reports
total=$((rps * seconds))
# CPU seconds used during the run, per process group: on a small shared machine these per-request
# costs are steadier than latency percentiles, and they show which component a change helped.
hz=$(getconf CLK_TCK)
ticks() { # ticks <comm>... : utime+stime of the live processes with these command names
  for stat in /proc/[0-9]*/stat; do cat "$stat" 2>/dev/null; done |
    awk -v names=" $* " '{ c = $2; gsub(/[()]/, "", c); if (index(names, " " c " ")) { sub(/^.*\) /, ""); t += $12 + $13 } } END { print t + 0 }'
}
service_ticks() { # both processes with --split
  local p t=0
  for p in $pids; do t=$((t + $(awk '{ sub(/^.*\) /, ""); print $12 + $13 }' "/proc/$p/stat"))); done
  echo "$t"
}
cpu_before="$(service_ticks) $(ticks redis-server) $(ticks postgres) $(ticks java)"
# The API process's own stalls: prom-client resets its event-loop delay histogram at each scrape,
# so a scrape now and one after the run give the run's loop delay; GC time from the counters.
metric() { awk -v m="$1" '$1 == m { print $2 }' "$2"; }
curl -sf "127.0.0.1:$http_port/metrics" >"$log.metrics-before"
"$bin/ghz" --insecure --call ledger.v1.LedgerService/Reserve \
  --rps "$rps" -n "$total" --concurrency 64 --connections 4 --timeout 5s \
  -d "$requests" \
  --format json --output "reports/$label.json" "127.0.0.1:$grpc_port"
cpu_after="$(service_ticks) $(ticks redis-server) $(ticks postgres) $(ticks java)"
curl -sf "127.0.0.1:$http_port/metrics" >"$log.metrics-after"
gc_sum() { awk '/^nodejs_gc_duration_seconds_sum/ { s += $2 } END { print s + 0 }' "$1"; }
loop_line=$(printf 'event loop delay p99=%.1fms max=%.1fms, gc=%.0fms' \
  "$(echo "$(metric nodejs_eventloop_lag_p99_seconds "$log.metrics-after") * 1000" | bc -l)" \
  "$(echo "$(metric nodejs_eventloop_lag_max_seconds "$log.metrics-after") * 1000" | bc -l)" \
  "$(echo "($(gc_sum "$log.metrics-after") - $(gc_sum "$log.metrics-before")) * 1000" | bc -l)")
rm -f "$log.metrics-before" "$log.metrics-after"
cpu_line=$(echo "$cpu_before $cpu_after" | awk -v hz="$hz" -v n="$total" '{
  printf "cpu per request: service=%.0fus redis=%.0fus postgres=%.0fus kafka=%.0fus",
    ($5 - $1) / hz / n * 1e6, ($6 - $2) / hz / n * 1e6, ($7 - $3) / hz / n * 1e6, ($8 - $4) / hz / n * 1e6 }')
# Keep the report small: drop ghz's per-request details, keep the histogram and percentiles.
# The CPU figures go into the report too (field ledgerCpu), with the run's settings.
"$node_bin/node" -e 'const fs=require("fs");const f=process.argv[1];const r=JSON.parse(fs.readFileSync(f));delete r.details;
r.ledgerCpu=process.argv[2];r.ledgerServiceLoop=process.argv[6];r.ledgerRun={mode:process.argv[3],accounts:Number(process.argv[4]),split:process.argv[5]==="true"};fs.writeFileSync(f,JSON.stringify(r,null,1))' \
  "$root/reports/$label.json" "$cpu_line" "$mode" "$accounts" "$split" "$loop_line"
node_summary='const r=require(process.argv[1]);const ms=(ns)=>(ns/1e6).toFixed(2);const p=Object.fromEntries(r.latencyDistribution.map(d=>[d.percentage,d.latency]));
console.log(`${process.argv[2]}: count=${r.count} rps=${r.rps.toFixed(0)} p50=${ms(p[50])}ms p90=${ms(p[90])}ms p99=${ms(p[99])}ms max=${ms(r.slowest)}ms errors=${JSON.stringify(r.statusCodeDistribution)}`)'
"$node_bin/node" -e "$node_summary" "$root/reports/$label.json" "$label"
echo "$label: $cpu_line"
echo "$label: $loop_line"
