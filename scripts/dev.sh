#!/usr/bin/env bash
# `npm run dev`: starts the local stack (Redis, Postgres, Kafka; installing what is missing),
# migrates the database, and runs the service with `nest start --watch` against it.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
bash scripts/setup.sh
bash scripts/stack.sh up redis postgres kafka
scripts/with-node24 bash -c 'nest build && node dist/src/infrastructure/postgres/migrate.js'
exec scripts/with-node24 nest start --watch
