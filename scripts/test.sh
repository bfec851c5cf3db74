#!/usr/bin/env bash
# The whole test suite: formatting, vet, every Go test with the project's
# build tags, then the README's main job run end to end without serving.
set -euo pipefail
cd "$(dirname "$0")/.."

export CGO_ENABLED=1
GOFLAGS="$(go env GOFLAGS | sed 's/-tags=[^ ]*//') -tags=duckdb_arrow,nomsgpack"
export GOFLAGS

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
go test -count=1 ./...

echo "== main job (demo --no-serve)"
go build -o bin/medaudit ./cmd/medaudit
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
./bin/medaudit demo --no-serve --db "$work/demo.duckdb" --dir "$work/batch" --persons 300 > "$work/summary.json"
grep -q '"totals":{[^}]*"quarantined":0,' "$work/summary.json"
echo "demo ok: $(head -c 200 "$work/summary.json")…"
