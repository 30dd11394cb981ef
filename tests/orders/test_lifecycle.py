"""Order lifecycle: the transition table, who may make each move, restocking on cancel,
status history and emails, and one application per move under double clicks and races."""

from __future__ import annotations

import threading

import pytest
from sqlalchemy import select, update

from app.accounts.models import User
from app.catalog.models import Product, Variant
from app.extensions import db as _db
from app.inventory.models import StockMovement
from app.orders.lifecycle import (
    TRANSITIONS,
    Side,
    TransitionError,
    order_advance,
    order_cancel,
    order_confirm,
    order_transition,
)
from app.orders.models import Order, OrderStatus
from tests.conftest import log_in
from tests.factories import make_checkout, make_product, make_user
from tests.orders.lifecycle_helpers import (
    emails,
    get_order,
    make_shop,
    move_to,
    place_order,
    snapshot,
)


@pytest.fixture
def shop(db):
    return make_shop()


def _events(order: Order) -> list[tuple[str | None, str, int | None]]:
    return [(e.from_status, e.to_status, e.actor_id) for e in order.events]


def test_transition_table_lists_exactly_the_allowed_moves():
    allowed = {key: set(sides) for key, sides in TRANSITIONS.items()}
    assert allowed == {
        ("pending", "processing"): {"seller"},
        ("processing", "shipped"): {"seller"},
        ("shipped", "delivered"): {"buyer"},
        ("pending", "cancelled"): {"buyer", "seller", "system"},
        ("delivered", "returned"): {"seller"},
    }


def test_seller_processes_and_ships_then_buyer_confirms_receipt(client, make_client, db,
                                                                shop):
    number = place_order(shop)
    log_in(client, shop.seller_email)
    processed = client.post(f"/seller/pesanan/{number}/lanjut", data={"dari": "pending"})
    assert processed.status_code == 303
    assert get_order(number).status == "processing"
    shipped = client.post(f"/seller/pesanan/{number}/lanjut",
                          data={"dari": "processing", "tracking_number": " JNE-0012345 "})
    assert shipped.status_code == 303
    order = get_order(number)
    assert order.status == "shipped" and order.tracking_number == "JNE-0012345"

    buyer = make_client()
    log_in(buyer, shop.buyer_email)
    confirmed = buyer.post(f"/pesanan/{number}/diterima")
    assert confirmed.status_code == 303
    order = get_order(number)
    assert order.status == "delivered"
    assert order.processing_at <= order.shipped_at <= order.delivered_at
    assert _events(order) == [
        (None, "pending", shop.buyer_id),
        ("pending", "processing", shop.seller_id),
        ("processing", "shipped", shop.seller_id),
        ("shipped", "delivered", shop.buyer_id),
    ]
    # One status email to the buyer per transition, with the tracking number when shipped.
    sent = emails("order_status")
    assert [m.to_address for m in sent] == [shop.buyer_email] * 3
    assert "JNE-0012345" in sent[1].body_text and "Dikirim" in sent[1].subject
    assert f"/pesanan/{number}" in sent[2].body_text


def test_buyer_cancels_pending_order_and_every_item_is_restocked_exactly(client, db):
    seller = make_user(roles=("seller",))
    buyer = make_user()
    product = make_product(store=seller.store, name="Lip Tint", stock=20,
                           options={"Warna": ["Merah", "Koral"]})
    other = make_product(store=seller.store, name="Toner", stock=7)
    red, coral = product.variants
    checkout = make_checkout(buyer=buyer, lines=[(coral, 3), (red, 2), (other.variants[0], 7)])
    _db.session.commit()
    order = checkout.orders[0]
    number, buyer_email = order.number, buyer.email
    ids = (red.id, coral.id, other.variants[0].id)
    assert [_db.session.get(Variant, i).stock for i in ids] == [18, 17, 0]

    log_in(client, buyer_email)
    response = client.post(f"/pesanan/{number}/batal")
    assert response.status_code == 303

    order = get_order(number)
    assert order.status == "cancelled" and order.cancelled_at is not None
    assert [_db.session.get(Variant, i).stock for i in ids] == [20, 20, 7]
    assert _db.session.get(Product, product.id).stock_total == 40
    assert _db.session.get(Product, product.id).sold_count == 0
    assert _db.session.get(Product, other.id).sold_count == 0
    cancels = _db.session.scalars(select(StockMovement).where(
        StockMovement.reason == "cancel").order_by(StockMovement.id)).all()
    # One ledger row per item, in (product, variant) order, referencing the order.
    assert [(m.variant_id, m.delta, m.reference) for m in cancels] == [
        (red.id, 2, number), (coral.id, 3, number), (other.variants[0].id, 7, number)]
    assert _events(order)[-1] == ("pending", "cancelled", buyer.id)
    assert len(emails("order_status")) == 1


def test_seller_cancel_needs_a_reason_and_tells_the_buyer(client, db, shop):
    number = place_order(shop, quantity=2)
    before = snapshot(number)
    log_in(client, shop.seller_email)
    missing = client.post(f"/seller/pesanan/{number}/batal", data={"reason": "  "})
    assert missing.status_code == 422
    assert "Tulis alasan pembatalan" in missing.get_data(as_text=True)
    assert snapshot(number) == before

    done = client.post(f"/seller/pesanan/{number}/batal",
                       data={"reason": "Stok gudang rusak terkena banjir"})
    assert done.status_code == 303
    order = get_order(number)
    assert order.status == "cancelled"
    assert order.events[-1].note == "Stok gudang rusak terkena banjir"
    assert _db.session.get(Variant, shop.variant_id).stock == 20
    mail = emails("order_status")[-1]
    assert "Stok gudang rusak terkena banjir" in mail.body_text


ILLEGAL = [
    # (state, who, url suffix, form)
    ("pending", "buyer", "diterima", {}),
    ("processing", "buyer", "batal", {}),
    ("shipped", "buyer", "batal", {}),
    ("delivered", "buyer", "diterima", {}),
    ("processing", "seller", "batal", {"reason": "tidak jadi"}),
    ("shipped", "seller", "batal", {"reason": "tidak jadi"}),
    ("delivered", "seller", "batal", {"reason": "tidak jadi"}),
    ("shipped", "seller", "lanjut", {"dari": "shipped"}),
    ("delivered", "seller", "lanjut", {"dari": "delivered"}),
    ("processing", "seller", "lanjut", {"dari": "pending"}),  # a stale page
]


@pytest.mark.parametrize(("state", "who", "action", "form"), ILLEGAL)
def test_illegal_transitions_answer_409_and_change_nothing(client, db, shop, state, who,
                                                           action, form):
    number = place_order(shop, quantity=3)
    move_to(number, state)
    before = snapshot(number)
    if who == "buyer":
        log_in(client, shop.buyer_email)
        url = f"/pesanan/{number}/{action}"
    else:
        log_in(client, shop.seller_email)
        url = f"/seller/pesanan/{number}/{action}"
    response = client.post(url, data=form)
    assert response.status_code == 409
    assert f"Pesanan {number}" in response.get_data(as_text=True)  # a message, not a bare 409
    assert snapshot(number) == before
    assert _db.session.get(Variant, shop.variant_id).stock == 17


def test_seller_cannot_cancel_a_shipped_order_even_through_the_service(db, shop):
    number = place_order(shop)
    order = move_to(number, "shipped")
    seller = _db.session.get(User, shop.seller_id)
    with pytest.raises(TransitionError, match="tidak dapat dibatalkan"):
        order_cancel(order=order, actor=seller, side=Side.SELLER, reason="batal saja")


def test_wrong_actor_is_refused_by_the_service(db, shop):
    number = place_order(shop)
    order = get_order(number)
    buyer = _db.session.get(User, shop.buyer_id)
    seller = _db.session.get(User, shop.seller_id)
    stranger = make_user()
    with pytest.raises(TransitionError):
        order_advance(order=order, actor=buyer, from_status="pending")
    with pytest.raises(TransitionError):
        order_cancel(order=order, actor=stranger)
    order_advance(order=order, actor=seller, from_status="pending")
    order_advance(order=order, actor=seller, from_status="processing")
    with pytest.raises(TransitionError):
        order_confirm(order=order, actor=seller)
    with pytest.raises(TransitionError):
        order_transition(order=order, to=OrderStatus.DELIVERED, actor=stranger)
    assert order.status == "shipped"


def test_returned_only_through_an_accepted_return(db, shop):
    order = move_to(place_order(shop), "delivered")
    seller = _db.session.get(User, shop.seller_id)
    with pytest.raises(TransitionError, match="retur"):
        order_transition(order=order, to=OrderStatus.RETURNED, actor=seller)
    assert get_order(order.number).status == "delivered"


def test_system_may_cancel_a_pending_order(db, shop):
    number = place_order(shop, quantity=4)
    order = get_order(number)
    order_cancel(order=order, actor=None, reason="Pembayaran kedaluwarsa")
    _db.session.commit()
    order = get_order(number)
    assert order.status == "cancelled" and order.events[-1].actor_id is None
    assert _db.session.get(Variant, shop.variant_id).stock == 20


def test_tracking_number_over_60_characters_is_422_and_nothing_changes(client, db, shop):
    number = place_order(shop)
    move_to(number, "processing")
    before = snapshot(number)
    log_in(client, shop.seller_email)
    response = client.post(f"/seller/pesanan/{number}/lanjut",
                           data={"dari": "processing", "tracking_number": "X" * 61})
    assert response.status_code == 422
    body = response.get_data(as_text=True)
    assert "Nomor resi maksimal 60 karakter" in body and "X" * 61 in body
    assert snapshot(number) == before


def test_advance_without_the_status_seen_is_422(client, db, shop):
    number = place_order(shop)
    before = snapshot(number)
    log_in(client, shop.seller_email)
    response = client.post(f"/seller/pesanan/{number}/lanjut", data={})
    assert response.status_code == 422
    assert snapshot(number) == before


def test_double_click_on_advance_applies_once(client, db, shop):
    number = place_order(shop)
    log_in(client, shop.seller_email)
    first = client.post(f"/seller/pesanan/{number}/lanjut", data={"dari": "pending"})
    second = client.post(f"/seller/pesanan/{number}/lanjut", data={"dari": "pending"})
    assert (first.status_code, second.status_code) == (303, 409)
    order = get_order(number)
    assert order.status == "processing"
    assert [e.to_status for e in order.events] == ["pending", "processing"]
    assert len(emails("order_status")) == 1


def test_a_stale_order_loses_the_conditional_update_and_nothing_is_applied(db, shop):
    """Two requests both read PENDING; the other one committed first. Ours must not cancel
    (and restock) an order that is already being processed."""
    number = place_order(shop, quantity=2)
    order = get_order(number)
    buyer = _db.session.get(User, shop.buyer_id)
    assert order.status == "pending"  # what this request read
    _db.session.execute(update(Order).where(Order.id == order.id)
                        .values(status="processing")
                        .execution_options(synchronize_session=False))
    with pytest.raises(TransitionError, match="baru saja diubah"):
        order_cancel(order=order, actor=buyer)
    _db.session.rollback()
    assert _db.session.scalars(select(StockMovement).where(
        StockMovement.reason == "cancel")).all() == []


def test_two_concurrent_advances_apply_once(app, make_client, db, shop):
    number = place_order(shop)
    clients = [make_client() for _ in range(2)]
    for browser in clients:
        log_in(browser, shop.seller_email)
    tokens = [browser.csrf_token() for browser in clients]
    _db.session.commit()
    barrier = threading.Barrier(2)
    statuses = [0, 0]

    def worker(index: int) -> None:
        barrier.wait()
        response = clients[index].open(f"/seller/pesanan/{number}/lanjut", method="POST",
                                       csrf=False, data={"dari": "pending",
                                                         "csrf_token": tokens[index]})
        statuses[index] = response.status_code

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert sorted(statuses) == [303, 409]
    order = get_order(number)
    assert [e.to_status for e in order.events] == ["pending", "processing"]


def test_status_email_is_in_the_buyers_language(client, db):
    shop = make_shop(buyer_locale="en")
    number = place_order(shop)
    log_in(client, shop.seller_email)
    client.post(f"/seller/pesanan/{number}/lanjut", data={"dari": "pending"})
    mail = emails("order_status")[-1]
    assert mail.to_address == shop.buyer_email
    assert "Hello Budi Pembeli," in mail.body_text
    assert "This is an automated email from Racik" in mail.body_text


def test_cancelling_does_not_drive_sold_count_below_zero(db, shop):
    number = place_order(shop, quantity=2)
    _db.session.execute(update(Product).where(Product.id == shop.product_id)
                        .values(sold_count=1))
    _db.session.commit()
    order_cancel(order=get_order(number), actor=_db.session.get(User, shop.buyer_id))
    _db.session.commit()
    _db.session.expire_all()
    assert _db.session.get(Product, shop.product_id).sold_count == 0
