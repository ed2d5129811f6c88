# shellcheck shell=bash
# CPU time of the processes under test, from /proc (sourced by bench/run.sh).
#
# CPU_PIDS maps a name (durable, fast, baseline, redis, kafka, jaeger) to one pid: its utime+stime,
# threads included. "postgres" is the postmaster (its own time plus that of reaped backends,
# cutime+cstime) plus every live child of it (backends, checkpointer, walwriter, autovacuum).
# ghz is measured by its wrapper (load.sh). "machine_busy" / "machine_all" are the whole machine's
# busy and total ticks (/proc/stat, all cores): what else ran on it. Values are clock ticks
# (getconf CLK_TCK per second).
declare -A CPU_PIDS=()
PG_MASTER=""
CLK_TCK=$(getconf CLK_TCK)

# cpu_snapshot <file>: one "name ticks" line per process group.
cpu_snapshot() {
  local spec="" name
  for name in "${!CPU_PIDS[@]}"; do spec+="$name=${CPU_PIDS[$name]} "; done
  # cat fails when a process exits between the glob and its read; what it read is still right.
  { cat /proc/[0-9]*/stat 2>/dev/null || true; } | awk -v spec="$spec" -v pg="$PG_MASTER" '
    BEGIN {
      n = split(spec, pairs, " ")
      for (i = 1; i <= n; i++) { split(pairs[i], kv, "="); group[kv[2]] = kv[1]; total[kv[1]] = 0 }
      total["postgres"] = 0
    }
    {
      pid = $1; rest = $0; sub(/^.*\) /, "", rest); split(rest, f, " ")
      # f[2] ppid, f[12] utime, f[13] stime, f[14] cutime, f[15] cstime
      if (pid in group) total[group[pid]] += f[12] + f[13]
      if (pid == pg) total["postgres"] += f[12] + f[13] + f[14] + f[15]
      else if (f[2] == pg) total["postgres"] += f[12] + f[13]
    }
    END { for (g in total) print g, total[g] }' >"$1"
  # user nice system idle iowait irq softirq steal
  awk '/^cpu / { print "machine_busy", $2 + $3 + $4 + $7 + $8 + $9; print "machine_all", $2 + $3 + $4 + $5 + $6 + $7 + $8 + $9 }' \
    /proc/stat >>"$1"
}
