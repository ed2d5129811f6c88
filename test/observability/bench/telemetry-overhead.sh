#!/usr/bin/env bash
# What telemetry costs on the hot path: Reserve latency at fixed arrival rates (ghz, open loop)
# and the maximum throughput, with telemetry off, metrics+logs only, and traces at 10% and 100%.
#
#   bash test/observability/bench/telemetry-overhead.sh [--rates "1000 2000 4000"] [--seconds 15]
#                                                       [--rounds 2] [--first-round 1] [--out bench/results/telemetry-overhead]
#
# The service runs with workers off, so the outbox only grows: its bound is raised and Redis is
# flushed before each configuration.
# Needs the stack's Postgres (scripts/stack.sh up postgres) and a build (nest build). Each
# configuration runs the built service the production way (`node --require
# ./dist/src/instrumentation.js dist/src/main.js`) pinned to CPU 0, against a private Redis and a
# private, freshly migrated database; ghz, that Redis and Jaeger (the trace sink) run on CPU 1. The service runs with fast acks
# and without the relay/publisher workers (LEDGER_ACK_MODE=fast, LEDGER_WORKERS=false) so that
# only the request path is measured. Configurations alternate within each round, so that drift
# on a shared machine spreads over all of them. Writes one small JSON summary per run and a
# markdown table to --out.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../../.." && pwd)"
cd "$root"
rates="1000 2000 4000" seconds=15 rounds=2 first=1 out=bench/results/telemetry-overhead # git-ignored
while [ $# -gt 0 ]; do
  case "$1" in
    --rates) rates=$2; shift 2 ;;
    --seconds) seconds=$2; shift 2 ;;
    --rounds) rounds=$2; shift 2 ;;
    --first-round) first=$2; shift 2 ;; # to add rounds to an --out that has some
    --out) out=$2; shift 2 ;;
    *) echo "unknown argument $1" >&2; exit 2 ;;
  esac
done
bin="$(bash scripts/tools.sh ghz grpcurl jaeger | tail -1)"
node="$(bash scripts/node24.sh)/node"
mkdir -p "$out"
work="$(mktemp -d)"
service_pid=""
jaeger_env=(
  LEDGER_STACK_DIR="$work/stack" LEDGER_JAEGER_OTLP_GRPC_PORT=34317 LEDGER_JAEGER_OTLP_HTTP_PORT=34318
  LEDGER_JAEGER_QUERY_PORT=36686 LEDGER_JAEGER_QUERY_GRPC_PORT=36685 LEDGER_JAEGER_HEALTH_PORT=33133
  LEDGER_JAEGER_METRICS_PORT=38888
)
redis_port=36379
database="ledger_bench_$$"
admin_url="${LEDGER_DATABASE_URL:-postgres://ledger:ledger@127.0.0.1:5432/ledger}"
database_url="${admin_url%/*}/$database"
cleanup() {
  if [ -n "$service_pid" ]; then kill "$service_pid" 2>/dev/null || true; wait "$service_pid" 2>/dev/null || true; fi
  env "${jaeger_env[@]}" bash scripts/jaeger.sh down >/dev/null 2>&1 || true
  redis-cli -p "$redis_port" shutdown nosave >/dev/null 2>&1 || true
  psql "$admin_url" -qc "DROP DATABASE IF EXISTS $database WITH (FORCE)" >/dev/null 2>&1 || true
  rm -rf "$work"
}
trap cleanup EXIT
env "${jaeger_env[@]}" taskset -c 1 bash scripts/jaeger.sh up
taskset -c 1 redis-server --port "$redis_port" --bind 127.0.0.1 --save '' --appendonly no --daemonize yes \
  --dir "$work" --logfile "$work/redis.log"
psql "$admin_url" -qc "CREATE DATABASE $database"
LEDGER_DATABASE_URL="$database_url" "$node" dist/src/infrastructure/postgres/migrate.js >/dev/null

# name: environment of the service (and whether the SDK is preloaded)
declare -A config_env=(
  [off]="LEDGER_TELEMETRY=off OTEL_SDK_DISABLED=true"
  [metrics]="LEDGER_TELEMETRY=on OTEL_SDK_DISABLED=true"
  [traces10]="LEDGER_TELEMETRY=on OTEL_TRACES_SAMPLER=parentbased_traceidratio OTEL_TRACES_SAMPLER_ARG=0.1"
  [traces100]="LEDGER_TELEMETRY=on OTEL_TRACES_SAMPLER=parentbased_traceidratio OTEL_TRACES_SAMPLER_ARG=1"
)
configs="off metrics traces10 traces100"

start_service() { # name
  local grpc=$1 http=$2 name=$3 preload=()
  [ "$name" = traces10 ] || [ "$name" = traces100 ] && preload=(--require ./dist/src/instrumentation.js)
  # shellcheck disable=SC2086
  env ${config_env[$name]} OTEL_EXPORTER_OTLP_ENDPOINT=http://127.0.0.1:34317 OTEL_SERVICE_NAME=ledger-bench \
    LEDGER_ACK_MODE=fast LEDGER_WORKERS=false LEDGER_OUTBOX_MAX_PER_BUCKET=10000000 \
    LEDGER_GRPC_ADDRESS="127.0.0.1:$grpc" LEDGER_HTTP_PORT="$http" \
    LEDGER_REDIS_URL="redis://127.0.0.1:$redis_port/0" LEDGER_DATABASE_URL="$database_url" \
    LOG_LEVEL=info taskset -c 0 "$node" "${preload[@]}" dist/src/main.js >"$work/service.log" 2>&1 &
  service_pid=$!
  for _ in $(seq 1 150); do
    curl -sf "127.0.0.1:$http/health/ready" >/dev/null && return 0
    sleep 0.1
  done
  cat "$work/service.log" >&2
  echo "service did not become ready" >&2
  exit 1
}

# utime + stime of the service process, in clock ticks
cpu_ticks() { awk '{ print $14 + $15 }' "/proc/$service_pid/stat"; }

stop_service() {
  kill "$service_pid" 2>/dev/null || true
  wait "$service_pid" 2>/dev/null || true
  service_pid=""
}

# One small JSON per run: rates, percentiles (of the requests ghz completed), the service's CPU
# time per OK request, and failures apart from the requests ghz cut when a -z run ends.
# shellcheck disable=SC2016 # JavaScript, not shell
summary='const r=require(process.argv[1]);const p=Object.fromEntries((r.latencyDistribution||[]).map(d=>[d.percentage,d.latency/1e6]));
const errors=r.errorDistribution||{};const cut=Object.entries(errors).filter(([k])=>k.includes("closed network connection")).reduce((n,[,v])=>n+v,0);
const ok=(r.statusCodeDistribution||{}).OK||0;const cpuMs=Number(process.argv[6])*1000/Number(process.argv[7]);
const s={config:process.argv[2],rate:process.argv[3],round:Number(process.argv[4]),count:r.count,ok,rps:Math.round(r.rps||0),
p50_ms:p[50],p90_ms:p[90],p99_ms:p[99],max_ms:r.slowest/1e6,mean_ms:r.average/1e6,cpu_ms:cpuMs,cpu_us_per_call:ok?cpuMs*1000/ok:null,
failed:r.count-ok-cut,cut_at_end:cut,status:r.statusCodeDistribution,errors};
require("fs").writeFileSync(process.argv[5],JSON.stringify(s,null,1)+"\n");
console.log(`${s.config} ${s.rate} r${s.round}: n=${s.count} rps=${s.rps} p50=${s.p50_ms} p99=${s.p99_ms} max=${s.max_ms} cpu/call=${s.cpu_us_per_call} failed=${s.failed}`)'

ghz_run() { # grpc account rate|max|warm amount(requests, or seconds for max) file
  local grpc=$1 account=$2 rate=$3 amount=$4 file=$5 load=()
  case "$rate" in
    warm) load=(--concurrency 64 --connections 4 -n "$amount") ;;
    max) load=(--concurrency 64 --connections 4 -z "${amount}s") ;;
    *) load=(--async --rps "$rate" --concurrency 64 --connections 4 -n "$amount") ;;
  esac
  taskset -c 1 "$bin/ghz" --insecure --cpus 1 --call ledger.v1.LedgerService/Reserve "${load[@]}" --timeout 5s \
    -d "{\"reservation_id\":\"$account-$rate-{{.RequestNumber}}\",\"account_id\":\"$account\",\"amount\":{\"amount\":\"0.01\",\"currency\":\"USD\"}}" \
    --format json --output "$file" "127.0.0.1:$grpc" >/dev/null
}

for round in $(seq "$first" $((first + rounds - 1))); do
  for name in $configs; do
    grpc=$((51000 + RANDOM % 800)) http=$((9600 + RANDOM % 300))
    # Every configuration starts from an empty Redis (no relay runs: the outbox only grows).
    redis-cli -p "$redis_port" flushall >/dev/null
    start_service "$grpc" "$http" "$name"
    account="bench-$name-$round-$(date +%s)"
    g() { "$bin/grpcurl" -plaintext -d "$2" "127.0.0.1:$grpc" "ledger.v1.LedgerService/$1" >/dev/null; }
    g OpenAccount "{\"account_id\":\"$account\",\"currency\":\"USD\"}"
    g Deposit "{\"transaction_id\":\"$account-funding\",\"account_id\":\"$account\",\"amount\":{\"amount\":\"1000000000.00\",\"currency\":\"USD\"}}"
    ghz_run "$grpc" "$account" warm 3000 "$work/warm.json" # warm-up (JIT, connections)
    for rate in $rates max; do
      if [ "$rate" = max ]; then amount=$seconds; else amount=$((rate * seconds)); fi
      cpu_before=$(cpu_ticks)
      ghz_run "$grpc" "$account" "$rate" "$amount" "$work/run.json"
      cpu_after=$(cpu_ticks)
      "$node" -e "$summary" "$work/run.json" "$name" "$rate" "$round" "$out/$name-$rate-r$round.json" \
        "$((cpu_after - cpu_before))" "$(getconf CLK_TCK)"
    done
    stop_service
  done
done

# shellcheck disable=SC2016 # JavaScript, not shell
table='const fs=require("fs"),dir=process.argv[1];const rows=fs.readdirSync(dir).filter(f=>/-r[0-9]+\.json$/.test(f)).map(f=>JSON.parse(fs.readFileSync(dir+"/"+f)));
const configs=["off","metrics","traces10","traces100"],rates=[...new Set(rows.map(r=>r.rate))].sort((a,b)=>(a==="max")-(b==="max")||a-b);
const med=(xs)=>{const s=[...xs].sort((a,b)=>a-b);return s.length?s[Math.floor((s.length-1)/2)]:NaN};const f=(x,d)=>Number.isFinite(x)?x.toFixed(d):"-";
let md="| rate (req/s) | telemetry | runs | achieved req/s | p50 ms | p99 ms | max ms | service CPU µs/call | failed |\n|---|---|---|---|---|---|---|---|---|\n";
for(const rate of rates)for(const c of configs){const rs=rows.filter(r=>r.rate===rate&&r.config===c);if(!rs.length)continue;
md+=`| ${rate} | ${c} | ${rs.length} | ${med(rs.map(r=>r.rps))} | ${f(med(rs.map(r=>r.p50_ms)),2)} | ${f(med(rs.map(r=>r.p99_ms)),2)} | ${f(med(rs.map(r=>r.max_ms)),1)} | ${f(med(rs.map(r=>r.cpu_us_per_call)),0)} | ${rs.reduce((n,r)=>n+r.failed,0)} |\n`;}
fs.writeFileSync(dir+"/summary.md",md);console.log(md)'
"$node" -e "$table" "$out"
