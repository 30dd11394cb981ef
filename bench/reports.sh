#!/usr/bin/env bash
# The reports benchmark of issue #7 on SQLite and PostgreSQL, over ~1M order items in ~1,000
# stores (bench/orders_gen.py generate: 660,000 orders ~ 1.0M items; 30,000 buyers):
#   1. /seller/analitik over HTTP under gunicorn (BENCH_WORKERS sync workers), logged in as
#      the owners of the 4 biggest stores and of 8 others spread over the store sizes:
#      p50/p99 at one connection (target p99 < 200 ms) and req/s at BENCH_CONNECTIONS
#      (bench/reports_load.py http); then every SELECT of the biggest store's page with its
#      plan (bench/results/reports-explain-*.txt). In-process cost: bench/analytics_bench.py.
#   2. the weekly report as the cron runs it (`jobs.reports.weekly` through execute_job):
#      total seconds, ms per store, the outbox emails and PDFs it wrote; then a second run
#      that must send nothing more, and its time (bench/reports_load.py weekly).
#   3. `flask backup create` and `flask backup verify --latest` (BACKUP_DIR and the storage,
#      one per database, in the throwaway instance; a fresh BACKUP_KEY): seconds, peak RSS
#      (the child and the pg_dump/pg_restore it waits for), archive size.
#
#   bash bench/reports.sh              # or: bash bench/run.sh reports
#
# The databases are throwaway: SQLite in the instance directory (or BENCH_REPORTS_SQLITE_DB,
# kept, generated only when empty), PostgreSQL BENCH_REPORTS_PG_URL
# (postgresql://127.0.0.1:5432/racik_bench_reports) created for the run and dropped after
# (BENCH_REPORTS_KEEP_PG=1 keeps it; it is then reused while the fingerprint matches).
#
# Knobs: BENCH_REPORTS_ORDERS (660000), BENCH_REPORTS_STORES (1000), BENCH_REPORTS_BUYERS
# (30000), BENCH_REPORTS_SECONDS (10 at BENCH_CONNECTIONS), BENCH_REPORTS_C1_SECONDS (10 at
# one connection), BENCH_CONNECTIONS (16), BENCH_WORKERS (2), BENCH_REPORTS_SQLITE (1; 0
# skips SQLite), BENCH_PG (1), BENCH_SEED (2026).
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

ORDERS="${BENCH_REPORTS_ORDERS:-660000}"
STORES="${BENCH_REPORTS_STORES:-1000}"
BUYERS="${BENCH_REPORTS_BUYERS:-30000}"
SEED="${BENCH_SEED:-2026}"
RUN_SECONDS="${BENCH_REPORTS_SECONDS:-10}"
C1_SECONDS="${BENCH_REPORTS_C1_SECONDS:-10}"
REPORTS_PG_URL="${BENCH_REPORTS_PG_URL:-postgresql://127.0.0.1:5432/racik_bench_reports}"
SQLITE_DB="${BENCH_REPORTS_SQLITE_DB:-$TMP/reports.db}"
GEN="$BIN/python bench/orders_gen.py"
LOAD="$BIN/python bench/reports_load.py"
rm -f "$RESULTS"/reports-*.json

FINGERPRINT="$(cat migrations/versions/*.py bench/catalog_gen.py bench/orders_gen.py | sha256sum | cut -c1-16)"
FINGERPRINT="reports $FINGERPRINT orders=$ORDERS buyers=$BUYERS stores=$STORES seed=$SEED"

bench_databases "${BENCH_REPORTS_SQLITE:-1}" "$REPORTS_PG_URL"

generate() {  # url
  echo "==> reports: generating $ORDERS orders, $BUYERS buyers, $STORES stores (seed $SEED)"
  DATABASE_URL="$1" "$BIN/flask" db upgrade >"$TMP/setup.log" 2>&1 \
    || { cat "$TMP/setup.log" >&2; exit 1; }
  local started=$SECONDS
  DATABASE_URL="$1" $GEN generate --orders "$ORDERS" --buyers "$BUYERS" --stores "$STORES" \
    --seed "$SEED" --skip-if-present
  echo "  generation: $((SECONDS - started)) s"
}

export BACKUP_DIR="$TMP/backups"
BACKUP_KEY="$("$BIN/python" -c 'import base64, os; print(base64.b64encode(os.urandom(32)).decode())')"
export BACKUP_KEY

status=0
for database in "${DATABASES[@]}"; do
  # Each database its own stored files (the weekly PDFs; the backup archives them).
  export STORAGE_ROOT="$TMP/files-$database"
  if [[ "$database" == sqlite ]]; then
    url="sqlite:///$SQLITE_DB"
    generate "$url"
  else
    url="$REPORTS_PG_URL"
    "$BIN/python" bench/catalog_gen.py pgdb "$url" --fingerprint "$FINGERPRINT"
    generate "$url"
    "$BIN/python" bench/catalog_gen.py pgdb "$url" --set-fingerprint "$FINGERPRINT"
  fi
  DATABASE_URL="$url" $GEN counts
  sellers="$TMP/sellers-$database.jsonl"
  DATABASE_URL="$url" $LOAD sellers --out "$sellers"

  # 1. the analytics page over HTTP
  port="$(free_port)"
  echo "==> gunicorn: racik on $database on $HOST:$port ($WORKERS workers), /seller/analitik"
  start_server "reports-$database" "$port" "$url"
  $LOAD http --url "http://$HOST:$port" --sellers "$sellers" --label "$database" \
    --connections "$CONNECTIONS" --seconds "$RUN_SECONDS" --c1-seconds "$C1_SECONDS" \
    --warmup "$WARMUP" --json "$RESULTS/reports-analytics-$database.json" || status=1
  stop_servers
  server_errors "reports-$database" || status=1
  DATABASE_URL="$url" $LOAD explain --sellers "$sellers" \
    >"$RESULTS/reports-explain-$database.txt" || status=1
  echo "  query plans: $RESULTS/reports-explain-$database.txt"

  # 2. the weekly report, twice
  echo "==> weekly report ($database): jobs.reports.weekly as the cron runs it, twice"
  DATABASE_URL="$url" $LOAD weekly --label "$database" --activate \
    --json "$RESULTS/reports-weekly-$database.json" || status=1

  # 3. backup + verify
  echo "==> backup ($database): flask backup create, flask backup verify --latest"
  rm -rf "$BACKUP_DIR"
  mkdir -p "$BACKUP_DIR"
  DATABASE_URL="$url" $LOAD timed --label "backup create" --size-of "$BACKUP_DIR" \
    --json "$RESULTS/reports-backup-create-$database.json" -- "$BIN/flask" backup create \
    || status=1
  DATABASE_URL="$url" $LOAD timed --label "backup verify" \
    --json "$RESULTS/reports-backup-verify-$database.json" -- "$BIN/flask" backup verify \
    --latest || status=1
  rm -rf "$BACKUP_DIR"

  if [[ "$database" == postgres && "${BENCH_REPORTS_KEEP_PG:-0}" != 1 ]]; then
    drop_pg "$REPORTS_PG_URL" || status=1
  fi
done
"$BIN/python" - "$RESULTS" <<'PY'
import json, sys
from pathlib import Path
results = Path(sys.argv[1])
def load(name):
    path = results / name
    return json.loads(path.read_text()) if path.exists() else None
print()
print(f"{'reports':<9} {'row':<24} {'conns':>5} {'req/s':>7} {'p50 ms':>7} {'p99 ms':>7} "
      f"{'max ms':>7}  target")
for db in ("sqlite", "postgres"):
    page = load(f"reports-analytics-{db}.json")
    for r in (page or {}).get("rows", []):
        verdict = f"p99 < 200 ms: {r['verdict']}" if "verdict" in r else ""
        print(f"{db:<9} {'analytics ' + r['row'] + ' (' + str(r['sellers']) + ')':<24} "
              f"{r['connections']:>5} {r['per_second']:>7.1f} {r['ms']['p50']:>7.1f} "
              f"{r['ms']['p99']:>7.1f} {r['ms']['max']:>7.1f}  {verdict}")
print()
print(f"{'reports':<9} {'weekly: stores':>14} {'sent':>6} {'total s':>8} {'ms/store':>9} "
      f"{'rerun s':>8} {'PDF MB':>7}  checks")
for db in ("sqlite", "postgres"):
    w = load(f"reports-weekly-{db}.json")
    if w:
        ok = "ok" if all(c["ok"] for c in w["checks"]) else "FAIL"
        print(f"{db:<9} {w['stores']:>14} {w['sent']:>6} {w['seconds']:>8.1f} "
              f"{w['ms_per_store']:>9.0f} {w['second_run_seconds']:>8.1f} "
              f"{w['runs'][0]['pdf_bytes'] / 1e6:>7.1f}  {ok}")
print()
print(f"{'reports':<9} {'backup':<8} {'seconds':>8} {'peak RSS MB':>12} {'archive MB':>11}  exit")
for db in ("sqlite", "postgres"):
    for step in ("create", "verify"):
        b = load(f"reports-backup-{step}-{db}.json")
        if b:
            size = f"{b['archive_mb']:.1f}" if b.get("archive_mb") else ""
            print(f"{db:<9} {step:<8} {b['seconds']:>8.1f} {b['peak_rss_mb']:>12.0f} "
                  f"{size:>11}  {b['exit']}")
PY
exit "$status"
