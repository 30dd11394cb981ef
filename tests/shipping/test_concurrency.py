"""Shipping under real concurrency (threads, each its own session; SQLite and PostgreSQL):
"Bayar" pressed twice at once with a courier places one checkout with one shipment per
order, and a store's couriers saved from two tabs at once end as chosen, never a 500."""

from __future__ import annotations

import threading

from sqlalchemy import func, select

from app.extensions import db as _db
from app.orders.models import Checkout, Order
from app.shipping.models import Shipment, StoreCourier
from tests.conftest import log_in
from tests.shipping.helpers import buyer_with_cart, courier_store


def _race(calls) -> list:
    barrier = threading.Barrier(len(calls))
    answers: list = [None] * len(calls)

    def run(index: int) -> None:
        barrier.wait()
        answers[index] = calls[index]()

    threads = [threading.Thread(target=run, args=(i,)) for i in range(len(calls))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    return answers


def test_double_bayar_with_a_courier_places_one_checkout_and_one_shipment(app, db):
    """The checkout service pressed four times at once with one form (its idempotency
    key): one checkout, one order, one shipment. (Through the web route the replays also
    race to charge the payment at the sandbox: a payments matter, see the report.)"""
    from app.accounts.models import Address, User
    from app.orders.checkout import checkout_place, new_idempotency_key
    from app.shipping.rates import rates_seed

    rates_seed()
    seller, product = courier_store()
    buyer = buyer_with_cart(product, quantity=2)
    store_id, buyer_id = seller.store.id, buyer.id
    db.session.commit()
    key = new_idempotency_key()

    def press() -> str:
        with app.app_context():
            try:
                who = _db.session.get(User, buyer_id)
                address = _db.session.scalars(select(Address).where(
                    Address.user_id == buyer_id)).one()
                result = checkout_place(buyer=who, address=address, payment_method="va_bca",
                                        idempotency_key=key, couriers={store_id: "jne:REG"})
                _db.session.commit()
                return "replayed" if result.replayed else "placed"
            except Exception as error:  # the test reports any failure as the answer
                _db.session.rollback()
                return f"error: {error!r}"[:300]
            finally:
                _db.session.remove()

    answers = _race([press] * 4)
    assert answers.count("placed") == 1 and answers.count("replayed") == 3, answers
    _db.session.expire_all()
    assert _db.session.scalar(select(func.count(Checkout.id))) == 1
    assert _db.session.scalar(select(func.count(Order.id))) == 1
    shipment = _db.session.scalars(select(Shipment)).one()
    assert shipment.service == "jne:REG"


def test_couriers_saved_from_two_tabs_at_once_end_as_chosen(db, make_client):
    from tests.factories import make_user

    seller = make_user(roles=("seller",))
    store_id, email = seller.store.id, seller.email
    db.session.commit()
    clients = [make_client() for _ in range(4)]
    for client in clients:
        log_in(client, email)
    wanted = ["jne:REG", "jnt:EZ", "gosend:SAMEDAY"]
    calls = [lambda c=c: c.open("/seller/kurir", method="POST", csrf=False,
                                data={"services": wanted,
                                      "csrf_token": c.csrf_token()}).status_code
             for c in clients]
    statuses = _race(calls)
    assert set(statuses) == {303}, statuses
    _db.session.expire_all()
    rows = sorted(_db.session.scalars(select(StoreCourier.service)
                                      .where(StoreCourier.store_id == store_id)))
    assert rows == sorted(wanted)
    _db.session.remove()
