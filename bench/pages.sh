#!/usr/bin/env bash
# The page benchmark: home page, login page, a bare Flask "floor" app, and product search
# over a generated catalog (SQLite, and PostgreSQL when it answers), all under gunicorn on
# loopback, measured with wrk. Shared set-up (environment, gunicorn, cleanup): lib.sh.
#
#   bash bench/pages.sh               # or: bash bench/run.sh pages
#   BENCH_PRODUCTS=2000 BENCH_SECONDS=3 BENCH_SEARCH_SECONDS=5 bash bench/pages.sh   # smoke
#
# Knobs (environment): BENCH_SECONDS (10), BENCH_WORKERS (2), BENCH_THREADS (2),
# BENCH_CONNECTIONS (16), BENCH_WARMUP seconds per endpoint (1, 0 = none),
# BENCH_PORT / BENCH_FLOOR_PORT / BENCH_PG_PORT (default: free ports picked at start);
# search: BENCH_SEARCH (1; 0 = skip catalog and search), BENCH_SEARCH_SECONDS (30),
# BENCH_PRODUCTS (100000), BENCH_STORES (1000), BENCH_SEED (2026), BENCH_URLS (200),
# BENCH_PG_URL (postgresql://127.0.0.1:5432/racik_bench; BENCH_PG=0 skips PostgreSQL),
# BENCH_STRICT (0; 1 = exit 3 when a search target fails).
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
command -v wrk >/dev/null || { echo "wrk is not installed (apt-get install wrk)" >&2; exit 2; }

SECONDS_PER_RUN="${BENCH_SECONDS:-10}"
SEARCH="${BENCH_SEARCH:-1}"
SEARCH_SECONDS="${BENCH_SEARCH_SECONDS:-30}"
PRODUCTS="${BENCH_PRODUCTS:-100000}"
STORES="${BENCH_STORES:-1000}"
SEED="${BENCH_SEED:-2026}"
URL_COUNT="${BENCH_URLS:-200}"
PG_URL="${BENCH_PG_URL:-postgresql://127.0.0.1:5432/racik_bench}"
STRICT="${BENCH_STRICT:-0}"

PORT="${BENCH_PORT:-$(free_port)}"
FLOOR_PORT="${BENCH_FLOOR_PORT:-$(free_port)}"
PG_PORT="${BENCH_PG_PORT:-$(free_port)}"
if [[ "$PORT" == "$FLOOR_PORT" || "$PORT" == "$PG_PORT" || "$FLOOR_PORT" == "$PG_PORT" ]]; then
  echo "BENCH_PORT, BENCH_FLOOR_PORT and BENCH_PG_PORT must differ" >&2
  exit 2
fi

# A throwaway SQLite database in lib.sh's throwaway instance.
export DATABASE_URL="sqlite:///$TMP/bench.db"

echo "==> database: $DATABASE_URL"
"$BIN/flask" db upgrade >"$TMP/setup.log" 2>&1 || { cat "$TMP/setup.log" >&2; exit 1; }
"$BIN/flask" demo load >>"$TMP/setup.log" 2>&1 || { cat "$TMP/setup.log" >&2; exit 1; }

GEN="$BIN/python bench/catalog_gen.py"
URLS="$RESULTS/search-urls.txt"
PG_READY=0
rm -f "$RESULTS"/wrk-search-*.txt "$RESULTS"/probe-*.json
if [[ "$SEARCH" == 1 ]]; then
  # The catalog: generated into the throwaway SQLite database on every run.
  echo "==> catalog (sqlite): $PRODUCTS products, $STORES stores, seed $SEED"
  $GEN generate --products "$PRODUCTS" --stores "$STORES" --seed "$SEED"
  $GEN urls --out "$URLS" --count "$URL_COUNT" --seed "$SEED"
  $GEN probe "$URLS" --json "$RESULTS/probe-sqlite.json"

  # PostgreSQL: a persistent database, regenerated only when the schema (migrations), the
  # generator or the scale changed since the data was made (its fingerprint, kept as the
  # database comment) or the product count differs.
  if [[ "$PG" != 1 ]]; then
    echo "==> postgres: SKIPPED (BENCH_PG=$PG)"
  else
    FINGERPRINT="$(cat migrations/versions/*.py bench/catalog_gen.py | sha256sum | cut -c1-16)"
    FINGERPRINT="bench $FINGERPRINT products=$PRODUCTS stores=$STORES seed=$SEED"
    echo "==> catalog (postgres): ${PG_URL}"
    set +e
    $GEN pgdb "$PG_URL" --fingerprint "$FINGERPRINT" 2>"$TMP/pgdb.err"
    status=$?
    set -e
    if ((status == 2)); then
      echo "==> postgres: SKIPPED, $(cat "$TMP/pgdb.err")"
    elif ((status != 0)); then
      cat "$TMP/pgdb.err" >&2
      exit 1
    else
      DATABASE_URL="$PG_URL" "$BIN/flask" db upgrade >>"$TMP/setup.log" 2>&1 \
        || { cat "$TMP/setup.log" >&2; exit 1; }
      DATABASE_URL="$PG_URL" $GEN generate --products "$PRODUCTS" --stores "$STORES" \
        --seed "$SEED" --skip-if-present
      $GEN pgdb "$PG_URL" --set-fingerprint "$FINGERPRINT"
      DATABASE_URL="$PG_URL" $GEN probe "$URLS" --json "$RESULTS/probe-postgres.json"
      PG_READY=1
    fi
  fi
fi

echo "==> gunicorn: racik on $HOST:$PORT, floor on $HOST:$FLOOR_PORT ($WORKERS workers each)"
start_server racik "$PORT" "$DATABASE_URL"
start_server floor "$FLOOR_PORT" "$DATABASE_URL" bench.floor_app:app /
if ((PG_READY)); then
  echo "==> gunicorn: racik on PostgreSQL on $HOST:$PG_PORT ($WORKERS workers)"
  start_server racik-pg "$PG_PORT" "$PG_URL"
fi

bench() {  # label url
  if ((WARMUP > 0)); then
    wrk -t"$THREADS" -c"$CONNECTIONS" -d"${WARMUP}s" "$2" >/dev/null
  fi
  echo "==> $1: wrk -t$THREADS -c$CONNECTIONS -d${SECONDS_PER_RUN}s --latency $2"
  wrk -t"$THREADS" -c"$CONNECTIONS" -d"${SECONDS_PER_RUN}s" --latency "$2" \
    >"$RESULTS/wrk-$1.txt"
}
# The search runs cycle through the URL file with bench/search.lua; wrk hands the script
# the arguments after `--`. A long --timeout: wrk leaves timed-out requests out of its
# latency percentiles, which would flatter a slow search.
bench_search() {  # label base-url
  local script=(--timeout 30s -s bench/search.lua "$2" -- "$URLS")
  if ((WARMUP > 0)); then
    wrk -t"$THREADS" -c"$CONNECTIONS" -d"${WARMUP}s" "${script[@]}" >/dev/null
  fi
  echo "==> $1: wrk -t$THREADS -c$CONNECTIONS -d${SEARCH_SECONDS}s --latency ${script[*]}"
  wrk -t"$THREADS" -c"$CONNECTIONS" -d"${SEARCH_SECONDS}s" --latency "${script[@]}" \
    >"$RESULTS/wrk-$1.txt"
}
bench home "http://$HOST:$PORT/"
bench login "http://$HOST:$PORT/masuk"
bench floor "http://$HOST:$FLOOR_PORT/"

REPORT=(home="$RESULTS/wrk-home.txt" login="$RESULTS/wrk-login.txt"
        floor="$RESULTS/wrk-floor.txt")
if [[ "$SEARCH" == 1 ]]; then
  # A URL of the file answers 200 on both servers before the load starts.
  first="$(head -n1 "$URLS")"
  curl -fs -o /dev/null "http://$HOST:$PORT$first" \
    || { echo "search did not answer: $first" >&2; cat "$TMP/racik.log" >&2; exit 1; }
  bench_search search-sqlite "http://$HOST:$PORT"
  REPORT+=("search (sqlite)=$RESULTS/wrk-search-sqlite.txt" --target "search (sqlite)"
           --attach "probe_sqlite=$RESULTS/probe-sqlite.json")
  if ((PG_READY)); then
    curl -fs -o /dev/null "http://$HOST:$PG_PORT$first" \
      || { echo "search did not answer: $first" >&2; cat "$TMP/racik-pg.log" >&2; exit 1; }
    bench_search search-postgres "http://$HOST:$PG_PORT"
    REPORT+=("search (postgres)=$RESULTS/wrk-search-postgres.txt" --target "search (postgres)"
             --attach "probe_postgres=$RESULTS/probe-postgres.json")
  fi
  if [[ "$STRICT" == 1 ]]; then
    REPORT+=(--strict)
  fi
fi

echo
status=0
"$BIN/python" bench/report.py "${REPORT[@]}" || status=$?

exit "$status"
