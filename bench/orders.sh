#!/usr/bin/env bash
# The order-history pages of issue #4 at 1M orders (bench/orders_gen.py, bench/orders_load.py,
# bench/orders.lua) on SQLite and PostgreSQL: the buyer's /pesanan (first page, a status
# filter, page 20) and the seller's /seller/pesanan (first page, a status filter, page 20),
# each for many logged-in accounts, measured with wrk twice: one connection (the page's own
# latency, no queue) and BENCH_CONNECTIONS (throughput; latency is mostly queueing); then
# every SELECT of each page with its plan.
#
#   bash bench/orders.sh               # or: bash bench/run.sh orders
#
# The data is kept between runs and made again only when the migrations, the generators
# or the scale changed (fingerprint): PostgreSQL in BENCH_ORDERS_PG_URL
# (postgresql://127.0.0.1:5432/racik_bench_orders; dropped and created when stale), SQLite in
# BENCH_ORDERS_SQLITE_DB (bench/results/orders.db, git-ignored, ~1.3 GB).
#
# Knobs: BENCH_ORDERS (1000000), BENCH_ORDER_BUYERS (50000), BENCH_ORDER_STORES (200),
# BENCH_SEED (2026), BENCH_ORDERS_SECONDS (15 per row at BENCH_CONNECTIONS),
# BENCH_ORDERS_C1_SECONDS (5 per row at one connection; 0 skips), BENCH_CONNECTIONS (16),
# BENCH_THREADS (2), BENCH_WORKERS (2), BENCH_ORDERS_SQLITE (1; 0 skips SQLite), BENCH_PG (1).
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
command -v wrk >/dev/null || { echo "wrk is not installed (apt-get install wrk)" >&2; exit 2; }

ORDERS="${BENCH_ORDERS:-1000000}"
BUYERS="${BENCH_ORDER_BUYERS:-50000}"
STORES="${BENCH_ORDER_STORES:-200}"
SEED="${BENCH_SEED:-2026}"
RUN_SECONDS="${BENCH_ORDERS_SECONDS:-15}"
C1_SECONDS="${BENCH_ORDERS_C1_SECONDS:-5}"
ORDERS_PG_URL="${BENCH_ORDERS_PG_URL:-postgresql://127.0.0.1:5432/racik_bench_orders}"
SQLITE_DB="${BENCH_ORDERS_SQLITE_DB:-$RESULTS/orders.db}"
GEN="$BIN/python bench/orders_gen.py"
LOAD="$BIN/python bench/orders_load.py"
ROWS=(buyer-first buyer-status buyer-deep seller-first seller-status seller-deep)

FINGERPRINT="$(cat migrations/versions/*.py bench/catalog_gen.py bench/orders_gen.py | sha256sum | cut -c1-16)"
FINGERPRINT="orders $FINGERPRINT orders=$ORDERS buyers=$BUYERS stores=$STORES seed=$SEED"

bench_databases "${BENCH_ORDERS_SQLITE:-1}" "$ORDERS_PG_URL"

generate() {  # url
  echo "==> orders: generating $ORDERS orders, $BUYERS buyers, $STORES stores (seed $SEED)"
  DATABASE_URL="$1" "$BIN/flask" db upgrade >"$TMP/setup.log" 2>&1 \
    || { cat "$TMP/setup.log" >&2; exit 1; }
  DATABASE_URL="$1" $GEN generate --orders "$ORDERS" --buyers "$BUYERS" --stores "$STORES" \
    --seed "$SEED" --skip-if-present
}

status=0
for database in "${DATABASES[@]}"; do
  if [[ "$database" == sqlite ]]; then
    url="sqlite:///$SQLITE_DB"
    if [[ ! -f "$SQLITE_DB" || "$(cat "$SQLITE_DB.fingerprint" 2>/dev/null)" != "$FINGERPRINT" ]]; then
      rm -f "$SQLITE_DB" "$SQLITE_DB-wal" "$SQLITE_DB-shm" "$SQLITE_DB.fingerprint"
      generate "$url"
      echo "$FINGERPRINT" >"$SQLITE_DB.fingerprint"
    else
      echo "==> orders (sqlite): $SQLITE_DB, same fingerprint: data kept"
    fi
  else
    url="$ORDERS_PG_URL"
    "$BIN/python" bench/catalog_gen.py pgdb "$url" --fingerprint "$FINGERPRINT"
    generate "$url"
    "$BIN/python" bench/catalog_gen.py pgdb "$url" --set-fingerprint "$FINGERPRINT"
  fi
  DATABASE_URL="$url" $GEN counts
  users="$RESULTS/orders-users-$database.jsonl"
  DATABASE_URL="$url" $GEN users --out "$users"

  port="$(free_port)"
  echo "==> gunicorn: racik on $database on $HOST:$port ($WORKERS workers)"
  start_server "orders-$database" "$port" "$url"
  lines="$TMP/lines-$database"
  if ! $LOAD login --url "http://$HOST:$port" --users "$users" --out "$lines"; then
    echo "  $database: some pages did not answer as expected; no load run" >&2
    stop_servers
    status=1
    continue
  fi
  outputs=()
  for row in "${ROWS[@]}"; do
    script=(--timeout 30s -s bench/orders.lua "http://$HOST:$port" -- "$lines/$row.txt")
    if ((WARMUP > 0)); then
      wrk -t1 -c2 -d"${WARMUP}s" "${script[@]}" >/dev/null
    fi
    if ((C1_SECONDS > 0)); then
      echo "==> $database $row: wrk -t1 -c1 -d${C1_SECONDS}s"
      wrk -t1 -c1 -d"${C1_SECONDS}s" --latency "${script[@]}" \
        >"$RESULTS/wrk-orders-$database-$row-c1.txt"
      outputs+=("$RESULTS/wrk-orders-$database-$row-c1.txt")
    fi
    echo "==> $database $row: wrk -t$THREADS -c$CONNECTIONS -d${RUN_SECONDS}s"
    wrk -t"$THREADS" -c"$CONNECTIONS" -d"${RUN_SECONDS}s" --latency "${script[@]}" \
      >"$RESULTS/wrk-orders-$database-$row-c$CONNECTIONS.txt"
    outputs+=("$RESULTS/wrk-orders-$database-$row-c$CONNECTIONS.txt")
  done
  stop_servers
  server_errors "orders-$database" || status=1
  $LOAD report --label "$database, $ORDERS orders" --json "$RESULTS/orders-$database.json" \
    "${outputs[@]}" || status=1
  DATABASE_URL="$url" $LOAD explain --users "$users" >"$RESULTS/orders-explain-$database.txt" \
    || status=1
  echo "  query plans: $RESULTS/orders-explain-$database.txt"
done
exit "$status"
