#!/usr/bin/env bash
# `npm run dev`: starts the local stack (Redis, Postgres, Kafka; installing what is missing),
# migrates the database, and runs the service with `nest start --watch` against it.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
bash scripts/setup.sh
bash scripts/stack.sh up redis postgres kafka
# The service talks to the stack just started (ports from scripts/stack.sh's variables).
export LEDGER_REDIS_URL="${LEDGER_REDIS_URL:-redis://127.0.0.1:${LEDGER_REDIS_PORT:-6379}/0}"
export LEDGER_DATABASE_URL="${LEDGER_DATABASE_URL:-postgres://ledger:ledger@127.0.0.1:${LEDGER_PG_PORT:-5432}/ledger}"
export LEDGER_KAFKA_BROKERS="${LEDGER_KAFKA_BROKERS:-127.0.0.1:${LEDGER_KAFKA_PORT:-9092}}"
scripts/with-node24 bash -c 'nest build && node dist/src/infrastructure/postgres/migrate.js'
exec scripts/with-node24 nest start --watch
