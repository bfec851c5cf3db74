#!/usr/bin/env bash
# A full scan started over the API of a running server while auditors read
# case files, flags and institution profiles at RATE requests/s: prints the
# scan's time, the reads' p50/p99 and errors during the scan, and the
# server's peak RSS.
#
#   DB=big.duckdb scripts/scan-while-serving.sh        # an ingested database
#   PERSONS=20000 scripts/scan-while-serving.sh        # or fixtures made here
# A first scan of the impersonation rules opens the cases the readers read;
# the measured scan opens no cases unless OPEN_CASES=true.
set -euo pipefail
cd "$(dirname "$0")/.."

RATE=${RATE:-200}
PORT=${PORT:-18490}
. ./env.sh # CGO_ENABLED and the build tags every go command here uses
command -v hey >/dev/null 2>&1 || { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq hey >/dev/null; }

work=$(mktemp -d)
server=""
cleanup() {
  if [ -n "$server" ]; then kill "$server" 2>/dev/null || true; wait "$server" 2>/dev/null || true; fi
  rm -rf "$work"
}
trap cleanup EXIT
go build -o "$work/medaudit" ./cmd/medaudit
bin="$work/medaudit"
if [ -z "${DB:-}" ]; then
  DB="$work/scan.duckdb"
  "$bin" fixtures --out "$work/fx" --persons "${PERSONS:-20000}" --seed 4242 >/dev/null
  "$bin" ingest -q --db "$DB" "$work/fx" >/dev/null
fi
"$bin" scan --db "$DB" --detectors impersonation >/dev/null
"$bin" cases open --db "$DB" >/dev/null
pw="scan-while-serving-$$"
adduser() {
  "$bin" users token --db "$DB" --id "$1" >/dev/null 2>&1 ||
    echo "$pw" | "$bin" users add --db "$DB" --id "$1" --role "$2" --districts "$3" --password-stdin >/dev/null
}
adduser aud_sws auditor 330106
adduser admin_sws admin '*'
token() { "$bin" users token --db "$DB" --id "$1" --label sws 2>/dev/null | sed 's/.*"token":"\([^"]*\)".*/\1/'; }
aud=$(token aud_sws)
admin=$(token admin_sws)
# Only the (short) annual report is scheduled: its catch-up at start-up is
# the only other writer.
printf 'jobs:\n  - {name: annual, kind: annual_scoring, spec: "0 4 15 1 *"}\n' > "$work/annual.yaml"
"$bin" serve --db "$DB" --addr "127.0.0.1:$PORT" --schedules "$work/annual.yaml" 2>"$work/serve.log" &
server=$!
base="http://127.0.0.1:$PORT"
for _ in $(seq 300); do curl -fs "$base/healthz" >/dev/null 2>&1 && break; sleep 0.1; done
ids() { curl -fs -H "Authorization: Bearer $1" "$base$2" | grep -o "\"$3\":\"[^\"]*\"" | cut -d'"' -f4; }
mapfile -t cases < <(ids "$aud" "/api/v1/cases?limit=4" case_id)
mapfile -t orgs < <(ids "$aud" "/api/v1/institutions?limit=2" org_code)

start=$(date +%s.%N)
scan=""
for _ in $(seq 600); do # 409 while the catch-up report holds the writer
  scan=$(curl -s -X POST -H "Authorization: Bearer $aud" -H "Content-Type: application/json" -d "{\"open_cases\": ${OPEN_CASES:-false}}" "$base/api/v1/scans" | grep -o '"scan_id":[0-9]*' | cut -d: -f2 || true)
  [ -n "$scan" ] && break
  sleep 0.5
done
[ -n "$scan" ] || { echo "could not start the scan" >&2; exit 1; }
hey_pids=()
run() { hey -z 3600s -c 10 -q $(( RATE / 40 > 0 ? RATE / 40 : 1 )) -H "Authorization: Bearer $aud" "$base$2" >"$work/$1.out" 2>&1 & hey_pids+=($!); }
run case0 "/api/v1/cases/${cases[0]}"
run case1 "/api/v1/cases/${cases[1]:-${cases[0]}}"
run flags "/api/v1/flags?limit=50"
run inst "/api/v1/institutions/${orgs[0]}"
status=running
while [ "$status" = running ]; do
  sleep 2
  status=$(curl -fs -H "Authorization: Bearer $admin" "$base/api/v1/scans/$scan" | grep -o '"status":"[a-z]*"' | head -1 | cut -d'"' -f4)
done
end=$(date +%s.%N)
kill -INT "${hey_pids[@]}" 2>/dev/null || true
wait "${hey_pids[@]}" 2>/dev/null || true
rss_kb=$(awk '/VmHWM/ {print $2}' "/proc/$server/status")
printf "scan %s: %s in %.0f s while serving; server peak RSS %.0f MB\n" "$scan" "$status" "$(echo "$end - $start" | bc)" "$(echo "$rss_kb / 1024" | bc)"
printf "%-6s %9s %8s %8s %8s\n" stream requests p50_ms p99_ms non200
for f in case0 case1 flags inst; do
  o="$work/$f.out"
  printf "%-6s %9s %8s %8s %8s\n" "$f" "$(awk '/^  \[[0-9]+\]/ {n += $2} END {print n + 0}' "$o")" \
    "$(awk '/50% in/ {printf "%.1f", $3 * 1000}' "$o")" "$(awk '/99% in/ {printf "%.1f", $3 * 1000}' "$o")" \
    "$(awk '/^  \[[0-9]+\]/ && $1 != "[200]" {n += $2} END {print n + 0}' "$o")"
done
[ "$status" = done ]
