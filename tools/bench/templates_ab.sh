#!/usr/bin/env bash
# Template folders side by side on one prepared database: the same binary, the same chapters,
# only the templates differ (what a part of a chapter costs the nightly batch).
# Usage: tools/bench/templates_ab.sh DIR ROUNDS TEMPLATES_DIR...
#   DIR: a folder prepared by `KEEP=DIR PREPARE_ONLY=1 tools/bench/night.sh N` (its bench.db).
#   Each round runs `report-gen nightly --templates T` for every T in turn, on a fresh copy of the
#   database, and prints the chapters/s of each. BIN=DIR takes report-gen from DIR (default
#   ./target/release).
set -euo pipefail
dir="$1" rounds="$2"
shift 2
bin="${BIN:-./target/release}"
export MATURITY_FONT_DIRS="${MATURITY_FONT_DIRS:-$(pwd)/fonts}"
trap 'rm -rf "$dir/run.db" "$dir/run.db-wal" "$dir/run.db-shm" "$dir/ab-out"' EXIT
for r in $(seq 1 "$rounds"); do
  line="round $r:"
  for t in "$@"; do
    rm -rf "$dir/run.db" "$dir/run.db-wal" "$dir/run.db-shm" "$dir/ab-out"
    for suffix in "" -wal -shm; do
      [ -e "$dir/bench.db$suffix" ] && cp "$dir/bench.db$suffix" "$dir/run.db$suffix"
    done
    rate=$("$bin/report-gen" nightly --out "$dir/ab-out" --date 2026-11-28 --database-url "sqlite://$dir/run.db" \
      --log-level warn --templates "$t" | sed -n 's/.*(\([0-9.]*\) chapters\/s).*/\1/p')
    line="$line $(basename "$t")=$rate"
  done
  echo "$line"
done
