"""Orders with chosen timestamps for the report tests (rows written directly: the figures
depend on when an order was created and delivered, which the real services set to now)."""

from __future__ import annotations

import itertools
from datetime import datetime

from app.accounts.models import Store, User
from app.catalog.models import Product
from app.core.clock import WIB
from app.extensions import db
from app.orders.models import Checkout, Order, OrderItem, OrderStatus

_numbers = itertools.count(1)


def wib(text: str) -> datetime:
    """`"2026-11-24 23:30"` as an aware WIB datetime."""
    return datetime.fromisoformat(text).replace(tzinfo=WIB)


def make_timed_order(*, store: Store, buyer: User, lines: list[tuple[Product, int, int]],
                     created: str, delivered: str | None = None,
                     status: str | None = None) -> Order:
    """An order of `lines` = [(product, quantity, unit price)], created at the WIB time
    `created`; `delivered` (WIB) sets delivered_at and, unless `status` says otherwise, the
    status DELIVERED. No shipping: the total is the lines' sum."""
    n = next(_numbers)
    total = sum(quantity * price for _product, quantity, price in lines)
    created_at = wib(created)
    checkout = Checkout(reference=f"CO-TEST-{n:06d}", buyer_id=buyer.id,
                        idempotency_key=f"report-test-{n}", payment_method="va_bca",
                        subtotal=total, shipping_total=0, total=total, created_at=created_at)
    db.session.add(checkout)
    db.session.flush()
    order = Order(
        number=f"RCK-TEST-{n:06d}", checkout_id=checkout.id, store_id=store.id,
        buyer_id=buyer.id,
        status=status or (OrderStatus.DELIVERED if delivered else OrderStatus.PENDING),
        subtotal=total, shipping_cost=0, total=total,
        item_count=sum(quantity for _p, quantity, _u in lines), shipping_address={},
        created_at=created_at, delivered_at=wib(delivered) if delivered else None)
    db.session.add(order)
    db.session.flush()
    for product, quantity, price in lines:
        variant = product.variants[0]
        db.session.add(OrderItem(order_id=order.id, variant_id=variant.id,
                                 product_id=product.id, product_name=product.name,
                                 options={}, sku=variant.sku, unit_price=price,
                                 quantity=quantity, line_total=quantity * price))
    db.session.flush()
    return order
