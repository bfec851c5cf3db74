#!/usr/bin/env bash
# Hardening: the kill loop (scripts/killloop.sh), the load run
# (scripts/load.sh) and the fuzzers (scripts/fuzz.sh), then one table of
# what they found, read from the last line each script prints. Exits
# non-zero when a script fails or an invariant does not hold.
#
#   scripts/hardening.sh                    long run: KILLS=60, DURATION=60s, FUZZTIME=60s
#   HARDENING=short scripts/hardening.sh    CI: a few minutes on 2 cores
#   KILLS=100 DURATION=120s FUZZTIME=5m scripts/hardening.sh
set -uo pipefail
cd "$(dirname "$0")/.."

if [ "${HARDENING:-long}" = short ]; then
  KILLS=${KILLS:-8} KILL_PERSONS=${KILL_PERSONS:-300}
  DURATION=${DURATION:-5s} LOAD_PERSONS=${LOAD_PERSONS:-1000} RATE=${RATE:-200}
  FUZZTIME=${FUZZTIME:-5s}
else
  KILLS=${KILLS:-60} KILL_PERSONS=${KILL_PERSONS:-2000}
  DURATION=${DURATION:-60s} LOAD_PERSONS=${LOAD_PERSONS:-5000} RATE=${RATE:-1000}
  FUZZTIME=${FUZZTIME:-60s}
fi

logs=$(mktemp -d)
trap 'rm -rf "$logs"' EXIT
failed=0

# run NAME SCRIPT ENV…: runs the script with the environment given, its
# output shown as it comes and kept for parsing.
run() {
  local name=$1 script=$2; shift 2
  if [ ! -x "$script" ]; then
    echo "== $name: $script not present, skipped"
    return
  fi
  echo "== $name: $* $script"
  if ! env "$@" "$script" 2>&1 | tee "$logs/$name.log"; then
    echo "== $name: $script failed"
    failed=1
  fi
}

run kill scripts/killloop.sh KILLS="$KILLS" PERSONS="$KILL_PERSONS"
run load scripts/load.sh DURATION="$DURATION" PERSONS="$LOAD_PERSONS" RATE="$RATE"
run fuzz scripts/fuzz.sh FUZZTIME="$FUZZTIME"

# field NAME KEY: the value of KEY=… on the last line NAME's script printed
# that starts with its tag, or "-".
field() {
  local tag line
  tag=$(echo "$1" | tr '[:lower:]' '[:upper:]')
  line=$(grep "^$tag " "$logs/$1.log" 2>/dev/null | tail -1)
  echo "$line" | tr ' ' '\n' | sed -n "s/^$2=//p" | tail -1 | grep . || echo -
}

# all FRACTION: true when it is M/M.
all() { [[ "$1" =~ ^([0-9]+)/([0-9]+)$ ]] && [ "${BASH_REMATCH[1]}" = "${BASH_REMATCH[2]}" ]; }
zero() { [ "$1" = 0 ]; }
sum() { local s=0 v; for v in "$@"; do [[ "$v" =~ ^[0-9]+$ ]] && s=$((s + v)); done; echo $s; }

faults=$(field kill faults)
batches=$(field kill batches_intact)
rows=$(field kill rows_accounted)
half=$(field kill half_written)
redone=$(field kill redone)
lost=$(field kill verdicts_lost)
inputs=$(field fuzz inputs)
crashes=$(field fuzz crashes)
fivexx=$(sum "$(field load 5xx)" "$(field kill http_5xx)")
cross=$(field load cross_district)

printf '\nhardening (%s)\n' "${HARDENING:-long}"
printf '%-28s %-22s %s\n' "measure" "value" "holds"
verdict() {
  local name=$1 value=$2 ok=$3
  if [ "$value" = - ]; then
    printf '%-28s %-22s %s\n' "$name" "not run" "-"
  elif eval "$ok"; then
    printf '%-28s %-22s %s\n' "$name" "$value" "yes"
  else
    printf '%-28s %-22s %s\n' "$name" "$value" "NO"
    failed=1
  fi
}
verdict "faults injected"            "$faults"  '[ "$faults" -ge "$KILLS" ]'
verdict "batches intact"             "$batches" 'all "$batches"'
verdict "rows accounted for"         "$rows"    'all "$rows"'
verdict "half-written records"       "$half"    'zero "$half"'
verdict "interrupted runs redone"    "$redone"  'all "$redone"'
verdict "acknowledged verdicts lost" "$lost"    'zero "$lost"'
verdict "inputs tried (fuzz)"        "$inputs"  '[ "$inputs" -gt 0 ]'
verdict "crashes"                    "$crashes" 'zero "$crashes"'
verdict "5xx (load + kill loop)"     "$fivexx"  'zero "$fivexx"'
verdict "cross-district reads"       "$cross"   'zero "$cross"'
echo "HARDENING faults=$faults batches_intact=$batches rows_accounted=$rows half_written=$half redone=$redone inputs=$inputs crashes=$crashes 5xx=$fivexx cross_district=$cross failed=$failed"
exit $failed
