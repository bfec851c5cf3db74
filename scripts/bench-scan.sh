#!/usr/bin/env bash
# The scan against the analyst's pandas peer (../shared/bench/pandas_peer.py),
# measured in one run on the same plain-CSV batch, for each size in PERSONS:
#   medaudit ingest   seconds and peak RSS (into a fresh database file)
#   medaudit scan     seconds and peak RSS (every detector, default thresholds)
#   pandas peer       seconds (its CSV load + rules) and peak RSS
# and the ratios peer / scan and peer / (ingest + scan). The per-detector
# seconds of each scan (from its "detector done" log lines) go to
# WORK/detectors-N.tsv, slowest first; the seconds of its steps ("scan phase
# done": prepare, detectors, collect, readers, guard, store) are printed
# under the size's row. A line per size for scripts:
#   BENCH persons=N round=1 settlements=… fee_items=… ingest_s=… ingest_rss_mb=… scan_s=… scan_rss_mb=… peer_s=… peer_rss_mb=… scan_x=… total_x=… ingest_cpu_s=… scan_cpu_s=… peer_cpu_s=…
# RUNS=K repeats the three, in turn, K times per size (this machine's times
# vary by 10-20 % from run to run): a row and a BENCH line per round (files
# NAME-N-ROUND), then the medians and their ratios (row N-median, BENCH
# round=median).
#
#   PERSONS="100000 300000 1000000" WORK=/var/tmp/bench scripts/bench-scan.sh
#   RUNS=3 scripts/bench-scan.sh
# SCAN_FLAGS are added to the scan (e.g. "--memory-limit 10GB").
# Generated batches are kept in WORK and reused; databases are rebuilt. The
# peer's address space is capped at PEER_MEM_KB (80 % of RAM); a peer that
# fails is reported with its time up to the failure as a lower bound (">").
set -euo pipefail
cd "$(dirname "$0")/.."

PERSONS=${PERSONS:-100000}
RUNS=${RUNS:-1}
SEED=${SEED:-20261206}
WORK=${WORK:-/var/tmp/medaudit-bench-scan}
PEER=${PEER:-../shared/bench/pandas_peer.py}
BIN=${BIN:-$WORK/medaudit}
PEER_MEM_KB=${PEER_MEM_KB:-$(awk '/MemTotal/ {printf "%d", $2 * 0.8}' /proc/meminfo)}

. ./env.sh # CGO_ENABLED and the build tags every go command here uses

if ! /usr/bin/python3 -c 'import pandas' 2>/dev/null; then
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends python3-pandas >/dev/null
fi
if [ ! -x /usr/bin/time ]; then
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends time >/dev/null
fi
[ -f "$PEER" ] || { echo "bench-scan: the peer script $PEER is missing (set PEER=…)" >&2; exit 1; }

mkdir -p "$WORK"
go build -o "$BIN" ./cmd/medaudit

# measure NAME CMD…: runs CMD under /usr/bin/time -v, its stdout to
# WORK/NAME.out and stderr to WORK/NAME.err; sets SECS, RSS_MB and CPU_S
# (user + system seconds), and OK to 0 when CMD failed (the failure is
# printed; the figures are then those up to the failure).
measure() {
  local name=$1; shift
  OK=1
  /usr/bin/time -v -o "$WORK/$name.time" "$@" >"$WORK/$name.out" 2>"$WORK/$name.err" || {
    OK=0
    echo "bench-scan: $name failed; see $WORK/$name.err" >&2
    tail -3 "$WORK/$name.err" >&2
    grep -E 'Command terminated|Exit status' "$WORK/$name.time" >&2 || true
  }
  SECS=$(awk -F': ' '/Elapsed \(wall clock\)/ {n = split($2, p, ":"); s = 0; for (i = 1; i <= n; i++) s = s * 60 + p[i]; printf "%.2f", s}' "$WORK/$name.time")
  RSS_MB=$(awk -F': ' '/Maximum resident set size/ {printf "%.0f", $2 / 1024}' "$WORK/$name.time")
  CPU_S=$(awk -F': ' '/(User|System) time \(seconds\)/ {s += $2} END {printf "%.2f", s}' "$WORK/$name.time")
}

ratio() { awk -v a="$1" -v b="$2" 'BEGIN {printf "%.2f", a / b}'; }

# median X…: the middle value (the mean of the two middle ones for an even count)
median() { printf '%s\n' "$@" | sort -g | awk '{v[NR] = $1} END {printf "%.2f", NR % 2 ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2}'; }

printf '%-9s %11s %10s | %9s %8s | %9s %8s | %9s %8s | %8s %8s\n' persons settlements fee_items \
  ingest_s rss_mb scan_s rss_mb peer_s rss_mb peer/scan peer/all
for n in $PERSONS; do
  batch=$WORK/batch-$n
  if [ ! -f "$batch/settlements.csv" ]; then
    rm -rf "$batch"
    "$BIN" fixtures --out "$batch" --persons "$n" --seed "$SEED" >/dev/null 2>&1
  fi
  settlements=$(($(wc -l <"$batch/settlements.csv") - 1))
  fee_items=$(($(wc -l <"$batch/fee_items.csv") - 1))
  db=$WORK/bench-$n.duckdb
  ingests=() scans=() peers=() peers_ok=1
  for round in $(seq "$RUNS"); do
    # round r's files are NAME-n-r; one round keeps the plain NAME-n
    tag=$n
    [ "$RUNS" = 1 ] || tag=$n-$round
    rm -f "$db" "$db.wal"

    measure "ingest-$tag" "$BIN" ingest -q --db "$db" "$batch"
    [ "$OK" = 1 ] || exit 1
    ingest_s=$SECS ingest_rss=$RSS_MB ingest_cpu=$CPU_S
    # shellcheck disable=SC2086 # SCAN_FLAGS is a list of flags
    measure "scan-$tag" "$BIN" scan --db "$db" ${SCAN_FLAGS:-}
    [ "$OK" = 1 ] || exit 1
    scan_s=$SECS scan_rss=$RSS_MB scan_cpu=$CPU_S
    # the peer's address space is capped so that running out of memory fails
    # it (MemoryError) instead of waking the OOM killer on the machine
    measure "peer-$tag" bash -c 'ulimit -v "$1"; exec /usr/bin/python3 "$2" "$3" "$4"' _ "$PEER_MEM_KB" "$PEER" "$batch" "$WORK/peer-flags-$n.csv"
    peer_s=$SECS peer_rss=$RSS_MB peer_cpu=$CPU_S
    peer_ok=$OK
    [ "$OK" = 1 ] || peers_ok=0
    if [ "$OK" != 1 ]; then
      # the peer failed (e.g. killed out of memory): its time is a lower bound
      peer_s=">$SECS"
    fi

    sed -nE 's/.*detector=([^ ]+) flags=([0-9]+) seconds=([0-9.e+-]+).*/\3\t\1\t\2/p' "$WORK/scan-$tag.err" |
      sort -t$'\t' -k1,1 -gr >"$WORK/detectors-$tag.tsv"
    scan_x=$(ratio "${peer_s#>}" "$scan_s")
    total_x=$(ratio "${peer_s#>}" "$(awk -v a="$ingest_s" -v b="$scan_s" 'BEGIN {print a + b}')")
    if [ "$peer_ok" != 1 ]; then scan_x=">$scan_x" total_x=">$total_x"; fi
    printf '%-9s %11s %10s | %9s %8s | %9s %8s | %9s %8s | %8s %8s\n' "$tag" "$settlements" "$fee_items" \
      "$ingest_s" "$ingest_rss" "$scan_s" "$scan_rss" "$peer_s" "$peer_rss" "${scan_x}x" "${total_x}x"
    echo "  scan phases (seconds):" $(sed -nE 's/.*msg="scan phase done" phase=([a-z]+) seconds=([0-9.e+-]+).*/\1 \2/p' "$WORK/scan-$tag.err" |
      awk '{printf "%s=%.2f ", $1, $2}')
    # on 2 cores the scan keeps both busy and the peer (pandas) one
    echo "  CPU seconds (user + system): ingest $ingest_cpu, scan $scan_cpu, peer $peer_cpu"
    echo "  slowest detectors (seconds, detector, flags): $WORK/detectors-$tag.tsv"
    head -8 "$WORK/detectors-$tag.tsv" | sed 's/^/    /'
    echo "BENCH persons=$n round=$round settlements=$settlements fee_items=$fee_items ingest_s=$ingest_s ingest_rss_mb=$ingest_rss scan_s=$scan_s scan_rss_mb=$scan_rss peer_s=$peer_s peer_rss_mb=$peer_rss scan_x=$scan_x total_x=$total_x ingest_cpu_s=$ingest_cpu scan_cpu_s=$scan_cpu peer_cpu_s=$peer_cpu"
    ingests+=("$ingest_s") scans+=("$scan_s") peers+=("${peer_s#>}")
  done
  if [ "$RUNS" -gt 1 ]; then
    # the median of each measure over the rounds, and the ratios of the
    # medians (a failed peer's rounds count at their lower bound, and make
    # the median one)
    ingest_m=$(median "${ingests[@]}") scan_m=$(median "${scans[@]}") peer_m=$(median "${peers[@]}")
    scan_x=$(ratio "$peer_m" "$scan_m")
    total_x=$(ratio "$peer_m" "$(awk -v a="$ingest_m" -v b="$scan_m" 'BEGIN {print a + b}')")
    [ "$peers_ok" = 1 ] || peer_m=">$peer_m" scan_x=">$scan_x" total_x=">$total_x"
    printf '%-9s %11s %10s | %9s %8s | %9s %8s | %9s %8s | %8s %8s\n' "$n-median" "$settlements" "$fee_items" \
      "$ingest_m" "" "$scan_m" "" "$peer_m" "" "${scan_x}x" "${total_x}x"
    echo "BENCH persons=$n round=median runs=$RUNS settlements=$settlements fee_items=$fee_items ingest_s=$ingest_m scan_s=$scan_m peer_s=$peer_m scan_x=$scan_x total_x=$total_x"
  fi
done
