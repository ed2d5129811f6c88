#!/usr/bin/env bash
# Prints the run's context as JSON: checkout, machine, options, and the caller's LEDGER_*
# variables that reach the services (bench/lib/systems.sh sets the connection ones itself).
#   bash bench/lib/context.sh "<options>"
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/../.."
esc() { sed 's/\\/\\\\/g; s/"/\\"/g' <<<"$1" | tr -d '\n'; }
commit=$(git rev-parse --short HEAD 2>/dev/null || echo unknown)
branch=$(git rev-parse --abbrev-ref HEAD 2>/dev/null || echo unknown)
dirty=false
[ -n "$(git status --porcelain --untracked-files=no -- src lua migrations proto bench 2>/dev/null)" ] && dirty=true
model=$(lscpu 2>/dev/null | sed -nE 's/^Model name:\s+//p' | head -1)
mem_gb=$(awk '/^MemTotal:/ { printf "%.1f", $2 / 1048576 }' /proc/meminfo)
passthrough=$(env | awk '/^(LEDGER|OTEL)_/ && !/^LEDGER_(BENCH_|STACK_|TOOLS_|CACHE|GO|JAVA|PG_BIN|PG_MAJOR|TEST_)/ &&
  !/^LEDGER_[A-Z_]*_PORT=/ && !/^LEDGER_(REDIS_URL|DATABASE_URL|KAFKA_BROKERS|KAFKA_JAVA_OPTS)=/' | sort |
  while IFS= read -r line; do printf '"%s",' "$(esc "$line")"; done)
printf '{"commit":"%s","branch":"%s","dirty":%s,"started":"%s","options":"%s",' \
  "$commit" "$branch" "$dirty" "$(date -u +%FT%TZ)" "$(esc "$1")"
printf '"machine":{"nproc":%s,"model":"%s","memory_gb":%s,"kernel":"%s","load_at_start":"%s"},' \
  "$(nproc)" "$(esc "$model")" "$mem_gb" "$(uname -r)" "$(cut -d' ' -f1-3 /proc/loadavg)"
printf '"env":[%s]}\n' "${passthrough%,}"
