#!/usr/bin/env bash
# An incremental scan of one added month against a full rescan, measured in
# one run on the same database: the batch of PERSONS persons (generated as
# scripts/bench-scan.sh does, and shared with it) is split at AT into the
# months before (with the reference files) and the month from AT on. Then:
#   ingest the months before, full scan            (the base)
#   ingest the added month, scan --incremental     (timed: incremental)
#   scan (full)                                    (timed: full rescan)
# The full rescan must add and resolve nothing: it is the equality check of
# TestIncrementalEqualsFullRescan at this size. Prints seconds and peak RSS
# of each step and a last line for scripts:
#   INCREMENTAL persons=N changed_persons=… read_persons=… carried=… inc_s=… inc_rss_mb=… full_s=… full_rss_mb=… ratio=… rescan_new=… rescan_resolved=…
#
#   PERSONS=100000 WORK=/var/tmp/medaudit-bench-scan scripts/bench-incremental.sh
set -euo pipefail
cd "$(dirname "$0")/.."

PERSONS=${PERSONS:-100000}
SEED=${SEED:-20261206}
AT=${AT:-2025-12-01}
WORK=${WORK:-/var/tmp/medaudit-bench-scan}
BIN=${BIN:-$WORK/medaudit}

. ./env.sh # CGO_ENABLED and the build tags every go command here uses
if [ ! -x /usr/bin/time ] || ! command -v jq >/dev/null; then
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends time jq >/dev/null
fi
mkdir -p "$WORK"
go build -o "$BIN" ./cmd/medaudit

batch=$WORK/batch-$PERSONS
if [ ! -f "$batch/settlements.csv" ]; then
  rm -rf "$batch"
  "$BIN" fixtures --out "$batch" --persons "$PERSONS" --seed "$SEED" >/dev/null 2>&1
fi
split=$WORK/split-$PERSONS
rm -rf "$split"
"$BIN" fixtures split "$batch" --at "$AT" --before "$split/before" --after "$split/after" >"$split.json"
db=$WORK/incremental-$PERSONS.duckdb
rm -f "$db" "$db.wal"

# step NAME CMD…: runs CMD under /usr/bin/time -v; sets SECS and RSS_MB.
step() {
  local name=$1; shift
  /usr/bin/time -v -o "$WORK/inc-$name.time" "$@" >"$WORK/inc-$name.out" 2>"$WORK/inc-$name.err" || {
    echo "bench-incremental: $name failed; see $WORK/inc-$name.err" >&2; tail -3 "$WORK/inc-$name.err" >&2; exit 1; }
  SECS=$(awk -F': ' '/Elapsed \(wall clock\)/ {n = split($2, p, ":"); s = 0; for (i = 1; i <= n; i++) s = s * 60 + p[i]; printf "%.2f", s}' "$WORK/inc-$name.time")
  RSS_MB=$(awk -F': ' '/Maximum resident set size/ {printf "%.0f", $2 / 1024}' "$WORK/inc-$name.time")
  printf '%-22s %9s s %7s MB\n' "$name" "$SECS" "$RSS_MB"
}

echo "split at $AT: $(jq -c '.after' "$split.json")"
step ingest-before "$BIN" ingest -q --db "$db" "$split/before"
step scan-base "$BIN" scan --db "$db"
step ingest-month "$BIN" ingest -q --db "$db" "$split/after"
step scan-incremental "$BIN" scan --db "$db" --incremental
inc_s=$SECS inc_rss=$RSS_MB
jq -e '.scope.mode == "incremental"' "$WORK/inc-scan-incremental.out" >/dev/null ||
  { echo "bench-incremental: the scan ran in full: $(jq -r '.scope.reason' "$WORK/inc-scan-incremental.out")" >&2; exit 1; }
step scan-full-rescan "$BIN" scan --db "$db"
full_s=$SECS full_rss=$RSS_MB
scope=$(jq -c '.scope' "$WORK/inc-scan-incremental.out")
new=$(jq '.new' "$WORK/inc-scan-full-rescan.out")
resolved=$(jq '.resolved' "$WORK/inc-scan-full-rescan.out")
echo "scope: $scope"
echo "full rescan after the incremental scan: $new new, $resolved resolved (want 0 and 0)"
echo "INCREMENTAL persons=$PERSONS changed_persons=$(jq '.changed_persons' <<<"$scope") read_persons=$(jq '.read_persons' <<<"$scope")" \
  "carried=$(jq '.carried_flags' <<<"$scope") inc_s=$inc_s inc_rss_mb=$inc_rss full_s=$full_s full_rss_mb=$full_rss" \
  "ratio=$(awk -v a="$full_s" -v b="$inc_s" 'BEGIN {printf "%.2f", a / b}') rescan_new=$new rescan_resolved=$resolved"
[ "$new" = 0 ] && [ "$resolved" = 0 ]
