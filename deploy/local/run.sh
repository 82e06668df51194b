#!/usr/bin/env bash
# The distributed deployment on one machine, in one command: PostgreSQL, Redis and one
# SteelCare process per service (intake, dispatch, repair, acceptance, feedback, notify), each on its
# own loopback port and signed in to PostgreSQL as its own role, as the six Kubernetes
# Deployments run them. A process that dies is
# started again after half a second, as Kubernetes would restart its container.
#
#   deploy/local/run.sh            # Ctrl-C stops everything
#
# Then, for example:
#   TOKEN=$(STEELCARE__AUTH__JWT_SECRET=$(cat data/local/jwt-secret) target/debug/steelcare token --role dispatcher)
#   target/debug/steelcare call --addr 127.0.0.1:50062 --token $TOKEN steelcare.dispatch.v1.DispatchService/ListAssignments
#
# Environment (all optional):
#   STEELCARE_LOCAL_DIR        state, logs and pid files (default data/local)
#   STEELCARE_LOCAL_BASE_PORT  intake's port; the others follow in the order above (50061)
#   STEELCARE_LOCAL_PG_PORT, STEELCARE_LOCAL_REDIS_PORT   their own servers' ports (55433, 56380)
#   STEELCARE_LOCAL_DATABASE_URL, STEELCARE_LOCAL_REDIS_URL  use running servers instead
#   STEELCARE_BIN              the binary (default: built with cargo, debug profile)
#   STEELCARE__*               passed through to every process (e.g. STEELCARE__AUTH__JWT_SECRET)
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
DIR=${STEELCARE_LOCAL_DIR:-$ROOT/data/local}
BASE=${STEELCARE_LOCAL_BASE_PORT:-50061}
PG_PORT=${STEELCARE_LOCAL_PG_PORT:-55433}
REDIS_PORT=${STEELCARE_LOCAL_REDIS_PORT:-56380}
SERVICES=(intake dispatch repair acceptance feedback notify)
mkdir -p "$DIR"
DIR=$(cd "$DIR" && pwd)
rm -f "$DIR/stop"

say() { printf 'local: %s\n' "$*"; }

BIN=${STEELCARE_BIN:-}
if [ -z "$BIN" ]; then
  say "building steelcare"
  (cd "$ROOT" && cargo build -q -p steelcare --bin steelcare)
  BIN=$ROOT/target/debug/steelcare
fi

as_postgres() {
  if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi
}

PG_BIN=""
REDIS_PID=""
cleanup() {
  touch "$DIR/stop"
  for s in "${SERVICES[@]}"; do
    [ -f "$DIR/$s.pid" ] && kill -TERM "$(cat "$DIR/$s.pid")" 2>/dev/null || true
  done
  wait "${LOOPS[@]}" 2>/dev/null || true
  [ -n "$REDIS_PID" ] && kill "$REDIS_PID" 2>/dev/null || true
  if [ -n "$PG_BIN" ]; then
    as_postgres "$PG_BIN/pg_ctl" -D "$DIR/pg" -m fast -w stop >/dev/null 2>&1 || true
  fi
  say "stopped"
}
LOOPS=()
trap cleanup EXIT
trap 'exit 0' INT TERM

if [ -n "${STEELCARE_LOCAL_DATABASE_URL:-}" ]; then
  DATABASE_URL=$STEELCARE_LOCAL_DATABASE_URL
else
  PG_BIN=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1)
  if [ -z "$PG_BIN" ]; then
    PG_BIN=$(dirname "$(command -v pg_ctl)")
  fi
  if [ ! -f "$DIR/pg/PG_VERSION" ]; then
    mkdir -p "$DIR/pg"
    [ "$(id -u)" = 0 ] && chown postgres "$DIR/pg"
    as_postgres "$PG_BIN/initdb" -D "$DIR/pg" -A trust -U postgres --no-sync >/dev/null
  fi
  say "postgresql on 127.0.0.1:$PG_PORT"
  as_postgres "$PG_BIN/pg_ctl" -D "$DIR/pg" -l "$DIR/pg/postgres.log" -w -t 60 \
    -o "-p $PG_PORT -k $DIR/pg -c listen_addresses=127.0.0.1" start >/dev/null
  DATABASE_URL=postgres://postgres@127.0.0.1:$PG_PORT/postgres
fi

if [ -n "${STEELCARE_LOCAL_REDIS_URL:-}" ]; then
  REDIS_URL=$STEELCARE_LOCAL_REDIS_URL
else
  say "redis on 127.0.0.1:$REDIS_PORT"
  redis-server --port "$REDIS_PORT" --bind 127.0.0.1 --save "" --appendonly no \
    --dir "$DIR" --logfile "$DIR/redis.log" &
  REDIS_PID=$!
  REDIS_URL=redis://127.0.0.1:$REDIS_PORT
  for _ in $(seq 1 100); do
    (exec 3<>"/dev/tcp/127.0.0.1/$REDIS_PORT") 2>/dev/null && break
    sleep 0.1
  done
  if ! (exec 3<>"/dev/tcp/127.0.0.1/$REDIS_PORT") 2>/dev/null; then
    say "redis did not start on 127.0.0.1:$REDIS_PORT; its log:"
    cat "$DIR/redis.log" >&2 || true
    exit 1
  fi
fi

if [ -z "${STEELCARE__AUTH__JWT_SECRET:-}" ]; then
  [ -f "$DIR/jwt-secret" ] || head -c 32 /dev/urandom | od -An -tx1 | tr -d ' \n' > "$DIR/jwt-secret"
  STEELCARE__AUTH__JWT_SECRET=$(cat "$DIR/jwt-secret")
fi
export STEELCARE__AUTH__JWT_SECRET
export STEELCARE__DATABASE__URL=$DATABASE_URL
export STEELCARE__REDIS__URL=$REDIS_URL
export STEELCARE__DATA_DIR=${STEELCARE__DATA_DIR:-$DIR/data}

say "migrating"
"$BIN" migrate >>"$DIR/migrate.log" 2>&1

# On its own PostgreSQL each service signs in as its own login role, a member of the role the
# migration granted its tables (steelcare_<service>): a service that writes a table it does not
# own fails here, as it would in production. Given a running server, every service uses its URL.
declare -A SERVICE_DB
for s in "${SERVICES[@]}"; do SERVICE_DB[$s]=$DATABASE_URL; done
if [ -n "$PG_BIN" ]; then
  PSQL=$(command -v psql || echo "$PG_BIN/psql")
  for s in "${SERVICES[@]}"; do
    "$PSQL" -q -v ON_ERROR_STOP=1 "$DATABASE_URL" -c "DO \$\$ BEGIN
      IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'steelcare_${s}_app') THEN
        CREATE ROLE steelcare_${s}_app LOGIN IN ROLE steelcare_${s};
      END IF; END \$\$" >>"$DIR/migrate.log" 2>&1
    SERVICE_DB[$s]=postgres://steelcare_${s}_app@127.0.0.1:$PG_PORT/postgres
  done
  say "one database role per service (steelcare_<service>_app)"
fi

# One supervised process per service: started again whenever it exits, until stopped.
run_service() {
  local service=$1 port=$2
  while [ ! -f "$DIR/stop" ]; do
    STEELCARE__SERVER__LISTEN=127.0.0.1:$port OTEL_SERVICE_NAME=steelcare-$service \
      STEELCARE__DATABASE__URL=${SERVICE_DB[$service]} \
      "$BIN" serve --service "$service" >>"$DIR/$service.log" 2>&1 &
    echo $! > "$DIR/$service.pid"
    wait $! || true
    [ -f "$DIR/stop" ] || { printf 'local: %s exited; starting it again\n' "$service"; sleep 0.5; }
  done
}

# Feedback opens recurrence tickets through intake's contract, at intake's port (the first).
export STEELCARE__FEEDBACK__INTAKE_URL=${STEELCARE__FEEDBACK__INTAKE_URL:-http://127.0.0.1:$BASE}

port=$BASE
for service in "${SERVICES[@]}"; do
  run_service "$service" "$port" &
  LOOPS+=($!)
  port=$((port + 1))
done

port=$BASE
for service in "${SERVICES[@]}"; do
  for _ in $(seq 1 300); do
    (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null && break
    sleep 0.1
  done
  say "$service on 127.0.0.1:$port (log $DIR/$service.log)"
  port=$((port + 1))
done
say "ready"
wait "${LOOPS[@]}"
