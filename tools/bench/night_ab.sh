#!/usr/bin/env bash
# Two report-gen binaries by turns on one prepared database: the same chapters, only the batch
# differs (what a change of the batch or the typesetting costs, without the seeding's noise).
# Usage: tools/bench/night_ab.sh DIR ROUNDS REPORT_GEN_A REPORT_GEN_B
#   DIR: a folder prepared by `KEEP=DIR PREPARE_ONLY=1 tools/bench/night.sh N` (its bench.db).
#   Each round runs `report-gen nightly` of A and of B (B first in even rounds) on fresh copies of
#   the database and prints the chapters/s and peak memory of each and B/A.
set -euo pipefail
dir="$1" rounds="$2" a="$3" b="$4"
export MATURITY_FONT_DIRS="${MATURITY_FONT_DIRS:-$(pwd)/fonts}"
trap 'rm -rf "$dir/run.db" "$dir/run.db-wal" "$dir/run.db-shm" "$dir/ab-out"' EXIT
run() {
  rm -rf "$dir/run.db" "$dir/run.db-wal" "$dir/run.db-shm" "$dir/ab-out"
  for suffix in "" -wal -shm; do
    [ -e "$dir/bench.db$suffix" ] && cp "$dir/bench.db$suffix" "$dir/run.db$suffix"
  done
  "$1" nightly --out "$dir/ab-out" --date 2026-11-28 --database-url "sqlite://$dir/run.db" --log-level error |
    sed -n 's/.*(\([0-9.]*\) chapters\/s).*peak memory \(.*\)/\1 \2/p'
}
for r in $(seq 1 "$rounds"); do
  if [ $((r % 2)) = 0 ]; then rb=$(run "$b"); ra=$(run "$a"); else ra=$(run "$a"); rb=$(run "$b"); fi
  echo "round $r: A $ra, B $rb, B/A $(awk -v x="${rb%% *}" -v y="${ra%% *}" 'BEGIN { printf "%.3f", x / y }')"
done
