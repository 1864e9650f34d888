#!/usr/bin/env bash
# Sector volumes and open figures (BENCHMARKS.md): a fresh SQLite database with N synthetic demo
# peers (default 20 000), then, each timed on its own: `report-gen sector` for one sector in
# Dutch (ROUNDS times, default 5, so that the spread shows), `report-gen nightly --sectors` (every
# sector with published figures of the latest year, on the default threads), and `report-gen
# export` as CSV and as Parquet. Prints one line per measurement.
# Usage: tools/bench/sector.sh [N] [SECTION] [ROUNDS]   (release binaries must be built)
# BIN=DIR takes the binaries from DIR (default ./target/release).
set -euo pipefail
n="${1:-20000}"
section="${2:-F}"
rounds="${3:-5}"
bin="${BIN:-./target/release}"
dir="$(mktemp -d)"
trap 'rm -rf "$dir"' EXIT
url="sqlite://$dir/bench.db?mode=rwc"
common=(--database-url "$url" --pseudonym-key-file "$dir/key" --log-level warn)
"$bin/maturity" seed-demo "${common[@]}" --companies "$n" | tail -1
now() { date +%s.%N; }
for i in $(seq 1 "$rounds"); do
  t0=$(now)
  "$bin/report-gen" sector --section "$section" --year 2025 --lang nl --out "$dir/sector.pdf" "${common[@]}" >/dev/null
  t1=$(now)
  awk -v a="$t0" -v b="$t1" -v i="$i" -v s="$section" -v size="$(stat -c %s "$dir/sector.pdf")" \
    'BEGIN { printf "sector volume %s (process start, read, typeset, write), round %d: %.3f s, %d bytes\n", s, i, b - a, size }'
done
t0=$(now)
"$bin/report-gen" nightly --sectors --out "$dir/out" --date 2026-11-28 "${common[@]}" | grep "sector volumes"
t1=$(now)
volumes=$(find "$dir/out" -name '*.pdf' | wc -l)
awk -v a="$t0" -v b="$t1" -v v="$volumes" \
  'BEGIN { printf "nightly --sectors: %d volumes in %.3f s (%.1f volumes/s, the whole process)\n", v, b - a, v / (b - a) }'
for format in csv parquet; do
  t0=$(now)
  "$bin/report-gen" export --year 2025 --format "$format" --out "$dir/figures.$format" "${common[@]}" | tail -1
  t1=$(now)
  awk -v a="$t0" -v b="$t1" -v f="$format" -v size="$(stat -c %s "$dir/figures.$format")" \
    'BEGIN { printf "export %s: %.3f s, %d bytes\n", f, b - a, size }'
done
