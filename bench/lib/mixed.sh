# shellcheck shell=bash
# The mixed flow (sourced by bench/run.sh): 60% Reserve, 25% partial CommitReservation, 10%
# ReleaseReservation, 5% GetAccount, as four ghz processes at once, each open loop at its share.

# launch_mixed <dir> <system> <rate> <seconds>: four ghz processes at once, each open loop at its
# share of the rate, on data that mixed_prepare made: 60% Reserve (fresh ids), 25% partial
# CommitReservation (0.01 of a pre-made 1.00 hold, a fresh commit id each), 10% ReleaseReservation
# (each of a pre-made hold once), 5% GetAccount. Each process keeps its own share of the connections.
launch_mixed() {
  local dir=$1 system=$2 rate=$3 seconds=$4 method share r pids=()
  for share in Reserve:60 CommitReservation:25 ReleaseReservation:10 GetAccount:5; do
    method=${share%%:*} r=$((rate * ${share#*:} / 100))
    [ "$r" -gt 0 ] || r=1
    ghz_job "$dir/ghz-$method" "$system" "$method" "$dir/$method-data.json" --async --rps "$r" -n $((r * seconds)) \
      --concurrency $((${CONCURRENCY:-200} / 4 + 1)) --connections 1 &
    pids+=($!)
  done
  wait "${pids[@]}"
}

# mixed_prepare <dir> <system> <rate> <seconds>: the holds the mixed run commits and releases.
mixed_prepare() {
  local dir=$1 system=$2 rate=$3 seconds=$4 commits releases holds j
  commits=$((rate * 25 / 100 * seconds)) releases=$((rate * 10 / 100 * seconds))
  [ "$commits" -gt 0 ] || commits=$seconds
  [ "$releases" -gt 0 ] || releases=$seconds
  holds=$(((commits + 19) / 20)) # about 20 partial fills per hold
  mkdir -p "$dir"
  reserve_data "$RUN_ID-mix-commit" 1.00 >"$dir/prep-commit.json"
  reserve_data "$RUN_ID-mix-release" >"$dir/prep-release.json"
  ghz_all_ok "$dir/prep-commit" "$system" Reserve "$dir/prep-commit.json" "$holds"
  ghz_all_ok "$dir/prep-release" "$system" Reserve "$dir/prep-release.json" "$releases"
  reserve_data "$RUN_ID-$(basename "$dir")-reserve" >"$dir/Reserve-data.json"
  for ((j = 0; j < holds; j++)); do
    printf '{"reservation_id":"%s-mix-commit-%d","commit_id":"%s-mix-commit-%d-{{.RequestNumber}}","amount":{"amount":"0.01","currency":"USD"}}\n' \
      "$RUN_ID" "$j" "$RUN_ID" "$j"
  done | json_array >"$dir/CommitReservation-data.json"
  printf '[{"reservation_id":"%s-mix-release-{{.RequestNumber}}","reason":"bench"}]\n' "$RUN_ID" >"$dir/ReleaseReservation-data.json"
  for j in $(seq 1 "$ACCOUNTS"); do printf '{"account_id":"%s-%d"}\n' "$ACCOUNT_PREFIX" "$j"; done |
    json_array >"$dir/GetAccount-data.json"
}
