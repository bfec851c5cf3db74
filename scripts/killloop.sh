#!/usr/bin/env bash
# Crash safety: cmd/killloop drives the real medaudit binary and SIGKILLs it
# at random moments during ingest, scan, reviewer verdicts through the API
# and report runs (CLI and the server's scheduler), checking after every
# kill that batches are whole, the ledger balances, nothing is half-written,
# acknowledged verdicts survive and interrupted runs are redone. Prints a
# table and a last line for scripts/hardening.sh:
#   KILL faults=N batches_intact=M/M rows_accounted=R/R half_written=0 redone=K/K verdicts_lost=0 http_5xx=0
#
#   KILLS=60 PERSONS=2000 SEED=42 scripts/killloop.sh
set -euo pipefail
cd "$(dirname "$0")/.."

KILLS=${KILLS:-8}
PERSONS=${PERSONS:-2000}

. ./env.sh # CGO_ENABLED and the build tags every go command here uses

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
go build -o "$work/medaudit" ./cmd/medaudit
go build -o "$work/killloop" ./cmd/killloop
"$work/killloop" -bin "$work/medaudit" -kills "$KILLS" -persons "$PERSONS" -work "$work/run" ${SEED:+-seed "$SEED"}
