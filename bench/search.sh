#!/usr/bin/env bash
# The search benchmark of issue 24: product search at 100k products on SQLite and
# PostgreSQL, and at 1M products on PostgreSQL, each with two mixes of the same ~200 URLs
# (bench/search.lua): `zipf` (skewed, realistic: a few searches very popular, so the page
# cache helps) and `unique` (every URL new: no cache hit, the miss path alone), beside the
# bare Flask floor measured just before each database's rows. Figures go to
# bench/results/latest.json under "search" (report.py's format per scale, plus the load).
#
#   bash bench/search.sh            # or: bash bench/run.sh search
#   BENCH_SEARCH_1M=0 bash bench/search.sh                          # 100k only
#   BENCH_SEARCH_SQLITE_DB=/tmp/bench100k.db bash bench/search.sh   # reuse a generated file
#
# Knobs (environment, besides lib.sh's BENCH_WORKERS/THREADS/CONNECTIONS/WARMUP/PG):
# BENCH_SEARCH_SECONDS (20) per row, BENCH_PRODUCTS (100000), BENCH_STORES (1000),
# BENCH_SEED (2026), BENCH_URLS (200), BENCH_SEARCH_SQLITE_DB (empty: generate into the
# throwaway instance; else a file made by `catalog_gen.py generate`, used read-only),
# BENCH_SEARCH_PG_URL (postgresql://127.0.0.1:5432/racik_bench_search_100k),
# BENCH_SEARCH_1M (1), BENCH_SEARCH_PG_1M_URL (…/racik_bench_search_1m; 1,000,000 products
# in 10,000 stores, generated once, ~20-40 min on two busy cores), BENCH_SEARCH_PROBE (1:
# the in-process service time of the miss path, page cache off), BENCH_STRICT (0; 1 =
# exit 3 when a target fails). Targets: p99 < 50 ms and >= 0.5 x floor at 100k (both
# mixes, both databases); p99 < 100 ms at 1M (PostgreSQL).
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
command -v wrk >/dev/null || { echo "wrk is not installed (apt-get install wrk)" >&2; exit 2; }

SEARCH_SECONDS="${BENCH_SEARCH_SECONDS:-20}"
PRODUCTS="${BENCH_PRODUCTS:-100000}"
STORES="${BENCH_STORES:-1000}"
SEED="${BENCH_SEED:-2026}"
URL_COUNT="${BENCH_URLS:-200}"
SQLITE_DB="${BENCH_SEARCH_SQLITE_DB:-}"
PG_URL="${BENCH_SEARCH_PG_URL:-postgresql://127.0.0.1:5432/racik_bench_search_100k}"
BIG="${BENCH_SEARCH_1M:-1}"
PG_1M_URL="${BENCH_SEARCH_PG_1M_URL:-postgresql://127.0.0.1:5432/racik_bench_search_1m}"
PROBE="${BENCH_SEARCH_PROBE:-1}"
STRICT="${BENCH_STRICT:-0}"
GEN="$BIN/python bench/catalog_gen.py"
URLS="$RESULTS/search-urls.txt"
OUT="$RESULTS/search"
mkdir -p "$OUT"
rm -f "$OUT"/*.txt "$OUT"/*.json

# --- data ------------------------------------------------------------------------------------
if [[ -z "$SQLITE_DB" ]]; then
  SQLITE_DB="$TMP/search.db"
  echo "==> catalog (sqlite): $PRODUCTS products, $STORES stores, seed $SEED"
  DATABASE_URL="sqlite:///$SQLITE_DB" "$BIN/flask" db upgrade >"$TMP/setup.log" 2>&1 \
    || { cat "$TMP/setup.log" >&2; exit 1; }
  DATABASE_URL="sqlite:///$SQLITE_DB" $GEN generate --products "$PRODUCTS" --stores "$STORES" \
    --seed "$SEED"
fi
SQLITE_URL="sqlite:///$SQLITE_DB"
DATABASE_URL="$SQLITE_URL" $GEN urls --out "$URLS" --count "$URL_COUNT" --seed "$SEED"

pg_catalog() {  # url products stores: create, migrate and generate once (kept between runs)
  pg_ready "$1" || return 1
  DATABASE_URL="$1" "$BIN/flask" db upgrade >>"$TMP/setup.log" 2>&1 \
    || { cat "$TMP/setup.log" >&2; exit 1; }
  DATABASE_URL="$1" $GEN generate --products "$2" --stores "$3" --seed "$SEED" --skip-if-present
}
DATABASES=(sqlite)
if [[ "$PG" == 1 ]]; then
  if pg_catalog "$PG_URL" "$PRODUCTS" "$STORES"; then DATABASES+=(postgres); fi
  if [[ "$BIG" == 1 ]] && pg_catalog "$PG_1M_URL" 1000000 10000; then DATABASES+=(postgres-1m); fi
fi
url_of() {
  case "$1" in
    sqlite) echo "$SQLITE_URL" ;; postgres) echo "$PG_URL" ;; postgres-1m) echo "$PG_1M_URL" ;;
  esac
}

# --- the miss path in-process (no HTTP, no queue, page cache off) -----------------------------
if [[ "$PROBE" == 1 ]]; then
  for name in "${DATABASES[@]}"; do
    echo "==> probe ($name, page cache off)"
    CACHE_TYPE=NullCache DATABASE_URL="$(url_of "$name")" $GEN probe "$URLS" \
      --json "$OUT/probe-$name.json"
  done
fi

# --- load ------------------------------------------------------------------------------------
FLOOR_PORT="$(free_port)"
start_server floor "$FLOOR_PORT" "$SQLITE_URL" bench.floor_app:app /
floor() {  # label
  if ((WARMUP > 0)); then
    wrk -t"$THREADS" -c"$CONNECTIONS" -d"${WARMUP}s" "http://$HOST:$FLOOR_PORT/" >/dev/null
  fi
  echo "==> $1: wrk -t$THREADS -c$CONNECTIONS -d${SEARCH_SECONDS}s --latency (floor)"
  wrk -t"$THREADS" -c"$CONNECTIONS" -d"${SEARCH_SECONDS}s" --latency \
    "http://$HOST:$FLOOR_PORT/" >"$OUT/wrk-$1.txt"
}
search_row() {  # label port mix
  local script=(--timeout 30s -s bench/search.lua "http://$HOST:$2" -- "$URLS" "$3")
  if ((WARMUP > 0)); then  # the zipf warm-up also fills the cache like earlier visitors
    wrk -t"$THREADS" -c"$CONNECTIONS" -d"${WARMUP}s" "${script[@]}" >/dev/null
  fi
  echo "==> $1: wrk -t$THREADS -c$CONNECTIONS -d${SEARCH_SECONDS}s --latency ${script[*]}"
  wrk -t"$THREADS" -c"$CONNECTIONS" -d"${SEARCH_SECONDS}s" --latency "${script[@]}" \
    >"$OUT/wrk-$1.txt"
}

status=0
REPORTS=()
first="$(head -n1 "$URLS")"
for name in "${DATABASES[@]}"; do
  port="$(free_port)"
  echo "==> gunicorn: racik on $name on $HOST:$port ($WORKERS workers)"
  start_server "racik-$name" "$port" "$(url_of "$name")"
  curl -fs -o /dev/null "http://$HOST:$port$first" \
    || { echo "search did not answer: $first" >&2; cat "$TMP/racik-$name.log" >&2; exit 1; }
  load_before="$(cut -d' ' -f1-3 /proc/loadavg)"
  floor "floor-$name"
  search_row "search-zipf-$name" "$port" zipf
  search_row "search-unique-$name" "$port" unique
  load_after="$(cut -d' ' -f1-3 /proc/loadavg)"
  server_errors "racik-$name" || status=1
  stop_servers
  start_server floor "$FLOOR_PORT" "$SQLITE_URL" bench.floor_app:app /
  p99=50; ratio=0.5
  if [[ "$name" == postgres-1m ]]; then p99=100; ratio=0; fi
  args=(floor="$OUT/wrk-floor-$name.txt"
        "search zipf ($name)=$OUT/wrk-search-zipf-$name.txt" --target "search zipf ($name)"
        "search unique ($name)=$OUT/wrk-search-unique-$name.txt" --target "search unique ($name)"
        --max-p99-ms "$p99" --min-ratio "$ratio" --json "$OUT/report-$name.json")
  if [[ -f "$OUT/probe-$name.json" ]]; then args+=(--attach "probe=$OUT/probe-$name.json"); fi
  if [[ "$STRICT" == 1 ]]; then args+=(--strict); fi
  echo
  echo "--- $name (load average before $load_before, after $load_after)"
  "$BIN/python" bench/report.py "${args[@]}" || status=$?
  echo "$name|$load_before|$load_after" >>"$OUT/loads.txt"
  REPORTS+=("$name")
done
stop_servers

# latest.json: this part's figures under "search", the other parts' keys kept.
"$BIN/python" - "$RESULTS/latest.json" "$OUT" "$PRODUCTS" "${REPORTS[@]}" <<'PY'
import json, sys
from datetime import UTC, datetime
from pathlib import Path
latest, out, products, names = Path(sys.argv[1]), Path(sys.argv[2]), sys.argv[3], sys.argv[4:]
data = json.loads(latest.read_text()) if latest.exists() else {}
loads = {}
for line in (out / "loads.txt").read_text().splitlines():
    name, before, after = line.split("|")
    loads[name] = {"before": before, "after": after}
data["search"] = {
    "generated_at": datetime.now(UTC).isoformat(timespec="seconds"),
    "products": {"sqlite": int(products), "postgres": int(products), "postgres-1m": 1_000_000},
    "databases": {name: {**json.loads((out / f"report-{name}.json").read_text()),
                         "load_average": loads.get(name)} for name in names},
}
latest.write_text(json.dumps(data, indent=2) + "\n")
print(f"written: {latest} (search)")
PY
exit "$status"
