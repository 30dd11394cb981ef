#!/usr/bin/env bash
# sqlmap (Debian's package) against a running Racik: the product search (every filter and
# sort parameter of GET /produk) and the login form (POST /masuk, with its CSRF token), on
# SQLite and on PostgreSQL, each a throwaway database with the demo data. The reports are
# written to bench/security/reports/ (sqlmap's own log per target) and a summary is printed;
# exit 1 if sqlmap reports an injection point.
#
#   bash bench/security/sqlmap.sh          # apt-get install -y sqlmap first, if missing
#
# Knobs: SQLMAP_LEVEL (3), SQLMAP_RISK (2), BENCH_PG (1), BENCH_SQLMAP_PG_URL
# (postgresql://127.0.0.1:5432/racik_bench_sqlmap, created and dropped).
# The login throttle (5 failed logins per 15 minutes) would stop the scan after a few
# requests and hide what it is meant to find, so it is raised for this throwaway server.
source "$(dirname "${BASH_SOURCE[0]}")/../lib.sh"

command -v sqlmap >/dev/null || { echo "sqlmap is not installed (apt-get install -y sqlmap)" >&2; exit 2; }
LEVEL="${SQLMAP_LEVEL:-3}"
RISK="${SQLMAP_RISK:-2}"
PG_URL="${BENCH_SQLMAP_PG_URL:-postgresql://127.0.0.1:5432/racik_bench_sqlmap}"
REPORTS="$ROOT/bench/security/reports"
mkdir -p "$REPORTS"
export LOGIN_LIMIT_PER_ACCOUNT="1000000 per minute" LOGIN_LIMIT_PER_IP="1000000 per minute"

DATABASES=(sqlite)
if [[ "$PG" == 1 ]] && pg_ready "$PG_URL"; then
  DATABASES+=(postgres)
fi

found=0
for database in "${DATABASES[@]}"; do
  if [[ "$database" == sqlite ]]; then
    url="sqlite:///$TMP/sqlmap.db"
  else
    url="$PG_URL"
    "$BIN/python" bench/catalog_gen.py pgdb "$url" --fingerprint "sqlmap $(date +%s%N)" >/dev/null
  fi
  DATABASE_URL="$url" "$BIN/flask" db upgrade >"$TMP/setup.log" 2>&1 || { cat "$TMP/setup.log" >&2; exit 1; }
  DATABASE_URL="$url" "$BIN/flask" demo load >>"$TMP/setup.log" 2>&1 || { cat "$TMP/setup.log" >&2; exit 1; }
  port="$(free_port)"
  start_server "sqlmap-$database" "$port" "$url"
  base="http://$HOST:$port"
  for target in search login; do
    out="$TMP/sqlmap-$database-$target"
    common=(--batch --level="$LEVEL" --risk="$RISK" --output-dir="$out"
            --disable-coloring --flush-session --answers="follow=N")
    if [[ "$target" == search ]]; then
      # Four threads; the login below cannot have them (its CSRF token is fetched per request).
      args=(--threads=4 -u "$base/produk?q=serum&kategori=bedak&harga_min=10000&harga_max=500000&toko=glow-nusantara&tersedia=1&rating=4&urut=terbaru&hal=1")
    else
      args=(-u "$base/masuk" --data "email=buyer%40racik.test&password=x&csrf_token=t"
            --csrf-token=csrf_token --csrf-url="$base/masuk" -p "email,password")
    fi
    echo "==> sqlmap: $database, $target (level $LEVEL, risk $RISK)"
    TERM=dumb sqlmap "${args[@]}" "${common[@]}" </dev/null >"$REPORTS/sqlmap-$database-$target.txt" 2>&1 || true
    if grep -q "sqlmap identified the following injection point" "$REPORTS/sqlmap-$database-$target.txt"; then
      echo "    INJECTION FOUND: see bench/security/reports/sqlmap-$database-$target.txt"
      found=1
    else
      tested=$(grep -c "testing '" "$REPORTS/sqlmap-$database-$target.txt" || true)
      verdict=$(grep -E "all tested parameters do not appear to be injectable|do not appear to be injectable" \
        "$REPORTS/sqlmap-$database-$target.txt" | tail -1 || true)
      echo "    ${tested} tests run; ${verdict:-see the report}"
    fi
  done
  stop_servers
  if [[ "$database" == postgres ]]; then
    drop_pg "$PG_URL"
  fi
done
exit "$found"
