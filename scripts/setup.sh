#!/usr/bin/env bash
# Installs what the project needs on a fresh machine of this kind: Node 24 (cached), the npm
# dependencies (only when package-lock.json or patches/ changed), and the generated code from proto/.
set -Eeuo pipefail
# set -e alone exits silently: name the command that failed.
trap 'echo "setup.sh: ERROR: failed at line $LINENO: $BASH_COMMAND" >&2' ERR
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
node_bin="$(bash scripts/node24.sh)"
export PATH="$node_bin:$root/node_modules/.bin:$PATH"
stamp=node_modules/.package-lock.sha
# patches/ (applied by patch-package in postinstall) counts too: a changed patch needs a reinstall.
want="$(cat package-lock.json patches/*.patch | sha1sum | cut -d' ' -f1)"
if [ ! -f "$stamp" ] || [ "$(cat "$stamp")" != "$want" ]; then
  npm ci --no-audit --no-fund --loglevel=error
  echo "$want" >"$stamp"
fi
bash scripts/generate-proto.sh
