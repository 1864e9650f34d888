#!/usr/bin/env bash
# Runs every cargo-fuzz target of fuzz/ for SECONDS each (make fuzz: 20 s, in `make test`;
# make fuzz-long: 15 minutes each). Coverage-guided libFuzzer on the stable toolchain, without a
# sanitizer (those need nightly; safe Rust needs them least). The corpus grows in
# target/fuzz-corpus and is reused by the next run; a crash or an input slower than 10 s stops the
# run with exit 1 and leaves the input in fuzz/artifacts/TARGET/.
set -euo pipefail
seconds="${1:-20}"
root="$(cd "$(dirname "$0")/../.." && pwd)"
tools="$root/target/tools"
if ! [ -x "$tools/bin/cargo-fuzz" ]; then
    cargo install cargo-fuzz --locked --version 0.13.2 --root "$tools"
fi
export PATH="$tools/bin:$PATH"
corpus="$root/target/fuzz-corpus"
targets=(score model_file config json_api typst_escape)
for t in "${targets[@]}"; do mkdir -p "$corpus/$t"; done
# Seeds: the real model file; a full config; for JSON, a body with fields of many methods, once
# behind every method-choosing first byte.
cp "$root"/models/*/*.toml "$corpus/model_file/"
cp "$root"/fuzz/seeds/config/* "$corpus/config/"
# The score target's complete questionnaires (first byte 1), so that scoring succeeds from the start.
head -c 96 /dev/zero | tr '\0' '\1' > "$corpus/score/seed-complete"
for i in $(seq 0 31); do
    { printf "\\x$(printf %02x "$i")"; cat "$root/fuzz/seeds/json_api/submit.json"; } > "$corpus/json_api/seed-$i"
done
cd "$root/fuzz"
cargo fuzz build -s none --target-dir "$root/target/fuzz" >/dev/null
log="$root/target/fuzz-last.log"
for t in "${targets[@]}"; do
    if ! cargo fuzz run -s none --target-dir "$root/target/fuzz" "$t" "$corpus/$t" -- \
        -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 -print_final_stats=1 >"$log" 2>&1; then
        tail -n 60 "$log"
        echo "fuzz: $t FAILED (input in fuzz/artifacts/$t/)" >&2
        exit 1
    fi
    runs="$(sed -n 's/^stat::number_of_executed_units: *//p' "$log")"
    echo "fuzz: $t: $runs inputs in ${seconds} s, no crash, no hang; corpus $(ls "$corpus/$t" | wc -l) inputs"
done
