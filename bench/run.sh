#!/usr/bin/env bash
# Racik throughput benchmark: home page, login page, and a bare Flask "floor" app, all under
# gunicorn on loopback, measured with wrk. See bench/README.md.
#
#   bash bench/run.sh                 # or: make bench
#   BENCH_SECONDS=5 bash bench/run.sh
#
# Knobs (environment): BENCH_SECONDS (10), BENCH_WORKERS (2), BENCH_THREADS (2),
# BENCH_CONNECTIONS (16), BENCH_WARMUP seconds per endpoint (1, 0 = none),
# BENCH_PORT / BENCH_FLOOR_PORT (default: free ports picked at start).
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
BIN="$ROOT/.venv/bin"
RESULTS="$ROOT/bench/results"
SECONDS_PER_RUN="${BENCH_SECONDS:-10}"
WORKERS="${BENCH_WORKERS:-2}"
THREADS="${BENCH_THREADS:-2}"
CONNECTIONS="${BENCH_CONNECTIONS:-16}"
WARMUP="${BENCH_WARMUP:-1}"
HOST=127.0.0.1

for tool in "$BIN/gunicorn" "$BIN/flask" "$BIN/python"; do
  [[ -x "$tool" ]] || { echo "missing $tool: run 'make install' first" >&2; exit 2; }
done
command -v wrk >/dev/null || { echo "wrk is not installed (apt-get install wrk)" >&2; exit 2; }
command -v curl >/dev/null || { echo "curl is not installed" >&2; exit 2; }

TMP="$(mktemp -d "${TMPDIR:-/tmp}/racik-bench.XXXXXX")"
PIDS=()
cleanup() {
  local status=$?
  for pid in "${PIDS[@]}"; do
    kill -TERM "$pid" 2>/dev/null || true
  done
  for pid in "${PIDS[@]}"; do
    wait "$pid" 2>/dev/null || true
  done
  rm -rf "$TMP"
  exit "$status"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

free_port() {
  "$BIN/python" -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()'
}
PORT="${BENCH_PORT:-$(free_port)}"
FLOOR_PORT="${BENCH_FLOOR_PORT:-$(free_port)}"
if [[ "$PORT" == "$FLOOR_PORT" ]]; then
  echo "BENCH_PORT and BENCH_FLOOR_PORT must differ" >&2
  exit 2
fi

# A throwaway instance: its own SQLite database, no Redis, in-process jobs, quiet logs.
export RACIK_ENV=development
export INSTANCE_PATH="$TMP"
export DATABASE_URL="sqlite:///$TMP/bench.db"
export JOBS_MODE=thread
export LOG_LEVEL=WARNING
export SECRET_KEY=bench-secret
export REDIS_URL=
export FLASK_APP=wsgi.py
unset GUNICORN_CMD_ARGS PROXY_FIX_X_FOR RATELIMIT_STORAGE_URI

echo "==> database: $DATABASE_URL"
"$BIN/flask" db upgrade >"$TMP/setup.log" 2>&1 || { cat "$TMP/setup.log" >&2; exit 1; }
"$BIN/flask" demo load >>"$TMP/setup.log" 2>&1 || { cat "$TMP/setup.log" >&2; exit 1; }

# No access log (gunicorn's default when --access-logfile is not given); no control socket,
# so two masters do not fight over ~/.gunicorn/gunicorn.ctl.
start_server() {  # name port app
  "$BIN/gunicorn" -w "$WORKERS" -b "$HOST:$2" --no-control-socket --log-level warning \
    "$3" >"$TMP/$1.log" 2>&1 &
  PIDS+=("$!")
}
echo "==> gunicorn: racik on $HOST:$PORT, floor on $HOST:$FLOOR_PORT ($WORKERS workers each)"
start_server racik "$PORT" wsgi:app
start_server floor "$FLOOR_PORT" bench.floor_app:app

wait_until_up() {  # name url pid
  local deadline=$((SECONDS + 30))
  until curl -fs -o /dev/null --max-time 2 "$2"; do
    if ! kill -0 "$3" 2>/dev/null || ((SECONDS >= deadline)); then
      echo "$1 did not come up at $2; its log:" >&2
      cat "$TMP/$1.log" >&2
      exit 1
    fi
    sleep 0.2
  done
}
wait_until_up racik "http://$HOST:$PORT/healthz" "${PIDS[0]}"
wait_until_up floor "http://$HOST:$FLOOR_PORT/" "${PIDS[1]}"

mkdir -p "$RESULTS"
bench() {  # label url
  if ((WARMUP > 0)); then
    wrk -t"$THREADS" -c"$CONNECTIONS" -d"${WARMUP}s" "$2" >/dev/null
  fi
  echo "==> $1: wrk -t$THREADS -c$CONNECTIONS -d${SECONDS_PER_RUN}s --latency $2"
  wrk -t"$THREADS" -c"$CONNECTIONS" -d"${SECONDS_PER_RUN}s" --latency "$2" \
    >"$RESULTS/wrk-$1.txt"
}
bench home "http://$HOST:$PORT/"
bench login "http://$HOST:$PORT/masuk"
bench floor "http://$HOST:$FLOOR_PORT/"

echo
"$BIN/python" bench/report.py \
  home="$RESULTS/wrk-home.txt" login="$RESULTS/wrk-login.txt" floor="$RESULTS/wrk-floor.txt"
