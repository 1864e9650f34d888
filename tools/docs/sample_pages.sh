#!/usr/bin/env bash
# The sample chapters as PNG pages under docs/sample/, so that a reader of the repository sees what
# a client gets: the sample of `make run` (docs/sample/nl, docs/sample/en) and one synthetic firm
# per situation the chapter words differently (examples/samples/*.toml: docs/sample/NAME/nl and
# docs/sample/NAME/en). Runs `maturity run` in a scratch folder (its own database and demo peers)
# once per firm, stops it once the demo job is done, then `report-gen pages` for each assessment
# in both languages. BIN=DIR takes the binaries from DIR (default target/debug, what `make
# sample-pages` builds).
set -euo pipefail
cd "$(dirname "$0")/../.."
root=$(pwd)
bin="$(cd "${BIN:-$root/target/debug}" && pwd)"
scratch=$(mktemp -d)
server=""
cleanup() { [ -n "$server" ] && kill "$server" 2>/dev/null; wait 2>/dev/null; rm -rf "$scratch"; }
trap cleanup EXIT

# Serves with the given demo options until the demo job is done; prints the stored assessment's id.
submit() {
    (cd "$scratch" && exec "$bin/maturity" run --grpc-addr 127.0.0.1:0 --http-addr off --admin-addr off "$@") \
        >"$scratch/run.log" 2>&1 &
    server=$!
    for _ in $(seq 1 600); do
        grep -q "Stoppen met Ctrl-C" "$scratch/run.log" && break
        if ! kill -0 "$server" 2>/dev/null; then cat "$scratch/run.log" >&2; exit 1; fi
        sleep 0.5
    done
    grep -q "Stoppen met Ctrl-C" "$scratch/run.log" || { echo "the demo job did not finish" >&2; cat "$scratch/run.log" >&2; exit 1; }
    local id
    id=$(sed -n 's/^Opgeslagen als *beoordeling \([0-9]*\).*/\1/p' "$scratch/run.log" | tail -n 1)
    [ -n "$id" ] || { echo "no assessment id in the demo's summary" >&2; cat "$scratch/run.log" >&2; exit 1; }
    kill "$server"; wait "$server" 2>/dev/null || true; server=""
    echo "$id"
}

pages() { # ID FOLDER SCALE
    for lang in nl en; do
        rm -f "$2/$lang"/page-*.png
        "$bin/report-gen" pages --assessment "$1" --lang "$lang" --scale "$3" \
            --database-url "sqlite://$scratch/data/maturity.db" --out "$2/$lang"
    done
}

pages "$(submit)" docs/sample 1.2
for file in examples/samples/*.toml; do
    name=$(basename "$file" .toml)
    pages "$(submit --assessment "$root/$file")" "docs/sample/$name" 1.0
done

# No page but a chapter's last more than half empty.
tools/docs/page_fill.py docs/sample
