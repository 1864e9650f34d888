#!/usr/bin/env bash
# Sector volumes and open figures (BENCHMARKS.md): a fresh SQLite database with N synthetic demo
# peers (default 20 000), then, each timed on its own: `report-gen sector` for one sector in
# Dutch (ROUNDS times, default 5, so that the spread shows), `report-gen nightly --sectors` (every
# sector with published figures of the latest year, on the default threads), and `report-gen
# export` as CSV and as Parquet; then against `maturity serve`: the volume over HTTP
# (`GET /v1/sectors/SECTION/volume`, which is `RenderSectorVolume` transcoded; time to the first
# byte and to the last, ROUNDS times), and the server's start-up with and without filling in the
# fit verdicts of every contribution (as after migration m0011 on a store written before it).
# Prints one line per measurement.
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
common=(--database-url "$url" --log-level warn)
"$bin/maturity" seed-demo "${common[@]}" --pseudonym-key-file "$dir/key" --companies "$n" | tail -1
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

# The server: an API key, then the volume over HTTP.
"$bin/maturity" admin "${common[@]}" create-tenant bench --name "Sector bench" >/dev/null
key="$("$bin/maturity" admin "${common[@]}" issue-key bench --label bench | tail -1)"
port=$((20000 + RANDOM % 20000))
start_server() {
  local t0 line
  t0=$(now)
  coproc SERVER { MATURITY_ADMIN_ADDR=off exec "$bin/maturity" serve "${common[@]}" --pseudonym-key-file "$dir/key" --grpc-addr "127.0.0.1:$port" \
    --http-addr "127.0.0.1:$((port + 1))" --tenant-rate-limit 0 2>&1; }
  while read -r line <&"${SERVER[0]}"; do
    case "$line" in *"JSON over HTTP listening"*) break ;; esac
  done
  awk -v a="$t0" -v b="$(now)" -v what="$1" 'BEGIN { printf "server start-up to listening (%s): %.3f s\n", what, b - a }'
  server_pid=$SERVER_PID
  # Keep draining its output (through a copy of the pipe: a background job does not inherit the
  # coprocess's) so that it never blocks on a full pipe.
  exec {server_out}<&"${SERVER[0]}"
  cat <&"$server_out" >/dev/null &
}
stop_server() {
  if [ -n "${server_pid:-}" ]; then
    kill "$server_pid" 2>/dev/null || true
    wait "$server_pid" 2>/dev/null || true
    exec {server_out}<&-
    server_pid=""
  fi
}
trap 'stop_server; rm -rf "$dir"' EXIT
start_server "verdicts all kept"
for i in $(seq 1 "$rounds"); do
  curl -s -o "$dir/volume.pdf" -H "Authorization: Bearer $key" \
    -w "sector volume $section over HTTP, round $i: first byte %{time_starttransfer} s, last byte %{time_total} s, %{size_download} bytes, status %{http_code}\n" \
    "http://127.0.0.1:$((port + 1))/v1/sectors/$section/volume?year=2025&locale=nl"
done
stop_server
python3 - "$dir/bench.db" <<'PY'
import sqlite3, sys
db = sqlite3.connect(sys.argv[1])
n = db.execute("UPDATE benchmark_contributions SET fit_verdict = NULL").rowcount
db.commit()
print(f"verdicts removed from {n} contributions (as if written before m0011)")
PY
start_server "filling in every contribution's verdict"
stop_server
python3 - "$dir/bench.db" <<'PY'
import sqlite3, sys
n = sqlite3.connect(sys.argv[1]).execute("SELECT count(*) FROM benchmark_contributions WHERE fit_verdict IS NULL").fetchone()[0]
print(f"contributions still without a verdict: {n}")
PY
start_server "nothing left to fill in"
stop_server
