# shellcheck shell=bash
# The three systems under test (sourced by bench/run.sh):
#   durable   the built service, production start, LEDGER_ACK_MODE=durable: Redis db 0, database
#             ledger_bench_durable, topic ledger.bench.durable.<run>
#   fast      the same with LEDGER_ACK_MODE=fast: Redis db 1, database ledger_bench_fast
#   baseline  bench/baseline/server.js: Redis db 2
# Both services run the relay and publisher in-process, metrics on, traces 10% to the bench's
# Jaeger, LOG_LEVEL=warn. Other LEDGER_* variables of the caller reach both (for experiments; the
# summary lists them). Logs go to $OUT/logs/<system>.log.

system_grpc_port() {
  case "$1" in durable) echo "$DURABLE_GRPC_PORT" ;; fast) echo "$FAST_GRPC_PORT" ;; baseline) echo "$BASELINE_GRPC_PORT" ;; esac
}
system_metrics_url() {
  case "$1" in
    durable) echo "http://127.0.0.1:$DURABLE_HTTP_PORT/metrics" ;;
    fast) echo "http://127.0.0.1:$FAST_HTTP_PORT/metrics" ;;
    baseline) echo "http://127.0.0.1:$BASELINE_METRICS_PORT/metrics" ;; # its GC pauses only
  esac
}

ledger_env() { # ledger_env <durable|fast>: the service's environment, one assignment per line
  local mode=$1 db=0 grpc=$DURABLE_GRPC_PORT http=$DURABLE_HTTP_PORT
  [ "$mode" = fast ] && db=1 grpc=$FAST_GRPC_PORT http=$FAST_HTTP_PORT
  printf '%s\n' LEDGER_ACK_MODE="$mode" \
    LEDGER_GRPC_ADDRESS="127.0.0.1:$grpc" LEDGER_HTTP_HOST=127.0.0.1 LEDGER_HTTP_PORT="$http" \
    LEDGER_REDIS_URL="redis://127.0.0.1:$REDIS_PORT/$db" \
    LEDGER_DATABASE_URL="postgres://ledger:ledger@127.0.0.1:$PG_PORT/ledger_bench_$mode" \
    LEDGER_KAFKA_BROKERS="127.0.0.1:$KAFKA_PORT" LEDGER_KAFKA_TOPIC="ledger.bench.$mode.$RUN_ID" \
    LEDGER_WORKERS=true LEDGER_TELEMETRY=on LOG_LEVEL=warn \
    OTEL_SERVICE_NAME="ledger-bench-$mode" OTEL_EXPORTER_OTLP_ENDPOINT="http://127.0.0.1:$JAEGER_OTLP_GRPC_PORT" \
    OTEL_TRACES_SAMPLER=parentbased_traceidratio OTEL_TRACES_SAMPLER_ARG=0.1
}

# prepare_ledger <durable|fast>: a fresh database, migrated.
prepare_ledger() {
  local env_lines
  mapfile -t env_lines < <(ledger_env "$1")
  fresh_database "ledger_bench_$1"
  (cd "$ROOT" && env -u NODE_OPTIONS "${env_lines[@]}" "$NODE" dist/src/infrastructure/postgres/migrate.js) \
    >>"$OUT/logs/$1.log" 2>&1 || { tail -n 20 "$OUT/logs/$1.log" >&2; die "migrating ledger_bench_$1 failed"; }
}

# prepare_topics <mode>...: the services' topics, made and led before the services start (see
# kafka-topics.js for why).
prepare_topics() {
  local mode topics=()
  for mode in "$@"; do topics+=("ledger.bench.$mode.$RUN_ID"); done
  env -u NODE_OPTIONS "$NODE" --no-warnings "$ROOT/bench/lib/kafka-topics.js" "127.0.0.1:$KAFKA_PORT" "${LEDGER_KAFKA_PARTITIONS:-12}" \
    "${topics[@]}" || die "cannot create the topics ${topics[*]}"
}

# start_ledger <durable|fast> [node flags...]: starts the service the production way, waits for ready.
start_ledger() {
  local mode=$1 env_lines http
  shift
  mapfile -t env_lines < <(ledger_env "$mode")
  http=$DURABLE_HTTP_PORT
  [ "$mode" = fast ] && http=$FAST_HTTP_PORT
  port_free "$(system_grpc_port "$mode")" && port_free "$http" || die "a port of the $mode service is taken"
  (cd "$ROOT" && exec env -u NODE_OPTIONS "${env_lines[@]}" "$NODE" "$@" \
    --require ./dist/src/instrumentation.js dist/src/main.js) >>"$OUT/logs/$mode.log" 2>&1 &
  CPU_PIDS[$mode]=$!
  if ! wait_for 90 curl -sf "http://127.0.0.1:$http/health/ready"; then
    tail -n 30 "$OUT/logs/$mode.log" >&2
    die "the $mode service did not become ready (log: $OUT/logs/$mode.log)"
  fi
}

start_baseline() {
  port_free "$BASELINE_GRPC_PORT" && port_free "$BASELINE_METRICS_PORT" || die "a port of the baseline is taken"
  BASELINE_GRPC_ADDRESS="127.0.0.1:$BASELINE_GRPC_PORT" BASELINE_REDIS_URL="redis://127.0.0.1:$REDIS_PORT/2" \
    BASELINE_METRICS_PORT="$BASELINE_METRICS_PORT" \
    env -u NODE_OPTIONS "$NODE" "$ROOT/bench/baseline/server.js" >>"$OUT/logs/baseline.log" 2>&1 &
  CPU_PIDS[baseline]=$!
  wait_for 30 grep -q serving "$OUT/logs/baseline.log" || die "the baseline did not start (log: $OUT/logs/baseline.log)"
}

# stop_system <name>: SIGTERM (the service drains and flushes its spans), SIGKILL after 30 s.
stop_system() {
  local pid=${CPU_PIDS[$1]:-} i
  [ -n "$pid" ] || return 0
  kill -TERM "$pid" 2>/dev/null || true
  for ((i = 0; i < 150; i++)); do kill -0 "$pid" 2>/dev/null || break; sleep 0.2; done
  kill -KILL "$pid" 2>/dev/null || true
  wait "$pid" 2>/dev/null || true
  unset "CPU_PIDS[$1]"
}

# seed_accounts <system>: opens and funds ACCOUNTS accounts <ACCOUNT_PREFIX>-1..N (USD, 1e9).
seed_accounts() {
  local system=$1 dir="$OUT/seed/$1" i
  if [ "$system" = baseline ]; then
    env -u NODE_OPTIONS "$NODE" "$ROOT/bench/baseline/seed.js" "redis://127.0.0.1:$REDIS_PORT/2" "$ACCOUNT_PREFIX" "$ACCOUNTS"
    return
  fi
  mkdir -p "$dir"
  for i in $(seq 1 "$ACCOUNTS"); do printf '{"account_id":"%s-%d","currency":"USD"}\n' "$ACCOUNT_PREFIX" "$i"; done |
    json_array >"$dir/open.json"
  for i in $(seq 1 "$ACCOUNTS"); do
    printf '{"transaction_id":"%s-%d-funding","account_id":"%s-%d","amount":{"amount":"1000000000.00","currency":"USD"}}\n' \
      "$ACCOUNT_PREFIX" "$i" "$ACCOUNT_PREFIX" "$i"
  done | json_array >"$dir/deposit.json"
  ghz_all_ok "$dir/open" "$system" OpenAccount "$dir/open.json" "$ACCOUNTS"
  ghz_all_ok "$dir/deposit" "$system" Deposit "$dir/deposit.json" "$ACCOUNTS"
}
