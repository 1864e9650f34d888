#!/usr/bin/env bash
# The nightly batch benchmark (BENCHMARKS.md): a fresh SQLite database with the 20 000 synthetic
# demo peers, N synthetic assessments submitted through the real gRPC API, then one
# `report-gen nightly` over them. Prints the batch's own summary (chapters/s, peak memory).
# Usage: tools/bench/night.sh [N] [extra report-gen flags...]   (release binaries must be built)
# BIN=DIR takes the binaries from DIR (default ./target/release); KEEP=DIR keeps the database and
# the chapters in DIR instead of a scratch folder that is removed; PREPARE_ONLY=1 stops before the
# batch (with KEEP, for a script that runs the batch its own way).
set -euo pipefail
n="${1:-1000}"
shift || true
bin="${BIN:-./target/release}"
if [ -n "${KEEP:-}" ]; then
  dir="$KEEP"; mkdir -p "$dir"
  trap 'kill "${server:-0}" 2>/dev/null || true' EXIT
else
  dir="$(mktemp -d)"
  trap 'kill "${server:-0}" 2>/dev/null || true; rm -rf "$dir"' EXIT
fi
url="sqlite://$dir/bench.db?mode=rwc"
"$bin/maturity" seed-demo --database-url "$url" --pseudonym-key-file "$dir/key" --log-level warn
"$bin/maturity" admin --database-url "$url" --pseudonym-key-file "$dir/key" --log-level warn \
  create-tenant loadgen --name "Load generator" >/dev/null
key="$("$bin/maturity" admin --database-url "$url" --pseudonym-key-file "$dir/key" --log-level warn \
  issue-key loadgen --label bench | tail -1)"
port=$((20000 + RANDOM % 20000))
MATURITY_ADMIN_ADDR=off "$bin/maturity" serve --database-url "$url" --pseudonym-key-file "$dir/key" --grpc-addr "127.0.0.1:$port" --http-addr off --tenant-rate-limit 0 \
  --log-level warn &
server=$!
sleep 2
# An open loop at 50/s for N/50 seconds sends N-1 requests; the check before measuring sends one more.
secs=$(awk -v n="$n" 'BEGIN { printf "%.2f", (n - 1) / 50 }')
MATURITY_API_KEY="$key" "$bin/loadgen" --server "http://127.0.0.1:$port" --scenarios submit --rate 50 --duration "$secs" --warmup 0 | tail -1
kill "$server"
wait "$server" 2>/dev/null || true
[ -n "${PREPARE_ONLY:-}" ] && exit 0
"$bin/report-gen" nightly --out "$dir/out" --date 2026-11-28 --database-url "$url" --log-level warn "$@"
echo "chapter files: $(find "$dir/out" -name '*.pdf' | wc -l)"
