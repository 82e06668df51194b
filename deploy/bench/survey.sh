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
. "$root/deploy/bench/common.sh"

for clients in 1 4; do
  rm -rf "$work/data"
  on_sqlite survey --reports 200 --measurements 200 --clients "$clients"
done

for clients in 1 4; do
  on_postgres "${db}_$clients" "$prefix$clients:" STEELCARE__DATABASE__MAX_CONNECTIONS=32 -- \
    survey --reports 200 --measurements 200 --clients "$clients"
done
