#!/usr/bin/env bash
# Runs one `cargo test` selection ROUNDS times and fails when a round fails or when a round runs
# no test at all: a filter that matches nothing passes under `cargo test`, and a soak that tests
# nothing must not look green.
# Usage: tools/soak/repeat.sh ROUNDS PACKAGE TARGET FILTER...
set -euo pipefail
rounds="$1" package="$2" target="$3"
shift 3
cargo="${CARGO:-cargo}"
log="$(mktemp)"
trap 'rm -f "$log"' EXIT
for round in $(seq 1 "$rounds"); do
  if ! "$cargo" test -p "$package" --test "$target" -- "$@" >"$log" 2>&1; then
    cat "$log"
    echo "soak: round $round of $package/$target ($*) failed" >&2
    exit 1
  fi
  passed=$(sed -n 's/^test result: ok\. \([0-9]*\) passed.*/\1/p' "$log" | awk '{ s += $1 } END { print s + 0 }')
  if [ "$passed" -eq 0 ]; then
    cat "$log"
    echo "soak: round $round of $package/$target ($*) ran no test" >&2
    exit 1
  fi
  echo "soak: round $round of $package/$target ($*): $passed passed"
done
