#!/usr/bin/env bash
# SubmitAssessment with 16 clients, two builds run by turns on copies of the same seeded SQLite
# databases, so that a drift of the machine (the disk's sync time varies here from run to run)
# falls on both alike. For each round, each build and each database: copy the database, sync,
# start `maturity serve` on the copy, one second of warm-up, SECONDS of submissions; one line
# "build database submissions/s p50 p99 p999" (milliseconds).
# Usage: tools/bench/interleaved.sh ROUNDS SECONDS BUILD_A BUILD_B N...
#   BUILD_A/BUILD_B: `maturity` binaries (for example the release binary of two commits, copied
#   aside); N: sizes of the demo benchmark, each seeded once (seed 7) with BUILD_B.
# Needs the release `loadgen` (target/release). With MATURITY_BENCH_SETTLE=S each server runs S
# seconds after it first answers before the submissions begin (as in scale.sh, where the reads are
# measured first): what a server does once after its start then falls before the measurement.
set -euo pipefail
rounds="${1:?usage: interleaved.sh ROUNDS SECONDS BUILD_A BUILD_B N...}"
secs="${2:?}"; a="${3:?}"; b="${4:?}"; shift 4
[ "$#" -gt 0 ] || { echo "give at least one size N" >&2; exit 2; }
loadgen=./target/release/loadgen
dir="$(mktemp -d)"
trap 'kill "${server:-0}" 2>/dev/null || true; rm -rf "$dir"' EXIT
for n in "$@"; do
  "$b" seed-demo --companies "$n" --seed 7 --database-url "sqlite://$dir/seed$n.db?mode=rwc" \
    --pseudonym-key-file "$dir/key" --log-level warn >/dev/null
done
echo "build database submissions/s p50_ms p99_ms p999_ms"
for round in $(seq 1 "$rounds"); do
  for build in "$a" "$b"; do
    for n in "$@"; do
      rm -f "$dir"/run.db*
      cp "$dir/seed$n.db" "$dir/run.db"; sync
      port=$((20000 + RANDOM % 20000))
      MATURITY_ADMIN_ADDR=off "$build" serve --database-url "sqlite://$dir/run.db" --pseudonym-key-file "$dir/key" \
        --grpc-addr "127.0.0.1:$port" --http-addr off --auth tenant-header --tenant-rate-limit 0 \
        --max-submits-in-flight 64 --log-level error &
      server=$!
      for _ in $(seq 1 600); do
        if "$loadgen" --server "http://127.0.0.1:$port" --scenarios echo --duration 0.1 --warmup 0 >/dev/null 2>&1; then break; fi
        sleep 0.5
      done
      sleep "${MATURITY_BENCH_SETTLE:-0}"
      line="$("$loadgen" --server "http://127.0.0.1:$port" --scenarios submit --concurrency 16 --warmup 1 \
        --duration "$secs" | grep 'SubmitAssessment')"
      # name, mode, concurrency, count, errors, rate, p50, p90, p99, p999, max
      echo "$(basename "$build") $n $(echo "$line" | awk '{print $6, $7, $9, $10}')"
      kill "$server"; wait "$server" 2>/dev/null || true
    done
  done
done
