#!/usr/bin/env bash
# The experience-base benchmark, quoted against this machine's ceiling measured in the same run:
#   1. ../shared/bench/limits.sh: pgbench ticket transaction and Redis XADD;
#   2. `steelcare-bench experience` on PostgreSQL + Redis over a million generated cases (and on
#      the embedded default over a smaller number): the index built from the database by the
#      product's follower (time, size on disk), SearchCases p50/p99 and first-hit quality against
#      the same questions asked by hand of the database (substring match with a pg_trgm GIN index;
#      English full-text search with a GIN index, ranked), and the delay from a new call's commit
#      to its being searchable.
# Usage: deploy/bench/experience.sh [seconds-for-limits] [cases-on-postgres] [cases-on-sqlite]
# (PostgreSQL on 127.0.0.1:5432, trust or PGPASSWORD; Redis on 127.0.0.1:6379; a release build
# is made first)
set -euo pipefail
secs=${1:-10}
cases=${2:-1000000}
embedded=${3:-100000}
root=$(cd "$(dirname "$0")/../.." && pwd)
cd "$root"
. "$root/deploy/bench/common.sh"

[ "$embedded" -gt 0 ] && on_sqlite experience --cases "$embedded"
on_postgres "$db" "$prefix" -- experience --cases "$cases"
