#!/usr/bin/env bash
# The sample chapters of `make run`, Dutch and English, as PNG pages under docs/sample/nl and
# docs/sample/en, so that a reader of the repository sees what a client gets. Runs `maturity run`
# in a scratch folder (its own database, demo peers, the sample firm's two assessments), stops it
# once the demo job is done, then `report-gen pages` for the current assessment in both languages.
set -euo pipefail
cd "$(dirname "$0")/../.."
root=$(pwd)
bin="$root/target/debug"
scratch=$(mktemp -d)
server=""
cleanup() { [ -n "$server" ] && kill "$server" 2>/dev/null; wait 2>/dev/null; rm -rf "$scratch"; }
trap cleanup EXIT

(cd "$scratch" && exec "$bin/maturity" run --grpc-addr 127.0.0.1:0 --http-addr off --admin-addr off) >"$scratch/run.log" 2>&1 &
server=$!
for _ in $(seq 1 600); do
    grep -q "Stoppen met Ctrl-C" "$scratch/run.log" && break
    if ! kill -0 "$server" 2>/dev/null; then cat "$scratch/run.log" >&2; exit 1; fi
    sleep 0.5
done
grep -q "Stoppen met Ctrl-C" "$scratch/run.log" || { echo "the demo job did not finish" >&2; cat "$scratch/run.log" >&2; exit 1; }
id=$(sed -n 's/^Opgeslagen als *beoordeling \([0-9]*\).*/\1/p' "$scratch/run.log" | tail -n 1)
[ -n "$id" ] || { echo "no assessment id in the demo's summary" >&2; exit 1; }
kill "$server"; wait "$server" 2>/dev/null || true; server=""

for lang in nl en; do
    "$bin/report-gen" pages --assessment "$id" --lang "$lang" --scale 1.2 \
        --database-url "sqlite://$scratch/data/maturity.db" --out "docs/sample/$lang"
done
