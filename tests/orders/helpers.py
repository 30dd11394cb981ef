"""Helpers for the order tests: read the checkout form as a browser would."""

from __future__ import annotations

import re

KEY_INPUT = re.compile(r'name="idempotency_key" value="([^"]*)"')
CHECKED_ADDRESS = re.compile(r'name="address_id" value="(\d+)" checked')


def checkout_form(client) -> dict[str, str]:
    """GET /checkout and return the form fields a browser would submit with "Bayar"."""
    page = client.get("/checkout").get_data(as_text=True)
    key = KEY_INPUT.search(page)
    address = CHECKED_ADDRESS.search(page)
    assert key and address, "the checkout page has no form to submit"
    return {"idempotency_key": key.group(1), "address_id": address.group(1),
            "payment_method": "va_bca"}


def race_arrange(*, buyers: int, units: int, seed: int, label: str):
    """The checkout race's shop and crowd: two stores with one variant of `units` each, and
    `buyers` buyers (each with an address) whose carts hold 1-3 of one or both variants.
    Returns (variants, [(buyer, address)], wanted: buyer id -> {variant id: quantity})."""
    import random

    from app.orders.cart import cart_add
    from tests.factories import make_address, make_product, make_user

    rng = random.Random(seed)
    variants = []
    for n in range(2):
        seller = make_user(roles=("seller",), store_name=f"Toko Rebutan{label} {n}")
        variants.append(make_product(store=seller.store, name=f"Serum Rebutan {n}",
                                     stock=units).variants[0])
    wanted: dict[int, dict[int, int]] = {}
    crowd = []
    for n in range(buyers):
        buyer = make_user(email=f"pembeli{label.strip().lower()}{n}@example.test")
        address = make_address(user=buyer)
        picks = rng.choice(([variants[0]], [variants[1]], variants))
        wanted[buyer.id] = {v.id: rng.randint(1, 3) for v in picks}
        for variant_id, quantity in wanted[buyer.id].items():
            cart_add(user=buyer, variant_id=variant_id, quantity=quantity)
        crowd.append((buyer, address))
    return variants, crowd, wanted


def assert_race_sold_no_more_than_stock(db, *, variants, wanted: dict[int, dict[int, int]],
                                        winners: int, units: int) -> dict[int, int]:
    """After the race: stock never negative, sold + left = units, the sales ledger matches,
    one checkout per winner, every winner got exactly their cart and the products' stock
    caches agree. Returns the stock left per variant id."""
    from sqlalchemy import func, select

    from app.catalog.models import Product, Variant
    from app.inventory.models import StockMovement
    from app.orders.models import Checkout, Order, OrderItem

    db.session.expire_all()
    variant_ids = [v.id for v in variants]
    stocks = dict(db.session.execute(select(Variant.id, Variant.stock)
                                     .where(Variant.id.in_(variant_ids))).all())
    sold = dict(db.session.execute(
        select(OrderItem.variant_id, func.sum(OrderItem.quantity))
        .group_by(OrderItem.variant_id)).all())
    ledger = dict(db.session.execute(
        select(StockMovement.variant_id, func.sum(StockMovement.delta))
        .where(StockMovement.reason == "sale").group_by(StockMovement.variant_id)).all())
    assert db.session.scalar(select(func.count(Checkout.id))) == winners
    for variant_id in variant_ids:
        assert stocks[variant_id] >= 0
        assert sold.get(variant_id, 0) <= units
        assert sold.get(variant_id, 0) + stocks[variant_id] == units
        assert -ledger.get(variant_id, 0) == sold.get(variant_id, 0)
    # Every winner got exactly their cart; every loser got nothing.
    placed = db.session.execute(
        select(Order.buyer_id, OrderItem.variant_id, OrderItem.quantity).join(OrderItem)
    ).all()
    by_buyer: dict[int, dict[int, int]] = {}
    for buyer_id, variant_id, quantity in placed:
        by_buyer.setdefault(buyer_id, {})[variant_id] = quantity
    for buyer_id, lines in by_buyer.items():
        assert lines == wanted[buyer_id]
    assert len(by_buyer) == winners
    totals = dict(db.session.execute(select(Product.id, Product.stock_total)).all())
    for variant in variants:
        assert totals[variant.product_id] == stocks[variant.id]
    return stocks
