#!/usr/bin/env bash
# `npm test`: everything CI checks, on a fresh machine or a warm one.
#   1. Node 24, npm dependencies, generated code      (scripts/setup.sh)
#   2. static checks: format, lint, types, dependency rule
#   3. the services the tests talk to, started here    (scripts/stack.sh: Redis, Postgres, Kafka)
#      and the CLI tools the tests run                 (scripts/tools.sh: Go builds, Debian unpacks;
#      minutes the first time, cached after that; never inside a test hook)
#   4. unit tests, then integration/e2e tests against the real services over real gRPC
#      (the e2e project migrates the test database first: test/support/global-setup.ts)
# LEDGER_TEST_SKIP_STATIC=1 skips step 2 (for quick local loops; CI never sets it).
set -Eeuo pipefail
# set -e alone exits silently: name the command that failed.
trap 'echo "test.sh: ERROR: failed at line $LINENO: $BASH_COMMAND" >&2' ERR
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
bash scripts/setup.sh
node_bin="$(bash scripts/node24.sh)"
export PATH="$node_bin:$root/node_modules/.bin:$PATH"

if [ "${LEDGER_TEST_SKIP_STATIC:-0}" != 1 ]; then
  echo "== static checks"
  prettier --check . >/dev/null || { prettier --check . | tail -20; exit 1; }
  eslint --max-warnings 0 .
  tsc --noEmit -p tsconfig.json
  depcruise --config .dependency-cruiser.cjs src
fi

echo "== services"
bash scripts/stack.sh up redis postgres kafka
# Logical database 1: `npm run dev` uses 0, and a Redis holds the state of one event store only.
export LEDGER_REDIS_URL="${LEDGER_REDIS_URL:-redis://127.0.0.1:${LEDGER_REDIS_PORT:-6379}/1}"
export LEDGER_DATABASE_URL="${LEDGER_DATABASE_URL:-postgres://ledger:ledger@127.0.0.1:${LEDGER_PG_PORT:-5432}/ledger_test}"
export LEDGER_KAFKA_BROKERS="${LEDGER_KAFKA_BROKERS:-127.0.0.1:${LEDGER_KAFKA_PORT:-9092}}"

echo "== tools"
bash scripts/tools.sh jaeger prometheus promtool ghz grpcurl helm shellcheck >/dev/null
# From here on a test hook only finds installed tools; a missing one fails at once, naming the fix.
export LEDGER_TOOLS_INSTALLED_ONLY=1

echo "== tests"
# Nest 12 is ESM-only; Jest loads it from our CommonJS tests through require(esm), which needs
# the VM modules flag on Node 24.
export NODE_OPTIONS="--experimental-vm-modules --disable-warning=ExperimentalWarning ${NODE_OPTIONS:-}"
jest --selectProjects unit "$@"
jest --selectProjects e2e --runInBand "$@"

echo "== bench smoke"
# `npm run bench` end to end on its own stack (bench/run.sh): ~10 s of tiny load, no timing claims.
bash bench/run.sh --smoke

# Last and alone: the fault suite SIGKILLs the stack's services and the service under load (seed printed).
jest --selectProjects faults --runInBand "$@"
