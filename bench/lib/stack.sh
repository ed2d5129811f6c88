# shellcheck shell=bash
# The bench's own Redis, Postgres, Kafka and Jaeger (scripts/stack.sh and scripts/jaeger.sh with the
# ports and state dir of common.sh). Sourced by bench/run.sh; sets CPU_PIDS[redis|kafka|jaeger] and
# PG_MASTER for cpu.sh.

PG_BIN="${LEDGER_PG_BIN:-/usr/lib/postgresql/${LEDGER_PG_MAJOR:-15}/bin}"

stack() { env "${STACK_ENV[@]}" bash "$ROOT/scripts/stack.sh" "$@"; }
jaeger() { env "${STACK_ENV[@]}" bash "$ROOT/scripts/jaeger.sh" "$@"; }

psql_ledger() { # psql_ledger <database> <psql args...>
  local db=$1
  shift
  PGPASSWORD=ledger PGOPTIONS=--client-min-messages=warning "$PG_BIN/psql" -X -q -v ON_ERROR_STOP=1 -h 127.0.0.1 -p "$PG_PORT" -U ledger -d "$db" "$@"
}

# fresh_database <name>: an empty database for one service of this run.
fresh_database() {
  psql_ledger ledger -c "DROP DATABASE IF EXISTS $1 WITH (FORCE)" -c "CREATE DATABASE $1" >/dev/null
}

pid_of() { head -n1 "$1" 2>/dev/null; }

bench_stack_up() {
  stack up redis postgres kafka 2>&1 | sed 's/^/  /' || die "the bench's stack did not start (state: $STATE)"
  jaeger up 2>&1 | sed 's/^/  /' || die "the bench's Jaeger did not start (state: $STATE/jaeger)"
  redis-cli -p "$REDIS_PORT" flushall >/dev/null
  local pg_base="$STATE/pg"
  [ -s "$STATE/pg.location" ] && pg_base=$(cat "$STATE/pg.location")
  PG_MASTER=$(pid_of "$pg_base/data/postmaster.pid")
  CPU_PIDS[redis]=$(pid_of "$STATE/redis/redis.pid")
  CPU_PIDS[kafka]=$(pid_of "$STATE/kafka/kafka.pid")
  CPU_PIDS[jaeger]=$(pid_of "$STATE/jaeger/jaeger.pid")
  local p
  for p in "$PG_MASTER" "${CPU_PIDS[redis]}" "${CPU_PIDS[kafka]}" "${CPU_PIDS[jaeger]}"; do
    [ -n "$p" ] && [ -e "/proc/$p/stat" ] \
      || die "a process of the bench's stack is not this run's own (pid '$p'); is another bench using ports $PORT_BASE+?"
  done
}

# Stops everything and wipes Kafka's log (each run uses new topics; Redis keeps nothing on disk,
# the run's databases are dropped before).
bench_stack_down() {
  jaeger down >/dev/null 2>&1 || true
  stack down redis postgres kafka >/dev/null 2>&1 || true
  stack reset kafka >/dev/null 2>&1 || true
}
