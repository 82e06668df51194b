#!/usr/bin/env bash
# The dispatch benchmark, quoted against this machine's ceiling measured in the same run:
#   1. ../shared/bench/limits.sh: pgbench ticket transaction and Redis XADD (the queue's and
#      the event stream's raw ceiling);
#   2. `steelcare-bench dispatch` on SQLite (embedded queue) and on PostgreSQL + Redis:
#      matching against 1,000 technicians through the database and 10,000 in memory, a
#      backlog drained by the queue workers (jobs claimed and offered per second), and
#      ticket-created → offer-made latency at a steady 200 tickets/s.
# Usage: deploy/bench/dispatch.sh [seconds]   (PostgreSQL on 127.0.0.1:5432, trust or
# PGPASSWORD; Redis on 127.0.0.1:6379; a release build is made first)
set -euo pipefail
secs=${1:-10}
root=$(cd "$(dirname "$0")/../.." && pwd)
cd "$root"
. "$root/deploy/bench/common.sh"

args=(dispatch --technicians 1000 --backlog 1000 --rate 200 --duration "${secs}s")
on_sqlite "${args[@]}"
on_postgres "$db" "$prefix" STEELCARE__DATABASE__MAX_CONNECTIONS=32 -- "${args[@]}"
