#!/usr/bin/env bash
# Runs every native Go fuzz target of the parsers and validators, one at a
# time, for FUZZTIME each (first argument or $FUZZTIME, default 10m; CI uses
# e.g. 10s), and prints a table and one machine-readable line:
#
#   FUZZ targets=N inputs=M crashes=K
#
# Exits non-zero if any target crashes (its failing input is written to
# <package>/testdata/fuzz/<Target>/ by go test). Fuzzing uses one worker
# (FUZZPARALLEL, default 1) so that it shares the machine; each interesting
# input is minimised for at most FUZZMINIMIZE (default 5s), which keeps the
# slow targets (DuckDB, Arrow) fuzzing instead of minimising.
set -uo pipefail
cd "$(dirname "$0")/.."

. ./env.sh # CGO_ENABLED and the build tags every go command here uses

fuzztime="${1:-${FUZZTIME:-10m}}"
parallel="${FUZZPARALLEL:-1}"
minimize="${FUZZMINIMIZE:-5s}"
packages="${FUZZPACKAGES:-contract codes settlement pipeline}"
logdir=$(mktemp -d)
trap 'rm -rf "$logdir"' EXIT

# Targets: every func FuzzX(f *testing.F) in the packages' test files.
targets=()
for pkg in $packages; do
  for name in $(grep -ho '^func Fuzz[A-Za-z0-9_]*(f \*testing\.F)' "$pkg"/*_test.go | sed 's/^func \(Fuzz[A-Za-z0-9_]*\).*/\1/' | sort); do
    targets+=("$pkg/$name")
  done
done

echo "== building test binaries"
for pkg in $packages; do
  go test -count=1 -run '^$' "./$pkg" >/dev/null || { echo "build of ./$pkg failed"; exit 2; }
done

printf '\n%-34s %8s %12s %8s\n' target seconds inputs crashes
total_inputs=0
total_crashes=0
for t in "${targets[@]}"; do
  pkg=${t%/*} name=${t#*/}
  log="$logdir/$pkg.$name.log"
  start=$(date +%s)
  for try in 1 2 3; do
    go test -run '^$' -fuzz "^${name}\$" -fuzztime "$fuzztime" -fuzzminimizetime "$minimize" \
      -parallel "$parallel" "./$pkg" >"$log" 2>&1
    rc=$?
    # Go's fuzzing engine can end a short run with "context deadline
    # exceeded" and no failing input when its workers start late on a busy
    # machine: that run is repeated up to twice; a third one counts as a crash.
    if [ "$rc" -eq 0 ] || grep -q 'Failing input written to' "$log" || ! grep -q 'context deadline exceeded' "$log"; then
      break
    fi
    echo "    $t: the fuzzing engine timed out without a failing input (try $try)"
  done
  secs=$(( $(date +%s) - start ))
  # The last progress line holds the total: "fuzz: elapsed: 10s, execs: 123 (…)".
  inputs=$(grep -o 'execs: [0-9]*' "$log" | tail -1 | awk '{print $2}')
  inputs=${inputs:-0}
  crashes=$(grep -c 'Failing input written to' "$log")
  if [ "$rc" -ne 0 ] && [ "$crashes" -eq 0 ]; then
    crashes=1 # a failure without a saved input (e.g. the worker died)
  fi
  printf '%-34s %8d %12d %8d\n' "$t" "$secs" "$inputs" "$crashes"
  if [ "$crashes" -ne 0 ]; then
    grep -v '^fuzz: elapsed' "$log" | head -40 | sed 's/^/    /'
  fi
  total_inputs=$((total_inputs + inputs))
  total_crashes=$((total_crashes + crashes))
done

echo
echo "FUZZ targets=${#targets[@]} inputs=$total_inputs crashes=$total_crashes"
[ "$total_crashes" -eq 0 ]
