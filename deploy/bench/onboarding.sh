#!/usr/bin/env bash
# The onboarding benchmark, quoted against this machine's ceiling measured in the same run:
#   1. ../shared/bench/limits.sh: pgbench ticket transaction and Redis XADD;
#   2. `steelcare-bench onboarding` on SQLite (embedded) and on PostgreSQL + Redis: .xlsx
#      sheets of 10,000 customers, projects and technicians, each previewed, imported,
#      re-imported (every record unchanged) and exported, in rows per second.
# Usage: deploy/bench/onboarding.sh [seconds-for-limits] [rows]   (PostgreSQL on
# 127.0.0.1:5432, trust or PGPASSWORD; Redis on 127.0.0.1:6379; a release build is made first)
set -euo pipefail
secs=${1:-10}
rows=${2:-10000}
root=$(cd "$(dirname "$0")/../.." && pwd)
cd "$root"
. "$root/deploy/bench/common.sh"

args=(onboarding --rows "$rows")
on_sqlite "${args[@]}"
on_postgres "$db" "$prefix" -- "${args[@]}"
