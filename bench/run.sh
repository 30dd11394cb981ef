#!/usr/bin/env bash
# Racik benchmarks (`make bench`), in three parts, each its own script with its own servers
# and databases (shared set-up in bench/lib.sh), run one after the other:
#   pages     bench/pages.sh: home, login, a bare Flask "floor" app, product search
#   checkout  bench/checkout.sh: the 200-buyer checkout race (SQLite and PostgreSQL)
#   orders    bench/orders.sh: the order-history pages at 1M orders
#   payments  bench/payments.sh: webhook notifications/s at 16 connections; invoices/s
#   maklon    bench/maklon.sh: production board, client tab, live estimate; signatures/s
#   reports   bench/reports.sh: seller analytics page, weekly report, backup + verify at ~1M
#             order items (issue #7)
#   api       bench/api.sh: the JSON API (issue #10): login, refresh, /me (+ 304), product
#             search against the HTML search page
#   cache     bench/cache.sh: anonymous catalog pages with the data cache on and off, a
#             Zipf mix and all-unique URLs, beside the floor (issue 21)
#   production bench/production.sh: the production topology under faults (issue 19):
#             failed requests, recovery times (bench/results/production.json)
#   search    bench/search.sh: product search at 100k (SQLite, PostgreSQL) and 1M products
#             (PostgreSQL), a Zipf mix and all-unique URLs, beside the floor (issue 24)
#   weight    bench/pages_weight.py: bytes on the wire of each key page's first load through
#             the production nginx (gzip), unused CSS, Lighthouse mobile of home, search and
#             a product (issue 20; bench/results/weight.json)
# See bench/README.md; each script's header lists its knobs.
#
#   bash bench/run.sh                 # or: make bench; every part: pages checkout orders
#                                     # payments maklon reports api
#   bash bench/run.sh pages           # only the pages and search (what it did before)
#   bash bench/run.sh checkout orders # only the parts named
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"

# Parts: pages (home/login/floor + search), checkout, orders, payments, maklon, reports,
# api; none = all.
PARTS=("$@")
if ((${#PARTS[@]} == 0)); then
  PARTS=(pages checkout orders payments maklon reports api cache search production weight)
fi
for part in "${PARTS[@]}"; do
  case "$part" in
    pages|checkout|orders|payments|maklon|reports|api|cache|search|production|weight) ;;
    *) echo "unknown part '$part' (pages, checkout, orders, payments, maklon, reports, api, cache, search, production, weight)" >&2; exit 2 ;;
  esac
done
wants() { [[ " ${PARTS[*]} " == *" $1 "* ]]; }
# Every part of this run writes into the same bench/results/latest.json (bench/report.py).
export BENCH_RUN_ID="${BENCH_RUN_ID:-$(date -u +%Y%m%dT%H%M%SZ)-$$}"
echo "==> bench run $BENCH_RUN_ID; load average: $(cut -d' ' -f1-3 /proc/loadavg 2>/dev/null || uptime)"
status=0
for part in pages checkout orders payments maklon reports api cache search production; do
  if wants "$part"; then
    bash "bench/$part.sh" || status=$?
  fi
done
if wants weight; then
  "${BENCH_PYTHON:-$ROOT/.venv/bin/python}" bench/pages_weight.py || status=$?
fi
# The targets of issue 24 against everything this run measured (a part not run is NOT
# MEASURED). BENCH_STRICT=1: a failed or unmeasured target makes the exit status 3.
echo
check=(bench/report.py check)
if [[ "${BENCH_STRICT:-0}" == 1 ]]; then
  check+=(--strict)
fi
if ! "${BENCH_PYTHON:-$ROOT/.venv/bin/python}" "${check[@]}"; then
  status=3
fi
exit "$status"
