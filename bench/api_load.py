"""HTTP load for the JSON API (issue #10) over the catalog of `bench/catalog_gen.py`.

    python bench/api_load.py run --url http://127.0.0.1:PORT --urls FILE --label sqlite
                                 [--connections 16] [--seconds 10] [--c1-seconds 10]
                                 [--warmup 1] [--accounts 12] [--json OUT]
    python bench/api_load.py queries --urls FILE [--count 20] [--json OUT]   # needs DATABASE_URL

- `run`: logs `--accounts` of the generated sellers in through the API (`penjualNNNNN@
  bench.racik.test`, POST /api/v1/auth/login), then measures six rows, each first at one
  connection for `--c1-seconds` (the request's own latency, no queue; 0 skips) and then at
  `--connections` for `--seconds` (throughput; the latency is then mostly the queue in front
  of the sync workers), after a `--warmup` run at two connections (discarded):

    login        POST /api/v1/auth/login            the accounts in turn: argon2 + a new
                                                    token family, its refresh token, audit
    refresh      POST /api/v1/auth/refresh          each connection rotates its own chain
                                                    (every answer's refresh_token is the
                                                    next request's)
    me           GET /api/v1/me, Bearer              the JWT check + the user's query + shaping
    me-304       the same with If-None-Match         the ETag matches: 304
    products     GET /api/v1/products?...            the search URLs of `--urls` (the pages
                                                    part's /produk URLs) with the API's names
                                                    for the same filters, per_page=24 (the
                                                    web page's size: the same query)
    search-html  GET /produk?...                     the same URLs as HTML pages, for
                                                    comparison (anonymous, like wrk's rows)

  Every request of a row is sent once before the runs and must answer as expected (status,
  and a marker in a 200 body); during the runs any other answer is counted as "unexpected".
  When GET /api/v1/products answers 404 (the endpoint is not there yet) the `products` row
  is skipped with a line saying so. Stdlib only: one thread per connection, `http.client`,
  a new connection per request (gunicorn's sync workers close each one). Latency = request
  sent to response read. Printed as a table (req/s, p50/p90/p99/max ms) with the targets'
  verdicts at one connection; `--json` keeps every figure.
- `queries`: in-process (test client, no HTTP), the SELECTs each request sends and its
  median time: /api/v1/me, then `--count` search URLs as /api/v1/products and as /produk.
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import statistics
import sys
import threading
import time
from pathlib import Path
from urllib.parse import parse_qsl, urlencode, urlsplit

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
sys.path.insert(0, str(Path(__file__).resolve().parent))
from load_stats import summarize

ROWS = ("login", "refresh", "me", "me-304", "products", "search-html")
# Targets of issue #10 (bench/README.md), p99 at one connection. `products` is judged
# against the HTML search's p99 of the same run (or PRODUCTS_FLOOR_MS, whichever is larger).
TARGETS = {"me": 20.0, "refresh": 50.0}
PRODUCTS_FLOOR_MS = 150.0
USER_AGENT = "racik-bench-api"
# bench/catalog_gen.py: every bench seller's password (a throwaway database's)
PASSWORD = "bench-password-2026"  # noqa: S105
EMAIL = "penjual{:05d}@bench.racik.test"
PER_PAGE = 24  # app/catalog/queries.py PER_PAGE: the web search's page size
# The web search's query-string names -> the API's (app/api/routes/catalog.py).
API_NAMES = {"q": "q", "kategori": "category", "harga_min": "price_min",
             "harga_max": "price_max", "toko": "store", "tersedia": "in_stock",
             "rating": "rating", "urut": "sort", "hal": "page"}


def api_path(html_url: str) -> str:
    """A /produk?... URL as the same search on /api/v1/products."""
    parts = urlsplit(html_url)
    args = []
    for name, value in parse_qsl(parts.query, keep_blank_values=True):
        if name not in API_NAMES:
            raise SystemExit(f"no API name for the search parameter {name!r} ({html_url})")
        if name == "tersedia":
            value = "true" if value in ("1", "on", "true") else "false"
        args.append((API_NAMES[name], value))
    args.append(("per_page", str(PER_PAGE)))
    return "/api/v1/products?" + urlencode(args)


class Item:
    """One request of a row: method, path, headers, body, and what the answer must be
    (status, and a marker in a 200 body)."""

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


JSON = {"User-Agent": USER_AGENT, "Content-Type": "application/json",
        "Accept": "application/json"}


def login_item(email: str) -> Item:
    return Item("POST", "/api/v1/auth/login", dict(JSON),
                json.dumps({"email": email, "password": PASSWORD}), 200, '"access_token"')


class Row:
    """The requests of a row, handed out in turn to every connection."""

    def __init__(self, name: str, items: list[Item]):
        self.name, self.items = name, items
        self.cursor, self.lock = 0, threading.Lock()

    def take(self, slot: int) -> Item:
        with self.lock:
            item = self.items[self.cursor % len(self.items)]
            self.cursor += 1
        return item

    def answered(self, slot: int, item: Item, status: int, text: str) -> bool:
        return status == item.status and (not item.marker or item.marker in text)


class RefreshRow(Row):
    """One refresh-token chain per connection slot: each answer's refresh_token is the
    slot's next request. A chain broken by an unexpected answer is started again with a
    login (not timed, but counted as unexpected)."""

    def __init__(self, host: str, port: int, emails: list[str]):
        super().__init__("refresh", [])
        self.host, self.port, self.emails = host, port, emails
        self.chains: dict[int, str] = {}
        self.relogins = 0

    def chain(self, slot: int) -> str:
        item = login_item(self.emails[slot % len(self.emails)])
        status, _, text = _send(self.host, self.port, item)
        if status != 200:
            raise SystemExit(f"login for the refresh chain {slot} answered {status}: {text[:200]}")
        return json.loads(text)["refresh_token"]

    def take(self, slot: int) -> Item:
        if slot not in self.chains:
            self.chains[slot] = self.chain(slot)
        return Item("POST", "/api/v1/auth/refresh", dict(JSON),
                    json.dumps({"refresh_token": self.chains[slot]}), 200, '"refresh_token"')

    def answered(self, slot: int, item: Item, status: int, text: str) -> bool:
        if super().answered(slot, item, status, text):
            self.chains[slot] = json.loads(text)["refresh_token"]
            return True
        self.relogins += 1
        self.chains.pop(slot, None)  # the next take() logs in again
        return False


def prepare(url: str, html_urls: list[str], n_accounts: int, max_slots: int
            ) -> tuple[dict[str, Row], str]:
    """Log the accounts in, build every row, check each request answers as expected.
    Returns the rows and why `products` is skipped ("" when it is not)."""
    parts = urlsplit(url)
    host, port = parts.hostname, parts.port or 80
    emails = [EMAIL.format(n) for n in range(1, n_accounts + 1)]
    started = time.perf_counter()
    tokens = []
    for email in emails:
        status, _, text = _send(host, port, login_item(email))
        if status != 200:
            raise SystemExit(f"API login of {email} answered {status}: {text[:300]}")
        tokens.append(json.loads(text)["access_token"])
    print(f"  {len(tokens)} accounts logged in through the API "
          f"({time.perf_counter() - started:.1f} s)")
    rows: dict[str, Row] = {"login": Row("login", [login_item(e) for e in emails])}
    refresh = RefreshRow(host, port, emails)
    for slot in range(max_slots):  # every chain's login now, not in the first timed run
        refresh.chains[slot] = refresh.chain(slot)
    rows["refresh"] = refresh
    me, me304 = [], []
    for token in tokens:
        headers = {"User-Agent": USER_AGENT, "Accept": "application/json",
                   "Authorization": f"Bearer {token}"}
        item = Item("GET", "/api/v1/me", headers, None, 200, '"email"')
        status, answer_headers, text = _send(host, port, item)
        if status != 200 or not answer_headers.get("etag"):
            raise SystemExit(f"/api/v1/me answered {status} without an ETag: {text[:300]}")
        me.append(item)
        me304.append(Item("GET", "/api/v1/me", headers | {
            "If-None-Match": answer_headers["etag"]}, None, 304))
    rows["me"], rows["me-304"] = Row("me", me), Row("me-304", me304)
    accept = {"User-Agent": USER_AGENT, "Accept": "application/json"}
    products = Row("products", [Item("GET", api_path(u), accept, None, 200, '"items"')
                                for u in html_urls])
    skipped = ""
    status, _, text = _send(host, port, products.items[0])
    if status == 404:
        skipped = ("GET /api/v1/products answered 404: the endpoint is not in this checkout "
                   "(app/api/routes/catalog.py); products row skipped")
    else:
        rows["products"] = products
    rows["search-html"] = Row("search-html", [
        Item("GET", u, {"User-Agent": USER_AGENT}, None, 200, "</html>") for u in html_urls])
    problems = 0
    for name, row in rows.items():
        if name in ("login", "refresh"):
            continue  # checked above (every login, every chain's first token)
        for item in row.items:
            status, _, text = _send(host, port, item)
            if not row.answered(0, item, status, text):
                problems += 1
                if problems <= 5:
                    print(f"  {name}: {item.method} {item.path} answered {status}: "
                          f"{text[:200]}", file=sys.stderr)
        print(f"  {name}: {len(row.items)} distinct requests"
              + (", each answered as expected" if not problems else ""))
    if problems:
        raise SystemExit(f"{problems} request(s) did not answer as expected: no load run")
    return rows, skipped


class Connection(threading.Thread):
    """One client connection (slot): sends the row's next request until the deadline."""

    def __init__(self, host: str, port: int, row: Row, slot: int, gate: threading.Barrier,
                 seconds: float):
        super().__init__(daemon=True)
        self.host, self.port, self.row, self.slot = host, port, row, slot
        self.gate, self.seconds = gate, seconds
        self.results: list[tuple[int, float, bool]] = []  # status, ms, as expected
        self.errors: list[str] = []

    def run(self) -> None:
        self.gate.wait()
        deadline = time.perf_counter() + self.seconds
        while time.perf_counter() < deadline:
            item = self.row.take(self.slot)
            sent = time.perf_counter()
            try:
                status, _, text = _send(self.host, self.port, item)
            except Exception as error:  # counted as unexpected, reported
                self.errors.append(f"{type(error).__name__}: {error}")
                self.results.append((0, (time.perf_counter() - sent) * 1000, False))
                self.row.answered(self.slot, item, 0, "")
                continue
            elapsed = (time.perf_counter() - sent) * 1000
            ok = self.row.answered(self.slot, item, status, text)
            if not ok and len(self.errors) < 5:
                self.errors.append(f"{item.method} {item.path} answered {status}: {text[:160]}")
            self.results.append((status, elapsed, ok))


def measure(url: str, row: Row, connections: int, seconds: float) -> dict:
    parts = urlsplit(url)
    gate = threading.Barrier(connections + 1)
    threads = [Connection(parts.hostname, parts.port or 80, row, slot, gate, seconds)
               for slot in range(connections)]
    for thread in threads:
        thread.start()
    gate.wait()
    began = time.perf_counter()
    for thread in threads:
        thread.join()
    return summarize(threads, connections, time.perf_counter() - began)


def _judge(figures: list[dict]) -> None:
    """The verdicts, at one connection."""
    c1 = {r["row"]: r for r in figures if r["connections"] == 1}
    targets = dict(TARGETS)
    if "products" in c1:
        html = c1.get("search-html")
        targets["products"] = max(PRODUCTS_FLOOR_MS, html["ms"]["p99"] if html else 0.0)
    for row, target in targets.items():
        if row in c1:
            c1[row]["target_p99_ms"] = round(target, 2)
            c1[row]["verdict"] = "PASS" if c1[row]["ms"]["p99"] < target else "FAIL"


def run(url: str, urls_path: Path, label: str, connections: int, seconds: float,
        c1_seconds: float, warmup: float, n_accounts: int, json_out: Path | None) -> int:
    html_urls = [line.strip() for line in urls_path.read_text().splitlines() if line.strip()]
    print(f"==> JSON API ({label}): {len(html_urls)} search URLs, {n_accounts} accounts")
    rows, skipped = prepare(url, html_urls, n_accounts, max(connections, 2))
    if skipped:
        print(f"  SKIPPED: {skipped}")
    figures = []
    for name in ROWS:
        row = rows.get(name)
        if row is None:
            continue
        if warmup > 0:
            measure(url, row, 2, warmup)
        for conns, secs in ((1, c1_seconds), (connections, seconds)):
            if secs <= 0:
                continue
            result = measure(url, row, conns, secs)
            result["row"] = name
            figures.append(result)
            print(f"  {name:<12} c{conns:<3} {result['per_second']:>8.1f} req/s  "
                  f"p50 {result['ms']['p50']:7.1f}  p99 {result['ms']['p99']:7.1f} ms"
                  f"{'  unexpected ' + str(result['unexpected']) if result['unexpected'] else ''}",
                  flush=True)
    _judge(figures)
    print(f"\nJSON API ({label})")
    print(f"{'row':<12} {'conns':>5} {'requests':>8} {'req/s':>8} {'p50 ms':>8} {'p90 ms':>8} "
          f"{'p99 ms':>8} {'max ms':>8} {'unexpected':>10}  target")
    bad = 0
    for r in figures:
        verdict = (f"p99 < {r['target_p99_ms']:.0f} ms: {r['verdict']}" if "verdict" in r
                   else "")
        print(f"{r['row']:<12} {r['connections']:>5} {r['requests']:>8} {r['per_second']:>8.1f} "
              f"{r['ms']['p50']:>8.1f} {r['ms']['p90']:>8.1f} {r['ms']['p99']:>8.1f} "
              f"{r['ms']['max']:>8.1f} {r['unexpected']:>10}  {verdict}")
        bad += r["unexpected"]
        for error in r["errors"]:
            print(f"  error: {error}")
    if skipped:
        print(f"products: SKIPPED ({skipped})")
    if bad:
        print(f"WARNING: {bad} unexpected answer(s): the figures measure errors, not the API")
    if json_out:
        json_out.write_text(json.dumps({"label": label, "search_urls": len(html_urls),
                                        "accounts": n_accounts, "skipped": skipped,
                                        "rows": figures}, indent=1) + "\n")
    return 1 if bad else 0


# --- queries (in-process) --------------------------------------------------------------------


def queries(urls_path: Path, count: int, repeat: int, json_out: Path | None) -> int:
    from explain import capture_selects

    from app import create_app
    from app.extensions import db

    if not os.environ.get("DATABASE_URL"):
        raise SystemExit("set DATABASE_URL (this tool never uses the default database)")
    os.environ.setdefault("LOG_LEVEL", "WARNING")
    app = create_app()
    with app.app_context():
        engine = db.engine
    client = app.test_client()
    response = client.post("/api/v1/auth/login", json={"email": EMAIL.format(1),
                                                       "password": PASSWORD})
    if response.status_code != 200:
        print(f"login answered {response.status_code}: {response.get_data(as_text=True)}",
              file=sys.stderr)
        return 1
    bearer = {"Authorization": "Bearer " + response.get_json()["access_token"]}
    html_urls = [line.strip() for line in urls_path.read_text().splitlines()
                 if line.strip()][:count]
    requests = [("me", "/api/v1/me", bearer)]
    has_products = client.get(api_path(html_urls[0])).status_code != 404
    if not has_products:
        print("  products: SKIPPED (GET /api/v1/products answered 404)")
    for html in html_urls:
        if has_products:
            requests.append(("products", api_path(html), {}))
        requests.append(("search-html", html, {}))

    def one(path: str, headers: dict) -> tuple[int, float, int]:
        with capture_selects(engine) as captured:
            began = time.perf_counter()
            status = client.get(path, headers=headers).status_code
            elapsed = (time.perf_counter() - began) * 1000
        return status, elapsed, len(captured)

    out = []
    for kind, path, headers in requests:
        one(path, headers)  # warm
        runs = [one(path, headers) for _ in range(repeat)]
        out.append({"kind": kind, "path": path, "status": runs[-1][0], "selects": runs[-1][2],
                    "ms": round(statistics.median(r[1] for r in runs), 2)})
    print(f"in-process (test client), median of {repeat}: SELECTs and ms per request")
    for kind in ("me", "products", "search-html"):
        rows = [r for r in out if r["kind"] == kind]
        if not rows:
            continue
        statuses = sorted({r["status"] for r in rows})
        times = [r["ms"] for r in rows]
        print(f"  {kind:<12} {len(rows):>3} URL(s)  status {statuses}  SELECTs "
              f"{min(r['selects'] for r in rows)}-{max(r['selects'] for r in rows)}  "
              f"median {statistics.median(times):.1f} ms  max {max(times):.1f} ms")
    pairs = list(zip([r for r in out if r["kind"] == "products"],
                     [r for r in out if r["kind"] == "search-html"], strict=False))
    if pairs and all(p["status"] == 200 for p, _ in pairs):
        slower = sorted(pairs, key=lambda pair: pair[1]["ms"] - pair[0]["ms"])[:3]
        print("  API slower than (or closest to) the page:")
        for api, html in slower:
            print(f"    {api['ms']:7.1f} vs {html['ms']:7.1f} ms  {api['path']}")
    if json_out:
        json_out.write_text(json.dumps(out, indent=1) + "\n")
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True)
    rn = sub.add_parser("run", help="log in, then measure every row")
    rn.add_argument("--url", required=True)
    rn.add_argument("--urls", type=Path, required=True, help="search URLs (/produk?...)")
    rn.add_argument("--label", default="")
    rn.add_argument("--connections", type=int, default=16)
    rn.add_argument("--seconds", type=float, default=10)
    rn.add_argument("--c1-seconds", type=float, default=10)
    rn.add_argument("--warmup", type=float, default=1)
    rn.add_argument("--accounts", type=int, default=12)
    rn.add_argument("--json", type=Path)
    qs = sub.add_parser("queries", help="SELECTs and in-process time per request")
    qs.add_argument("--urls", type=Path, required=True)
    qs.add_argument("--count", type=int, default=20)
    qs.add_argument("--repeat", type=int, default=5)
    qs.add_argument("--json", type=Path)
    args = parser.parse_args(argv)
    if args.command == "run":
        return run(args.url.rstrip("/"), args.urls, args.label, args.connections,
                   args.seconds, args.c1_seconds, args.warmup, args.accounts, args.json)
    return queries(args.urls, args.count, args.repeat, args.json)


if __name__ == "__main__":
    sys.exit(main())
