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
. "$root/deploy/bench/common.sh"

args=(notify --tickets "$tickets" --paced "$paced" --rate "$rate")
on_sqlite "${args[@]}"
on_postgres "$db" "$prefix" -- "${args[@]}"
