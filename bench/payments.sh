#!/usr/bin/env bash
# The webhook benchmark of issue #5 (bench/webhook_load.py) on SQLite and PostgreSQL: N
# pending sandbox payments, then their signed notifications (settlements, redeliveries and
# stale "pending") from BENCH_CONNECTIONS concurrent keep-alive connections against gunicorn;
# notifications/s, p50/p99, non-200 answers, then a check that every payment changed once.
# The app runs with JOBS_MODE=thread (from lib.sh): the webhook commits and answers, and the
# follow-up job (`jobs.payments.settled`) runs afterwards in the worker's thread pool.
#
#   bash bench/payments.sh            # or: bash bench/run.sh payments
#
# Then bench/invoices.py: invoices generated per second by one worker (PKP seller, PPN
# lines), on its own throwaway SQLite database. BENCH_INVOICES (300) orders.
#
# Knobs: BENCH_WEBHOOK_PAYMENTS (2000), BENCH_WEBHOOK_DUPLICATES (0.3),
# BENCH_WEBHOOK_LATE_PENDING (0.2), BENCH_CONNECTIONS (16), BENCH_WORKERS (2),
# BENCH_WEBHOOK_SQLITE (1; 0 skips SQLite), BENCH_PG (1), BENCH_WEBHOOK_PG_URL
# (postgresql://127.0.0.1:5432/racik_bench_payments, created for the run and dropped after),
# BENCH_SEED (2026).
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

PAYMENTS="${BENCH_WEBHOOK_PAYMENTS:-2000}"
DUPLICATES="${BENCH_WEBHOOK_DUPLICATES:-0.3}"
LATE_PENDING="${BENCH_WEBHOOK_LATE_PENDING:-0.2}"
SEED="${BENCH_SEED:-2026}"
WEBHOOK_PG_URL="${BENCH_WEBHOOK_PG_URL:-postgresql://127.0.0.1:5432/racik_bench_payments}"
LOAD="$BIN/python bench/webhook_load.py"
rm -f "$RESULTS"/webhook-*.json

bench_databases "${BENCH_WEBHOOK_SQLITE:-1}" "$WEBHOOK_PG_URL"


status=0
for database in "${DATABASES[@]}"; do
  if [[ "$database" == sqlite ]]; then
    url="sqlite:///$TMP/webhook.db"
  else
    url="$WEBHOOK_PG_URL"
    # A new database every run: a fingerprint that never matches makes pgdb recreate it.
    "$BIN/python" bench/catalog_gen.py pgdb "$url" --fingerprint "webhook $(date +%s%N)" >/dev/null
  fi
  echo "==> webhook: $database, $PAYMENTS payments"
  DATABASE_URL="$url" "$BIN/flask" db upgrade >"$TMP/setup.log" 2>&1 \
    || { cat "$TMP/setup.log" >&2; exit 1; }
  DATABASE_URL="$url" $LOAD setup --payments "$PAYMENTS" --seed "$SEED" \
    --duplicates "$DUPLICATES" --late-pending "$LATE_PENDING" --plan "$TMP/plan-$database.json"
  port="$(free_port)"
  start_server "webhook-$database" "$port" "$url"
  DATABASE_URL="$url" $LOAD run --url "http://$HOST:$port" --plan "$TMP/plan-$database.json" \
    --connections "$CONNECTIONS" --label "$database" --json "$RESULTS/webhook-$database.json" \
    || status=1
  stop_servers
  server_errors "webhook-$database" || status=1
  if [[ "$database" == postgres ]]; then
    drop_pg "$WEBHOOK_PG_URL" || status=1
  fi
done
"$BIN/python" - "$RESULTS" <<'PY'
import json, sys
from pathlib import Path
rows = [json.loads(p.read_text()) for p in sorted(Path(sys.argv[1]).glob("webhook-*.json"))]
print()
print(f"{'webhook':<10} {'notes':>6} {'conns':>5} {'notes/s':>8} {'p50 ms':>7} {'p99 ms':>7} "
      f"{'max ms':>7} {'non-200':>7}  checks")
for r in rows:
    ok = "ok" if all(c["ok"] for c in r["checks"]) else "FAIL"
    print(f"{r['label']:<10} {r['notifications']:>6} {r['connections']:>5} "
          f"{r['per_second']:>8.0f} {r['latency_ms']['p50']:>7.1f} {r['latency_ms']['p99']:>7.1f} "
          f"{r['latency_ms']['max']:>7.1f} {r['non_200']:>7}  {ok}")
PY
echo
echo "==> invoices: ${BENCH_INVOICES:-300} paid orders, one worker"
"$BIN/python" bench/invoices.py --orders "${BENCH_INVOICES:-300}" --pkp \
  --json "$RESULTS/invoices.json" || status=1
exit "$status"
