#!/usr/bin/env bash
# The dispatch benchmark, quoted against this machine's ceiling measured in the same run:
#   1. ../shared/bench/limits.sh: pgbench ticket transaction and Redis XADD (the queue's and
#      the event stream's raw ceiling);
#   2. `steelcare-bench dispatch` on SQLite (embedded queue) and on PostgreSQL + Redis:
#      matching against 1,000 technicians through the database and 10,000 in memory, a
#      backlog drained by the queue workers (jobs claimed and offered per second), and
#      ticket-created → offer-made latency at a steady rate: 100 tickets/s embedded, 200, 500
#      and 1,000 on PostgreSQL + Redis, every service in the one process; and at 1,000 once
#      more with intake and dispatch alone (the path a ticket takes to its offer, as their
#      Deployments run it: the other services' consumers elsewhere, not on these two cores);
#   3. `steelcare-bench dispatch-scaling` on PostgreSQL + Redis: the same drain with 1, 2 and 4
#      workers in one dispatch process and with two dispatch processes (replicas in this
#      process's runtime, each with its own pools and field cache) on one queue, each shape
#      twice, alternating, with the ratio to one replica with one worker.
# Usage: deploy/bench/dispatch.sh [seconds]   (PostgreSQL on 127.0.0.1:5432, trust or
# PGPASSWORD; Redis on 127.0.0.1:6379; a release build is made first)
set -euo pipefail
secs=${1:-10}
root=$(cd "$(dirname "$0")/../.." && pwd)
cd "$root"
. "$root/deploy/bench/common.sh"

args=(dispatch --technicians 1000 --backlog 1000 --duration "${secs}s")
# The embedded default at the rate issue 28 asks it to keep up with; PostgreSQL + Redis at
# the typhoon's rates, each on a database of its own.
on_sqlite "${args[@]}" --rate 100
for rate in 200 500 1000; do
  on_postgres "${db}_$rate" "${prefix}$rate:" STEELCARE__DATABASE__MAX_CONNECTIONS=32 -- "${args[@]}" --rate "$rate"
done
label=postgres+redis,intake+dispatch on_postgres "${db}_path" "${prefix}path:" STEELCARE__DATABASE__MAX_CONNECTIONS=32 -- \
  "${args[@]}" --rate 1000 --service intake,dispatch
# Whether the drain grows with workers and with dispatch replicas sharing the queue.
on_postgres "${db}_scaling" "${prefix}scaling:" STEELCARE__DATABASE__MAX_CONNECTIONS=32 -- \
  dispatch-scaling --technicians 1000 --backlog 1000
