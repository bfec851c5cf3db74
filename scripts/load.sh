#!/usr/bin/env bash
# Load run on loopback with hey: the demo database served by `medaudit
# serve`, then three constant-rate runs of DURATION each:
#   casefile  GET /api/v1/cases/{id} (12 cases of the auditor's district)
#   flags     GET /api/v1/flags (pages and filters)
#   mixed     case files, flag pages, case lists, a reviewer's queue,
#             institution profiles, and probes of another district's cases
#             and institutions, which must all be 404
# and one more run on request:
#   casefile_distinct  GET /api/v1/cases/{id} of a different case every
#             request (vegeta at a constant RATE over the list of every case,
#             by an auditor of every district): no answer comes from the
#             response cache. When the run asks for more case files than
#             there are cases, a case is asked again only with a new query
#             string (?round=N), which the response cache also misses.
# Each run spreads RATE requests/s over parallel hey streams. Prints per
# stream and per run: requests, rps, p50, p99, non-2xx, errors; the server's
# peak RSS; and a last line for scripts/hardening.sh:
#   LOAD requests=N errors=E 5xx=F cross_district=C p50_ms=… p99_ms=… rss_mb=…
#
#   DURATION=60s RATE=1000 PERSONS=5000 RUNS="casefile flags mixed" scripts/load.sh
#   DB=big.duckdb BIN=bin/medaudit RUNS=casefile_distinct scripts/load.sh
# DB serves a copy of an existing database with cases (e.g. after
# `medaudit cases open`) instead of building the demo; BIN uses that binary
# instead of building one.
set -euo pipefail
cd "$(dirname "$0")/.."

DURATION=${DURATION:-60s}
RATE=${RATE:-1000}
PERSONS=${PERSONS:-5000}
RUNS=${RUNS:-casefile flags mixed}
PORT=${PORT:-18480}
DB=${DB:-}
BIN=${BIN:-}

. ./env.sh # CGO_ENABLED and the build tags every go command here uses

if ! command -v hey >/dev/null 2>&1; then
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends hey >/dev/null
fi
if [ -n "$DB" ] && [ "$RUNS" != casefile_distinct ]; then
  echo "load: DB serves an existing database for RUNS=casefile_distinct only (the other runs need the demo's users)" >&2; exit 2
fi
vegeta=$(command -v vegeta || echo "$(go env GOPATH)/bin/vegeta")
if [[ " $RUNS " == *" casefile_distinct "* ]]; then
  [[ "$DURATION" =~ ^[0-9]+s$ ]] || { echo "load: casefile_distinct needs DURATION in seconds (60s)" >&2; exit 2; }
  [ -x "$vegeta" ] || go install github.com/tsenart/vegeta/v12@v12.13.0
  if ! command -v jq >/dev/null 2>&1; then
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends jq >/dev/null
  fi
fi

work=$(mktemp -d)
server=""
cleanup() {
  if [ -n "$server" ]; then kill "$server" 2>/dev/null || true; wait "$server" 2>/dev/null || true; fi
  rm -rf "$work"
}
trap cleanup EXIT

bin=${BIN:-$work/medaudit}
[ -n "$BIN" ] || go build -o "$bin" ./cmd/medaudit
db="$work/load.duckdb"
if [ -n "$DB" ]; then
  cp "$DB" "$db"
else
  "$bin" demo --no-serve --db "$db" --dir "$work/batch" --persons "$PERSONS" >/dev/null 2>"$work/demo.log"
fi
head -c 24 /dev/urandom | base64 | "$bin" users add --db "$db" --id load_aud --name 压测稽核员 --role auditor --districts '*' \
  --password-stdin >/dev/null 2>"$work/users.log"
token() { "$bin" users token --db "$db" --id "$1" --label load 2>/dev/null | sed 's/.*"token":"\([^"]*\)".*/\1/'; }
wide=$(token load_aud)      # auditor of every district: the distinct case files
if [ -z "$DB" ]; then
  aud=$(token aud_demo)       # auditor of 330106
  admin=$(token admin_demo)   # every district: finds the other district's ids
  rev=$(token rev01)
fi

# A database of DB= is served with one cheap scheduled job, so that the
# start-up catch-up runs no scan (the demo's runs are already done).
schedules=()
if [ -n "$DB" ]; then
  printf 'jobs:\n  - name: overdue\n    kind: overdue_escalation\n    spec: "0 7 * * *"\n' >"$work/schedules.yaml"
  schedules=(--schedules "$work/schedules.yaml")
fi
"$bin" serve --db "$db" --addr "127.0.0.1:$PORT" --rate-per-user 1000000 --rate-burst 1000000 "${schedules[@]}" 2>"$work/serve.log" &
server=$!
base="http://127.0.0.1:$PORT"
for _ in $(seq 100); do
  curl -fs "$base/healthz" >/dev/null 2>&1 && break
  sleep 0.1
done

# ids: field of every object of a JSON array in the answer.
ids() { curl -fs -H "Authorization: Bearer $1" "$base$2" | grep -o "\"$3\":\"[^\"]*\"" | cut -d'"' -f4; }

# distinct: the vegeta run over every case, one case file per request.
distinct() {
  local all=() page
  for ((off = 0; ; off += 1000)); do
    mapfile -t page < <(ids "$wide" "/api/v1/cases?limit=1000&offset=$off&sort=opened" case_id)
    all+=("${page[@]}")
    [ ${#page[@]} -lt 1000 ] && break
  done
  local secs=${DURATION%s} n=${#all[@]}
  printf '%s\n' "${all[@]}" | awk -v n="$(( RATE * secs ))" -v base="$base" '
    { id[NR - 1] = $0 } END { for (i = 0; i < n; i++) { r = int(i / NR); q = r ? "?round=" r : ""; print "GET " base "/api/v1/cases/" id[i % NR] q; print "" } }' >"$work/targets.txt"
  "$vegeta" attack -rate="$RATE" -duration="$DURATION" -timeout=10s -targets="$work/targets.txt" \
    -header "Authorization: Bearer $wide" >"$work/distinct.bin"
  "$vegeta" report -type=json <"$work/distinct.bin" >"$work/distinct.json"
  local req ok p50 p99 rps err e5
  req=$(jq '.requests' "$work/distinct.json")
  ok=$(jq '.status_codes["200"] // 0' "$work/distinct.json")
  e5=$(jq '[.status_codes | to_entries[] | select(.key | startswith("5")) | .value] | add // 0' "$work/distinct.json")
  err=$(jq '.status_codes["0"] // 0' "$work/distinct.json")
  p50=$(jq '.latencies["50th"] / 1e6 * 10 | round / 10' "$work/distinct.json")
  p99=$(jq '.latencies["99th"] / 1e6 * 10 | round / 10' "$work/distinct.json")
  rps=$(jq '.throughput | round' "$work/distinct.json")
  printf "%-9s %-22s %8s %6s %8s %8s %7s %6s\n" casefile_distinct "$n cases" "$req" "$rps" "$p50" "$p99" $(( req - ok - err )) "$err"
  total_req=$(( total_req + req )); total_bad=$(( total_bad + req - ok - err )); total_err=$(( total_err + err )); total_5xx=$(( total_5xx + e5 ))
  worst_p50=$(awk -v a="$worst_p50" -v b="$p50" 'BEGIN {print (b > a ? b : a)}')
  worst_p99=$(awk -v a="$worst_p99" -v b="$p99" 'BEGIN {print (b > a ? b : a)}')
}
if [ -z "$DB" ] && [[ " $RUNS " == *" casefile "* || " $RUNS " == *" mixed "* || " $RUNS " == *" flags "* ]]; then
mapfile -t own < <(ids "$aud" "/api/v1/cases?limit=12" case_id)
mapfile -t foreign < <(ids "$admin" "/api/v1/cases?limit=500" case_id | head -500)
mapfile -t orgs < <(ids "$aud" "/api/v1/institutions?limit=4" org_code)
other_cases=()
for id in "${foreign[@]}"; do
  [[ " ${own[*]} " == *" $id "* ]] && continue
  code=$(curl -s -o /dev/null -w '%{http_code}' -H "Authorization: Bearer $aud" "$base/api/v1/cases/$id")
  [ "$code" = 404 ] && other_cases+=("$id")
  [ ${#other_cases[@]} -ge 2 ] && break
done
mapfile -t other_orgs < <(ids "$admin" "/api/v1/institutions?limit=500" org_code | grep -v '^H330106\|^P330106\|^C330106' | head -2)
if [ ${#own[@]} -lt 4 ] || [ ${#other_cases[@]} -lt 1 ] || [ ${#other_orgs[@]} -lt 1 ]; then
  echo "load: the demo database lacks cases in and out of 330106" >&2; exit 1
fi
fi

# stream NAME TOKEN RPS PATH EXPECT: one hey process at RPS requests/s.
streams=()
stream() {
  local name=$1 tok=$2 rps=$3 path=$4 expect=$5
  local c=$(( rps < 25 ? rps : 25 ))
  local q=$(( (rps + c - 1) / c ))
  hey -z "$DURATION" -c "$c" -q "$q" -H "Authorization: Bearer $tok" "$base$path" >"$work/$name.out" 2>&1 &
  streams+=("$name:$expect:$!")
}

# summarise RUN: reads the streams' outputs, prints their rows, appends to totals.
total_req=0; total_bad=0; total_err=0; total_5xx=0; total_cross=0; worst_p50=0; worst_p99=0
summarise() {
  local run=$1
  for s in "${streams[@]}"; do
    IFS=: read -r name expect pid <<<"$s"
    wait "$pid" || true
    local f="$work/$name.out"
    local req ok bad err e5 p50 p99 rps
    req=$(awk '/^  \[[0-9]+\]/ {n += $2} END {print n + 0}' "$f")
    ok=$(awk -v e="[$expect]" '$1 == e {print $2}' "$f"); ok=${ok:-0}
    e5=$(awk '/^  \[5[0-9][0-9]\]/ {n += $2} END {print n + 0}' "$f")
    err=$(awk '/^Error distribution:/ {on = 1; next} on && /^  \[[0-9]+\]/ {n += substr($1, 2) + 0} END {print n + 0}' "$f")
    bad=$(( req - ok ))
    p50=$(awk '/50% in/ {printf "%.1f", $3 * 1000}' "$f"); p50=${p50:-0}
    p99=$(awk '/99% in/ {printf "%.1f", $3 * 1000}' "$f"); p99=${p99:-0}
    rps=$(awk '/Requests\/sec:/ {printf "%.0f", $2}' "$f")
    printf "%-9s %-22s %8s %6s %8s %8s %7s %6s\n" "$run" "$name" "$req" "$rps" "$p50" "$p99" "$bad" "$err"
    total_req=$(( total_req + req )); total_bad=$(( total_bad + bad )); total_err=$(( total_err + err )); total_5xx=$(( total_5xx + e5 ))
    if [ "$expect" = 404 ]; then
      total_cross=$(( total_cross + $(awk '/^  \[2[0-9][0-9]\]/ {n += $2} END {print n + 0}' "$f") ))
    fi
    worst_p50=$(awk -v a="$worst_p50" -v b="$p50" 'BEGIN {print (b > a ? b : a)}')
    worst_p99=$(awk -v a="$worst_p99" -v b="$p99" 'BEGIN {print (b > a ? b : a)}')
  done
  streams=()
}

echo "load: ${DB:-$PERSONS persons}, $RATE requests/s for $DURATION per run, server pid $server"
printf "%-9s %-22s %8s %6s %8s %8s %7s %6s\n" run stream requests rps p50_ms p99_ms unexpct errors
for run in $RUNS; do
  case $run in
    casefile)
      for i in 0 1 2 3; do stream "case_${own[$i]}" "$aud" $(( RATE / 4 )) "/api/v1/cases/${own[$i]}" 200; done ;;
    flags)
      stream flags_p1 "$aud" $(( RATE / 4 )) "/api/v1/flags?limit=50" 200
      stream flags_p2 "$aud" $(( RATE / 4 )) "/api/v1/flags?limit=50&offset=50" 200
      stream flags_ghost "$aud" $(( RATE / 4 )) "/api/v1/flags?family=ghost_bed&min_score=0.5" 200
      stream flags_card "$aud" $(( RATE / 4 )) "/api/v1/flags?family=card_misuse&limit=20" 200 ;;
    mixed)
      stream m_case_a "$aud" $(( RATE * 15 / 100 )) "/api/v1/cases/${own[0]}" 200
      stream m_case_b "$aud" $(( RATE * 15 / 100 )) "/api/v1/cases/${own[1]}" 200
      stream m_flags "$aud" $(( RATE * 20 / 100 )) "/api/v1/flags?limit=50" 200
      stream m_cases "$aud" $(( RATE * 10 / 100 )) "/api/v1/cases?state=panel_review" 200
      stream m_queue "$rev" $(( RATE * 10 / 100 )) "/api/v1/queue" 200
      stream m_inst "$aud" $(( RATE * 10 / 100 )) "/api/v1/institutions/${orgs[0]}" 200
      stream m_xcase "$aud" $(( RATE * 10 / 100 )) "/api/v1/cases/${other_cases[0]}" 404
      stream m_xinst "$aud" $(( RATE * 10 / 100 )) "/api/v1/institutions/${other_orgs[0]}/peers" 404 ;;
    casefile_distinct) distinct ;;
    *) echo "unknown run $run" >&2; exit 2 ;;
  esac
  summarise "$run"
done
rss_kb=$(awk '/VmHWM/ {print $2}' "/proc/$server/status")
printf "server peak RSS %.0f MB\n" "$(awk -v k="$rss_kb" 'BEGIN {print k / 1024}')"
if grep -q "level=ERROR" "$work/serve.log"; then
  echo "server logged errors:"; grep "level=ERROR" "$work/serve.log" | head -5
fi
echo "LOAD requests=$total_req errors=$(( total_err + total_bad )) 5xx=$total_5xx cross_district=$total_cross p50_ms=$worst_p50 p99_ms=$worst_p99 rss_mb=$(( rss_kb / 1024 ))"
[ "$total_err" -eq 0 ] && [ "$total_bad" -eq 0 ] && [ "$total_cross" -eq 0 ]
