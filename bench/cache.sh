#!/usr/bin/env bash
# The cache benchmark (issue 21, bench/cache_load.py): anonymous catalog pages (search and
# product pages) served by Racik with the data cache on Redis and with it off (NullCache),
# under a skewed Zipf mix and an all-unique mix, beside the floor (bench/floor_app.py) of
# the same run; SQLite, a generated catalog (bench/catalog_gen.py).
#
#   bash bench/cache.sh                 # or: bash bench/run.sh cache
#   BENCH_CACHE_PRODUCTS=5000 BENCH_CACHE_SECONDS=5 bash bench/cache.sh
#
# Knobs: BENCH_CACHE_PRODUCTS (20000), BENCH_CACHE_STORES (200), BENCH_SEED (2026),
# BENCH_URLS (200), BENCH_CACHE_SECONDS (10 per row), BENCH_CACHE_WARMUP (20 s of earlier
# traffic before each row), BENCH_CONNECTIONS (16),
# BENCH_WORKERS (2), BENCH_CACHE_REDIS_URL (redis://127.0.0.1:6379/14; the bench's keys
# carry their own prefix and are deleted at the end, nothing else in that database is
# touched). Without Redis the part is skipped with a line saying so.
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

PRODUCTS="${BENCH_CACHE_PRODUCTS:-20000}"
STORES="${BENCH_CACHE_STORES:-200}"
SEED="${BENCH_SEED:-2026}"
URL_COUNT="${BENCH_URLS:-200}"
SECONDS_PER_ROW="${BENCH_CACHE_SECONDS:-10}"
CACHE_REDIS="${BENCH_CACHE_REDIS_URL:-redis://127.0.0.1:6379/14}"
PREFIX="racik:bench-cache:$$:"
GEN="$BIN/python bench/catalog_gen.py"
URLS="$TMP/cache-search-urls.txt"

if ! "$BIN/python" -c "import redis, sys; redis.Redis.from_url(sys.argv[1]).ping()" \
    "$CACHE_REDIS" 2>/dev/null; then
  echo "==> cache: SKIPPED, Redis does not answer at $CACHE_REDIS"
  exit 0
fi
forget_keys() {
  "$BIN/python" - "$CACHE_REDIS" "$PREFIX" <<'PY'
import sys, redis
client = redis.Redis.from_url(sys.argv[1])
keys = list(client.scan_iter(match=sys.argv[2] + "*", count=1000))
for start in range(0, len(keys), 1000):
    client.delete(*keys[start:start + 1000])
PY
}
trap 'forget_keys; cleanup' EXIT

echo "==> machine: $(nproc) cores, load average $(cut -d' ' -f1-3 /proc/loadavg)"
url="sqlite:///$TMP/cache.db"
DATABASE_URL="$url" "$BIN/flask" db upgrade >"$TMP/setup.log" 2>&1 \
  || { cat "$TMP/setup.log" >&2; exit 1; }
echo "==> catalog (sqlite): $PRODUCTS products, $STORES stores, seed $SEED"
DATABASE_URL="$url" $GEN generate --products "$PRODUCTS" --stores "$STORES" --seed "$SEED"
DATABASE_URL="$url" $GEN urls --out "$URLS" --count "$URL_COUNT" --seed "$SEED"
# The product pages an anonymous visitor can open: the active products.
"$BIN/python" - "$TMP/cache.db" >"$TMP/cache-products.txt" <<'PY'
import sqlite3, sys
for (product_id,) in sqlite3.connect(sys.argv[1]).execute(
        "SELECT id FROM products WHERE active ORDER BY id"):
    print(product_id)
PY

floor_port="$(free_port)"
on_port="$(free_port)"
off_port="$(free_port)"
echo "==> gunicorn: floor, racik cache-on (Redis), racik cache-off ($WORKERS workers each)"
start_server floor "$floor_port" "$url" bench.floor_app:app /
CACHE_TYPE=RedisCache CACHE_REDIS_URL="$CACHE_REDIS" CACHE_KEY_PREFIX="$PREFIX" \
  start_server cache-on "$on_port" "$url"
CACHE_TYPE=NullCache start_server cache-off "$off_port" "$url"
status=0
"$BIN/python" bench/cache_load.py run --on "http://$HOST:$on_port" \
  --off "http://$HOST:$off_port" --floor "http://$HOST:$floor_port" --urls "$URLS" \
  --products "$TMP/cache-products.txt" --seconds "$SECONDS_PER_ROW" --connections "$CONNECTIONS" \
  --warmup "$WARMUP" --cache-warmup "${BENCH_CACHE_WARMUP:-20}" \
  --json "$RESULTS/cache.json" || status=1
stop_servers
PROBE_PREFIX="${PREFIX}probe:" DATABASE_URL="$url" "$BIN/python" bench/cache_load.py probe \
  --urls "$URLS" --products "$TMP/cache-products.txt" --redis "$CACHE_REDIS" \
  --json "$RESULTS/cache-probe.json" || status=1
server_errors cache-on || status=1
server_errors cache-off || status=1
echo "==> machine at the end: load average $(cut -d' ' -f1-3 /proc/loadavg)"
exit "$status"
