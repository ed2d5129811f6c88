#!/usr/bin/env bash
# `npm run bench`: Reserve latency and cost of the ledger (durable and fast acks) against a minimal
# baseline server doing the same Redis work, on the bench's own stack, from whatever this checkout
# holds. See README "Performance" for what it measures and how to read it.
#
#   npm run bench [-- options]
#     --rates 250,500,1000,2000,4000  open-loop arrival rates (Reserve/s), each system at each
#     --seconds 30                    per rate (and for the mixed flow)
#     --warmup 10                     seconds of load per system before anything is measured
#     --ceiling-seconds 15            closed-loop run per system (0 skips it)
#     --mixed-rate 1000               the mixed flow on the durable service (0 skips it)
#     --accounts 100                  funded accounts the calls go round
#     --concurrency 200 --connections 4
#     --systems durable,fast,baseline a subset, for quick loops
#     --cpu-prof                      then a CPU profile of the durable service at 1000/s (or the
#                                     listed rate nearest it)
#     --smoke                         ~10 s of tiny load, one rate per system (CI; no timing claims)
#     --no-build                      use dist/ as it is
#     --keep-stack                    leave the bench's stack running for the next run
#     --out DIR                       raw results (default bench/results/<run id>, git-ignored)
#     --no-latest                     do not update reports/bench/latest.{md,svg} and README's excerpt
#
# Ports: LEDGER_BENCH_PORT_BASE (default 26400) + 1..17; state: LEDGER_BENCH_STATE_DIR (default
# .stack/bench). Installs what it needs itself (scripts/setup.sh; ghz and Jaeger from scripts/tools.sh).
set -Eeuo pipefail
# Name the failing command (set -e alone exits silently); background jobs stay quiet.
trap '[ "$BASHPID" != "$$" ] || echo "bench: ERROR: failed at ${BASH_SOURCE[0]#"$ROOT/"}:$LINENO: $BASH_COMMAND" >&2' ERR
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"

RATES=250,500,1000,2000,4000 SECONDS_PER=30 WARMUP=10 CEILING=15 MIXED_RATE=1000 ACCOUNTS=100
CONCURRENCY=200 CONNECTIONS=4 SYSTEMS=durable,fast,baseline CPU_PROF=false SMOKE=false BUILD=true
KEEP_STACK=false OUT="" LATEST=true
ARGS="$*"
while [ $# -gt 0 ]; do
  case "$1" in
    --rates) RATES=$2; shift 2 ;;
    --seconds) SECONDS_PER=$2; shift 2 ;;
    --warmup) WARMUP=$2; shift 2 ;;
    --ceiling-seconds) CEILING=$2; shift 2 ;;
    --mixed-rate) MIXED_RATE=$2; shift 2 ;;
    --accounts) ACCOUNTS=$2; shift 2 ;;
    --concurrency) CONCURRENCY=$2; shift 2 ;;
    --connections) CONNECTIONS=$2; shift 2 ;;
    --systems) SYSTEMS=$2; shift 2 ;;
    --cpu-prof) CPU_PROF=true; shift ;;
    --smoke) SMOKE=true RATES=20 SECONDS_PER=1 WARMUP=0 CEILING=1 MIXED_RATE=40 ACCOUNTS=10 LATEST=false; shift ;;
    --no-build) BUILD=false; shift ;;
    --keep-stack) KEEP_STACK=true; shift ;;
    --out) OUT=$2; shift 2 ;;
    --no-latest) LATEST=false; shift ;;
    -h | --help) awk 'NR > 1 && !/^#/ { exit } NR > 1 { sub(/^# ?/, ""); print }' "$0"; exit 0 ;;
    *) echo "bench: unknown option $1 (see --help)" >&2; exit 2 ;;
  esac
done
IFS=, read -r -a RATE_LIST <<<"$RATES"
IFS=, read -r -a SYSTEM_LIST <<<"$SYSTEMS"
RUN_ID="r$(date +%Y%m%d-%H%M%S)"
OUT="${OUT:-$ROOT/bench/results/$RUN_ID}"
ACCOUNT_PREFIX=acct

source bench/lib/common.sh
source bench/lib/cpu.sh
source bench/lib/stack.sh
source bench/lib/systems.sh
source bench/lib/load.sh
source bench/lib/mixed.sh
has() { [[ ",$SYSTEMS," == *",$1,"* ]]; }

mkdir -p "$OUT/logs" "$OUT/runs"
say "run $RUN_ID: rates ${RATES}/s x ${SECONDS_PER}s, systems $SYSTEMS; results in ${OUT#"$ROOT/"}"
[ "$SMOKE" = true ] && say "smoke mode: tiny load to check the harness; the numbers mean nothing"

cleanup() {
  local s j
  for j in $(jobs -p); do kill "$j" 2>/dev/null || true; done # a sampler or ghz left by a failure
  for s in durable fast baseline; do stop_system "$s"; done
  if [ "$KEEP_STACK" = true ]; then
    say "the bench's stack keeps running (ports $PORT_BASE+; stop: LEDGER_STACK_DIR=$STATE scripts/stack.sh down)"
  else
    bench_stack_down
  fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

say "build: npm dependencies, generated code, nest build, ghz, jaeger"
bash scripts/setup.sh >"$OUT/logs/setup.log" 2>&1 || { tail -n 20 "$OUT/logs/setup.log" >&2; die "scripts/setup.sh failed"; }
NODE="$(bash scripts/node24.sh)/node"
if [ "$BUILD" = true ]; then
  PATH="$(dirname "$NODE"):$ROOT/node_modules/.bin:$PATH" nest build >"$OUT/logs/build.log" 2>&1 ||
    { tail -n 30 "$OUT/logs/build.log" >&2; die "nest build failed"; }
fi
GHZ="$(bash scripts/tools.sh ghz jaeger 2>"$OUT/logs/tools.log" | tail -1)/ghz" || { cat "$OUT/logs/tools.log" >&2; die "tools"; }
bash bench/lib/context.sh "$ARGS" >"$OUT/context.json"

say "stack: Redis :$REDIS_PORT, Postgres :$PG_PORT, Kafka :$KAFKA_PORT, Jaeger :$JAEGER_OTLP_GRPC_PORT (state ${STATE#"$ROOT/"})"
bench_stack_up
ledgers=()
for s in durable fast; do has "$s" && ledgers+=("$s"); done
[ ${#ledgers[@]} -eq 0 ] || prepare_topics "${ledgers[@]}"
for s in durable fast; do
  has "$s" || continue
  prepare_ledger "$s"
  flags=()
  # --cpu-prof: an inspector on loopback, idle until profile.sh attaches to it.
  [ "$s" = durable ] && [ "$CPU_PROF" = true ] && flags=(--inspect=127.0.0.1:$((PORT_BASE + 16)))
  start_ledger "$s" "${flags[@]}"
  seed_accounts "$s"
  say "$s service ready on :$(system_grpc_port "$s") (pid ${CPU_PIDS[$s]}), $ACCOUNTS accounts funded"
done
if has baseline; then
  start_baseline
  seed_accounts baseline
  say "baseline ready on :$BASELINE_GRPC_PORT (pid ${CPU_PIDS[baseline]}), $ACCOUNTS accounts funded"
fi

if [ "$WARMUP" -gt 0 ]; then
  say "warm-up: ${WARMUP}s per system at 500/s"
  for s in "${SYSTEM_LIST[@]}"; do run_measured "warmup-$s" "$s" warmup 500 "$WARMUP" launch_open 500 "$WARMUP"; done
fi
say "idle CPU of the stack and the systems (subtracted from the shared processes per run)"
measure_idle "$([ "$SMOKE" = true ] && echo 1 || echo 5)"

say "open loop: Reserve at ${RATES}/s, ${SECONDS_PER}s each, --concurrency $CONCURRENCY --connections $CONNECTIONS, interleaved"
declare -A SATURATED=()
for i in "${!RATE_LIST[@]}"; do
  rate=${RATE_LIST[$i]}
  # Rotate the order per rate, so no system always runs right after another's backlog.
  for j in "${!SYSTEM_LIST[@]}"; do
    s=${SYSTEM_LIST[$(((i + j) % ${#SYSTEM_LIST[@]}))]}
    if [ -n "${SATURATED[$s]:-}" ]; then
      say "  ${rate}/s: $s skipped (saturated at ${SATURATED[$s]}/s: under half the rate reached or half the calls failed)"
      continue
    fi
    run_measured "open-$rate-$s" "$s" open "$rate" "$SECONDS_PER" launch_open "$rate" "$SECONDS_PER"
    if saturated "$OUT/runs/open-$rate-$s"; then SATURATED[$s]=$rate; fi
  done
done

if [ "$CEILING" -gt 0 ]; then
  say "closed loop (ceiling): $CONCURRENCY callers, ${CEILING}s per system"
  for s in "${SYSTEM_LIST[@]}"; do run_measured "ceiling-$s" "$s" ceiling 0 "$CEILING" launch_ceiling "$CEILING"; done
fi

if [ "$MIXED_RATE" -gt 0 ] && has durable; then
  say "mixed flow at ${MIXED_RATE}/s on durable: 60% Reserve, 25% partial Commit, 10% Release, 5% GetAccount"
  mixed_prepare "$OUT/runs/mixed-$MIXED_RATE-durable" durable "$MIXED_RATE" "$SECONDS_PER"
  run_measured "mixed-$MIXED_RATE-durable" durable mixed "$MIXED_RATE" "$SECONDS_PER" launch_mixed "$MIXED_RATE" "$SECONDS_PER"
fi

if [ "$CPU_PROF" = true ] && has durable; then
  source bench/lib/profile.sh
  profile_durable
fi

say "report"
"$NODE" bench/report/summarize.js "$OUT" >"$OUT/summary.json"
"$NODE" bench/report/markdown.js "$OUT/summary.json" plot.svg >"$OUT/summary.md"
"$NODE" bench/report/plot.js "$OUT/summary.json" >"$OUT/plot.svg"
"$NODE" bench/report/markdown.js "$OUT/summary.json" --targets
if [ "$LATEST" = true ]; then
  mkdir -p reports/bench
  "$NODE" bench/report/markdown.js "$OUT/summary.json" latest.svg >reports/bench/latest.md
  cp "$OUT/plot.svg" reports/bench/latest.svg
  "$NODE" bench/report/readme.js "$OUT/summary.json" README.md
  say "wrote reports/bench/latest.md, latest.svg and README's latest-run excerpt (commit them to publish this run)"
fi
say "done: ${OUT#"$ROOT/"}/summary.md, summary.json, plot.svg"
