"""The no-oversell rule under real concurrency: 100 buyers, each in their own browser
session and thread, press "Bayar" at the same moment for two variants (two stores) with
20 units each. Runs on SQLite (WAL, BEGIN IMMEDIATE) and on PostgreSQL (row locks)."""

from __future__ import annotations

import random
import threading

from sqlalchemy import func, select

from app.catalog.models import Product, Variant
from app.extensions import db as _db
from app.inventory.models import StockMovement
from app.orders.cart import cart_add
from app.orders.models import Checkout, Order, OrderItem
from tests.conftest import log_in
from tests.factories import make_address, make_product, make_user
from tests.orders.helpers import checkout_form

BUYERS = 100
UNITS = 20


def test_hundred_buyers_racing_for_twenty_units_never_oversell(app, db, make_client):
    rng = random.Random(4)
    variants = []
    for n in range(2):
        seller = make_user(roles=("seller",), store_name=f"Toko Rebutan {n}")
        variants.append(make_product(store=seller.store, name=f"Serum Rebutan {n}",
                                     stock=UNITS).variants[0])
    wanted: dict[int, dict[int, int]] = {}
    buyers = []
    for n in range(BUYERS):
        buyer = make_user(email=f"pembeli{n}@example.test")
        make_address(user=buyer)
        picks = rng.choice(([variants[0]], [variants[1]], variants))
        wanted[buyer.id] = {v.id: rng.randint(1, 3) for v in picks}
        for variant_id, quantity in wanted[buyer.id].items():
            cart_add(user=buyer, variant_id=variant_id, quantity=quantity)
        buyers.append(buyer)
    db.session.commit()
    variant_ids = [v.id for v in variants]

    clients, forms = [], []
    for buyer in buyers:
        client = make_client()
        log_in(client, buyer.email)
        forms.append({**checkout_form(client), "csrf_token": client.csrf_token()})
        clients.append(client)
    barrier = threading.Barrier(BUYERS)
    answers: list = [None] * BUYERS

    def press_bayar(index: int) -> None:
        barrier.wait()
        response = clients[index].open("/checkout", method="POST", csrf=False,
                                       data=forms[index])
        answers[index] = (response.status_code, response.get_data(as_text=True))

    threads = [threading.Thread(target=press_bayar, args=(i,)) for i in range(BUYERS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)

    statuses = [answer[0] for answer in answers if answer]
    assert len(statuses) == BUYERS, "a buyer got no answer"
    assert set(statuses) <= {303, 422}, f"unexpected statuses {set(statuses)}"  # no 500
    for status, body in answers:
        if status == 422:
            assert "Stok tidak cukup" in body  # every loser is told why

    db.session.expire_all()
    stocks = dict(db.session.execute(select(Variant.id, Variant.stock)
                                     .where(Variant.id.in_(variant_ids))).all())
    sold = dict(db.session.execute(
        select(OrderItem.variant_id, func.sum(OrderItem.quantity))
        .group_by(OrderItem.variant_id)).all())
    ledger = dict(db.session.execute(
        select(StockMovement.variant_id, func.sum(StockMovement.delta))
        .where(StockMovement.reason == "sale").group_by(StockMovement.variant_id)).all())
    winners = statuses.count(303)
    assert db.session.scalar(select(func.count(Checkout.id))) == winners
    for variant_id in variant_ids:
        assert stocks[variant_id] >= 0
        assert sold.get(variant_id, 0) <= UNITS
        assert sold.get(variant_id, 0) + stocks[variant_id] == UNITS
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
    assert winners > 0 and sum(sold.values()) > 0
    _db.session.remove()
