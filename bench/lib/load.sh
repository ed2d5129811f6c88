# shellcheck shell=bash
# ghz runs and what is recorded around each one (sourced by bench/run.sh).
#
# Every measured run has a directory $OUT/runs/<name>/ with meta.json, one ghz-<method>.json per
# ghz process (and its CPU in ghz-<method>.cpu), cpu-before/after (cpu.sh), wall.txt, and for the
# services metrics-before/after.txt (their /metrics) plus samples.txt (gauges every 5 s).
# bench/report/run-stats.js turns that into stats.json and prints the progress line.

GHZ_FLAGS=(--insecure --proto "$ROOT/proto/ledger/v1/ledger.proto" --import-paths "$ROOT/proto" --timeout 10s --format json)

json_array() { awk 'BEGIN { printf "[" } { printf "%s%s", (NR > 1 ? "," : ""), $0 } END { print "]" }'; }

# reserve_data <id prefix>: the Reserve messages, one per account (ghz takes message
# RequestNumber % count), each with a fresh reservation id per call.
reserve_data() {
  local i
  for i in $(seq 1 "$ACCOUNTS"); do
    printf '{"reservation_id":"%s-{{.RequestNumber}}","account_id":"%s-%d","amount":{"amount":"%s","currency":"USD"}}\n' \
      "$1" "$ACCOUNT_PREFIX" "$i" "${2:-0.01}"
  done | json_array
}

# ghz_job <out prefix> <system> <method> <data file> <ghz load flags...>: one ghz process, in the
# foreground. Its CPU (the wrapper shell's cutime+cstime after ghz exited) goes to <prefix>.cpu.
ghz_job() {
  local out=$1 system=$2 method=$3 data=$4
  shift 4
  # shellcheck disable=SC2016 # the inner shell expands these
  CPU_FILE="$out.cpu" bash -c '"$@"; rc=$?; read -r s </proc/$$/stat; s=${s##*) }; set -- $s; echo $((${14} + ${15})) >"$CPU_FILE"; exit $rc' _ \
    "$GHZ" "${GHZ_FLAGS[@]}" --call "ledger.v1.LedgerService/$method" -D "$data" --output "$out.json" "$@" \
    "127.0.0.1:$(system_grpc_port "$system")" >"$out.log" 2>&1 || true
  [ -s "$out.json" ] || { cat "$out.log" >&2; die "ghz wrote no report for $method on $system ($out.log)"; }
}

# ghz_all_ok <out prefix> <system> <method> <data file> <n>: n calls (closed loop), all must be OK.
ghz_all_ok() {
  ghz_job "$1" "$2" "$3" "$4" -n "$5" --concurrency 20 --connections 2
  "$NODE" -e 'const r=require(process.argv[1]);const ok=(r.statusCodeDistribution||{}).OK||0;
    if(ok!==Number(process.argv[2])){console.error(JSON.stringify(r.statusCodeDistribution),JSON.stringify(r.errorDistribution));process.exit(1)}' \
    "$1.json" "$5" || die "$3 on $2: not every call was OK ($1.json)"
}

LOAD_FLAGS=(--concurrency "${CONCURRENCY:-200}" --connections "${CONNECTIONS:-4}")

# Launchers: start the ghz processes of one run in <dir> and wait for them.
launch_open() { # <dir> <system> <rate> <seconds>: Reserve at a fixed arrival rate (open loop)
  reserve_data "$RUN_ID-$(basename "$1")" >"$1/reserve-data.json"
  ghz_job "$1/ghz-Reserve" "$2" Reserve "$1/reserve-data.json" --async --rps "$3" -n $(($3 * $4)) "${LOAD_FLAGS[@]}"
}
launch_ceiling() { # <dir> <system> <seconds>: closed loop, as fast as CONCURRENCY callers go
  reserve_data "$RUN_ID-$(basename "$1")" >"$1/reserve-data.json"
  ghz_job "$1/ghz-Reserve" "$2" Reserve "$1/reserve-data.json" -z "$3s" "${LOAD_FLAGS[@]}"
}
# pending_events <system>: events its outbox and publisher still hold (0 for the baseline); empty
# when /metrics does not answer (a service too busy to answer is not drained either).
pending_events() {
  local url metrics
  url=$(system_metrics_url "$1")
  [ -n "$url" ] || { echo 0; return 0; }
  metrics=$(curl -sf --max-time 5 "$url") || return 0
  awk '/^ledger_outbox_pending_events[{ ]/ { n += $NF } END { print n + 0 }' <<<"$metrics"
}

# wait_drained <dir>: before a run, both services have stored and published everything (a backlog
# left by the previous run would be worked off during this one). Gives up, noting it in the run's
# results, once the backlog has not shrunk for 30 s (a stuck relay or publisher) or after 180 s.
wait_drained() {
  local start=$SECONDS progress=$SECONDS system left best="" n
  while :; do
    left=0
    for system in durable fast; do
      [ -n "${CPU_PIDS[$system]:-}" ] || continue
      n=$(pending_events "$system")
      left=$((left + ${n:-1000000000}))
    done
    [ "$left" -eq 0 ] && return 0
    if [ -z "$best" ] || [ "$left" -lt "$best" ]; then best=$left progress=$SECONDS; fi
    if [ $((SECONDS - progress)) -ge 30 ] || [ $((SECONDS - start)) -ge 180 ]; then
      say "  warning: $left events still wait in the outboxes or for Kafka (see the services' logs); measuring anyway"
      echo "$left" >"$1/pending-at-start.txt"
      return 0
    fi
    sleep 0.5
  done
}

# sample_gauges <url> <file>: every 5 s, the outbox gauges and the event-loop delay (prom-client
# resets its loop-delay histogram at each scrape, so each sample covers the 5 s before it).
sample_gauges() {
  local metrics
  while sleep 5; do
    metrics=$(curl -sf --max-time 2 "$1") || continue
    awk -v t="$(date +%s)" \
      '/^(ledger_outbox_pending_events|ledger_outbox_oldest_unpublished_seconds|nodejs_eventloop_lag_p99_seconds|nodejs_eventloop_lag_max_seconds)[{ ]/ { print t, $0 }' \
      <<<"$metrics" >>"$2"
  done
}

# run_measured <name> <system> <kind> <rate> <seconds> <launcher> [launcher args...]
run_measured() {
  local name=$1 system=$2 kind=$3 rate=$4 seconds=$5 launcher=$6 dir="$OUT/runs/$1" url sampler="" t0 t1
  shift 6
  mkdir -p "$dir"
  printf '{"name":"%s","system":"%s","kind":"%s","rate":%s,"seconds":%s,"started":"%s"}\n' \
    "$name" "$system" "$kind" "$rate" "$seconds" "$(date -u +%FT%TZ)" >"$dir/meta.json"
  wait_drained "$dir"
  url=$(system_metrics_url "$system")
  if [ -n "$url" ]; then
    curl -sf --max-time 5 "$url" >"$dir/metrics-before.txt" || true
    sample_gauges "$url" "$dir/samples.txt" &
    sampler=$!
  fi
  cpu_snapshot "$dir/cpu-before.txt"
  t0=${EPOCHREALTIME/./}
  "$launcher" "$dir" "$system" "$@"
  t1=${EPOCHREALTIME/./}
  cpu_snapshot "$dir/cpu-after.txt"
  echo "$(((t1 - t0) / 1000))" >"$dir/wall.txt" # ms
  if [ -n "$sampler" ]; then
    kill "$sampler" 2>/dev/null || true
    wait "$sampler" 2>/dev/null || true
    curl -sf --max-time 5 "$url" >"$dir/metrics-after.txt" || true
  fi
  "$NODE" "$ROOT/bench/report/run-stats.js" "$dir" "$CLK_TCK" "$OUT/idle.json" || die "cannot read the results of $name"
}

# measure_idle <seconds>: CPU the stack and the idle systems use with no load, in ticks per second
# (run-stats.js subtracts it from the shared processes: Redis, Postgres, Kafka, Jaeger).
measure_idle() {
  wait_drained "$OUT"
  cpu_snapshot "$OUT/idle-before.txt"
  sleep "$1"
  cpu_snapshot "$OUT/idle-after.txt"
  awk -v s="$1" 'NR == FNR { b[$1] = $2; next } { printf "%s\"%s\":%.3f", (n++ ? "," : "{"), $1, ($2 - b[$1]) / s } END { print "}" }' \
    "$OUT/idle-before.txt" "$OUT/idle-after.txt" >"$OUT/idle.json"
}

# saturated <run dir>: the run reached under half its rate or half its calls failed; higher rates
# would only pile up a backlog (and minutes of draining) on a shared machine.
saturated() {
  "$NODE" -e 'const s=require(process.argv[1]);process.exit(s.achieved_rate<0.5*s.rate||s.failed>0.5*s.count?0:1)' "$1/stats.json"
}
