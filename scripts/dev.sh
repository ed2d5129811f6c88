#!/usr/bin/env bash
# `npm run dev`: starts the local stack (Redis, Postgres, Kafka; installing what is missing),
# migrates the database, and runs the service with `nest start --watch` against it, with the
# OpenTelemetry SDK preloaded as in production (spans, and trace_id/span_id on every log line).
#
# Traces go to a local Jaeger v2 that this starts (scripts/jaeger.sh up; built once with Go, a few
# minutes the first time): http://127.0.0.1:16686/api/traces?service=ledger.
# LEDGER_DEV_JAEGER=0 runs without it (no SDK: no spans, no trace ids in the logs).
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
bash scripts/setup.sh
bash scripts/stack.sh up redis postgres kafka
# The service talks to the stack just started (ports from scripts/stack.sh's variables).
export LEDGER_REDIS_URL="${LEDGER_REDIS_URL:-redis://127.0.0.1:${LEDGER_REDIS_PORT:-6379}/0}"
export LEDGER_DATABASE_URL="${LEDGER_DATABASE_URL:-postgres://ledger:ledger@127.0.0.1:${LEDGER_PG_PORT:-5432}/ledger}"
export LEDGER_KAFKA_BROKERS="${LEDGER_KAFKA_BROKERS:-127.0.0.1:${LEDGER_KAFKA_PORT:-9092}}"
if [ "${LEDGER_DEV_JAEGER:-1}" = 1 ]; then
  bash scripts/jaeger.sh up
  export OTEL_EXPORTER_OTLP_ENDPOINT="${OTEL_EXPORTER_OTLP_ENDPOINT:-http://127.0.0.1:${LEDGER_JAEGER_OTLP_GRPC_PORT:-4317}}"
else
  # An exporter with no collector behind it would print export errors every few seconds.
  export OTEL_SDK_DISABLED=true
fi
scripts/with-node24 bash -c 'nest build && node dist/src/infrastructure/postgres/migrate.js'
echo "dev: starting the service (foreground; Ctrl-C stops it, the stack keeps running). Ready when a line says \"ledger ready\"." >&2
exec scripts/with-node24 nest start --watch --exec "node --require ./dist/src/instrumentation.js"
