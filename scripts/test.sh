#!/usr/bin/env bash
# The whole test suite: formatting, vet, every Go test with the project's
# build tags, then the README's main job run end to end without serving.
set -euo pipefail
cd "$(dirname "$0")/.."

. ./env.sh # CGO_ENABLED and the build tags every go command here uses

echo "== tools"
# Headless Chromium (and CJK fonts for readable screenshots) for the browser
# tests; installed from Debian's packages when missing.
if ! command -v chromium >/dev/null 2>&1; then
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends chromium fonts-noto-cjk >/dev/null
fi

echo "== gofmt"
unformatted=$(gofmt -l .)
if [ -n "$unformatted" ]; then
  echo "gofmt needed:"; echo "$unformatted"; exit 1
fi

echo "== go vet"
go vet ./...

echo "== go test"
# Verbose output goes to a log: the summary lines are shown, and the whole
# log (test output and every log line of the servers the tests run) is
# then searched for resident ID numbers, which must never be logged.
mkdir -p out
set +e
go test -count=1 -v ./... > out/gotest.log 2>&1
status=$?
set -e
grep -E '^(ok|FAIL|panic:|--- FAIL|\?)' out/gotest.log || true
if [ "$status" -ne 0 ]; then
  grep -E -B3 -A40 -- '--- FAIL|^panic:' out/gotest.log | head -400
  echo "go test failed (full log: out/gotest.log)"; exit "$status"
fi
echo "== no ID numbers in the logs of the test run"
idre='(^|[^0-9A-Za-z])[1-9][0-9]{5}(19|20)[0-9]{2}(0[1-9]|1[0-2])(0[1-9]|[12][0-9]|3[01])[0-9]{3}[0-9Xx]([^0-9A-Za-z]|$)'
found=$(grep -cE "$idre" out/gotest.log || true)
if [ "$found" -ne 0 ]; then
  echo "$found log lines carry an 18-character ID number (shown masked):"
  grep -nE "$idre" out/gotest.log | sed -E 's/([1-9][0-9]{5})[0-9]{8}([0-9]{3}[0-9Xx])/\1********\2/g' | head -20
  exit 1
fi
echo "$(wc -l < out/gotest.log) log lines, no ID number"

echo "== main job (demo --no-serve)"
go build -o bin/medaudit ./cmd/medaudit
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
./bin/medaudit demo --no-serve --db "$work/demo.duckdb" --dir "$work/batch" --persons 300 > "$work/summary.json"
grep -q '"totals":{[^}]*"quarantined":0,' "$work/summary.json"
echo "demo ok: $(head -c 200 "$work/summary.json")…"
./scripts/notebooks.sh
HARDENING=short ./scripts/hardening.sh
