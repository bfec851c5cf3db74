#!/usr/bin/env bash
# Executes every auditor notebook in notebooks/ end to end, the way CI does:
#   1. installs what is missing: Debian's nbconvert and ipykernel, the GoNB Go
#      kernel and goimports (built from the pinned tools module tools/gonb);
#   2. checks that the committed notebooks carry no outputs;
#   3. builds a small audit database from fixtures: ingest, a re-delivery with
#      a correction and two malformed rows, scan, cases, Parquet export;
#   4. runs each notebook with nbconvert (a failing cell fails this script)
#      and writes the executed copies to out/notebooks/.
# Paths reach the notebooks through MEDAUDIT_DB, MEDAUDIT_PARQUET,
# MEDAUDIT_FIXTURES and MEDAUDIT_LABELS.
set -euo pipefail
cd "$(dirname "$0")/.."
repo=$(pwd)

. ./env.sh # CGO_ENABLED and the build tags every go command here uses

now() { date +%s.%N; }
since() { awk -v a="$1" -v b="$(now)" 'BEGIN { printf "%.1f", b - a }'; }
t_all=$(now)

echo "== notebooks: tools"
nbconvert=/usr/bin/jupyter-nbconvert
if [ ! -x "$nbconvert" ] || ! /usr/bin/python3 -c 'import ipykernel' 2>/dev/null; then
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
    jupyter-nbconvert python3-ipykernel >/dev/null
fi
# GoNB and goimports (GoNB runs it on every cell) come from the tools module,
# whose go.mod pins their versions. gopls is pinned there too but only serves
# interactive completion, so CI does not build it (--force_deps below).
tools="${MEDAUDIT_TOOLS_BIN:-${XDG_CACHE_HOME:-$HOME/.cache}/medaudit/tools}"
mkdir -p "$tools"
if [ ! -x "$tools/gonb" ] || [ ! -x "$tools/goimports" ] || [ "$tools/gonb" -ot tools/gonb/go.sum ]; then
  (cd tools/gonb && go build -o "$tools/" github.com/janpfeifer/gonb golang.org/x/tools/cmd/goimports)
fi
export PATH="$tools:$PATH"
kernel="${JUPYTER_DATA_DIR:-$HOME/.local/share/jupyter}/kernels/gonb/kernel.json"
if [ ! -f "$kernel" ] || [ "$kernel" -ot "$tools/gonb" ]; then
  "$tools/gonb" --install --force_deps --raw_error
fi

echo "== notebooks: committed without outputs"
/usr/bin/python3 - notebooks/*.ipynb <<'EOF'
import json, sys
bad = []
for path in sys.argv[1:]:
    with open(path, encoding="utf-8") as f:
        nb = json.load(f)
    if nb.get("metadata", {}).get("kernelspec", {}).get("name") != "gonb":
        bad.append(f"{path}: kernel is not gonb")
    for i, cell in enumerate(nb["cells"]):
        if cell["cell_type"] == "code" and (cell.get("outputs") or cell.get("execution_count") is not None):
            bad.append(f"{path}: cell {i} has outputs (clear them before committing)")
if bad:
    sys.exit("\n".join(bad))
EOF

echo "== notebooks: audit database from fixtures"
t0=$(now)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
go build -o "$work/medaudit" ./cmd/medaudit
m="$work/medaudit"
db="$work/audit.duckdb"
"$m" fixtures --persons 2000 --seed 77 --out "$work/fx" >/dev/null
"$m" ingest --quiet --db "$db" "$work/fx" >/dev/null
# A re-delivery of twelve settlements: nine unchanged, one corrected (another
# department), one whose total is not the sum of its parts and one with an
# impossible date, so the ledger and the quarantine have something to show.
mkdir "$work/redelivery"
awk -F, -v OFS=, 'NR == 1 { print; next }
  NR <= 10 { print; next }
  NR == 11 { $6 = "A99"; print; next }
  NR == 12 { $11 = sprintf("%.2f", $11 + 1); print; next }
  NR == 13 { $19 = "2025-13-45 00:00:00"; print; exit }' \
  "$work/fx/settlements.csv" > "$work/redelivery/settlements.csv"
"$m" ingest --quiet --db "$db" "$work/redelivery" >/dev/null
"$m" scan --db "$db" >/dev/null 2>&1
"$m" cases open --db "$db" >/dev/null
"$m" export parquet --db "$db" --out "$work/parquet" >/dev/null
echo "database built in $(since "$t0") s"

export MEDAUDIT_DB="$db" MEDAUDIT_PARQUET="$work/parquet" MEDAUDIT_FIXTURES="$work/fx" MEDAUDIT_LABELS="$work/fx/labels.csv"
out="$repo/out/notebooks"
mkdir -p "$out"
for nb in notebooks/*.ipynb; do
  t0=$(now)
  # The kernel starts in the notebook's folder (GoNB's GONB_DIR), which the
  # notebooks use to find this repository for their go.mod. GoNB reports a
  # failed cell to nbconvert only as "exit status 2", so nbconvert keeps the
  # outputs (--allow-errors) and the check below fails on the first failed
  # cell, printing its output (the panic message).
  "$nbconvert" --to notebook --execute --allow-errors --ExecutePreprocessor.kernel_name=gonb \
    --ExecutePreprocessor.timeout=600 --output-dir "$out" "$nb" 2>"$work/nbconvert.log" || {
    cat "$work/nbconvert.log" >&2
    echo "notebook failed: $nb" >&2
    exit 1
  }
  /usr/bin/python3 - "$out/$(basename "$nb")" <<'EOF'
import json, sys
with open(sys.argv[1], encoding="utf-8") as f:
    nb = json.load(f)
for i, cell in enumerate(nb["cells"]):
    outs = cell.get("outputs", [])
    if any(o["output_type"] == "error" for o in outs):
        text = "".join("".join(o.get("text", "")) for o in outs if o["output_type"] == "stream")
        sys.exit(f"{sys.argv[1]}: cell {i} failed:\n{''.join(cell['source'])[:400]}\n--- output ---\n{text[-4000:]}")
EOF
  echo "$(basename "$nb") ok in $(since "$t0") s"
done
echo "notebooks ok in $(since "$t_all") s; executed copies in out/notebooks/"
