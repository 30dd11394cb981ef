"""Benchmark: what couriers cost the checkout (issue 21, shipping).

    .venv/bin/python bench/shipping_rates.py [--stores 5] [--rounds 200]

On a scratch SQLite database with the default rate table (~500 rows): the time of
`shipping_plan` for a cart of N courier stores (the checkout page and "Bayar" each compute
it once; the htmx courier change once), against the table and against the local fake
aggregator over HTTP; and how long the checkout waits when the aggregator hangs (the
SHIPPING_API_TIMEOUT fall-back). Prints median and p95 per case. Not run by `make test`.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))


def _timed(run, rounds: int) -> tuple[float, float]:
    samples = []
    for _ in range(rounds):
        start = time.perf_counter()
        run()
        samples.append((time.perf_counter() - start) * 1000)
    samples.sort()
    return statistics.median(samples), samples[int(len(samples) * 0.95) - 1]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--stores", type=int, default=5)
    parser.add_argument("--rounds", type=int, default=200)
    args = parser.parse_args()

    from app import create_app
    from app.config import TestConfig

    root = Path(tempfile.mkdtemp(prefix="racik-ship-bench-"))
    app = create_app(TestConfig, SQLALCHEMY_DATABASE_URI=f"sqlite:///{root / 'b.db'}",
                     INSTANCE_PATH=str(root / "instance"), JOBS_MODE="sync")
    (root / "instance").mkdir(exist_ok=True)
    with app.app_context():
        from flask_migrate import upgrade

        from app.extensions import db
        from app.orders.cart import cart_add, cart_view
        from app.shipping.rates import aggregator_cooldown_reset
        from app.shipping.services import shipping_plan
        from tests.factories import make_address, make_user
        from tests.shipping.fake_aggregator import FakeAggregator
        from tests.shipping.helpers import courier_store, seeded

        upgrade()
        seeded()
        buyer = make_user()
        make_address(user=buyer, city="Medan")
        cities = ("Bandung", "Surabaya", "Jakarta Selatan", "Yogyakarta", "Denpasar")
        for n in range(args.stores):
            _seller, product = courier_store(name=f"Toko {n}", city=cities[n % len(cities)],
                                             services=("jne:REG", "jne:YES", "jnt:EZ",
                                                       "sicepat:REG", "anteraja:REG"))
            cart_add(user=buyer, variant_id=product.variants[0].id, quantity=2)
        db.session.commit()

        def plan() -> None:
            shipping_plan(cart_view(buyer.id), destination_city="Medan")

        print(f"shipping_plan, {args.stores} courier stores x 5 services, {args.rounds} rounds")
        median, p95 = _timed(plan, args.rounds)
        print(f"  rate table:            median {median:6.2f} ms   p95 {p95:6.2f} ms")
        with FakeAggregator() as fake:
            app.config.update(SHIPPING_API_URL=fake.url, SHIPPING_API_KEY=fake.key,
                              SHIPPING_API_TIMEOUT=1)
            aggregator_cooldown_reset()
            median, p95 = _timed(plan, args.rounds)
            print(f"  aggregator (local):    median {median:6.2f} ms   p95 {p95:6.2f} ms")
            fake.mode, fake.slow_seconds = "slow", 3
            first, _ = _timed(plan, 1)
            median, p95 = _timed(plan, args.rounds)
            print(f"  aggregator hangs (1 s timeout): the first checkout {first:6.0f} ms "
                  f"(one timeout), then median {median:6.2f} ms (table, cooldown)")


if __name__ == "__main__":
    main()
