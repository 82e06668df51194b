#!/usr/bin/env bash
# The archive benchmark, quoted against this machine's ceiling measured in the same run:
#   1. ../shared/bench/limits.sh: pgbench ticket transaction and Redis XADD;
#   2. `steelcare-bench archive` on SQLite (embedded) and on PostgreSQL + Redis: a case of 50
#      documents holding 20 MB of attachments (prepared over gRPC), then ArchiveCase,
#      VerifyArchive and ExportArchive timed, median of 3 rounds.
# Usage: deploy/bench/archive.sh [seconds-for-limits]   (PostgreSQL on 127.0.0.1:5432, trust
# or PGPASSWORD; Redis on 127.0.0.1:6379; a release build is made first)
set -euo pipefail
secs=${1:-10}
root=$(cd "$(dirname "$0")/../.." && pwd)
cd "$root"
. "$root/deploy/bench/common.sh"

args=(archive --documents 50 --megabytes 20 --rounds 3)
on_sqlite "${args[@]}"
on_postgres "$db" "$prefix" -- "${args[@]}"
