#!/usr/bin/env bash
# The notification benchmark, quoted against this machine's ceiling measured in the same run:
#   1. ../shared/bench/limits.sh: pgbench ticket transaction and Redis XADD;
#   2. `steelcare-bench notify` on SQLite (embedded) and on PostgreSQL + Redis: every ticket
#      tells its caller by SMS (a local HTTP gateway), e-mail (aiosmtpd) and a WeCom robot (a
#      local HTTP receiver); deliveries per second per channel in a burst of 16 clients, and
#      the delay from the event's commit to the channel's acceptance at a steady rate.
# Usage: deploy/bench/notify.sh [seconds-for-limits] [tickets] [paced] [rate]   (PostgreSQL on
# 127.0.0.1:5432, trust or PGPASSWORD; Redis on 127.0.0.1:6379; a Python with aiosmtpd as
# STEELCARE_SMTP_PYTHON or python3; a release build is made first)
set -euo pipefail
secs=${1:-10}
tickets=${2:-2000}
paced=${3:-500}
rate=${4:-50}
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
  dropdb -w --if-exists "$db" >/dev/null 2>&1 || true
  redis-cli --scan --pattern "$prefix*" | xargs -r -n 500 redis-cli DEL >/dev/null 2>&1 || true
}
trap cleanup EXIT

args=(notify --tickets "$tickets" --paced "$paced" --rate "$rate")
(cd "$work" && RUST_LOG=warn "$bin" "${args[@]}" --label sqlite)

createdb -w "$db"
(cd "$work" && env RUST_LOG=warn \
  STEELCARE__DATABASE__URL="postgres://$PGUSER:${PGPASSWORD:-postgres}@$PGHOST:$PGPORT/$db?sslmode=disable" \
  STEELCARE__REDIS__URL=redis://127.0.0.1:6379 STEELCARE__REDIS__KEY_PREFIX="$prefix" \
  STEELCARE__AUTH__JWT_SECRET="bench-secret-0123456789abcdef" \
  "$bin" "${args[@]}" --label postgres+redis)
