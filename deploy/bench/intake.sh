#!/usr/bin/env bash
# The intake benchmark, quoted against this machine's ceiling measured in the same run:
#   1. ../shared/bench/limits.sh: a ticket + outbox + audit durable transaction through pgbench
#      (and Redis XADD) at 1, 16 and 64 clients;
#   2. `steelcare-bench intake` (CreateTicket over gRPC, each client on its own connection)
#      against the intake service as its Deployment runs it (`--service intake`; the other
#      services' consumers run elsewhere) on SQLite and on PostgreSQL, and once more with
#      every service in the one process (postgres+redis, all), then with intake and dispatch
#      only, with every service but dispatch, and with every service but feedback (the
#      difference from every service is what keeping feedback's facts projection and
#      experience index current costs under load);
#   3. the ratio ours / pgbench at 16 clients (taken in, and sustained: counting the time every
#      consumer group took to handle the level's events after it), the ceiling being the
#      median of three readings of limits.sh: before, between and after our runs (it moves by
#      a quarter within an hour);
#      and at one client the latency of a create against pgbench's transaction (median too).
#   backends: sqlite (embedded bus, the no-servers default), postgres (embedded bus in
#   PostgreSQL), postgres+redis (the Kubernetes deployment's engines).
# Usage: deploy/bench/intake.sh [seconds per level]   (PostgreSQL on 127.0.0.1:5432, trust or
# PGPASSWORD; Redis on 127.0.0.1:6379; a release build is made first)
set -euo pipefail
secs=${1:-10}
root=$(cd "$(dirname "$0")/../.." && pwd)
cd "$root"
. "$root/deploy/bench/common.sh"
dbs+=("$db") # every PostgreSQL run below uses $db afresh

sqlite=$(cd "$work" && RUST_LOG=warn "$bin" intake --service intake --clients 1,16,64 --duration "${secs}s" --label sqlite)
echo "$sqlite"

pg_bench() { # label, services, extra env...
  local label=$1 services=$2; shift 2
  dropdb -w --if-exists "$db" >/dev/null 2>&1 || true
  createdb -w "$db"
  (cd "$work" && env RUST_LOG=warn \
    STEELCARE__DATABASE__URL="postgres://$PGUSER:${PGPASSWORD:-postgres}@$PGHOST:$PGPORT/$db" \
    STEELCARE__DATABASE__MAX_CONNECTIONS=32 \
    STEELCARE__AUTH__JWT_SECRET="bench-secret-0123456789abcdef" "$@" \
    "$bin" intake --service "$services" --clients 1,16,64 --duration "${secs}s" --label "$label")
}
pg=$(pg_bench postgres intake)
echo "$pg"
pgredis=$(pg_bench postgres+redis intake STEELCARE__REDIS__URL=redis://127.0.0.1:6379 STEELCARE__REDIS__KEY_PREFIX="$prefix")
echo "$pgredis"
# The ceiling moves by a quarter within an hour here: measure it again between our runs.
limits_middle=$(bash "$root/../shared/bench/limits.sh" "$secs")
echo "$limits_middle"
redis-cli --scan --pattern "$prefix*" | xargs -r -n 500 redis-cli DEL >/dev/null || true
all=$(pg_bench postgres+redis,all all STEELCARE__REDIS__URL=redis://127.0.0.1:6379 STEELCARE__REDIS__KEY_PREFIX="${prefix}all:")
echo "$all"
redis-cli --scan --pattern "$prefix*" | xargs -r -n 500 redis-cli DEL >/dev/null || true
# Which service's work takes the one process's share: intake with dispatch alone, and intake
# with every service but dispatch.
withdispatch=$(pg_bench postgres+redis,intake+dispatch intake,dispatch STEELCARE__REDIS__URL=redis://127.0.0.1:6379 STEELCARE__REDIS__KEY_PREFIX="${prefix}d:")
echo "$withdispatch"
redis-cli --scan --pattern "$prefix*" | xargs -r -n 500 redis-cli DEL >/dev/null || true
butdispatch=$(pg_bench postgres+redis,all-but-dispatch intake,repair,acceptance,feedback STEELCARE__REDIS__URL=redis://127.0.0.1:6379 STEELCARE__REDIS__KEY_PREFIX="${prefix}b:")
echo "$butdispatch"
redis-cli --scan --pattern "$prefix*" | xargs -r -n 500 redis-cli DEL >/dev/null || true
# What keeping feedback's facts projection and experience index current costs under load:
# every service but feedback, against every service.
butfeedback=$(pg_bench postgres+redis,all-but-feedback intake,dispatch,repair,acceptance,notify STEELCARE__REDIS__URL=redis://127.0.0.1:6379 STEELCARE__REDIS__KEY_PREFIX="${prefix}f:")
echo "$butfeedback"
redis-cli --scan --pattern "$prefix*" | xargs -r -n 500 redis-cli DEL >/dev/null || true

limits_last=$(bash "$root/../shared/bench/limits.sh" "$secs")
echo "$limits_last"

# The ceiling is the median of the three readings taken before, between and after our runs.
median_ceiling "$limits" "$limits_middle" "$limits_last"
# One client: what a single create costs against pgbench's single-client transaction, as a
# ratio of latencies (issue 28 asks for at most 2).
single=$(printf '%s\n%s\n%s\n' "$limits" "$limits_middle" "$limits_last" |
  awk '/pg_ticket_tx clients=1 / { sub("tps=", "", $3); print $3 }' | sort -n | sed -n 2p)
for run in sqlite pg pgredis all; do
  tps=$(echo "${!run}" | grep 'clients=1 ' | sed -E 's/.* tps=([0-9.]+).*/\1/')
  awk -v ours="$tps" -v limit="$single" -v name="$run" \
    'BEGIN { printf "latency_at_1_client backend=%s ours_ms=%.2f pgbench_ms=%.2f ratio=%.2f\n", name, 1000 / ours, 1000 / limit, limit / ours }'
done
for run in sqlite pg pgredis all withdispatch butdispatch butfeedback; do
  line=$(echo "${!run}" | grep 'clients=16 ')
  tps=$(echo "$line" | sed -E 's/.* tps=([0-9.]+).*/\1/')
  awk -v ours="$tps" -v limit="$ceiling" -v name="$run" \
    'BEGIN { printf "ratio_at_16_clients backend=%s ours=%.1f pgbench=%.1f ratio=%.2f\n", name, ours, limit, ours / limit }'
  # Counting the time the consumers took to catch up after the level: what the process keeps
  # up with, not only takes in.
  sustained=$(echo "$line" | sed -E 's/.* sustained_tps=([0-9.]+).*/\1/')
  awk -v ours="$sustained" -v limit="$ceiling" -v name="$run" \
    'BEGIN { printf "sustained_ratio_at_16_clients backend=%s ours=%.1f pgbench=%.1f ratio=%.2f\n", name, ours, limit, ours / limit }'
done
