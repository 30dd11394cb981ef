"""Show the SQL a search URL runs, with the database's plan and timing for each statement.

    DATABASE_URL=postgresql://127.0.0.1:5432/racik_bench \\
        python bench/explain.py "/produk?q=body" "/produk?kategori=serum&urut=popular"
    python bench/explain.py --slowest 5 bench/results/probe-postgres.json

Runs the route's own parameter parsing (`_search_params`) and `product_search` inside the
app, records every SELECT it sends (SQLAlchemy `before_cursor_execute`), then runs each one
again under `EXPLAIN (ANALYZE, BUFFERS)` on PostgreSQL or `EXPLAIN QUERY PLAN` (plus a
timed re-run) on SQLite. `--slowest N FILE` takes the N slowest URLs of a probe file
written by `catalog_gen.py probe --json`.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))


@contextmanager
def capture_selects(engine) -> Iterator[list[tuple[str, object]]]:
    """Collect every SELECT (statement, parameters) sent on `engine` inside the block."""
    from sqlalchemy import event

    captured: list[tuple[str, object]] = []

    def record(conn, cursor, statement, parameters, context, executemany) -> None:
        if statement.lstrip().upper().startswith("SELECT"):
            captured.append((statement, parameters))

    event.listen(engine, "before_cursor_execute", record)
    try:
        yield captured
    finally:
        event.remove(engine, "before_cursor_execute", record)


BRIEF_SKIP = ("Buffers:", "Planning:", "Planning Time", "Cache Key", "Cache Mode", "Hits:",
              "Sort Method", "Heap Blocks", "Memory Usage")


def print_plans(engine, captured: list[tuple[str, object]], *, analyze: bool = True,
                brief: bool = False) -> None:
    """Print each captured SELECT with its plan: `EXPLAIN (ANALYZE, BUFFERS)` on
    PostgreSQL, `EXPLAIN QUERY PLAN` and a timed re-run on SQLite (rolled back after).
    `brief`: only the plans of the product queries, without SQL text and noise lines (the
    form bench/README.md quotes)."""
    raw = engine.raw_connection()
    try:
        cursor = raw.cursor()
        for statement, parameters in captured:
            if brief and ("FROM categories" in statement or "set_config" in statement):
                if "set_config" in statement:  # still applied: the count's plan needs it
                    cursor.execute(statement, parameters)
                continue
            print("-" * 100)
            if brief:
                print("  " + ("count" if "count(*)" in statement else "page"))
            else:
                print(statement.strip())
                print(f"  params: {parameters}")
            if engine.dialect.name == "postgresql":
                prefix = "EXPLAIN (ANALYZE, BUFFERS) " if analyze else "EXPLAIN "
                cursor.execute(prefix + statement, parameters)
                for (line,) in cursor.fetchall():
                    if not (brief and line.strip().startswith(BRIEF_SKIP)):
                        print("  " + (line[:150] if brief else line))
            else:
                cursor.execute("EXPLAIN QUERY PLAN " + statement, parameters)
                for row in cursor.fetchall():
                    print("  plan:", row[-1])
                began = time.perf_counter()
                cursor.execute(statement, parameters)
                cursor.fetchall()
                print(f"  time: {(time.perf_counter() - began) * 1000:.1f} ms")
        raw.rollback()
    finally:
        raw.close()


def explain(urls: list[str], analyze: bool = True, brief: bool = False) -> None:

    from app.catalog.queries import categories_forget, product_search
    from app.catalog.routes import _search_params
    from app.extensions import db
    from bench.catalog_gen import create

    app = create()
    with app.app_context():
        engine = db.engine
        for url in urls:
            # One app context for every URL: drop the previous URL's categories (expired
            # by its rollback, each would be reloaded by a SELECT of its own).
            categories_forget()
            with capture_selects(engine) as captured, app.test_request_context(url):
                params, _problems = _search_params()
                began = time.perf_counter()
                result = product_search(params)
                elapsed = (time.perf_counter() - began) * 1000
            print("=" * 100)
            print(f"{url}\n  {result.total:,} found, product_search {elapsed:.1f} ms, "
                  f"{len(captured)} SELECTs (incl. the route's category lookup)")
            print_plans(engine, captured, analyze=analyze, brief=brief)
            db.session.rollback()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("urls", nargs="*")
    parser.add_argument("--slowest", nargs=2, metavar=("N", "PROBE_JSON"))
    parser.add_argument("--no-analyze", action="store_true", help="PostgreSQL: plan only")
    parser.add_argument("--brief", action="store_true",
                        help="only the product queries' plans, no SQL text")
    args = parser.parse_args(argv)
    urls = list(args.urls)
    if args.slowest:
        count, path = int(args.slowest[0]), Path(args.slowest[1])
        rows = json.loads(path.read_text())["urls"]
        urls += [r["url"] for r in sorted(rows, key=lambda r: -r["ms"])[:count]]
    if not urls:
        parser.error("give URLs or --slowest N FILE")
    explain(urls, analyze=not args.no_analyze, brief=args.brief)
    return 0


if __name__ == "__main__":
    sys.exit(main())
