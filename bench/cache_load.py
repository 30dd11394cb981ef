"""The cache benchmark's load generator (bench/cache.sh): anonymous catalog pages with the
data cache on and off, under a skewed and an all-unique request mix, beside the floor.

    python bench/cache_load.py run --on URL --off URL --floor URL --urls FILE \
        --products IDS_FILE [--seconds 10] [--connections 16] [--warmup 2] [--json OUT]

Mixes (deterministic, seed 2026):
- `zipf`: half search pages (the pages part's ~200 search URLs), half product pages
  (/produk/<id> of the active products, one id a line in IDS_FILE), each side drawn by
  rank from a Zipf distribution (s = 1.1) over a shuffled order: a few pages are very
  popular, most are rare, as in real shop traffic.
- `unique`: every request a URL never asked before (the same pages with `&u=<n>` added,
  which the app ignores but the cache key includes): every one a miss, so the row shows
  what the cache costs when it cannot help.

Per mix and server: req/s, p50/p90/p99 ms, and the hit rate read from the app's
`X-Racik-Cache: hit|miss` header (with the median time of hits and of misses). Each cache
row is preceded by `--cache-warmup` seconds (20) of the same mix drawn with another seed:
the visitors before, whose pages are in the cache when the measured ones arrive. The floor
(bench/floor_app.py) runs once, same connections. Every page the cache-on server answers
must equal the cache-off server's (a sample of 40 compared byte for byte): a cache that
serves a wrong page fails the run.
"""

from __future__ import annotations

import argparse
import bisect
import http.client
import itertools
import json
import random
import sys
import threading
import time
from pathlib import Path
from urllib.parse import urlsplit

sys.path.insert(0, str(Path(__file__).resolve().parent))
from load_stats import pct, summarize

ZIPF_S = 1.1


def _zipf_cdf(n: int, s: float = ZIPF_S) -> list[float]:
    weights = [1 / (rank ** s) for rank in range(1, n + 1)]
    total = sum(weights)
    return list(itertools.accumulate(w / total for w in weights))


class Mix:
    """The next path of a mix, shared by the connections (thread-safe)."""

    def __init__(self, kind: str, search: list[str], products: list[int], seed: int = 2026):
        self.kind = kind
        rng = random.Random(2026)  # the same popularity order for every run of a mix
        self.search = search[:]
        rng.shuffle(self.search)
        self.products = [f"/produk/{i}" for i in products]
        rng.shuffle(self.products)
        self.search_cdf = _zipf_cdf(len(self.search))
        self.product_cdf = _zipf_cdf(len(self.products))
        self.rng = random.Random(seed + 1)
        self.seed = seed
        self.counter = itertools.count(1)
        self.lock = threading.Lock()

    def next(self) -> str:
        with self.lock:
            n = next(self.counter)
            pick, spot = self.rng.random() < 0.5, self.rng.random()
        if self.kind == "zipf":
            if pick:
                return self.search[bisect.bisect(self.search_cdf, spot)]
            return self.products[min(bisect.bisect(self.product_cdf, spot),
                                     len(self.products) - 1)]
        base = self.search[n % len(self.search)] if pick else self.products[n % len(self.products)]
        return f"{base}{'&' if '?' in base else '?'}u={self.seed}-{n}"


def _get(host: str, port: int, path: str) -> tuple[int, str, bytes]:
    connection = http.client.HTTPConnection(host, port, timeout=30)
    try:
        connection.request("GET", path)
        response = connection.getresponse()
        return response.status, response.getheader("X-Racik-Cache") or "", response.read()
    finally:
        connection.close()


class Connection(threading.Thread):
    def __init__(self, host: str, port: int, paths, gate: threading.Barrier, seconds: float):
        super().__init__(daemon=True)
        self.host, self.port, self.paths, self.gate, self.seconds = host, port, paths, gate, seconds
        self.results: list[tuple[int, float, bool]] = []
        self.errors: list[str] = []
        self.cache: dict[str, list[float]] = {"hit": [], "miss": []}  # ms per answer

    def run(self) -> None:
        self.gate.wait()
        deadline = time.perf_counter() + self.seconds
        while time.perf_counter() < deadline:
            path = self.paths()
            sent = time.perf_counter()
            try:
                status, cached, _ = _get(self.host, self.port, path)
            except Exception as error:  # counted and reported
                self.errors.append(f"{type(error).__name__}: {error}")
                self.results.append((0, (time.perf_counter() - sent) * 1000, False))
                continue
            elapsed = (time.perf_counter() - sent) * 1000
            self.results.append((status, elapsed, status == 200))
            if cached in self.cache:
                self.cache[cached].append(elapsed)
            if status != 200 and len(self.errors) < 5:
                self.errors.append(f"GET {path} answered {status}")


def measure(url: str, paths, connections: int, seconds: float) -> dict:
    parts = urlsplit(url)
    gate = threading.Barrier(connections + 1)
    threads = [Connection(parts.hostname, parts.port or 80, paths, gate, seconds)
               for _ in range(connections)]
    for thread in threads:
        thread.start()
    gate.wait()
    began = time.perf_counter()
    for thread in threads:
        thread.join()
    row = summarize(threads, connections, time.perf_counter() - began)
    hit_ms = [ms for t in threads for ms in t.cache["hit"]]
    miss_ms = [ms for t in threads for ms in t.cache["miss"]]
    hits, misses = len(hit_ms), len(miss_ms)
    row["cache"] = {"hits": hits, "misses": misses,
                    "hit_rate": round(hits / (hits + misses), 3) if hits + misses else None,
                    "hit_p50_ms": round(pct(hit_ms, 50), 1) if hit_ms else None,
                    "miss_p50_ms": round(pct(miss_ms, 50), 1) if miss_ms else None}
    return row


def same_pages(on: str, off: str, mix: Mix, count: int = 40) -> list[str]:
    """Paths whose page differs between the cache-on and cache-off servers."""
    a, b = urlsplit(on), urlsplit(off)
    differ = []
    for _ in range(count):
        path = mix.next()
        first = _get(a.hostname, a.port, path)
        second = _get(a.hostname, a.port, path)  # from the cache now
        plain = _get(b.hostname, b.port, path)
        if not (first[2] == second[2] == plain[2]):
            differ.append(path)
    return differ


def run(args: argparse.Namespace) -> int:
    search = [line.strip() for line in Path(args.urls).read_text().splitlines() if line.strip()]
    products = [int(line) for line in Path(args.products).read_text().split()]
    rows = []
    print(f"==> cache: {len(search)} search URLs, {len(products)} product pages, "
          f"{args.connections} connections, {args.seconds:g} s per row")
    floor_url = args.floor
    measure(floor_url, lambda: "/", args.connections, args.warmup)
    floor = measure(floor_url, lambda: "/", args.connections, args.seconds)
    floor.update(row="floor", mix="-", server="floor")
    rows.append(floor)
    status = 0
    for kind in ("zipf", "unique"):
        for server, url in (("cache-on", args.on), ("cache-off", args.off)):
            # The warm-up (earlier visitors) draws another sequence from the same mix.
            measure(url, Mix(kind, search, products, seed=1).next, args.connections,
                    args.cache_warmup)
            row = measure(url, Mix(kind, search, products).next, args.connections,
                          args.seconds)
            row.update(row=f"{kind} {server}", mix=kind, server=server)
            rows.append(row)
            if row["unexpected"]:
                status = 1
    differ = same_pages(args.on, args.off, Mix("zipf", search, products, seed=7))
    if differ:
        print(f"  FAIL: cached pages differ from uncached ones: {differ[:5]}")
        status = 1
    print(f"{'row':<20}{'req/s':>9}{'x floor':>9}{'p50 ms':>9}{'p99 ms':>9}{'hit rate':>10}"
          f"{'hit p50':>9}{'miss p50':>9}")
    for row in rows:
        cache = row.get("cache", {})
        rate = cache.get("hit_rate")
        hit, miss = cache.get("hit_p50_ms"), cache.get("miss_p50_ms")
        print(f"{row['row']:<20}{row['per_second']:>9.1f}"
              f"{row['per_second'] / floor['per_second']:>9.2f}{row['ms']['p50']:>9.1f}"
              f"{row['ms']['p99']:>9.1f}{'-' if rate is None else f'{rate:.1%}':>10}"
              f"{'-' if hit is None else hit:>9}{'-' if miss is None else miss:>9}")
        for error in row["errors"]:
            print(f"    {error}")
    if args.json:
        Path(args.json).write_text(json.dumps({"rows": rows, "pages_differ": differ},
                                              indent=1))
    return status


def probe(args: argparse.Namespace) -> int:
    """Service time in-process (no queueing behind other requests): each of `count` pages
    of the Zipf mix with the cache off, then on (a miss: computed and stored), then on
    again (a hit), through the test client of an app made like the server's."""
    import os

    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
    from app import create_app

    search = [line.strip() for line in Path(args.urls).read_text().splitlines() if line.strip()]
    products = [int(line) for line in Path(args.products).read_text().split()]
    mix = Mix("unique", search, products, seed=11)
    paths = [mix.next() for _ in range(args.count)]
    timings: dict[str, list[float]] = {"off": [], "miss": [], "hit": []}
    for kind, overrides in (("off", {"CACHE_TYPE": "NullCache"}),
                            ("on", {"CACHE_TYPE": "RedisCache",
                                    "CACHE_REDIS_URL": args.redis,
                                    "CACHE_KEY_PREFIX": os.environ["PROBE_PREFIX"]})):
        app = create_app(**overrides)
        client = app.test_client()
        for path in paths[:10]:  # warm the process (templates, connections)
            client.get(path + "&w" if "?" in path else path + "?w")
        rounds = ("off",) if kind == "off" else ("miss", "hit")
        for label in rounds:
            for path in paths:
                began = time.perf_counter()
                response = client.get(path)
                timings[label].append((time.perf_counter() - began) * 1000)
                if response.status_code != 200:
                    print(f"  {path} answered {response.status_code}")
                    return 1
    figures = {label: {"p50": round(pct(values, 50), 2), "p90": round(pct(values, 90), 2)}
               for label, values in timings.items()}
    print(f"==> service time in-process, {args.count} pages (ms): "
          + ", ".join(f"{label} p50 {f['p50']} p90 {f['p90']}" for label, f in figures.items()))
    if args.json:
        Path(args.json).write_text(json.dumps(figures, indent=1))
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True)
    go = sub.add_parser("run")
    go.add_argument("--on", required=True)
    go.add_argument("--off", required=True)
    go.add_argument("--floor", required=True)
    go.add_argument("--urls", required=True)
    go.add_argument("--products", required=True, help="file of product ids, one a line")
    go.add_argument("--seconds", type=float, default=10)
    go.add_argument("--warmup", type=float, default=2)
    go.add_argument("--cache-warmup", type=float, default=20,
                    help="seconds of earlier traffic before each cache row")
    go.add_argument("--connections", type=int, default=16)
    go.add_argument("--json")
    inside = sub.add_parser("probe")
    inside.add_argument("--urls", required=True)
    inside.add_argument("--products", required=True)
    inside.add_argument("--redis", required=True)
    inside.add_argument("--count", type=int, default=200)
    inside.add_argument("--json")
    args = parser.parse_args(argv)
    return run(args) if args.command == "run" else probe(args)


if __name__ == "__main__":
    sys.exit(main())
