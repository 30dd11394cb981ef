"""The no-oversell rule under real concurrency: 100 buyers, each in their own browser
session and thread, press "Bayar" at the same moment for two variants (two stores) with
20 units each. Runs on SQLite (WAL, BEGIN IMMEDIATE) and on PostgreSQL (row locks)."""

from __future__ import annotations

import threading

from app.extensions import db as _db
from tests.conftest import log_in
from tests.orders.helpers import assert_race_sold_no_more_than_stock, checkout_form, race_arrange

BUYERS = 100
UNITS = 20


def test_hundred_buyers_racing_for_twenty_units_never_oversell(app, db, make_client):
    variants, crowd, wanted = race_arrange(buyers=BUYERS, units=UNITS, seed=4, label="")
    db.session.commit()

    clients, forms = [], []
    for buyer, _address in crowd:
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

    winners = statuses.count(303)
    stocks = assert_race_sold_no_more_than_stock(db, variants=variants, wanted=wanted,
                                                 winners=winners, units=UNITS)
    assert winners > 0 and sum(UNITS - left for left in stocks.values()) > 0
    _db.session.remove()


PRESSES = 4


def test_four_simultaneous_bayar_presses_place_and_charge_one_payment(app, db, make_client):
    """Four tabs of one buyer press "Bayar" on the same form at the same moment: every
    press lands on the one checkout's payment page (303, never a 500 from the unique
    `uq_sandbox_transactions_order_id` of a second charge), with one charge."""
    from sqlalchemy import func, select

    from app.orders.cart import cart_add
    from app.orders.models import Checkout
    from app.payments.models import Payment, SandboxTransaction
    from tests.factories import make_address, make_product, make_user

    seller = make_user(roles=("seller",), store_name="Toko Empat Tab")
    variant = make_product(store=seller.store, name="Serum Empat Tab", stock=50).variants[0]
    buyer = make_user(email="empat-tab@example.test")
    make_address(user=buyer)
    cart_add(user=buyer, variant_id=variant.id, quantity=2)
    db.session.commit()
    buyer_id, buyer_email = buyer.id, buyer.email

    clients = []
    for _ in range(PRESSES):
        client = make_client()
        log_in(client, buyer_email)
        clients.append(client)
    form = checkout_form(clients[0])  # one page, one idempotency key, pressed four times
    tokens = [client.csrf_token() for client in clients]
    barrier = threading.Barrier(PRESSES)
    answers: list = [None] * PRESSES

    def press_bayar(index: int) -> None:
        barrier.wait()
        response = clients[index].open("/checkout", method="POST", csrf=False,
                                       data={**form, "csrf_token": tokens[index]})
        answers[index] = (response.status_code, response.headers.get("Location"))

    threads = [threading.Thread(target=press_bayar, args=(i,)) for i in range(PRESSES)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)

    assert [answer and answer[0] for answer in answers] == [303] * PRESSES, answers
    assert len({location for _status, location in answers}) == 1  # the same checkout page
    _db.session.remove()
    checkouts = db.session.scalars(select(Checkout).where(Checkout.buyer_id == buyer_id)).all()
    assert len(checkouts) == 1
    payment = db.session.scalars(select(Payment).where(
        Payment.checkout_id == checkouts[0].id)).one()
    assert payment.charged_at is not None and payment.charge_error == ""
    charges = db.session.scalars(select(SandboxTransaction).where(
        SandboxTransaction.order_id == payment.reference)).all()
    assert len(charges) == 1 and charges[0].transaction_id == payment.transaction_id
    assert db.session.scalar(select(func.count()).select_from(SandboxTransaction)
                             .where(SandboxTransaction.order_id == payment.reference)) == 1
    _db.session.remove()
