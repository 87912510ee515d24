#!/usr/bin/env bash
# `make bench`: sustained case intake through POST /api/v1/cases under gunicorn on PostgreSQL, and
# the raw-SQL ceiling of the same writes. Figures print at the end and land in build/bench/intake.json.
# docs/benchmarks.md explains what is measured. Every knob is an environment variable:
#
#   DATABASE_URL          any database on the PostgreSQL server to use (required); the bench
#                         drops and recreates BENCH_DB on that server
#   BENCH_DB              civicgrid_bench
#   BENCH_WORKERS         gunicorn workers (4)          BENCH_WORKER_CLASS  sync | gthread (sync)
#   BENCH_THREADS         threads per gthread worker (1)
#   BENCH_CLIENTS         closed-loop clients (16)      BENCH_DURATION      measured seconds (20)
#   BENCH_WARMUP          warm-up seconds (3)           BENCH_SOLO          seconds of 1 client after (5)
#   BENCH_IDEMPOTENCY     1 = send a fresh Idempotency-Key with every request (0)
#   BENCH_CLIENT          socket | httpx: how the clients speak HTTP (socket: the lightest)
#   BENCH_CEILING_SECONDS seconds per ceiling run (5)   BENCH_CEILING_CONNECTIONS  (= workers × threads)
#   BENCH_APP             the WSGI app gunicorn serves (civicgrid.wsgi:application), to try a variant
set -euo pipefail
cd "$(dirname "$0")/.."

BIN=${BIN:-.venv/bin}
PY="$BIN/python"
: "${DATABASE_URL:?set DATABASE_URL to a PostgreSQL server, e.g. postgres://postgres@127.0.0.1:5432/test}"
BENCH_DB=${BENCH_DB:-civicgrid_bench}
WORKERS=${BENCH_WORKERS:-4}
WORKER_CLASS=${BENCH_WORKER_CLASS:-sync}
THREADS=${BENCH_THREADS:-1}
CLIENTS=${BENCH_CLIENTS:-16}
DURATION=${BENCH_DURATION:-20}
WARMUP=${BENCH_WARMUP:-3}
SOLO=${BENCH_SOLO:-5}
CEILING_SECONDS=${BENCH_CEILING_SECONDS:-5}
CEILING_CONNECTIONS=${BENCH_CEILING_CONNECTIONS:-$((WORKERS * THREADS))}
APP=${BENCH_APP:-civicgrid.wsgi:application}
CONN_MAX_AGE=600
if [[ "$WORKER_CLASS" == sync && "$THREADS" -gt 1 ]]; then
  WORKER_CLASS=gthread  # what gunicorn would run anyway: say so in the report
fi
OUT=build/bench
mkdir -p "$OUT"

if ! "$PY" scripts/db_ready.py "$DATABASE_URL"; then
  echo "bench: no PostgreSQL answers at $DATABASE_URL" >&2
  exit 1
fi

# The app's environment, for migrate, setup and gunicorn alike: production settings, quiet logs.
BENCH_URL=$("$PY" -m bench.intake createdb --server-url "$DATABASE_URL" --name "$BENCH_DB")
export DATABASE_URL="$BENCH_URL"
export SECRET_KEY="bench-$("$PY" -c 'import secrets; print(secrets.token_hex(16))')"
export DEBUG=false ALLOWED_HOSTS=127.0.0.1 LOG_LEVEL=WARNING DATABASE_CONN_MAX_AGE=$CONN_MAX_AGE
echo "bench: database $BENCH_DB recreated; migrating"
# System checks are `make test`'s business; here a check about, say, the cache backend of rate
# limits must not stop a throughput measurement of an API that does not use them.
"$BIN/civicgrid" migrate --noinput --skip-checks >"$OUT/migrate.log"
"$PY" -m bench.intake setup --out "$OUT/setup.json"

PORT=$("$PY" -m bench.intake freeport)
echo "bench: gunicorn $APP, $WORKER_CLASS × $WORKERS (threads $THREADS) on 127.0.0.1:$PORT"
"$BIN/gunicorn" "$APP" \
  --bind "127.0.0.1:$PORT" --workers "$WORKERS" --worker-class "$WORKER_CLASS" --threads "$THREADS" \
  --log-level warning --error-logfile "$OUT/gunicorn.log" &
server=$!
stop_server() {
  if kill -0 "$server" 2>/dev/null; then
    kill -TERM "$server"
    wait "$server" || true
  fi
}
trap stop_server EXIT

idempotency=()
if [[ "${BENCH_IDEMPOTENCY:-0}" == 1 ]]; then idempotency=(--idempotency); fi
"$PY" -m bench.intake load --url "http://127.0.0.1:$PORT" --setup "$OUT/setup.json" --out "$OUT/load.json" \
  --clients "$CLIENTS" --duration "$DURATION" --warmup "$WARMUP" --solo "$SOLO" "${idempotency[@]}" \
  --transport "${BENCH_CLIENT:-socket}" \
  --server-pid "$server" --db-url "$BENCH_URL" \
  --app "$APP" --workers "$WORKERS" --worker-class "$WORKER_CLASS" --threads "$THREADS" \
  --conn-max-age "$CONN_MAX_AGE"

stop_server  # graceful: workers finish what they hold, so the database is final before the checks
trap - EXIT
"$PY" -m bench.intake finish --db-url "$BENCH_URL" --setup "$OUT/setup.json" --load "$OUT/load.json" \
  --out-dir "$OUT" --ceiling-seconds "$CEILING_SECONDS" --ceiling-connections "$CEILING_CONNECTIONS"
