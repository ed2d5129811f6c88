#!/usr/bin/env bash
# `npm run dev`: starts the local stack (installing what is missing) and the service with
# `nest start --watch` against it.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
bash scripts/setup.sh
bash scripts/stack.sh up redis
exec scripts/with-node24 nest start --watch
