#!/usr/bin/env bash
# The JSON API benchmark of issue #10 (bench/api_load.py) over the catalog of
# bench/catalog_gen.py (the pages part's data), on SQLite and PostgreSQL:
#   HTTP (gunicorn, one connection then BENCH_CONNECTIONS):
#     login        POST /api/v1/auth/login (argon2-bound: logins/s, no target)
#     refresh      POST /api/v1/auth/refresh, each connection rotating its own chain
#     me           GET /api/v1/me with a Bearer token (JWT check + one query)
#     me-304       the same with If-None-Match: 304
#     products     GET /api/v1/products over the pages part's search URLs (skipped, with a
#                  line saying so, while the endpoint answers 404)
#     search-html  GET /produk with the same URLs (the HTML page over the same query)
#   then in-process (test client): the SELECTs and time of /api/v1/me and of 20 search URLs
#   as API and as page (bench/results/api-queries-<db>.json).
#
#   bash bench/api.sh                 # or: bash bench/run.sh api
#   BENCH_PRODUCTS=2000 BENCH_API_SECONDS=3 BENCH_API_C1_SECONDS=3 BENCH_PG=0 bash bench/api.sh
#
# Targets (bench/README.md, "JSON API (issue #10)"), p99 at one connection: me < 20 ms,
# refresh < 50 ms, products < the HTML search's p99 of the same run (or 150 ms, whichever is
# larger). A FAIL does not change the exit status unless BENCH_STRICT=1 (3).
#
# Knobs: BENCH_API_SECONDS (10 per row at BENCH_CONNECTIONS), BENCH_API_C1_SECONDS (10 per
# row at one connection; 0 skips), BENCH_API_ACCOUNTS (12 sellers logged in),
# BENCH_PRODUCTS (100000), BENCH_STORES (1000), BENCH_SEED (2026), BENCH_URLS (200),
# BENCH_CONNECTIONS (16), BENCH_WORKERS (2), BENCH_WARMUP (1), BENCH_API_SQLITE (1; 0 skips
# SQLite), BENCH_PG (1; 0 skips PostgreSQL), BENCH_API_PG_URL
# (postgresql://127.0.0.1:5432/racik_bench_api, kept between runs and regenerated when the
# migrations, the generator or the scale change), BENCH_STRICT (0).
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

RUN_SECONDS="${BENCH_API_SECONDS:-10}"
C1_SECONDS="${BENCH_API_C1_SECONDS:-10}"
ACCOUNTS="${BENCH_API_ACCOUNTS:-12}"
PRODUCTS="${BENCH_PRODUCTS:-100000}"
STORES="${BENCH_STORES:-1000}"
SEED="${BENCH_SEED:-2026}"
URL_COUNT="${BENCH_URLS:-200}"
API_PG_URL="${BENCH_API_PG_URL:-postgresql://127.0.0.1:5432/racik_bench_api}"
GEN="$BIN/python bench/catalog_gen.py"
LOAD="$BIN/python bench/api_load.py"
URLS="$RESULTS/api-search-urls.txt"
rm -f "$RESULTS"/api-*.json

# The bench logs in and refreshes hundreds of times a second from one address (loopback),
# and every anonymous search shares one API limit key (the IP): far over the production
# limits, which exist to stop abuse, not to measure the API.
export LOGIN_LIMIT_PER_ACCOUNT="1000000 per minute"
export LOGIN_LIMIT_PER_IP="1000000 per minute"
export API_LIMIT="1000000 per minute"

bench_databases "${BENCH_API_SQLITE:-1}" "$API_PG_URL"

echo "==> machine: $(nproc) cores, load average $(cut -d' ' -f1-3 /proc/loadavg)"
status=0
for database in "${DATABASES[@]}"; do
  if [[ "$database" == sqlite ]]; then
    # A throwaway SQLite database in lib.sh's throwaway instance, generated every run.
    url="sqlite:///$TMP/api.db"
    DATABASE_URL="$url" "$BIN/flask" db upgrade >"$TMP/setup.log" 2>&1 \
      || { cat "$TMP/setup.log" >&2; exit 1; }
    echo "==> catalog (sqlite): $PRODUCTS products, $STORES stores, seed $SEED"
    DATABASE_URL="$url" $GEN generate --products "$PRODUCTS" --stores "$STORES" --seed "$SEED"
  else
    # PostgreSQL: kept between runs, regenerated only when its fingerprint (the migrations,
    # the generator, the scale) changed, like the pages part's racik_bench.
    url="$API_PG_URL"
    fingerprint="$(cat migrations/versions/*.py bench/catalog_gen.py | sha256sum | cut -c1-16)"
    fingerprint="bench-api $fingerprint products=$PRODUCTS stores=$STORES seed=$SEED"
    echo "==> catalog (postgres): $url"
    $GEN pgdb "$url" --fingerprint "$fingerprint"
    DATABASE_URL="$url" "$BIN/flask" db upgrade >"$TMP/setup.log" 2>&1 \
      || { cat "$TMP/setup.log" >&2; exit 1; }
    DATABASE_URL="$url" $GEN generate --products "$PRODUCTS" --stores "$STORES" \
      --seed "$SEED" --skip-if-present
    $GEN pgdb "$url" --set-fingerprint "$fingerprint"
  fi
  if [[ ! -s "$URLS" || "$database" == "${DATABASES[0]}" ]]; then
    # One URL file for both databases (the same data: the same seed and scale).
    DATABASE_URL="$url" $GEN urls --out "$URLS" --count "$URL_COUNT" --seed "$SEED"
  fi
  port="$(free_port)"
  echo "==> gunicorn: racik on $database on $HOST:$port ($WORKERS workers)"
  start_server "api-$database" "$port" "$url"
  $LOAD run --url "http://$HOST:$port" --urls "$URLS" --label "$database" \
    --connections "$CONNECTIONS" --seconds "$RUN_SECONDS" --c1-seconds "$C1_SECONDS" \
    --warmup "$WARMUP" --accounts "$ACCOUNTS" --json "$RESULTS/api-$database.json" \
    || status=1
  stop_servers
  server_errors "api-$database" || status=1
  echo
  DATABASE_URL="$url" $LOAD queries --urls "$URLS" --json "$RESULTS/api-queries-$database.json" \
    || status=1
done
echo "==> machine at the end: load average $(cut -d' ' -f1-3 /proc/loadavg)"

# The targets (judged at one connection), for BENCH_STRICT.
if ! "$BIN/python" - "$RESULTS" <<'PY'
import json, sys
from pathlib import Path
failed = [f"{p.stem} {r['row']}" for p in sorted(Path(sys.argv[1]).glob("api-*.json"))
          if not p.stem.startswith("api-queries")
          for r in json.loads(p.read_text()).get("rows", []) if r.get("verdict") == "FAIL"]
if failed:
    print("API targets FAILED: " + ", ".join(failed))
sys.exit(1 if failed else 0)
PY
then
  if [[ "${BENCH_STRICT:-0}" == 1 ]]; then
    status=3
  fi
fi
exit "$status"
