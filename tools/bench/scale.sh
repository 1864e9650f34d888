#!/usr/bin/env bash
# The benchmark at national scale (issue 12): for each backend, seed N synthetic contributions
# into a fresh database (wall time and peak memory), start `maturity serve` on it as its own
# process, and in the same run measure
#   - DiagnosticsService.Echo (the bare stack), QueryBenchmark and GetPeerPosition with 1 and 16
#     clients (random groups of every level, random years);
#   - SubmitAssessment with 16 clients, then again while one more client polls the published
#     national group (publication lag: acknowledgement to published, in the latency columns);
#   - the raw query a user would otherwise write on PostgreSQL: percentile_cont over the
#     contributions of the year, for a cell, a section and the whole country;
#   - the server's peak memory (VmHWM).
# Usage: tools/bench/scale.sh N [SECONDS] [BACKENDS]   (release binaries must be built;
# BACKENDS is "sqlite postgres" by default; PostgreSQL at $MATURITY_BENCH_POSTGRES, default
# postgres://postgres@127.0.0.1:5432, database maturity_bench_scale, recreated). With
# MATURITY_BENCH_SEEDED=1 (PostgreSQL only) the database a previous run seeded is measured again
# as it is, migrated to this build, without seeding (N is then only a label).
set -euo pipefail
n="${1:?usage: scale.sh N [SECONDS] [BACKENDS]}"
secs="${2:-10}"
backends="${3:-sqlite postgres}"
bin=./target/release
pg="${MATURITY_BENCH_POSTGRES:-postgres://postgres@127.0.0.1:5432}"
dir="$(mktemp -d)"
trap 'kill "${server:-0}" 2>/dev/null || true; rm -rf "$dir"' EXIT
loadgen() { "$bin/loadgen" --server "http://127.0.0.1:$port" --warmup 1 --duration "$secs" "$@" | grep -v '^loadgen:\|^peak memory'; }
psql_at() { psql "$pg/$1" -v ON_ERROR_STOP=1 -qAt "${@:2}"; }

for backend in $backends; do
  case "$backend" in
    sqlite) url="sqlite://$dir/scale.db?mode=rwc" ;;
    postgres)
      if [ "${MATURITY_BENCH_SEEDED:-0}" != 1 ]; then
        psql_at postgres -c "DROP DATABASE IF EXISTS maturity_bench_scale" -c "CREATE DATABASE maturity_bench_scale"
      fi
      url="$pg/maturity_bench_scale" ;;
    *) echo "unknown backend $backend" >&2; exit 2 ;;
  esac
  echo "== $backend, $n contributions =="
  if [ "${MATURITY_BENCH_SEEDED:-0}" = 1 ]; then
    [ "$backend" = postgres ] || { echo "MATURITY_BENCH_SEEDED=1 needs the postgres backend" >&2; exit 2; }
    echo "seed-demo: skipped, measuring the database as seeded before"
  else
    /usr/bin/env time -f "seed-demo: %e s wall, peak memory %M kB" \
      "$bin/maturity" seed-demo --companies "$n" --seed 7 --database-url "$url" \
      --pseudonym-key-file "$dir/key" --log-level warn
  fi
  port=$((20000 + RANDOM % 20000))
  MATURITY_ADMIN_ADDR=off "$bin/maturity" serve --database-url "$url" --pseudonym-key-file "$dir/key" --grpc-addr "127.0.0.1:$port" \
    --http-addr off --auth tenant-header --tenant-rate-limit 0 --max-submits-in-flight 64 --log-level warn &
  server=$!
  for _ in $(seq 1 600); do
    if "$bin/loadgen" --server "http://127.0.0.1:$port" --scenarios echo --duration 0.1 --warmup 0 >/dev/null 2>&1; then break; fi
    sleep 0.5
  done
  echo "-- one client"
  loadgen --scenarios echo,query,position --concurrency 1 --connections 1
  echo "-- 16 clients"
  loadgen --scenarios echo,query,position --concurrency 16
  loadgen --scenarios submit,lag --concurrency 16
  echo "server: $(grep -E '^(VmRSS|VmHWM)' "/proc/$server/status" | tr -s ' \n' ' ')"
  kill "$server"; wait "$server" 2>/dev/null || true
  if [ "$backend" = postgres ]; then
    echo "-- the raw query on PostgreSQL (percentile_cont over the year's rows; 5 runs each, ms)"
    year="$(psql_at maturity_bench_scale -c "SELECT max(year) FROM benchmark_contributions WHERE synthetic")"
    # The model version the demo peers were seeded under (the default model's latest).
    version="$(psql_at maturity_bench_scale -c "SELECT max(model_version) FROM benchmark_contributions WHERE synthetic")"
    for where in "sbi_section = 'G' AND size_class = 'small' AND province = 'NL-ZH'" "sbi_section = 'G'" "TRUE"; do
      sql="SELECT count(*), avg(maturity_index), stddev_samp(maturity_index), percentile_cont(array[0.1,0.25,0.5,0.75,0.9]) WITHIN GROUP (ORDER BY maturity_index) FROM benchmark_contributions WHERE year = $year AND model_id = 'nl-social-business' AND model_version = $version AND $where"
      times=""
      for _ in 1 2 3 4 5; do
        t="$( { psql_at maturity_bench_scale -c '\timing on' -c "$sql" | grep -o 'Time: [0-9.]*' | cut -d' ' -f2; } )"
        times="$times $t"
      done
      echo "raw percentile_cont (year $year, model version $version, $(psql_at maturity_bench_scale -c "SELECT count(*) FROM benchmark_contributions WHERE year = $year AND model_id = 'nl-social-business' AND model_version = $version AND $where") rows) where $where: $times"
    done
  fi
done
