"""Invoices generated per second by one worker (issue #5).

    python bench/invoices.py [--orders 300] [--lines 3] [--pkp] [--json OUT]

Self-contained: a throwaway instance directory with a fresh SQLite database (migrated with
the Alembic migrations), unless DATABASE_URL is set (then that database, which must be
migrated and should be empty). JOBS_MODE=sync, no Redis, mail written as files.

- Setup (not timed): one seller with one store (PKP with `--pkp`, flat shipping), `--lines`
  products, one buyer, and `--orders` checkouts of `--lines` lines each, paid through the
  sandbox gateway in-process (`sandbox_pay_now`: the signed notification applied and the
  orders marked PAID) while the invoice job is held back.
- Timed: for each paid order, what one RQ worker on the `invoices` queue does: the job
  `jobs.payments.invoice_issue(order_id)` and its commit — the number under the counter's
  lock, the Invoice row, the reportlab PDF (with its QR), the file written and hashed, the
  outbox row. Sending the email is another queue's work and is not run here.

Printed: invoices per second and ms per invoice (mean, p50, p95, max), the mean PDF size,
and a check that the numbers came out 1..N without gaps. Exit 1 if they did not.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--orders", type=int, default=300)
    parser.add_argument("--lines", type=int, default=3, help="order lines per invoice")
    parser.add_argument("--pkp", action="store_true", help="a PKP seller (PPN lines)")
    parser.add_argument("--json", type=Path, help="also write the figures as JSON here")
    args = parser.parse_args()

    workdir = tempfile.TemporaryDirectory(prefix="racik-bench-invoices-")
    os.environ.setdefault("DATABASE_URL", f"sqlite:///{workdir.name}/racik.db")
    os.environ.update(INSTANCE_PATH=workdir.name, JOBS_MODE="sync", REDIS_URL="",
                      MAIL_BACKEND="file", RACIK_ENV="development",
                      LOG_LEVEL=os.environ.get("LOG_LEVEL", "WARNING"))
    try:
        return run(args)
    finally:
        workdir.cleanup()


def run(args: argparse.Namespace) -> int:
    from flask_migrate import upgrade
    from sqlalchemy import select

    import jobs.mail
    import jobs.payments
    from app import create_app
    from app.accounts.models import Address
    from app.catalog.models import Category
    from app.catalog.services import ProductData, category_create, product_create
    from app.extensions import db
    from app.orders.cart import cart_add
    from app.orders.checkout import checkout_place, new_idempotency_key
    from app.payments.gateways.sandbox import sandbox_pay_now
    from app.payments.models import Invoice
    from app.payments.services import payment_charge, payment_of_checkout
    from tests.factories import make_user

    app = create_app()
    issue = jobs.payments.invoice_issue
    send_email = jobs.mail.send_email
    with app.app_context():
        upgrade()
        started = time.perf_counter()
        jobs.payments.invoice_issue = lambda order_id: {}  # held back during setup
        jobs.mail.send_email = lambda outbox_id: False  # the email queue's work, not ours
        seller = make_user(email="bench-invoice-seller@bench.racik.test",
                           roles=("seller",), store_name="Toko Bench Invoice")
        store = seller.store
        store.shipping_cost, store.pkp = 12_000, args.pkp
        store.address = "Jl. Asia Afrika No. 8\nBandung 40111"
        store.npwp = "012345678901000" if args.pkp else ""
        category = db.session.scalars(select(Category).limit(1)).first() or category_create(
            name="Perawatan Wajah", name_en="Skincare", parent_id=None)
        variants = [product_create(store=store, actor=seller, data=ProductData(
            name=f"Serum Vitamin C 20% Brightening {n + 1}", description="Bench.",
            category_id=category.id, price=89_000 + 1_000 * n,
            initial_stock=args.orders * 2 + 10)).variants[0] for n in range(args.lines)]
        buyer = make_user(email="bench-invoice-buyer@bench.racik.test", name="Rina Wulandari")
        address = Address(user_id=buyer.id, label="Rumah", recipient=buyer.name,
                          phone="081234567890", street="Jl. Merdeka No. 1", city="Bandung",
                          province="Jawa Barat", postal_code="40111", is_default=True)
        db.session.add(address)
        db.session.commit()
        order_ids = []
        for _ in range(args.orders):
            for variant in variants:
                cart_add(user=buyer, variant_id=variant.id, quantity=1)
            checkout = checkout_place(buyer=buyer, address=address, payment_method="va_bca",
                                      idempotency_key=new_idempotency_key()).checkout
            payment_charge(payment_of_checkout(checkout.id))
            sandbox_pay_now(checkout.reference)
            order_ids.append(checkout.orders[0].id)
            db.session.commit()
        setup_seconds = time.perf_counter() - started
        jobs.payments.invoice_issue = issue

        timings = []
        begin = time.perf_counter()
        for order_id in order_ids:
            t0 = time.perf_counter()
            result = jobs.payments.invoice_issue(order_id)  # what the worker runs ...
            db.session.commit()  # ... and its commit
            timings.append(time.perf_counter() - t0)
            assert result["created"], result
        elapsed = time.perf_counter() - begin
        jobs.mail.send_email = send_email

        invoices = db.session.scalars(select(Invoice).order_by(Invoice.sequence)).all()
        gapless = [i.sequence for i in invoices] == list(range(1, args.orders + 1))
        figures = {
            "database": db.engine.dialect.name,
            "orders": args.orders,
            "lines_per_invoice": args.lines,
            "pkp": args.pkp,
            "invoices_per_second": round(args.orders / elapsed, 1),
            "ms_mean": round(1000 * statistics.fmean(timings), 2),
            "ms_p50": round(1000 * statistics.median(timings), 2),
            "ms_p95": round(1000 * sorted(timings)[int(0.95 * (len(timings) - 1))], 2),
            "ms_max": round(1000 * max(timings), 2),
            "pdf_bytes_mean": round(statistics.fmean(i.size for i in invoices)),
            "gapless": gapless,
            "setup_seconds": round(setup_seconds, 1),
        }
    print(f"invoices ({figures['database']}, one worker, {args.orders} orders of "
          f"{args.lines} lines{', PKP' if args.pkp else ''}): "
          f"{figures['invoices_per_second']} invoices/s, "
          f"{figures['ms_mean']} ms per invoice (p50 {figures['ms_p50']}, "
          f"p95 {figures['ms_p95']}, max {figures['ms_max']}), "
          f"PDF {figures['pdf_bytes_mean']} bytes, numbers 1..{args.orders} "
          f"{'gapless' if gapless else 'WITH GAPS'} (setup {figures['setup_seconds']} s)")
    if args.json:
        args.json.write_text(json.dumps(figures, indent=1) + "\n")
    return 0 if gapless else 1


if __name__ == "__main__":
    raise SystemExit(main())
