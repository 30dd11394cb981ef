"""HTTP load for the maklon pages (issue #6) over the orders of `bench/maklon_gen.py`.

    python bench/maklon_load.py run --url http://127.0.0.1:PORT --plan PLAN --label sqlite
                                    [--connections 16] [--seconds 10] [--c1-seconds 5]
                                    [--warmup 1] [--clients 12] [--json OUT]
    python bench/maklon_load.py explain --plan PLAN        # needs DATABASE_URL

- `run`: logs the plan's staff and its `--clients` busiest clients in over HTTP (GET /masuk
  for the CSRF token, POST /masuk, as a browser), then measures five rows, each first at one
  connection for `--c1-seconds` (the page's own latency, no queue; 0 skips) and then at
  `--connections` for `--seconds` (throughput; the latency is then mostly the queue in front
  of the sync workers), after a `--warmup` run at two connections (discarded):

    board         GET /produksi                              staff (3 accounts in turn)
    board-poll    GET /produksi, HX-Request + If-None-Match  the board's 15 s poll: 304
    client-tab    GET /maklon/<n>/produksi                   each client, its orders in turn
    client-poll   GET /maklon/<n>/produksi/status, htmx, If-None-Match: 304 (active orders)
    estimate      POST /maklon/perkiraan (htmx)              each client's stored formula:
                  decrypt (20 lines) + audit row + raw-material prices + pricing + partial

  Every (account, URL) is requested once before the runs and must answer as expected (200
  with the page's marker, or 304 for the polls); during the runs any other answer is counted
  as "unexpected". Stdlib only: one thread per connection, `http.client`, a new connection
  per request (gunicorn's sync workers close each one). Latency = request sent to response
  read. Printed as a table (req/s, p50/p90/p99/max ms) with the targets' verdicts; `--json`
  keeps every figure.
- `explain`: the board, a client's production tab and an estimate requested in-process
  (test client) with every SELECT captured, then `EXPLAIN (ANALYZE, BUFFERS)` of each on
  PostgreSQL, or `EXPLAIN QUERY PLAN` and a timing on SQLite.
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import sys
import threading
import time
from datetime import date, timedelta
from pathlib import Path
from urllib.parse import urlencode, urlsplit

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
sys.path.insert(0, str(Path(__file__).resolve().parent))
from load_stats import summarize

ROWS = ("board", "board-poll", "client-tab", "client-poll", "estimate")
# Targets of issue #6 (bench/README.md), judged at one connection.
TARGETS = {"board": 150.0, "estimate": 100.0}
USER_AGENT = "racik-bench-maklon"


class Item:
    """One request of a row: method, path, headers (cookie included), body, and what the
    answer must be (status, and a marker in a 200 body)."""

    def __init__(self, method: str, path: str, headers: dict[str, str], body: str | None,
                 status: int, marker: str = ""):
        self.method, self.path, self.headers, self.body = method, path, headers, body
        self.status, self.marker = status, marker


def _send(host: str, port: int, item: Item) -> tuple[int, dict[str, str], str]:
    conn = http.client.HTTPConnection(host, port, timeout=60)
    try:
        conn.request(item.method, item.path, body=item.body, headers=item.headers)
        response = conn.getresponse()
        text = response.read().decode("utf-8", "replace")
        return response.status, {k.lower(): v for k, v in response.getheaders()}, text
    finally:
        conn.close()


def _totp(plan: dict) -> str:
    import pyotp

    return pyotp.TOTP(plan["totp_secret"]).now()


def _estimate_form(client: dict, csrf: str) -> dict[str, str]:
    return {"csrf_token": csrf, "product_name": "Serum Bench", "product_type": "skincare",
            "packaging": "bottle", "size": "30", "size_unit": "ml", "quantity": "5000",
            "formula_choice": "stored", "formula_id": str(client["formula_id"]),
            "desired_date": (date.today() + timedelta(days=120)).isoformat(), "notes": ""}


def prepare(url: str, plan: dict, n_clients: int) -> dict[str, list[Item]]:
    """Log in, build every row's items, check each answers as expected."""
    from checkout_race import Browser, _csrf

    password = plan["password"]

    def login(email: str) -> str:
        browser = Browser(url)
        _, _, html = browser.request("GET", "/masuk")
        status, headers, _ = browser.request("POST", "/masuk", {
            "csrf_token": _csrf(html), "email": email, "password": password})
        if status in (302, 303) and "/masuk/verifikasi" in headers.get("location", ""):
            # Staff: the second step, with the authenticator's current code.
            _, _, html = browser.request("GET", "/masuk/verifikasi")
            status, headers, _ = browser.request("POST", "/masuk/verifikasi", {
                "csrf_token": _csrf(html), "code": _totp(plan)})
        if status not in (302, 303) or "/masuk" in headers.get("location", ""):
            raise SystemExit(f"login of {email} answered {status} "
                             f"{headers.get('location', '')}")
        return "; ".join(f"{k}={v}" for k, v in browser.cookies.items())

    base = {"User-Agent": USER_AGENT}
    parts = urlsplit(url)
    host, port = parts.hostname, parts.port or 80
    started = time.perf_counter()
    staff = [(email, login(email)) for email in plan["staff"]]
    clients = sorted(plan["clients"], key=lambda c: -len(c["orders"]))[:n_clients]
    client_cookies = [(client, login(client["email"])) for client in clients]
    print(f"  {len(staff)} staff and {len(clients)} clients logged in "
          f"({time.perf_counter() - started:.1f} s)")
    rows: dict[str, list[Item]] = {row: [] for row in ROWS}
    htmx = {"HX-Request": "true"}
    for _, cookie in staff:
        rows["board"].append(Item("GET", "/produksi", base | {"Cookie": cookie}, None, 200,
                                  'id="production-board"'))
        probe = Item("GET", "/produksi", base | htmx | {"Cookie": cookie}, None, 200)
        status, headers, _ = _send(host, port, probe)
        if status != 200 or not headers.get("etag"):
            raise SystemExit(f"the board's htmx GET answered {status} without an ETag")
        rows["board-poll"].append(Item("GET", "/produksi", base | htmx | {
            "Cookie": cookie, "If-None-Match": headers["etag"]}, None, 304))
    # The clients' orders interleaved (client 1 order 1, client 2 order 1, ...).
    longest = max(len(client["orders"]) for client in clients)
    for i in range(longest):
        for client, cookie in client_cookies:
            if i >= len(client["orders"]):
                continue
            order = client["orders"][i]
            path = f"/maklon/{order['number']}/produksi"
            rows["client-tab"].append(Item("GET", path, base | {"Cookie": cookie}, None, 200,
                                           order["number"]))
            if order["status"] != "signed":
                continue  # a completed order's poll answers 286 (stop): not a poll to measure
            probe = Item("GET", path + "/status", base | htmx | {"Cookie": cookie}, None, 200)
            status, headers, _ = _send(host, port, probe)
            if status != 200 or not headers.get("etag"):
                raise SystemExit(f"{path}/status answered {status} without an ETag")
            rows["client-poll"].append(Item("GET", path + "/status", base | htmx | {
                "Cookie": cookie, "If-None-Match": headers["etag"]}, None, 304))
    for client, cookie in client_cookies:
        browser = Browser(url)
        browser.cookies = dict(part.split("=", 1) for part in cookie.split("; "))
        status, _, html = browser.request("GET", "/maklon/baru")
        if status != 200:
            raise SystemExit(f"/maklon/baru answered {status} for {client['email']}")
        body = urlencode(_estimate_form(client, _csrf(html)))
        # The form page put the CSRF secret into the session: post with that cookie.
        cookie = "; ".join(f"{k}={v}" for k, v in browser.cookies.items())
        rows["estimate"].append(Item("POST", "/maklon/perkiraan", base | htmx | {
            "Cookie": cookie, "Content-Type": "application/x-www-form-urlencoded"}, body, 200,
            "Rp"))
    problems = 0
    for row, items in rows.items():
        for item in items:
            status, _, text = _send(host, port, item)
            if status != item.status or (item.marker and item.marker not in text):
                problems += 1
                if problems <= 5:
                    print(f"  {row}: {item.method} {item.path} answered {status}"
                          + ("" if status != item.status else f" without {item.marker!r}"),
                          file=sys.stderr)
        print(f"  {row}: {len(items)} distinct requests, each answered as expected"
              if not problems else f"  {row}: {len(items)} requests")
    if problems:
        raise SystemExit(f"{problems} request(s) did not answer as expected: no load run")
    return rows


class Connection(threading.Thread):
    """One client connection: sends the row's next item until the deadline."""

    def __init__(self, host: str, port: int, items: list[Item], cursor: list[int],
                 lock: threading.Lock, gate: threading.Barrier, seconds: float):
        super().__init__(daemon=True)
        self.host, self.port, self.items = host, port, items
        self.cursor, self.lock, self.gate, self.seconds = cursor, lock, gate, seconds
        self.results: list[tuple[int, float, bool]] = []  # status, ms, as expected
        self.errors: list[str] = []

    def run(self) -> None:
        self.gate.wait()
        deadline = time.perf_counter() + self.seconds
        while time.perf_counter() < deadline:
            with self.lock:
                item = self.items[self.cursor[0] % len(self.items)]
                self.cursor[0] += 1
            sent = time.perf_counter()
            try:
                status, _, text = _send(self.host, self.port, item)
            except Exception as error:  # counted as unexpected, reported
                self.errors.append(f"{type(error).__name__}: {error}")
                self.results.append((0, (time.perf_counter() - sent) * 1000, False))
                continue
            elapsed = (time.perf_counter() - sent) * 1000
            ok = status == item.status and (not item.marker or item.marker in text)
            self.results.append((status, elapsed, ok))


def measure(url: str, items: list[Item], connections: int, seconds: float) -> dict:
    parts = urlsplit(url)
    cursor, lock = [0], threading.Lock()
    gate = threading.Barrier(connections + 1)
    threads = [Connection(parts.hostname, parts.port or 80, items, cursor, lock, gate, seconds)
               for _ in range(connections)]
    for thread in threads:
        thread.start()
    gate.wait()
    began = time.perf_counter()
    for thread in threads:
        thread.join()
    return summarize(threads, connections, time.perf_counter() - began)


def run(url: str, plan_path: Path, label: str, connections: int, seconds: float,
        c1_seconds: float, warmup: float, n_clients: int, json_out: Path | None) -> int:
    plan = json.loads(plan_path.read_text())
    print(f"==> maklon pages ({label}): {plan['orders']} active + {plan['done']} completed "
          "orders")
    rows = prepare(url, plan, n_clients)
    figures = []
    for row in ROWS:
        if warmup > 0:
            measure(url, rows[row], 2, warmup)
        for conns, secs in ((1, c1_seconds), (connections, seconds)):
            if secs <= 0:
                continue
            result = measure(url, rows[row], conns, secs)
            result["row"] = row
            target = TARGETS.get(row)
            if target is not None and conns == 1:
                result["target_p99_ms"] = target
                result["verdict"] = "PASS" if result["ms"]["p99"] < target else "FAIL"
            figures.append(result)
            print(f"  {row:<12} c{conns:<3} {result['per_second']:>8.1f} req/s  "
                  f"p50 {result['ms']['p50']:7.1f}  p99 {result['ms']['p99']:7.1f} ms"
                  f"{'  unexpected ' + str(result['unexpected']) if result['unexpected'] else ''}",
                  flush=True)
    print(f"\nmaklon pages ({label}, {plan['orders']} active orders on the board)")
    print(f"{'row':<12} {'conns':>5} {'requests':>8} {'req/s':>8} {'p50 ms':>8} {'p90 ms':>8} "
          f"{'p99 ms':>8} {'max ms':>8} {'unexpected':>10}  target")
    bad = 0
    for r in figures:
        verdict = f"p99 < {r['target_p99_ms']:.0f} ms: {r['verdict']}" if "verdict" in r else ""
        print(f"{r['row']:<12} {r['connections']:>5} {r['requests']:>8} {r['per_second']:>8.1f} "
              f"{r['ms']['p50']:>8.1f} {r['ms']['p90']:>8.1f} {r['ms']['p99']:>8.1f} "
              f"{r['ms']['max']:>8.1f} {r['unexpected']:>10}  {verdict}")
        bad += r["unexpected"]
        for error in r["errors"]:
            print(f"  error: {error}")
    if bad:
        print(f"WARNING: {bad} unexpected answer(s): the figures measure errors, not pages")
    if json_out:
        json_out.write_text(json.dumps({"label": label, "orders": plan["orders"],
                                        "done": plan["done"], "per_stage": plan["per_stage"],
                                        "rows": figures}, indent=1) + "\n")
    return 1 if bad else 0


def explain(plan_path: Path, analyze: bool) -> int:
    from checkout_race import _csrf
    from explain import capture_selects, print_plans

    from app import create_app
    from app.extensions import db

    if not os.environ.get("DATABASE_URL"):
        raise SystemExit("set DATABASE_URL")
    os.environ.setdefault("LOG_LEVEL", "WARNING")
    plan = json.loads(plan_path.read_text())
    app = create_app()
    with app.app_context():
        engine = db.engine
    client_plan = max(plan["clients"], key=lambda c: len(c["orders"]))
    active = next(o for o in client_plan["orders"] if o["status"] == "signed")
    # A TOTP code works once per account: each staff page logs in as another account.
    pages = [(plan["staff"][1], "GET", "/produksi", {}),
             (plan["staff"][2], "GET", "/produksi", {"HX-Request": "true"}),
             (client_plan["email"], "GET", f"/maklon/{active['number']}/produksi", {}),
             (client_plan["email"], "POST", "/maklon/perkiraan", {"HX-Request": "true"})]
    for email, method, path, headers in pages:
        client = app.test_client()
        html = client.get("/masuk").get_data(as_text=True)
        response = client.post("/masuk", data={"csrf_token": _csrf(html), "email": email,
                                              "password": plan["password"]})
        if "/masuk/verifikasi" in response.headers.get("Location", ""):
            html = client.get("/masuk/verifikasi").get_data(as_text=True)
            response = client.post("/masuk/verifikasi", data={"csrf_token": _csrf(html),
                                                              "code": _totp(plan)})
        if response.status_code not in (302, 303) or \
                "/masuk" in response.headers.get("Location", ""):
            print(f"login of {email} answered {response.status_code}", file=sys.stderr)
            return 1
        data = None
        if method == "POST":
            csrf = _csrf(client.get("/maklon/baru").get_data(as_text=True))
            data = _estimate_form(client_plan, csrf)
        for _ in range(2):  # warm
            client.open(path, method=method, headers=headers, data=data)
        with capture_selects(engine) as captured:
            began = time.perf_counter()
            response = client.open(path, method=method, headers=headers, data=data)
            elapsed = (time.perf_counter() - began) * 1000
        print("=" * 100)
        print(f"{method} {path} {headers or ''} as {email}: {response.status_code}, "
              f"{len(response.get_data())} bytes, whole request {elapsed:.1f} ms, "
              f"{len(captured)} SELECTs")
        print_plans(engine, captured, analyze=analyze)
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True)
    rn = sub.add_parser("run", help="log in, then measure every row")
    rn.add_argument("--url", required=True)
    rn.add_argument("--plan", type=Path, required=True)
    rn.add_argument("--label", default="")
    rn.add_argument("--connections", type=int, default=16)
    rn.add_argument("--seconds", type=float, default=10)
    rn.add_argument("--c1-seconds", type=float, default=5)
    rn.add_argument("--warmup", type=float, default=1)
    rn.add_argument("--clients", type=int, default=12)
    rn.add_argument("--json", type=Path)
    ex = sub.add_parser("explain", help="the SELECTs of each page with their plans")
    ex.add_argument("--plan", type=Path, required=True)
    ex.add_argument("--no-analyze", action="store_true")
    args = parser.parse_args(argv)
    if args.command == "run":
        return run(args.url.rstrip("/"), args.plan, args.label, args.connections, args.seconds,
                   args.c1_seconds, args.warmup, args.clients, args.json)
    return explain(args.plan, analyze=not args.no_analyze)


if __name__ == "__main__":
    sys.exit(main())
