# Shared set-up for bench/pages.sh, checkout.sh, orders.sh, payments.sh, maklon.sh, api.sh
# (sourced, not run): the venv's tools, a throwaway instance directory, the app's environment, gunicorn
# start/stop on loopback, and a cleanup that stops every server the script started (also on
# errors and Ctrl-C).
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
BIN="$ROOT/.venv/bin"
RESULTS="$ROOT/bench/results"
WORKERS="${BENCH_WORKERS:-2}"
THREADS="${BENCH_THREADS:-2}"
CONNECTIONS="${BENCH_CONNECTIONS:-16}"
WARMUP="${BENCH_WARMUP:-1}"
PG="${BENCH_PG:-1}"
HOST=127.0.0.1
mkdir -p "$RESULTS"
# One id per `make bench` (run.sh sets it) or per part run alone: bench/report.py keeps the
# figures of one run together in results/latest.json, beside that run's floor.
export BENCH_RUN_ID="${BENCH_RUN_ID:-$(date -u +%Y%m%dT%H%M%SZ)-$$}"

for tool in "$BIN/gunicorn" "$BIN/flask" "$BIN/python"; do
  [[ -x "$tool" ]] || { echo "missing $tool: run 'make install' first" >&2; exit 2; }
done
command -v curl >/dev/null || { echo "curl is not installed" >&2; exit 2; }

TMP="$(mktemp -d "${TMPDIR:-/tmp}/racik-bench.XXXXXX")"
PIDS=()
stop_servers() {
  local pid
  for pid in "${PIDS[@]}"; do
    kill -TERM "$pid" 2>/dev/null || true
  done
  for pid in "${PIDS[@]}"; do
    wait "$pid" 2>/dev/null || true
  done
  PIDS=()
}
cleanup() {
  local status=$?
  stop_servers
  rm -rf "$TMP"
  exit "$status"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

export RACIK_ENV=development
export INSTANCE_PATH="$TMP"
export JOBS_MODE=thread
export LOG_LEVEL=WARNING
export SECRET_KEY=bench-secret
export REDIS_URL=
export FLASK_APP=wsgi.py
# The webhook benchmark sends ~300 notifications a second from one address (loopback): far
# over the production limit per IP, which exists to stop a flood, not to measure one.
export WEBHOOK_LIMIT_PER_IP="1000000 per minute"
unset GUNICORN_CMD_ARGS PROXY_FIX_X_FOR RATELIMIT_STORAGE_URI

free_port() {
  "$BIN/python" -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()'
}

# PostgreSQL answers? (exit 0) Prints why not otherwise.
pg_ready() {  # url
  "$BIN/python" bench/catalog_gen.py pgdb "$1" >"$TMP/pgdb.out" 2>"$TMP/pgdb.err" && return 0
  local status=$?
  if ((status == 2)); then
    echo "==> postgres: SKIPPED, $(cat "$TMP/pgdb.err")"
  else
    cat "$TMP/pgdb.err" >&2
  fi
  return 1
}

# The databases a part runs on, into DATABASES: sqlite unless the part's switch is 0, and
# postgres when BENCH_PG=1 and it answers at the part's URL.
bench_databases() {  # sqlite-switch (1 or 0) postgres-url
  DATABASES=()
  if [[ "$1" == 1 ]]; then
    DATABASES+=(sqlite)
  fi
  if [[ "$PG" == 1 ]] && pg_ready "$2"; then
    DATABASES+=(postgres)
  elif [[ "$PG" != 1 ]]; then
    echo "==> postgres: SKIPPED (BENCH_PG=$PG)"
  fi
}

# Drop a throwaway racik_bench* PostgreSQL database (made by `catalog_gen.py pgdb`).
drop_pg() {  # url
  "$BIN/python" - "$1" <<'PY'
import sys
import psycopg
from psycopg import sql
from sqlalchemy.engine import make_url
from app import normalize_database_url
url = make_url(normalize_database_url(sys.argv[1]))
assert url.database.startswith("racik_bench"), url.database
params = {k: v for k, v in {"host": url.host, "port": url.port, "user": url.username,
                            "password": url.password}.items() if v is not None}
with psycopg.connect(dbname="postgres", autocommit=True, **params) as admin:
    admin.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(
        sql.Identifier(url.database)))
PY
}

# gunicorn with sync workers, no access log (gunicorn's default without --access-logfile),
# no control socket (two masters would fight over ~/.gunicorn/gunicorn.ctl); returns once
# `health` answers.
start_server() {  # name port database-url [app (wsgi:app)] [health path (/healthz)]
  local app="${4:-wsgi:app}" health="${5:-/healthz}"
  DATABASE_URL="$3" "$BIN/gunicorn" -w "$WORKERS" -b "$HOST:$2" --no-control-socket \
    --log-level warning "$app" >"$TMP/$1.log" 2>&1 &
  PIDS+=("$!")
  local pid=$! deadline=$((SECONDS + 30))
  until curl -fs -o /dev/null --max-time 2 "http://$HOST:$2$health"; do
    if ! kill -0 "$pid" 2>/dev/null || ((SECONDS >= deadline)); then
      echo "$1 did not come up on $HOST:$2; its log:" >&2
      cat "$TMP/$1.log" >&2
      exit 1
    fi
    sleep 0.2
  done
}

# Tracebacks in a server log: a 500 the client may not have seen as such.
server_errors() {  # name
  local count
  count="$(grep -c '^Traceback' "$TMP/$1.log" || true)"
  if ((count > 0)); then
    echo "  WARNING: $count traceback(s) in the $1 server log; the first:"
    grep -m1 -A30 '^Traceback' "$TMP/$1.log" | sed 's/^/    /'
    return 1
  fi
  return 0
}
