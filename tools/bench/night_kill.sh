#!/usr/bin/env bash
# A night after crashed workers (BENCHMARKS.md): N synthetic assessments (tools/bench/night.sh's
# database), KILLS runs of `report-gen nightly` each SIGKILLed at a random moment (0.5 to 2 s
# after its start; KILL_WINDOW="MIN MAX" in seconds to change it), then a rerun, timed, that must
# finish the night: every assessment rendered, one chapter file and one chapter.ready event each.
# Printed: what each kill left, the rerun's summary and its time.
# Usage: tools/bench/night_kill.sh [N] [KILLS] [extra report-gen flags...]   (release binaries)
# BIN=DIR takes the binaries from DIR (default ./target/release).
set -euo pipefail
cd "$(dirname "$0")/../.."
n="${1:-120}" kills="${2:-4}"
shift 2 || shift $# || true
bin="${BIN:-./target/release}"
dir="$(mktemp -d)"
trap 'rm -rf "$dir"' EXIT
BIN="$bin" KEEP="$dir" PREPARE_ONLY=1 tools/bench/night.sh "$n" >/dev/null
url="sqlite://$dir/bench.db?mode=rwc"
night=("$bin/report-gen" nightly --out "$dir/out" --date 2026-11-28 --database-url "$url" --log-level warn)
for k in $(seq 1 "$kills"); do
  # Started directly (not through a function, whose subshell would be what $! names).
  "${night[@]}" "$@" >/dev/null 2>&1 &
  worker=$!
  read -r low high <<<"${KILL_WINDOW:-0.5 2}"
  sleep "$(awk -v r="$RANDOM" -v a="$low" -v b="$high" 'BEGIN { printf "%.2f", a + (b - a) * r / 32768 }')"
  kill -KILL "$worker" 2>/dev/null || true
  wait "$worker" 2>/dev/null || true
  done_before=$(python3 -c "import sqlite3,sys; print(sqlite3.connect(sys.argv[1]).execute(\"SELECT COUNT(*) FROM assessments WHERE report_status = 'rendered'\").fetchone()[0])" "$dir/bench.db")
  echo "kill $k: $done_before of $n chapters rendered"
done
start=$(date +%s.%N)
summary=$("${night[@]}" "$@" 2>&1 | grep "chapters written")
end=$(date +%s.%N)
echo "rerun: $summary"
python3 - "$dir/bench.db" "$dir/out" "$n" <<'PY'
import json, os, sqlite3, sys
db, out, n = sqlite3.connect(sys.argv[1]), sys.argv[2], int(sys.argv[3])
statuses = dict(db.execute("SELECT report_status, COUNT(*) FROM assessments GROUP BY report_status").fetchall())
ready = {}
for (payload,) in db.execute("SELECT payload FROM webhook_events WHERE event_type = 'chapter.ready'"):
    ident = json.loads(payload)["data"]["assessmentId"]
    ready[ident] = ready.get(ident, 0) + 1
pdfs = [f for _, _, fs in os.walk(out) for f in fs if f.endswith(".pdf")]
ok = statuses == {"rendered": n} and len(pdfs) == n and len(ready) == n and set(ready.values()) == {1}
print(f"statuses {statuses}; {len(pdfs)} chapter files; chapter.ready events for {len(ready)} assessments, each {sorted(set(ready.values()))} time(s)")
sys.exit(0 if ok else 1)
PY
echo "rerun time: $(awk -v a="$start" -v b="$end" 'BEGIN { printf "%.1f", b - a }') s"
