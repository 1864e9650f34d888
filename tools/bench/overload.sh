#!/usr/bin/env bash
# The overload scenario of RELIABILITY.md: `maturity serve` as its own process over a fresh SQLite
# database with the 20 000 synthetic demo peers, then SubmitAssessment in an open loop at
# RATE_LOW/s (below what it sustains), at RATE_HIGH/s (ten times that), then at RATE_AFTER/s
# (recovery; lower, because every accepted submission grows the year that the next one publishes,
# so the sustainable rate falls as the test runs). Prints loadgen's table for each phase and the server's resident memory after each
# (VmRSS) and its peak (VmHWM).
# Usage: tools/bench/overload.sh [RATE_LOW] [RATE_HIGH] [SECONDS] [RATE_AFTER]   (release binaries must be built)
set -euo pipefail
low="${1:-40}"
high="${2:-400}"
secs="${3:-20}"
after="${4:-$((low / 2))}"
bin=./target/release
dir="$(mktemp -d)"
trap 'kill "${server:-0}" 2>/dev/null || true; rm -rf "$dir"' EXIT
url="sqlite://$dir/bench.db?mode=rwc"
admin() { "$bin/maturity" admin --database-url "$url" --pseudonym-key-file "$dir/key" --log-level warn "$@"; }
"$bin/maturity" seed-demo --database-url "$url" --pseudonym-key-file "$dir/key" --log-level warn
admin create-tenant loadgen --name "Load generator" >/dev/null
key="$(admin issue-key loadgen --label overload | tail -1)"
port=$((20000 + RANDOM % 20000))
MATURITY_ADMIN_ADDR=off "$bin/maturity" serve --database-url "$url" --pseudonym-key-file "$dir/key" --grpc-addr "127.0.0.1:$port" \
  --http-addr off --tenant-rate-limit 0 --log-level warn &
server=$!
sleep 2
memory() { grep -E '^(VmRSS|VmHWM)' "/proc/$server/status" | tr -s ' \n' ' '; echo; }
echo "server after start: $(memory)"
for phase in "$low" "$high" "$after"; do
  MATURITY_API_KEY="$key" "$bin/loadgen" --server "http://127.0.0.1:$port" --scenarios submit \
    --rate "$phase" --duration "$secs" --warmup 0 | grep -v '^loadgen:\|^peak memory'
  echo "server after ${phase}/s: $(memory)"
done
