# shellcheck shell=bash
# Process checks shared by scripts/stack.sh and scripts/jaeger.sh (sourced, not run).

# A killed daemon whose parent is PID 1 can stay a zombie for a while on machines whose init does
# not reap promptly (seen here): it still "exists" for kill -0, but it is dead.
proc_zombie() { [ "$(sed -E 's/.*\) (.).*/\1/' "/proc/$1/stat" 2>/dev/null)" = Z ]; }

# proc_dead <pid>: the process is gone, or a zombie.
proc_dead() { [ ! -e "/proc/$1/stat" ] || proc_zombie "$1"; }

# pid_alive <pidfile> <cmdline pattern>: the pid file names a live process that is really ours
# (guards against a stale pid file whose pid was reused by something else). Not for start-up:
# while a wrapper execs the daemon, /proc/<pid>/cmdline can read empty for a moment.
pid_alive() {
  local pid
  [ -s "$1" ] || return 1
  pid=$(head -n1 "$1")
  [ -r "/proc/$pid/cmdline" ] && ! proc_zombie "$pid" \
    && tr '\0' ' ' <"/proc/$pid/cmdline" | grep -q -- "$2"
}
