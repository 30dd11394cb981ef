"""Returns: within 7 days of delivery, once per order, with a reason; the seller accepts
(restock, RETURNED, refund recorded) or rejects with a reason; both sides are emailed."""

from __future__ import annotations

from datetime import timedelta
from unittest.mock import patch

import pytest
from sqlalchemy import func, select, update

from app.accounts.models import User
from app.catalog.models import Product, Variant
from app.core.models import Notice
from app.extensions import db as _db
from app.inventory.models import StockMovement
from app.orders.lifecycle import TransitionError
from app.orders.models import Order, ReturnRequest
from app.orders.returns import return_accept
from tests.conftest import log_in
from tests.factories import make_user
from tests.orders.lifecycle_helpers import emails, get_order, make_shop, move_to, place_order


@pytest.fixture
def shop(db):
    return make_shop()


@pytest.fixture
def delivered(db, shop) -> str:
    number = place_order(shop, quantity=3)
    move_to(number, "delivered")
    return number


def _returns() -> list[ReturnRequest]:
    _db.session.expire_all()
    return list(_db.session.scalars(select(ReturnRequest)))


def _ask(client, shop, number, reason="Botol pecah saat diterima"):
    log_in(client, shop.buyer_email)
    return client.post(f"/pesanan/{number}/retur", data={"reason": reason})


def test_buyer_requests_a_return_within_7_days_and_the_seller_is_told(client, db, shop,
                                                                      delivered):
    page = _ask(client, shop, delivered).headers["Location"]
    assert page == f"/pesanan/{delivered}"
    [request] = _returns()
    assert request.status == "requested" and request.reason == "Botol pecah saat diterima"
    assert request.store_id == shop.store_id and request.buyer_id == shop.buyer_id
    [mail] = emails("return_requested")
    assert mail.to_address == shop.seller_email
    assert "Botol pecah saat diterima" in mail.body_text
    assert f"/seller/pesanan/{delivered}" in mail.body_text
    assert _db.session.scalar(select(func.count(Notice.id)).where(
        Notice.user_id == shop.seller_id, Notice.kind == "return_requested")) == 1
    body = client.get(f"/pesanan/{delivered}").get_data(as_text=True)
    assert "Menunggu keputusan penjual" in body and 'name="reason"' not in body


def test_return_on_the_last_minute_of_the_window_is_accepted(client, db, shop, delivered):
    delivered_at = get_order(delivered).delivered_at
    with patch("app.orders.returns.utcnow",
               return_value=delivered_at + timedelta(days=7) - timedelta(minutes=1)):
        assert _ask(client, shop, delivered).status_code == 303
    assert len(_returns()) == 1


def test_return_after_7_days_is_refused_with_409(client, db, shop, delivered):
    delivered_at = get_order(delivered).delivered_at
    with patch("app.orders.returns.utcnow",
               return_value=delivered_at + timedelta(days=7, minutes=1)):
        response = _ask(client, shop, delivered)
        assert response.status_code == 409
        assert "Batas waktu retur" in response.get_data(as_text=True)
        page = client.get(f"/pesanan/{delivered}").get_data(as_text=True)
        assert 'name="reason"' not in page
    assert _returns() == [] and emails("return_requested") == []


def test_return_window_counts_from_delivered_at(client, db, shop, delivered):
    order = get_order(delivered)
    _db.session.execute(update(Order).where(Order.id == order.id).values(
        delivered_at=order.delivered_at - timedelta(days=8)))
    _db.session.commit()
    assert _ask(client, shop, delivered).status_code == 409
    assert _returns() == []


def test_a_second_return_request_is_refused(client, db, shop, delivered):
    assert _ask(client, shop, delivered).status_code == 303
    again = client.post(f"/pesanan/{delivered}/retur", data={"reason": "lagi"})
    assert again.status_code == 409
    assert "sudah pernah diajukan" in again.get_data(as_text=True)
    assert len(_returns()) == 1 and len(emails("return_requested")) == 1


@pytest.mark.parametrize(("reason", "message"), [
    ("", "Wajib diisi."), ("   ", "Wajib diisi."), ("x" * 1001, "Maksimal 1000 karakter."),
])
def test_return_reason_is_required_and_at_most_1000_characters(client, db, shop, delivered,
                                                                reason, message):
    response = _ask(client, shop, delivered, reason=reason)
    assert response.status_code == 422
    body = response.get_data(as_text=True)
    assert message in body and 'name="reason"' in body
    assert _returns() == []


def test_return_of_an_order_not_yet_delivered_is_refused(client, db, shop):
    number = place_order(shop)
    move_to(number, "shipped")
    assert _ask(client, shop, number).status_code == 409
    assert _returns() == []


def test_return_form_page_is_shown_inside_the_window(client, db, shop, delivered):
    log_in(client, shop.buyer_email)
    body = client.get(f"/pesanan/{delivered}/retur").get_data(as_text=True)
    assert 'name="reason"' in body and "Ajukan retur" in body


def test_seller_accepts_a_return_and_every_item_goes_back(client, make_client, db, shop,
                                                          delivered):
    _ask(client, shop, delivered)
    stock_before = _db.session.get(Variant, shop.variant_id).stock
    seller = make_client()
    log_in(seller, shop.seller_email)
    response = seller.post(f"/seller/pesanan/{delivered}/retur/terima")
    assert response.status_code == 303

    order = get_order(delivered)
    assert order.status == "returned" and order.returned_at is not None
    # Paid: the money goes back; the sandbox refunds at once (the refund job runs after
    # the commit), so the order ends refunded.
    assert order.payment_status == "refunded"
    [request] = _returns()
    assert request.status == "accepted" and request.refund_amount == order.total
    assert request.decided_by_id == shop.seller_id and request.decided_at is not None
    assert _db.session.get(Variant, shop.variant_id).stock == stock_before + 3
    assert _db.session.get(Product, shop.product_id).sold_count == 0
    movements = _db.session.scalars(select(StockMovement).where(
        StockMovement.reason == "return")).all()
    assert [(m.delta, m.reference) for m in movements] == [(3, delivered)]
    assert order.events[-1].from_status == "delivered"
    assert order.events[-1].to_status == "returned"
    [decided] = emails("return_decided")
    assert decided.to_address == shop.buyer_email and "diterima" in decided.subject
    assert "Rp\u00a0450.000" in decided.body_text
    assert len(emails("order_status")) == 3  # the decision is the only email of RETURNED

    again = seller.post(f"/seller/pesanan/{delivered}/retur/terima")
    assert again.status_code == 409
    assert _db.session.get(Variant, shop.variant_id).stock == stock_before + 3


def test_accepting_the_return_of_a_paid_order_refunds_it(client, db, shop, delivered):
    order = get_order(delivered)
    _db.session.execute(update(Order).where(Order.id == order.id)
                        .values(payment_status="paid"))
    _db.session.commit()
    _ask(client, shop, delivered)
    [request] = _returns()
    return_accept(request=request, actor=_db.session.get(User, shop.seller_id))
    _db.session.commit()
    # refund_pending, then the refund job (after commit) pays it back through the sandbox.
    assert get_order(delivered).payment_status == "refunded"


def test_seller_rejects_a_return_only_with_a_reason(client, make_client, db, shop,
                                                    delivered):
    _ask(client, shop, delivered)
    seller = make_client()
    log_in(seller, shop.seller_email)
    missing = seller.post(f"/seller/pesanan/{delivered}/retur/tolak",
                          data={"reject_reason": " "})
    assert missing.status_code == 422
    assert "Wajib diisi." in missing.get_data(as_text=True)
    assert _returns()[0].status == "requested" and emails("return_decided") == []

    rejected = seller.post(f"/seller/pesanan/{delivered}/retur/tolak",
                           data={"reject_reason": "Segel sudah dibuka dan isi terpakai"})
    assert rejected.status_code == 303
    [request] = _returns()
    assert request.status == "rejected"
    assert request.reject_reason == "Segel sudah dibuka dan isi terpakai"
    assert get_order(delivered).status == "delivered"
    [mail] = emails("return_decided")
    assert mail.to_address == shop.buyer_email
    assert "Segel sudah dibuka dan isi terpakai" in mail.body_text
    buyer_page = client.get(f"/pesanan/{delivered}").get_data(as_text=True)
    assert "Ditolak" in buyer_page and "Segel sudah dibuka" in buyer_page

    late_accept = seller.post(f"/seller/pesanan/{delivered}/retur/terima")
    assert late_accept.status_code == 409
    assert get_order(delivered).status == "delivered"


def test_another_store_cannot_decide_a_return(client, make_client, db, shop, delivered):
    _ask(client, shop, delivered)
    rival = make_user(roles=("seller",))
    _db.session.commit()
    other = make_client()
    log_in(other, rival.email)
    assert other.post(f"/seller/pesanan/{delivered}/retur/terima").status_code == 404
    assert other.post(f"/seller/pesanan/{delivered}/retur/tolak",
                      data={"reject_reason": "tidak"}).status_code == 404
    assert _returns()[0].status == "requested"
    with pytest.raises(TransitionError):
        return_accept(request=_returns()[0], actor=_db.session.get(User, rival.id))


def test_deciding_without_a_return_request_is_404(client, db, shop, delivered):
    log_in(client, shop.seller_email)
    assert client.post(f"/seller/pesanan/{delivered}/retur/terima").status_code == 404
    assert get_order(delivered).status == "delivered"
