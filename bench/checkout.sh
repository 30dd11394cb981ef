#!/usr/bin/env bash
# The checkout race of issue #4 (bench/checkout_race.py) on SQLite and PostgreSQL, each in
# two scenarios: "scarce" (BENCH_RACE_STOCK units on each of the 2 variants, default 20:
# the race for the last units) and "plenty" (BENCH_RACE_PLENTY units, default 1000: every
# buyer is served, so the figures are checkout throughput). A fresh database per scenario.
#
#   bash bench/checkout.sh            # or: bash bench/run.sh checkout
#
# Knobs: BENCH_RACE_BUYERS (200), BENCH_RACE_STOCK (20), BENCH_RACE_PLENTY (1000; 0 skips
# the scenario), BENCH_RACE_SCARCE (1; 0 skips the scarce scenario), BENCH_RACE_SQLITE (1; 0
# skips SQLite), BENCH_WORKERS (2), BENCH_PG (1), BENCH_RACE_PG_URL
# (postgresql://127.0.0.1:5432/racik_bench_checkout, dropped and created for every
# scenario), BENCH_SEED (2026).
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

BUYERS="${BENCH_RACE_BUYERS:-200}"
STOCK="${BENCH_RACE_STOCK:-20}"
PLENTY="${BENCH_RACE_PLENTY:-1000}"
SEED="${BENCH_SEED:-2026}"
RACE_PG_URL="${BENCH_RACE_PG_URL:-postgresql://127.0.0.1:5432/racik_bench_checkout}"
RACE="$BIN/python bench/checkout_race.py"
rm -f "$RESULTS"/checkout-*.json

SCENARIOS=()
if [[ "${BENCH_RACE_SCARCE:-1}" == 1 ]]; then
  SCENARIOS+=("scarce:$STOCK")
fi
if ((PLENTY > 0)); then
  SCENARIOS+=("plenty:$PLENTY")
fi
bench_databases "${BENCH_RACE_SQLITE:-1}" "$RACE_PG_URL"

status=0
for database in "${DATABASES[@]}"; do
  for scenario in "${SCENARIOS[@]}"; do
    name="${scenario%%:*}" stock="${scenario##*:}"
    if [[ "$database" == sqlite ]]; then
      url="sqlite:///$TMP/race-$name.db"
    else
      url="$RACE_PG_URL"
      # A new database every time: the fingerprint never matches, so pgdb recreates it.
      "$BIN/python" bench/catalog_gen.py pgdb "$url" --fingerprint "race $(date +%s%N)" >/dev/null
    fi
    echo "==> checkout race: $database, $name ($stock units per variant, $BUYERS buyers)"
    DATABASE_URL="$url" "$BIN/flask" db upgrade >"$TMP/setup.log" 2>&1 \
      || { cat "$TMP/setup.log" >&2; exit 1; }
    DATABASE_URL="$url" $RACE setup --buyers "$BUYERS" --stock "$stock" --seed "$SEED" \
      --plan "$TMP/plan-$database-$name.json"
    port="$(free_port)"
    start_server "race-$database-$name" "$port" "$url"
    DATABASE_URL="$url" $RACE race --url "http://$HOST:$port" --plan "$TMP/plan-$database-$name.json" \
      --label "$database/$name" --json "$RESULTS/checkout-$database-$name.json" || status=1
    stop_servers
    server_errors "race-$database-$name" || status=1
  done
done
"$BIN/python" - "$RESULTS" <<'PY'
import json, sys
from pathlib import Path
rows = [json.loads(p.read_text()) for p in sorted(Path(sys.argv[1]).glob("checkout-*.json"))]
print()
print(f"{'race':<18} {'stock':>5} {'placed':>6} {'refused':>7} {'5xx':>4} "
      f"{'sold out s':>10} {'checkouts/s':>11} {'p50 ms':>8} {'p99 ms':>8}  checks")
for r in rows:
    ok = "ok" if all(c["ok"] for c in r["checks"]) else "FAIL"
    print(f"{r['label']:<18} {r['stock_per_variant']:>5} {r['success']:>6} {r['refused']:>7} "
          f"{r['server_errors']:>4} {r['time_to_sell_out_s']:>10.2f} "
          f"{r['checkouts_per_s'] or 0:>11.1f} {r['latency_ms']['p50']:>8.0f} "
          f"{r['latency_ms']['p99']:>8.0f}  {ok}")
PY
# Into results/latest.json beside this run's floor (bench/report.py merge; checked by
# `bench/report.py check`: >= 100 checkouts/s with stock for all, every stock check ok).
"$BIN/python" bench/report.py merge checkout "$RESULTS"/checkout-*.json || status=1
exit "$status"
