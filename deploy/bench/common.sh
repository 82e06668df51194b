# What every deploy/bench script does first (sourced, with $root the repository and $secs the
# seconds of each limits reading): a release build of steelcare-bench ($bin); this machine's
# ceiling (../shared/bench/limits.sh, printed and kept in $limits); a temporary working
# directory ($work), a PostgreSQL database name ($db) and a Redis key prefix ($prefix), all
# removed at exit with any database added to $dbs. Then:
#   on_sqlite ARGS…                              the bench on the embedded default
#   on_postgres NAME PREFIX [VAR=VALUE…] -- ARGS…  on database NAME (created) and Redis
#                                                (labelled $label, postgres+redis unless set)
#   median_ceiling READING…                      sets $ceiling to the median pgbench tps at
#                                                16 clients of limits.sh's readings, printed
export PGHOST=${PGHOST:-127.0.0.1} PGPORT=${PGPORT:-5432} PGUSER=${PGUSER:-postgres}

cargo build --profile bench -q -p steelcare-bench
bin="$root/target/release/steelcare-bench"
[ -x "$bin" ] || bin="$root/target/bench/steelcare-bench"

limits=$(bash "$root/../shared/bench/limits.sh" "$secs")
echo "$limits"

work=$(mktemp -d)
db="steelcare_bench_$$"
prefix="steelcare-bench-$$:"
dbs=()
cleanup() {
  rm -rf "$work"
  for d in "${dbs[@]}"; do dropdb -w --if-exists "$d" >/dev/null 2>&1 || true; done
  redis-cli --scan --pattern "$prefix*" | xargs -r -n 500 redis-cli DEL >/dev/null 2>&1 || true
}
trap cleanup EXIT

on_sqlite() {
  (cd "$work" && RUST_LOG=warn "$bin" "$@" --label sqlite)
}

on_postgres() {
  local name=$1 key=$2
  shift 2
  local settings=()
  while [ "$#" -gt 0 ] && [ "$1" != "--" ]; do settings+=("$1"); shift; done
  [ "${1:-}" = "--" ] && shift
  dbs+=("$name")
  createdb -w "$name"
  (cd "$work" && env RUST_LOG=warn \
    STEELCARE__DATABASE__URL="postgres://$PGUSER:${PGPASSWORD:-postgres}@$PGHOST:$PGPORT/$name?sslmode=disable" \
    STEELCARE__REDIS__URL=redis://127.0.0.1:6379 STEELCARE__REDIS__KEY_PREFIX="$key" \
    STEELCARE__AUTH__JWT_SECRET="bench-secret-0123456789abcdef" \
    "${settings[@]}" "$bin" "$@" --label "${label:-postgres+redis}")
}

median_ceiling() { # READING… — sets $ceiling and prints the readings with it
  local readings middle
  readings=$(printf '%s\n' "$@" | awk '/pg_ticket_tx clients=16/ { sub("tps=", "", $3); print $3 }' | sort -n)
  middle=$((($(echo "$readings" | wc -l) + 1) / 2))
  ceiling=$(echo "$readings" | sed -n "${middle}p")
  echo "pgbench_at_16_clients readings=$(echo $readings | tr ' ' ',') median=$ceiling"
}
