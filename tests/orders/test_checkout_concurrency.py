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
