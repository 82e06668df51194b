#!/usr/bin/env bash
# The survey-report benchmark, quoted against this machine's ceiling measured in the same run:
#   1. ../shared/bench/limits.sh: pgbench ticket transaction and Redis XADD;
#   2. `steelcare-bench survey` on SQLite (embedded) and on PostgreSQL + Redis: 200 cases
#      brought to the survey stage over gRPC, then SubmitSurveyReport with 200 measurements
#      each (every one checked, judged against the tolerance table and stored), by one client
#      and by four, with p50/p99 latency.
# Usage: deploy/bench/survey.sh [seconds-for-limits]   (PostgreSQL on 127.0.0.1:5432, trust or
# PGPASSWORD; Redis on 127.0.0.1:6379; a release build is made first)
set -euo pipefail
secs=${1:-10}
root=$(cd "$(dirname "$0")/../.." && pwd)
cd "$root"
export PGHOST=${PGHOST:-127.0.0.1} PGPORT=${PGPORT:-5432} PGUSER=${PGUSER:-postgres}

cargo build --profile bench -q -p steelcare-bench
bin="$root/target/release/steelcare-bench"
[ -x "$bin" ] || bin="$root/target/bench/steelcare-bench"

limits=$(bash "$root/../shared/bench/limits.sh" "$secs")
echo "$limits"

work=$(mktemp -d)
db="steelcare_bench_$$"
prefix="steelcare-bench-$$:"
cleanup() {
  rm -rf "$work"
  for d in "$db" "${db}_4"; do dropdb -w --if-exists "$d" >/dev/null 2>&1 || true; done
  redis-cli --scan --pattern "$prefix*" | xargs -r -n 500 redis-cli DEL >/dev/null 2>&1 || true
}
trap cleanup EXIT

for clients in 1 4; do
  rm -rf "$work/data"
  (cd "$work" && RUST_LOG=warn "$bin" survey --reports 200 --measurements 200 \
    --clients "$clients" --label sqlite)
done

for clients in 1 4; do
  name="$db"; [ "$clients" = 1 ] || name="${db}_4"
  createdb -w "$name"
  (cd "$work" && env RUST_LOG=warn \
    STEELCARE__DATABASE__URL="postgres://$PGUSER:${PGPASSWORD:-postgres}@$PGHOST:$PGPORT/$name?sslmode=disable" \
    STEELCARE__DATABASE__MAX_CONNECTIONS=32 \
    STEELCARE__REDIS__URL=redis://127.0.0.1:6379 STEELCARE__REDIS__KEY_PREFIX="$prefix$clients:" \
    STEELCARE__AUTH__JWT_SECRET="bench-secret-0123456789abcdef" \
    "$bin" survey --reports 200 --measurements 200 --clients "$clients" \
    --label postgres+redis)
done
