#!/usr/bin/env bash
# The maklon benchmark of issue #6 (bench/maklon_gen.py, bench/maklon_load.py,
# bench/maklon_services.py) on SQLite and PostgreSQL:
#   data (not timed)  N active signed orders over the six working stages + completed ones,
#                     ~50 client companies, stage history, milestones, 60 raw materials,
#                     one encrypted 20-line formula per company;
#   HTTP (gunicorn, logged-in sessions, one connection then BENCH_CONNECTIONS):
#     board        the staff production board /produksi (full page)
#     board-poll   its htmx poll with If-None-Match (304)
#     client-tab   the client's /maklon/<n>/produksi
#     client-poll  its status poll with If-None-Match (304)
#     estimate     POST /maklon/perkiraan for a stored 20-line formula
#   then every SELECT of those pages with its plan (bench/results/maklon-explain-<db>.txt);
#   in-process (one worker, throwaway SQLite): contract signatures/s and stage advances/s.
#
#   bash bench/maklon.sh              # or: bash bench/run.sh maklon
#
# Targets (bench/README.md, "Maklon (issue #6)"), at one connection: board p99 < 150 ms,
# estimate p99 < 100 ms. A FAIL does not change the exit status unless BENCH_STRICT=1 (3).
#
# Knobs: BENCH_MAKLON_ORDERS (500 active orders), BENCH_MAKLON_DONE (100 completed),
# BENCH_MAKLON_COMPANIES (50), BENCH_MAKLON_CLIENTS (12 clients logged in),
# BENCH_MAKLON_SECONDS (10 per row at BENCH_CONNECTIONS), BENCH_MAKLON_C1_SECONDS (10 per row
# at one connection; 0 skips), BENCH_MAKLON_SIGN (200 contracts signed in-process; 0 skips
# the in-process part), BENCH_CONNECTIONS (16), BENCH_WORKERS (2), BENCH_WARMUP (1),
# BENCH_MAKLON_SQLITE (1; 0 skips SQLite), BENCH_PG (1), BENCH_MAKLON_PG_URL
# (postgresql://127.0.0.1:5432/racik_bench_maklon, created for the run and dropped after),
# BENCH_SEED (2026), BENCH_STRICT (0).
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

ORDERS="${BENCH_MAKLON_ORDERS:-500}"
DONE="${BENCH_MAKLON_DONE:-100}"
COMPANIES="${BENCH_MAKLON_COMPANIES:-50}"
CLIENTS="${BENCH_MAKLON_CLIENTS:-12}"
RUN_SECONDS="${BENCH_MAKLON_SECONDS:-10}"
C1_SECONDS="${BENCH_MAKLON_C1_SECONDS:-10}"
SIGN="${BENCH_MAKLON_SIGN:-200}"
SEED="${BENCH_SEED:-2026}"
MAKLON_PG_URL="${BENCH_MAKLON_PG_URL:-postgresql://127.0.0.1:5432/racik_bench_maklon}"
LOAD="$BIN/python bench/maklon_load.py"
rm -f "$RESULTS"/maklon-*.json

bench_databases "${BENCH_MAKLON_SQLITE:-1}" "$MAKLON_PG_URL"

echo "==> machine: $(nproc) cores, load average $(cut -d' ' -f1-3 /proc/loadavg)"
status=0
for database in "${DATABASES[@]}"; do
  if [[ "$database" == sqlite ]]; then
    url="sqlite:///$TMP/maklon.db"
  else
    url="$MAKLON_PG_URL"
    # A new database every run: a fingerprint that never matches makes pgdb recreate it.
    "$BIN/python" bench/catalog_gen.py pgdb "$url" --fingerprint "maklon $(date +%s%N)" >/dev/null
  fi
  echo "==> maklon: $database, $ORDERS active + $DONE completed orders, $COMPANIES companies"
  DATABASE_URL="$url" "$BIN/flask" db upgrade >"$TMP/setup.log" 2>&1 \
    || { cat "$TMP/setup.log" >&2; exit 1; }
  plan="$TMP/plan-$database.json"
  DATABASE_URL="$url" "$BIN/python" bench/maklon_gen.py generate --orders "$ORDERS" \
    --done "$DONE" --companies "$COMPANIES" --seed "$SEED" --plan "$plan"
  port="$(free_port)"
  echo "==> gunicorn: racik on $database on $HOST:$port ($WORKERS workers)"
  start_server "maklon-$database" "$port" "$url"
  $LOAD run --url "http://$HOST:$port" --plan "$plan" --label "$database" \
    --connections "$CONNECTIONS" --seconds "$RUN_SECONDS" --c1-seconds "$C1_SECONDS" \
    --warmup "$WARMUP" --clients "$CLIENTS" --json "$RESULTS/maklon-$database.json" \
    || status=1
  stop_servers
  server_errors "maklon-$database" || status=1
  DATABASE_URL="$url" $LOAD explain --plan "$plan" >"$RESULTS/maklon-explain-$database.txt" \
    || status=1
  echo "  query plans: $RESULTS/maklon-explain-$database.txt"
  if [[ "$database" == postgres ]]; then
    drop_pg "$MAKLON_PG_URL" || status=1
  fi
done

if ((SIGN > 0)); then
  echo
  echo "==> maklon services: $SIGN contracts signed, then 6 stage advances each, one worker"
  env -u DATABASE_URL "$BIN/python" bench/maklon_services.py --orders "$SIGN" \
    --json "$RESULTS/maklon-services.json" || status=1
fi

# The targets (judged at one connection), for BENCH_STRICT.
if ! "$BIN/python" - "$RESULTS" <<'PY'
import json, sys
from pathlib import Path
failed = [f"{p.stem} {r['row']}" for p in sorted(Path(sys.argv[1]).glob("maklon-*.json"))
          if p.stem not in ("maklon-services",)
          for r in json.loads(p.read_text()).get("rows", []) if r.get("verdict") == "FAIL"]
if failed:
    print("maklon targets FAILED: " + ", ".join(failed))
sys.exit(1 if failed else 0)
PY
then
  if [[ "${BENCH_STRICT:-0}" == 1 ]]; then
    status=3
  fi
fi
exit "$status"
