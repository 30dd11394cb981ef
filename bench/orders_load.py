"""Load for the order-history pages (issue #4): logged-in buyers and sellers over the
orders made by `bench/orders_gen.py`.

    python bench/orders_load.py login --url http://127.0.0.1:PORT --users USERS --out DIR
    python bench/orders_load.py report --label sqlite DIR/wrk-*.txt [--json OUT]
    python bench/orders_load.py explain --users USERS [--analyze]

- `login`: logs every account of USERS (JSON lines from `orders_gen.py users`) in through
  HTTP (GET /masuk for the CSRF token, POST /masuk), then writes one file per row for
  `bench/orders.lua`, each line `PATH<TAB>COOKIE`:
    buyer-first    /pesanan                        the "buyer" accounts
    buyer-status   /pesanan?status=S               S cycling over the six statuses
    buyer-deep     /pesanan?hal=20                 the busiest buyers ("buyer_deep")
    seller-first   /seller/pesanan                 the store owners (small to biggest store)
    seller-status  /seller/pesanan?status=S        S cycling over the six statuses
    seller-deep    /seller/pesanan?hal=20          owners of stores with a page 20
  Every line is fetched once before it is written: it must answer 200 with an order
  number on the page (a 302 to /masuk or an empty list would measure the wrong thing).
- `report`: the figures of the wrk outputs (`bench/report.py`'s parser) as a table, and
  as JSON with `--json`.
- `explain`: each row's page requested in-process (test client, one account of that row)
  with every SELECT captured, then `EXPLAIN (ANALYZE, BUFFERS)` of each on PostgreSQL, or
  `EXPLAIN QUERY PLAN` and a timing on SQLite. Needs `DATABASE_URL`.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
sys.path.insert(0, str(Path(__file__).resolve().parent))

STATUSES = ("pending", "processing", "shipped", "delivered", "cancelled", "returned")
ROWS = {
    # row: (kind of account, paths; "{s}" cycles over the statuses)
    "buyer-first": ("buyer", ["/pesanan"]),
    "buyer-status": ("buyer", [f"/pesanan?status={s}" for s in STATUSES]),
    "buyer-deep": ("buyer_deep", ["/pesanan?hal=20"]),
    "seller-first": ("seller", ["/seller/pesanan"]),
    "seller-status": ("seller", [f"/seller/pesanan?status={s}" for s in STATUSES]),
    "seller-deep": ("seller_deep", ["/seller/pesanan?hal=20"]),
}
ORDER_NUMBER = re.compile(r"RCK-\d{8}-\d{6,}")


def _accounts(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


def login(url: str, users: Path, out: Path) -> int:
    from checkout_race import PASSWORD, Browser, _csrf

    accounts = _accounts(users)
    cookies: dict[str, str] = {}
    started = time.perf_counter()
    for account in accounts:
        if account["email"] in cookies:
            continue
        browser = Browser(url)
        status, _, html = browser.request("GET", "/masuk")
        status, _, _ = browser.request("POST", "/masuk", {
            "csrf_token": _csrf(html), "email": account["email"], "password": PASSWORD})
        if status not in (302, 303):
            print(f"login of {account['email']} answered {status}", file=sys.stderr)
            return 1
        cookies[account["email"]] = "; ".join(f"{k}={v}" for k, v in browser.cookies.items())
    print(f"{len(cookies)} accounts logged in ({time.perf_counter() - started:.1f} s)")
    out.mkdir(parents=True, exist_ok=True)
    problems = 0
    for row, (kind, paths) in ROWS.items():
        chosen = [a for a in accounts if a["kind"] == kind]
        if not chosen:
            print(f"  {row}: no {kind} account", file=sys.stderr)
            problems += 1
            continue
        lines = []
        # Interleave: account 1 path 1, account 2 path 2, ... so consecutive requests differ.
        for n in range(max(len(chosen), len(paths)) * len(paths)):
            account, path = chosen[n % len(chosen)], paths[n % len(paths)]
            line = f"{path}\t{cookies[account['email']]}"
            if line not in lines:
                lines.append(line)
        for line in lines:
            path, cookie = line.split("\t")
            browser = Browser(url)
            browser.cookies = dict(part.split("=", 1) for part in cookie.split("; "))
            status, headers, html = browser.request("GET", path)
            if status != 200:
                print(f"  {row}: {path} answered {status} {headers.get('location', '')}",
                      file=sys.stderr)
                problems += 1
            elif not ORDER_NUMBER.search(html) and "status=" not in path:
                print(f"  {row}: {path} shows no order number", file=sys.stderr)
                problems += 1
        (out / f"{row}.txt").write_text("\n".join(lines) + "\n")
        print(f"  {row}: {len(lines)} (path, account) pairs")
    return 1 if problems else 0


def report(label: str, files: list[Path], json_out: Path | None) -> int:
    from report import parse_wrk

    rows = []
    bad = 0
    for path in files:
        text = path.read_text()
        figures = parse_wrk(text)
        match = re.search(r"Non-200 responses: (\d+)", text)
        figures["non_200"] = int(match.group(1)) if match else None
        figures["row"] = path.stem.removeprefix("wrk-").removeprefix("orders-")
        rows.append(figures)
        if figures["non_200"] or figures["non_2xx_3xx"] or any(
                figures["socket_errors"].values()) or figures["requests_per_sec"] is None:
            bad += 1
    print(f"\norder pages ({label})")
    print(f"{'row':<36} {'conns':>5} {'req/s':>8} {'p50 ms':>8} {'p90 ms':>8} {'p99 ms':>8} "
          f"{'non-200':>7}")
    for r in rows:
        def ms(value):
            return f"{value:8.1f}" if value is not None else "       -"
        rps = r["requests_per_sec"]
        print(f"{r['row']:<36} {r['connections'] or 0:>5} "
              f"{(f'{rps:8.1f}' if rps is not None else '       -')} {ms(r['p50_ms'])} "
              f"{ms(r['p90_ms'])} {ms(r['p99_ms'])} {r['non_200'] if r['non_200'] is not None else '-':>7}")  # noqa: E501
    if bad:
        print(f"WARNING: {bad} run(s) had non-200 answers or socket errors: the figures "
              "measure error pages or redirects, not the lists")
    if json_out:
        json_out.parent.mkdir(parents=True, exist_ok=True)
        json_out.write_text(json.dumps({"label": label, "rows": rows}, indent=1) + "\n")
    return 1 if bad else 0


def explain(users: Path, analyze: bool) -> int:
    from checkout_race import PASSWORD, _csrf
    from explain import capture_selects, print_plans

    from app import create_app
    from app.extensions import db

    if not os.environ.get("DATABASE_URL"):
        raise SystemExit("set DATABASE_URL")
    os.environ.setdefault("LOG_LEVEL", "WARNING")
    accounts = _accounts(users)
    app = create_app()
    with app.app_context():
        engine = db.engine
    # No app context around the requests: each request must push its own, or Flask-Login's
    # user cached in `g` would leak from one account's request into the next.
    for row, (kind, paths) in ROWS.items():
        # The biggest account of the row (the first buyer_deep, the biggest store).
        account = max((a for a in accounts if a["kind"] == kind), key=lambda a: a["orders"])
        path = paths[-3] if len(paths) > 1 else paths[0]  # status=delivered for "status"
        client = app.test_client()
        html = client.get("/masuk").get_data(as_text=True)
        response = client.post("/masuk", data={"csrf_token": _csrf(html),
                                              "email": account["email"],
                                              "password": PASSWORD})
        if response.status_code not in (302, 303):
            print(f"{row}: login answered {response.status_code}", file=sys.stderr)
            return 1
        client.get(path)  # warm
        with capture_selects(engine) as captured:
            began = time.perf_counter()
            response = client.get(path)
            elapsed = (time.perf_counter() - began) * 1000
        print("=" * 100)
        print(f"{row}: {path} as {account['email']} ({account['orders']:,} orders): "
              f"{response.status_code}, whole page {elapsed:.1f} ms, "
              f"{len(captured)} SELECTs")
        print_plans(engine, captured, analyze=analyze)
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True)
    lg = sub.add_parser("login", help="log the accounts in, write the wrk line files")
    lg.add_argument("--url", required=True)
    lg.add_argument("--users", type=Path, required=True)
    lg.add_argument("--out", type=Path, required=True)
    rp = sub.add_parser("report", help="table of wrk outputs")
    rp.add_argument("--label", default="")
    rp.add_argument("--json", type=Path)
    rp.add_argument("files", nargs="+", type=Path)
    ex = sub.add_parser("explain", help="the SELECTs of each row's page with their plans")
    ex.add_argument("--users", type=Path, required=True)
    ex.add_argument("--no-analyze", action="store_true")
    args = parser.parse_args(argv)
    if args.command == "login":
        return login(args.url.rstrip("/"), args.users, args.out)
    if args.command == "report":
        return report(args.label, args.files, args.json)
    return explain(args.users, analyze=not args.no_analyze)


if __name__ == "__main__":
    sys.exit(main())
