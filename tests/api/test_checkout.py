"""Checkout through the API: one checkout and one order per store with its payment and
instructions, the refusals (422 naming the field, 409 out_of_stock with the short lines),
Idempotency-Key (replayed, mismatched, shared with the checkout service's own key), and
the no-oversell rule when buyers race for the last units through the API."""

from __future__ import annotations

import threading

from sqlalchemy import func, select

from app.catalog.models import Variant
from app.catalog.services import product_archive
from app.catalog.stock import stock_set
from app.extensions import db as _db
from app.orders.cart import cart_add
from app.orders.checkout import checkout_place
from app.orders.models import CartItem, Checkout, Order
from app.payments.models import Payment
from tests.api.conftest import ApiClient, error_code, mint_tokens
from tests.factories import make_address, make_product, make_user
from tests.orders.helpers import assert_race_sold_no_more_than_stock, race_arrange

CHECKOUT_FIELDS = {"reference", "payment_method", "payment_method_label", "payment_status",
                   "subtotal", "shipping_total", "total", "created_at", "orders", "payment"}
ORDER_FIELDS = {"number", "status", "status_label", "payment_status", "store", "item_count",
                "subtotal", "shipping_cost", "shipping_service", "total", "note", "items"}
PAYMENT_FIELDS = {"reference", "method", "method_label", "amount", "status", "status_label",
                  "store", "final", "charged", "expires_at", "paid_at", "created_at",
                  "checkout_reference", "milestone", "instructions"}
KEY = "0123456789abcdef-api-key"


def _shop(db, *, stock: int = 10, price: int = 50_000, shipping: int = 0, name="Serum"):
    seller = make_user(roles=("seller",))
    seller.store.shipping_cost = shipping
    product = make_product(store=seller.store, name=name, price=price, stock=stock)
    return seller, product.variants[0]


def _buyer(db, *lines):
    buyer = make_user()
    address = make_address(user=buyer)
    for variant, quantity in lines:
        cart_add(user=buyer, variant_id=variant.id, quantity=quantity)
    db.session.commit()
    return buyer, address


def _body(address, method: str = "va_bca", **extra) -> dict:
    return {"address_id": address.id, "payment_method": method, **extra}


def _count(model) -> int:
    _db.session.expire_all()
    return _db.session.scalar(select(func.count()).select_from(model))


def test_checkout_places_one_order_per_store_and_answers_the_payment_instructions(db, api):
    seller_a, serum = _shop(db, price=50_000, shipping=10_000)
    seller_b, toner = _shop(db, price=20_000, name="Toner")
    buyer, address = _buyer(db, (serum, 2), (toner, 1))
    response = api(buyer).post("/api/v1/checkout", json=_body(
        address, notes=[{"store_id": seller_a.store.id, "note": "Bungkus rapi ya"}]))

    assert response.status_code == 201, response.get_json()
    placed = response.get_json()
    assert set(placed) == CHECKOUT_FIELDS
    assert response.headers["Location"].endswith(f"/api/v1/checkouts/{placed['reference']}")
    assert placed["reference"].startswith("CO-")
    assert placed["payment_method"] == "va_bca"
    assert placed["payment_method_label"] == "Virtual Account BCA"
    assert placed["payment_status"] == "unpaid"
    assert (placed["subtotal"], placed["shipping_total"], placed["total"]) == (
        120_000, 10_000, 130_000)
    first, second = placed["orders"]
    assert set(first) == ORDER_FIELDS
    assert first["number"].startswith("RCK-") and first["status"] == "pending"
    assert first["status_label"] == "Menunggu diproses"
    assert first["store"]["id"] == seller_a.store.id and first["note"] == "Bungkus rapi ya"
    assert (first["subtotal"], first["shipping_cost"], first["total"]) == (
        100_000, 10_000, 110_000)
    assert first["items"][0]["quantity"] == 2 and first["items"][0]["unit_price"] == 50_000
    assert second["store"]["id"] == seller_b.store.id and second["total"] == 20_000
    payment = placed["payment"]
    assert set(payment) == PAYMENT_FIELDS
    assert payment["reference"] == placed["reference"] and payment["amount"] == 130_000
    assert payment["status"] == "pending" and payment["charged"] is True
    assert payment["checkout_reference"] == placed["reference"]
    instructions = payment["instructions"]
    assert instructions["kind"] == "va" and instructions["bank_name"] == "BCA"
    assert instructions["va_number"] and instructions["va_number_grouped"].replace(
        " ", "") == instructions["va_number"]
    assert instructions["steps"] and instructions["steps"][0]["items"]

    db.session.expire_all()
    assert db.session.scalars(select(CartItem).where(CartItem.user_id == buyer.id)).all() == []
    assert db.session.get(Variant, serum.id).stock == 8
    assert api(buyer).get(f"/api/v1/checkouts/{placed['reference']}").get_json()["orders"] \
        == placed["orders"]


def test_qris_and_ewallet_answer_the_qr_string_and_the_deeplink(db, api):
    _, serum = _shop(db)
    buyer, address = _buyer(db, (serum, 1))
    qris = api(buyer).post("/api/v1/checkout", json=_body(address, "qris")).get_json()
    assert qris["payment"]["instructions"]["kind"] == "qris"
    assert qris["payment"]["instructions"]["qr_string"]
    cart_add(user=buyer, variant_id=serum.id, quantity=1)
    db.session.commit()
    gopay = api(buyer).post("/api/v1/checkout", json=_body(address, "gopay")).get_json()
    instructions = gopay["payment"]["instructions"]
    assert instructions["kind"] == "ewallet" and instructions["wallet_name"] == "GoPay"
    assert instructions["deeplink_url"] and instructions["qr_string"] == ""


def test_a_line_the_stock_cannot_cover_is_a_409_listing_it_and_nothing_is_bought(db, api):
    seller, serum = _shop(db, stock=5)
    _, toner = _shop(db, name="Toner")
    buyer, address = _buyer(db, (serum, 4), (toner, 1))
    stock_set(variant=serum, new_stock=2, actor=seller)
    db.session.commit()
    item_id = db.session.scalars(select(CartItem.id).where(
        CartItem.user_id == buyer.id, CartItem.variant_id == serum.id)).one()

    response = api(buyer).post("/api/v1/checkout", json=_body(address))
    assert response.status_code == 409 and error_code(response) == "out_of_stock"
    error = response.get_json()["error"]
    assert "Stok tidak cukup" in error["message"]
    assert set(error["fields"]) == {f"cart_items.{item_id}"}
    assert "diminta 4, tersedia 2" in error["fields"][f"cart_items.{item_id}"]
    assert _count(Checkout) == 0 and _count(Order) == 0 and _count(Payment) == 0
    assert _count(CartItem) == 2
    assert db.session.get(Variant, toner.id).stock == 10


def test_an_empty_cart_is_a_422_naming_the_cart(db, api):
    buyer, address = _buyer(db)
    response = api(buyer).post("/api/v1/checkout", json=_body(address))
    assert response.status_code == 422 and error_code(response) == "cart_empty"
    assert set(response.get_json()["error"]["fields"]) == {"cart"}


def test_another_buyers_address_or_an_unknown_method_is_a_422_naming_the_field(db, api):
    _, serum = _shop(db)
    buyer, _address = _buyer(db, (serum, 1))
    _stranger, strangers_address = _buyer(db)
    client = api(buyer)
    response = client.post("/api/v1/checkout", json=_body(strangers_address))
    assert response.status_code == 422 and error_code(response) == "address_invalid"
    assert set(response.get_json()["error"]["fields"]) == {"address_id"}
    response = client.post("/api/v1/checkout", json=_body(_address, "cash"))
    assert response.status_code == 422
    assert set(response.get_json()["error"]["fields"]) == {"payment_method"}
    for bad in ({"address_id": 0, "payment_method": "va_bca"},
                {"payment_method": "va_bca"},
                _body(_address, notes=[{"store_id": 1, "note": "x" * 301}])):
        assert client.post("/api/v1/checkout", json=bad).status_code == 422
    assert _count(Checkout) == 0 and _count(CartItem) == 1


def test_a_line_no_longer_sold_blocks_the_checkout_with_409(db, api):
    seller, serum = _shop(db)
    buyer, address = _buyer(db, (serum, 1))
    product_archive(product=serum.product, actor=seller)
    db.session.commit()
    response = api(buyer).post("/api/v1/checkout", json=_body(address))
    assert response.status_code == 409 and error_code(response) == "cart_blocked"
    assert _count(Checkout) == 0


def test_the_same_idempotency_key_twice_places_one_checkout_and_replays_the_answer(db, api):
    _, serum = _shop(db)
    buyer, address = _buyer(db, (serum, 1))
    client = api(buyer)
    first = client.post("/api/v1/checkout", json=_body(address),
                        headers={"Idempotency-Key": KEY})
    assert first.status_code == 201
    again = client.post("/api/v1/checkout", json=_body(address),
                        headers={"Idempotency-Key": KEY})
    assert again.status_code == 201 and again.headers["Idempotent-Replayed"] == "true"
    assert again.get_json() == first.get_json()
    assert _count(Checkout) == 1
    # The API key is the checkout's own key too.
    assert db.session.scalars(select(Checkout.idempotency_key)).one() == KEY

    other = client.post("/api/v1/checkout", json=_body(address, "qris"),
                        headers={"Idempotency-Key": KEY})
    assert other.status_code == 422 and error_code(other) == "idempotency_key_mismatch"
    assert _count(Checkout) == 1


def test_a_key_the_checkout_service_already_used_finds_that_checkout(db, api):
    """The web form (or an attempt whose answer was lost) placed the checkout with this
    key: the checkout service's own dedup answers the same checkout, nothing new."""
    _, serum = _shop(db)
    buyer, address = _buyer(db, (serum, 1))
    placed = checkout_place(buyer=buyer, address=address, payment_method="va_bca",
                            idempotency_key=KEY).checkout
    db.session.commit()
    cart_add(user=buyer, variant_id=serum.id, quantity=1)
    db.session.commit()
    response = api(buyer).post("/api/v1/checkout", json=_body(address),
                               headers={"Idempotency-Key": KEY})
    assert response.status_code == 200
    assert response.get_json()["reference"] == placed.reference
    assert _count(Checkout) == 1 and _count(CartItem) == 1


def test_a_key_the_checkout_service_cannot_take_still_places_one_checkout(db, api):
    _, serum = _shop(db)
    buyer, address = _buyer(db, (serum, 1))
    client = api(buyer)
    headers = {"Idempotency-Key": "short!"}
    assert client.post("/api/v1/checkout", json=_body(address), headers=headers
                       ).status_code == 201
    replay = client.post("/api/v1/checkout", json=_body(address), headers=headers)
    assert replay.status_code == 201 and replay.headers["Idempotent-Replayed"] == "true"
    assert _count(Checkout) == 1


def test_a_failed_charge_answers_charged_false_and_the_retry_charges_it(
        db, api, monkeypatch):
    from tests.payments.test_pay_page import _fail_charges

    calls = _fail_charges(monkeypatch, times=1)
    _, serum = _shop(db)
    buyer, address = _buyer(db, (serum, 1))
    client = api(buyer)
    placed = client.post("/api/v1/checkout", json=_body(address)).get_json()
    assert placed["payment"]["charged"] is False and placed["payment"]["instructions"] is None
    retried = client.post(f"/api/v1/checkouts/{placed['reference']}/payment")
    assert retried.status_code == 200
    assert retried.get_json()["charged"] is True
    assert retried.get_json()["instructions"]["va_number"]
    assert len(calls) == 2


def test_buyer_cannot_see_another_buyers_checkout(db, api):
    _, serum = _shop(db)
    buyer, address = _buyer(db, (serum, 1))
    other, _ = _buyer(db)
    reference = api(buyer).post("/api/v1/checkout", json=_body(address)).get_json()["reference"]
    response = api(other).get(f"/api/v1/checkouts/{reference}")
    assert response.status_code == 404 and error_code(response) == "not_found"
    assert api(buyer).get(f"/api/v1/checkouts/{reference}").status_code == 200
    assert api(buyer).get("/api/v1/checkouts/no-such-checkout").status_code == 404


def test_a_seller_without_the_customer_role_cannot_check_out(db, api):
    seller, _ = _shop(db)
    db.session.commit()
    response = api(seller).post("/api/v1/checkout", json={"address_id": 1,
                                                          "payment_method": "va_bca"})
    assert response.status_code == 403 and error_code(response) == "forbidden"


# --- concurrency -----------------------------------------------------------------------------

BUYERS = 30
UNITS = 10


def _race(app, tokens: list[str], bodies: list[dict], headers: list[dict] | None = None):
    """Every client presses "Bayar" at the same moment, each in its own thread, app context
    and test client (the machinery of tests/orders/test_checkout_concurrency.py)."""
    _db.session.commit()  # the test's own transaction must not hold SQLite's write lock
    clients = [ApiClient(app, token) for token in tokens]
    barrier = threading.Barrier(len(clients))
    answers: list = [None] * len(clients)

    def press(index: int) -> None:
        barrier.wait()
        response = clients[index].post("/api/v1/checkout", json=bodies[index],
                                       headers=(headers or [{}] * len(clients))[index])
        answers[index] = (response.status_code, response.get_json(), response.headers)

    threads = [threading.Thread(target=press, args=(i,)) for i in range(len(clients))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert all(answers), "a buyer got no answer"
    return answers


def test_buyers_racing_for_the_last_units_through_the_api_never_oversell(app, db):
    variants, crowd, wanted = race_arrange(buyers=BUYERS, units=UNITS, seed=7, label=" API")
    db.session.commit()
    bodies = [_body(address) for _buyer, address in crowd]
    tokens = [mint_tokens(app, buyer.id)["access_token"] for buyer, _address in crowd]

    answers = _race(app, tokens, bodies)

    statuses = [status for status, _body_, _headers in answers]
    assert set(statuses) <= {201, 409}, f"unexpected statuses {set(statuses)}"  # no 500
    for status, body, _headers in answers:
        if status == 409:  # every loser is told why, with their short lines
            assert body["error"]["code"] == "out_of_stock" and body["error"]["fields"]

    winners = statuses.count(201)
    stocks = assert_race_sold_no_more_than_stock(db, variants=variants, wanted=wanted,
                                                 winners=winners, units=UNITS)
    assert winners > 0 and statuses.count(409) > 0
    # The demand exceeded the stock: a product sold out, or is one unit short of it.
    assert min(stocks.values()) <= 2
    _db.session.remove()


def test_last_unit_raced_by_many_buyers_is_sold_exactly_once(app, db):
    seller = make_user(roles=("seller",))
    variant = make_product(store=seller.store, name="Serum Terakhir", stock=1).variants[0]
    buyers, bodies = [], []
    for n in range(8):
        buyer = make_user(email=f"terakhir{n}@example.test")
        bodies.append(_body(make_address(user=buyer)))
        cart_add(user=buyer, variant_id=variant.id, quantity=1)
        buyers.append(buyer)
    db.session.commit()
    tokens = [mint_tokens(app, buyer.id)["access_token"] for buyer in buyers]
    statuses = sorted(status for status, _b, _h in _race(app, tokens, bodies))
    assert statuses == [201] + [409] * 7
    db.session.expire_all()
    assert db.session.get(Variant, variant.id).stock == 0
    assert db.session.scalar(select(func.count(Checkout.id))) == 1
    _db.session.remove()


def test_the_same_key_sent_concurrently_places_one_checkout(app, db):
    _, serum = _shop(db, stock=10)
    buyer, address = _buyer(db, (serum, 2))
    token = mint_tokens(app, buyer.id)["access_token"]
    copies = 6
    answers = _race(app, [token] * copies, [_body(address)] * copies,
                    [{"Idempotency-Key": KEY}] * copies)

    db.session.expire_all()
    assert db.session.scalar(select(func.count(Checkout.id))) == 1
    assert db.session.get(Variant, serum.id).stock == 8
    reference = db.session.scalars(select(Checkout.reference)).one()
    statuses = [status for status, _b, _h in answers]
    assert statuses.count(201) >= 1 and set(statuses) <= {201, 409}
    for status, body, _headers in answers:
        if status == 201:  # the first's answer, or a replay of it
            assert body["reference"] == reference
        else:  # the first was still running: "try again in a moment"
            assert body["error"]["code"] == "idempotency_in_progress"
    assert [h.get("Idempotent-Replayed") for s, _b, h in answers if s == 201].count(None) == 1
    # Asked again once it is done: the first's answer, replayed.
    again = ApiClient(app, token).post("/api/v1/checkout", json=_body(address),
                                       headers={"Idempotency-Key": KEY})
    assert again.status_code == 201 and again.headers["Idempotent-Replayed"] == "true"
    assert again.get_json()["reference"] == reference
    _db.session.remove()
