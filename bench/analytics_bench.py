"""Seller analytics page timing (issue 7), in process, over the order history
that `bench/orders_gen.py generate` writes (e.g. 650,000 orders ~ 1M order items, 1,000
stores).

    DATABASE_URL=sqlite:////tmp/orders.db python bench/analytics_bench.py page [--runs 50]

- `page`: renders `/seller/analitik` (the view, its queries and the template, inside a
  request context with the owner logged in) `--runs` times for the biggest store, the
  median store and the smallest, and prints p50 / p99 / max in milliseconds. No HTTP
  server: this is the page's own cost.

The weekly report, the page over HTTP under gunicorn and the backups: bench/reports.sh
(bench/reports_load.py).
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))


def _app():
    if not os.environ.get("DATABASE_URL"):
        raise SystemExit("DATABASE_URL is required (never the development database)")
    from app import create_app

    return create_app()


def _percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(fraction * (len(ordered) - 1)))]


def page(runs: int) -> int:
    from flask import g
    from sqlalchemy import func, select

    from app.accounts.models import Store
    from app.extensions import db
    from app.orders.models import Order, OrderItem
    from app.reports.routes.analytics import seller_analytics_page

    app = _app()
    with app.app_context():
        items = db.session.scalar(select(func.count(OrderItem.id)))
        sizes = db.session.execute(
            select(Order.store_id, func.count(Order.id)).group_by(Order.store_id)
            .order_by(func.count(Order.id).desc())).all()
        if not sizes:
            raise SystemExit("no orders: run bench/orders_gen.py generate first")
        picks = {"biggest": sizes[0], "median": sizes[len(sizes) // 2], "smallest": sizes[-1]}
        print(f"order items: {items:,}; stores with orders: {len(sizes):,}")
        for label, (store_id, orders) in picks.items():
            owner = db.session.get(Store, store_id).owner
            timings = []
            for _ in range(runs + 2):
                with app.test_request_context("/seller/analitik"):
                    g._login_user = owner  # what Flask-Login's current_user reads
                    started = time.perf_counter()
                    body, status = seller_analytics_page()
                    timings.append((time.perf_counter() - started) * 1000)
                    assert status == 200 and "chart-bar" in body
                db.session.remove()
            timings = timings[2:]  # warm-up
            print(f"{label:<9} store {store_id:>5} ({orders:>7,} orders): "
                  f"p50 {statistics.median(timings):7.1f} ms  "
                  f"p99 {_percentile(timings, 0.99):7.1f} ms  max {max(timings):7.1f} ms")
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True)
    page_parser = sub.add_parser("page")
    page_parser.add_argument("--runs", type=int, default=50)
    args = parser.parse_args(argv)
    return page(args.runs)


if __name__ == "__main__":
    raise SystemExit(main())
