# shellcheck shell=bash
# `--cpu-prof`: a CPU profile of the durable service under load (sourced by bench/run.sh). The
# service was started with --inspect on loopback (INSPECT_PORT); cpu-profile.js records one more
# open-loop run at the reference rate (1000/s, or the listed rate nearest to it) through it.

INSPECT_PORT=$((PORT_BASE + 16))

profile_rate() {
  local r best=""
  for r in "${RATE_LIST[@]}"; do
    if [ -z "$best" ] || [ $(((r - 1000) * (r - 1000))) -lt $(((best - 1000) * (best - 1000))) ]; then best=$r; fi
  done
  echo "$best"
}

launch_profiled() { # <dir> <system> <rate> <seconds>
  local profiler
  env -u NODE_OPTIONS "$NODE" "$ROOT/bench/lib/cpu-profile.js" "$INSPECT_PORT" "$OUT/profile/durable.cpuprofile" \
    >"$1/profiler.log" 2>&1 &
  profiler=$!
  wait_for 20 grep -q started "$1/profiler.log" || die "the profiler did not attach ($1/profiler.log)"
  launch_open "$@"
  kill -TERM "$profiler"
  wait "$profiler" || die "the profiler failed ($1/profiler.log)"
}

profile_durable() {
  local rate
  rate=$(profile_rate)
  say "CPU profile of the durable service at ${rate}/s for ${SECONDS_PER}s"
  mkdir -p "$OUT/profile"
  run_measured "profile-$rate-durable" durable profile "$rate" "$SECONDS_PER" launch_profiled "$rate" "$SECONDS_PER"
  "$NODE" "$ROOT/bench/report/profile.js" "$OUT/profile/durable.cpuprofile" >"$OUT/profile/summary.json"
  say "  profile: ${OUT#"$ROOT/"}/profile/durable.cpuprofile (Chrome DevTools or speedscope); its top items are in the summary"
}
