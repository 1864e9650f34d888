#!/usr/bin/env bash
# The nightly batch, previous binaries against current ones in one run, and the typst CLI
# compiling the same chapters' generated source (`report-gen render --format typ`), as a ratio.
# Usage: tools/bench/night_compare.sh PREV_BIN_DIR CUR_BIN_DIR TYPST_CLI [N] [ROUNDS]
# Both sides run tools/bench/night.sh (fresh database, demo peers, N assessments through the gRPC
# API, one `report-gen nightly`), alternating, ROUNDS times. Then the current side's chapters are
# written as Typst source and compiled by the typst CLI, one process per chapter (as the CLI
# works), sequentially and two at a time, with the same fonts (`fonts/`, no system fonts).
set -euo pipefail
cd "$(dirname "$0")/../.."
prev="$1" cur="$2" typst="$3" n="${4:-250}" rounds="${5:-2}"
export MATURITY_FONT_DIRS="${MATURITY_FONT_DIRS:-$(pwd)/fonts}"
rate() { sed -n 's/.*chapters written.*(\([0-9.]*\) chapters\/s).*/\1/p' | tail -1; }
# Each run's own output goes to stderr through `cat`, not `tee /dev/stderr`: when stderr is a file,
# tee reopens it and truncates what was written before.
side() { BIN="$1" tools/bench/night.sh "$n" 2>/dev/null >"$2"; cat "$2" >&2; rate <"$2"; }
keep="$(mktemp -d)"
trap 'rm -rf "$keep"' EXIT
for r in $(seq 1 "$rounds"); do
  p=$(side "$prev" "$keep/previous.txt")
  c=$(side "$cur" "$keep/current.txt")
  echo "round $r: previous $p chapters/s, current $c chapters/s, current/previous $(awk -v a="$c" -v b="$p" 'BEGIN { printf "%.2f", a / b }')"
done

BIN="$cur" KEEP="$keep" tools/bench/night.sh "$n" 2>/dev/null >"$keep/night.txt"
cat "$keep/night.txt" >&2
batch=$(rate <"$keep/night.txt")
mkdir -p "$keep/typ" "$keep/cli"
ids=$(find "$keep/out" -name '*.pdf' -printf '%f\n' | sed 's/\.pdf$//' | sort -n)
for id in $ids; do
  "$cur/report-gen" render --assessment "$id" --format typ --out "$keep/typ/$id.typ" \
    --database-url "sqlite://$keep/bench.db" --log-level warn >/dev/null
done
count=$(echo "$ids" | wc -w)
compile() { "$typst" compile --ignore-system-fonts --font-path "$MATURITY_FONT_DIRS" --pdf-standard a-2b "$keep/typ/$1.typ" "$keep/cli/$1.pdf"; }
export -f compile; export typst keep
t0=$(date +%s.%N)
for id in $ids; do compile "$id"; done
t1=$(date +%s.%N)
echo "$ids" | tr ' ' '\n' | xargs -P 2 -I{} bash -c 'compile {}'
t2=$(date +%s.%N)
seq_rate=$(awk -v n="$count" -v a="$t0" -v b="$t1" 'BEGIN { printf "%.1f", n / (b - a) }')
par_rate=$(awk -v n="$count" -v a="$t1" -v b="$t2" 'BEGIN { printf "%.1f", n / (b - a) }')
echo "typst CLI, same $count chapters: $seq_rate chapters/s one at a time, $par_rate chapters/s two at a time"
echo "report-gen nightly against the typst CLI two at a time: $(awk -v a="$batch" -v b="$par_rate" 'BEGIN { printf "%.2f", a / b }')"
