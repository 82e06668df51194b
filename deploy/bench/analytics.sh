#!/usr/bin/env bash
# The analytics benchmark, quoted against this machine's ceiling measured in the same run:
#   1. ../shared/bench/limits.sh: pgbench ticket transaction and Redis XADD;
#   2. `steelcare-bench analytics` on SQLite (embedded) and on PostgreSQL + Redis: a million
#      cases of two years generated into the analytics projection, then every report
#      (breakdowns by each dimension, SLA compliance, monthly outcomes, technician KPIs) over
#      gRPC against the equivalent hand-written SQL GROUP BY on the same database, interleaved,
#      median of 5 rounds, and their ratio.
# Usage: deploy/bench/analytics.sh [seconds-for-limits] [cases]   (PostgreSQL on
# 127.0.0.1:5432, trust or PGPASSWORD; Redis on 127.0.0.1:6379; a release build is made first)
set -euo pipefail
secs=${1:-10}
cases=${2:-1000000}
root=$(cd "$(dirname "$0")/../.." && pwd)
cd "$root"
. "$root/deploy/bench/common.sh"

args=(analytics --cases "$cases" --rounds 5)
on_sqlite "${args[@]}"
on_postgres "$db" "$prefix" -- "${args[@]}"
