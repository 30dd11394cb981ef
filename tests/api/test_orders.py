"""The orders API: the buyer's orders and lifecycle actions, the seller's order management
and returns. The rules are the web's (app/orders/lifecycle.py, returns.py): these tests
prove the API reaches them with the right owner, role and error format."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from app.accounts.models import User
from app.catalog.models import Variant
from app.extensions import db as _db
from app.orders.models import ReturnRequest
from tests.api.conftest import error_code
from tests.factories import make_user
from tests.orders.lifecycle_helpers import get_order, make_shop, move_to, place_order, snapshot

BUYER_SUMMARY_FIELDS = {
    "number", "status", "status_label", "payment_status", "item_count", "subtotal",
    "shipping_cost", "total", "created_at", "updated_at", "store", "checkout_reference",
    "items"}
DETAIL_FIELDS = {
    "shipping_address", "note", "tracking_number", "processing_at", "shipped_at",
    "delivered_at", "cancelled_at", "returned_at", "history", "return_request", "shipping"}
BUYER_FIELDS = BUYER_SUMMARY_FIELDS | DETAIL_FIELDS | {
    "awaiting_payment", "can_cancel", "can_confirm", "can_return", "return_deadline"}
SELLER_SUMMARY_FIELDS = {
    "number", "status", "status_label", "payment_status", "item_count", "subtotal",
    "shipping_cost", "total", "created_at", "updated_at", "buyer_name", "items",
    "awaiting_payment", "next_status"}
SELLER_FIELDS = SELLER_SUMMARY_FIELDS | DETAIL_FIELDS | {"can_cancel", "can_decide_return"}
ITEM_FIELDS = {"id", "product_id", "product_name", "options", "options_label", "sku",
               "unit_price", "quantity", "line_total"}


@pytest.fixture
def shop(db):
    return make_shop(stock=20, price=150_000)


def user(user_id: int) -> User:
    return _db.session.get(User, user_id)


def stock(shop) -> int:
    _db.session.expire_all()
    return _db.session.get(Variant, shop.variant_id).stock


# --- the buyer -----------------------------------------------------------------------------


def test_buyer_lists_only_own_orders_paginated_with_link_header(api, db, shop):
    numbers = [place_order(shop) for _ in range(3)]
    other = make_user()
    _db.session.commit()
    place_order(shop, buyer_id=other.id)
    response = api(user(shop.buyer_id)).get("/api/v1/orders?per_page=2")
    assert response.status_code == 200
    body = response.get_json()
    assert body["total"] == 3 and body["pages"] == 2 and body["per_page"] == 2
    assert [o["number"] for o in body["items"]] == numbers[::-1][:2]
    assert set(body["items"][0]) == BUYER_SUMMARY_FIELDS
    assert set(body["items"][0]["items"][0]) == ITEM_FIELDS
    assert body["items"][0]["store"]["id"] == shop.store_id
    assert 'rel="next"' in response.headers["Link"]
    assert response.headers["X-Total-Count"] == "3"


def test_buyer_order_list_filters_by_status(api, db, shop):
    place_order(shop)
    shipped = place_order(shop)
    move_to(shipped, "shipped")
    client = api(user(shop.buyer_id))
    body = client.get("/api/v1/orders?status=shipped").get_json()
    assert [o["number"] for o in body["items"]] == [shipped]
    response = client.get("/api/v1/orders?status=lost")
    assert response.status_code == 422 and "status" in response.get_json()["error"]["fields"]


def test_buyer_order_detail_has_items_totals_history_and_actions(api, db, shop):
    number = place_order(shop, quantity=2)
    response = api(user(shop.buyer_id)).get(f"/api/v1/orders/{number}")
    assert response.status_code == 200
    body = response.get_json()
    assert set(body) == BUYER_FIELDS
    assert body["status"] == "pending" and body["payment_status"] == "paid"
    assert body["status_label"] == "Menunggu diproses"
    item = body["items"][0]
    assert set(item) == ITEM_FIELDS | {"reviewed", "can_review"}
    assert item["quantity"] == 2 and item["unit_price"] == 150_000
    assert item["line_total"] == 300_000 and item["can_review"] is False
    assert body["subtotal"] == 300_000
    assert body["total"] == body["subtotal"] + body["shipping_cost"]
    assert body["shipping_address"]["city"] == "Bandung"
    assert body["can_cancel"] is True and body["can_confirm"] is False
    assert body["can_return"] is False and body["return_request"] is None
    assert body["awaiting_payment"] is False
    first = body["history"][0]
    assert set(first) == {"from_status", "to_status", "to_status_label", "by", "actor_name",
                          "note", "created_at"}
    assert first["from_status"] is None and first["to_status"] == "pending"


def test_order_detail_answers_304_for_its_etag(api, db, shop):
    number = place_order(shop)
    client = api(user(shop.buyer_id))
    first = client.get(f"/api/v1/orders/{number}")
    again = client.get(f"/api/v1/orders/{number}",
                       headers={"If-None-Match": first.headers["ETag"]})
    assert again.status_code == 304 and again.get_data() == b""


def test_buyer_cannot_see_or_cancel_another_buyers_order(api, db, shop):
    number = place_order(shop)
    other = make_user()
    _db.session.commit()
    before = snapshot(number)
    client = api(other)
    assert client.get(f"/api/v1/orders/{number}").status_code == 404
    response = client.post(f"/api/v1/orders/{number}/cancel", json={})
    assert response.status_code == 404 and error_code(response) == "not_found"
    assert client.post(f"/api/v1/orders/{number}/confirm").status_code == 404
    assert snapshot(number) == before


def test_buyer_cancels_a_pending_order_and_the_stock_goes_back(api, db, shop):
    number = place_order(shop, quantity=3)
    assert stock(shop) == 17
    response = api(user(shop.buyer_id)).post(f"/api/v1/orders/{number}/cancel",
                                              json={"reason": "Salah pilih varian"})
    assert response.status_code == 200
    body = response.get_json()
    assert body["status"] == "cancelled" and body["cancelled_at"] is not None
    assert body["can_cancel"] is False
    assert body["history"][-1]["by"] == "buyer"
    assert body["history"][-1]["note"] == "Salah pilih varian"
    assert stock(shop) == 20


def test_buyer_cannot_cancel_a_processing_order(api, db, shop):
    number = place_order(shop)
    move_to(number, "processing")
    before = snapshot(number)
    response = api(user(shop.buyer_id)).post(f"/api/v1/orders/{number}/cancel", json={})
    assert response.status_code == 409
    assert error_code(response) == "illegal_transition"
    assert "tidak dapat dibatalkan" in response.get_json()["error"]["message"]
    assert snapshot(number) == before


def test_cancel_without_a_json_body_is_415(api, db, shop):
    number = place_order(shop)
    response = api(user(shop.buyer_id)).post(f"/api/v1/orders/{number}/cancel", data="x")
    assert response.status_code == 415
    assert get_order(number).status == "pending"


def test_confirming_an_order_that_is_not_shipped_is_409(api, db, shop):
    number = place_order(shop)
    before = snapshot(number)
    response = api(user(shop.buyer_id)).post(f"/api/v1/orders/{number}/confirm")
    assert response.status_code == 409 and error_code(response) == "illegal_transition"
    assert snapshot(number) == before


def test_state_machine_through_the_api_processing_shipped_delivered(api, db, shop):
    number = place_order(shop)
    seller = api(user(shop.seller_id))
    buyer = api(user(shop.buyer_id))
    response = seller.post(f"/api/v1/seller/orders/{number}/advance",
                           json={"to": "processing"})
    assert response.status_code == 200
    body = response.get_json()
    assert set(body) == SELLER_FIELDS
    assert body["status"] == "processing" and body["next_status"] == "shipped"
    response = seller.post(f"/api/v1/seller/orders/{number}/advance",
                           json={"to": "shipped", "tracking_number": "JNE123"})
    assert response.get_json()["status"] == "shipped"
    assert response.get_json()["tracking_number"] == "JNE123"
    detail = buyer.get(f"/api/v1/orders/{number}").get_json()
    assert detail["can_confirm"] is True and detail["can_cancel"] is False
    response = buyer.post(f"/api/v1/orders/{number}/confirm")
    assert response.status_code == 200
    body = response.get_json()
    assert body["status"] == "delivered" and body["delivered_at"] is not None
    assert body["can_return"] is True and body["return_deadline"] is not None
    assert body["items"][0]["can_review"] is True
    steps = [(e["from_status"], e["to_status"], e["by"]) for e in body["history"]]
    assert steps[-3:] == [("pending", "processing", "seller"),
                          ("processing", "shipped", "seller"),
                          ("shipped", "delivered", "buyer")]
    assert all(body[key] for key in ("processing_at", "shipped_at", "delivered_at"))
    again = buyer.post(f"/api/v1/orders/{number}/confirm")
    assert again.status_code == 409 and error_code(again) == "illegal_transition"


# --- returns -------------------------------------------------------------------------------


@pytest.fixture
def delivered(db, shop) -> str:
    number = place_order(shop, quantity=2)
    move_to(number, "delivered")
    return number


def test_buyer_asks_for_a_return_of_a_delivered_order(api, db, shop, delivered):
    client = api(user(shop.buyer_id))
    response = client.post(f"/api/v1/orders/{delivered}/return",
                           json={"reason": "Botol pecah"})
    assert response.status_code == 201
    body = response.get_json()
    assert set(body) == {"id", "order_number", "status", "status_label", "reason",
                         "reject_reason", "refund_amount", "created_at", "decided_at"}
    assert body["status"] == "requested" and body["order_number"] == delivered
    detail = client.get(f"/api/v1/orders/{delivered}").get_json()
    assert detail["return_request"]["id"] == body["id"] and detail["can_return"] is False
    again = client.post(f"/api/v1/orders/{delivered}/return", json={"reason": "Lagi"})
    assert again.status_code == 409 and error_code(again) == "illegal_transition"


def test_return_of_an_undelivered_order_is_409_and_nothing_is_written(api, db, shop):
    number = place_order(shop)
    response = api(user(shop.buyer_id)).post(f"/api/v1/orders/{number}/return",
                                             json={"reason": "Rusak"})
    assert response.status_code == 409 and error_code(response) == "illegal_transition"
    assert _db.session.scalar(select(func.count(ReturnRequest.id))) == 0


def test_return_without_a_reason_is_422_naming_it(api, db, shop, delivered):
    response = api(user(shop.buyer_id)).post(f"/api/v1/orders/{delivered}/return",
                                             json={"reason": "   "})
    assert response.status_code == 422
    assert "reason" in response.get_json()["error"]["fields"]
    assert _db.session.scalar(select(func.count(ReturnRequest.id))) == 0


def _ask_return(api, shop, number) -> int:
    response = api(user(shop.buyer_id)).post(f"/api/v1/orders/{number}/return",
                                             json={"reason": "Botol pecah"})
    return response.get_json()["id"]


def test_seller_accepts_a_return_and_the_stock_goes_back(api, db, shop, delivered):
    return_id = _ask_return(api, shop, delivered)
    assert stock(shop) == 18
    client = api(user(shop.seller_id))
    response = client.post(f"/api/v1/seller/returns/{return_id}/accept")
    assert response.status_code == 200
    assert response.get_json()["status"] == "accepted"
    assert response.get_json()["refund_amount"] == get_order(delivered).total
    assert get_order(delivered).status == "returned"
    assert stock(shop) == 20
    again = client.post(f"/api/v1/seller/returns/{return_id}/accept")
    assert again.status_code == 409 and error_code(again) == "illegal_transition"


def test_seller_rejects_a_return_only_with_a_reason(api, db, shop, delivered):
    return_id = _ask_return(api, shop, delivered)
    client = api(user(shop.seller_id))
    response = client.post(f"/api/v1/seller/returns/{return_id}/reject", json={})
    assert response.status_code == 422 and "reason" in response.get_json()["error"]["fields"]
    response = client.post(f"/api/v1/seller/returns/{return_id}/reject",
                           json={"reason": "Segel sudah dibuka"})
    assert response.status_code == 200
    body = response.get_json()
    assert body["status"] == "rejected" and body["reject_reason"] == "Segel sudah dibuka"
    assert get_order(delivered).status == "delivered"


def test_another_store_cannot_decide_a_return(api, db, shop, delivered):
    return_id = _ask_return(api, shop, delivered)
    other = make_user(roles=("seller",))
    _db.session.commit()
    client = api(other)
    assert client.post(f"/api/v1/seller/returns/{return_id}/accept").status_code == 404
    assert client.post(f"/api/v1/seller/returns/{return_id}/reject",
                       json={"reason": "Tidak"}).status_code == 404
    _db.session.expire_all()
    assert _db.session.get(ReturnRequest, return_id).status == "requested"


# --- the seller ----------------------------------------------------------------------------


def test_seller_lists_the_stores_orders_with_status_filter(api, db, shop):
    place_order(shop)
    processing = place_order(shop)
    move_to(processing, "processing")
    other_shop = make_shop()
    place_order(other_shop)
    client = api(user(shop.seller_id))
    response = client.get("/api/v1/seller/orders?per_page=1")
    body = response.get_json()
    assert body["total"] == 2 and body["pages"] == 2
    assert set(body["items"][0]) == SELLER_SUMMARY_FIELDS
    assert body["items"][0]["buyer_name"] == "Budi Pembeli"
    assert 'rel="next"' in response.headers["Link"]
    body = client.get("/api/v1/seller/orders?status=processing").get_json()
    assert [o["number"] for o in body["items"]] == [processing]
    assert body["items"][0]["next_status"] == "shipped"


def test_seller_order_detail(api, db, shop):
    number = place_order(shop)
    response = api(user(shop.seller_id)).get(f"/api/v1/seller/orders/{number}")
    assert response.status_code == 200
    body = response.get_json()
    assert set(body) == SELLER_FIELDS
    assert body["next_status"] == "processing" and body["can_cancel"] is True
    assert body["can_decide_return"] is False


def test_seller_b_cannot_see_or_advance_seller_a_order(api, db, shop):
    number = place_order(shop)
    other = make_user(roles=("seller",))
    _db.session.commit()
    before = snapshot(number)
    client = api(other)
    assert client.get(f"/api/v1/seller/orders/{number}").status_code == 404
    response = client.post(f"/api/v1/seller/orders/{number}/advance",
                           json={"to": "processing"})
    assert response.status_code == 404 and error_code(response) == "not_found"
    assert client.post(f"/api/v1/seller/orders/{number}/cancel",
                       json={"reason": "x"}).status_code == 404
    assert snapshot(number) == before


@pytest.mark.parametrize(("method", "path"), [
    ("GET", "/api/v1/seller/orders"),
    ("GET", "/api/v1/seller/orders/RCK-1"),
    ("POST", "/api/v1/seller/orders/RCK-1/advance"),
    ("POST", "/api/v1/seller/orders/RCK-1/cancel"),
    ("POST", "/api/v1/seller/returns/1/accept"),
    ("POST", "/api/v1/seller/returns/1/reject"),
    ("GET", "/api/v1/seller/reviews"),
    ("POST", "/api/v1/seller/reviews/1/reply"),
])
def test_a_customer_cannot_call_seller_operations(api, db, method, path):
    buyer = make_user()
    response = api(buyer).open(path, method, json={} if method == "POST" else None)
    assert response.status_code == 403 and error_code(response) == "forbidden"


def test_a_seller_without_the_customer_role_cannot_call_buyer_operations(api, db, shop):
    number = place_order(shop)
    client = api(user(shop.seller_id))
    assert client.get("/api/v1/orders").status_code == 403
    assert client.post(f"/api/v1/orders/{number}/cancel", json={}).status_code == 403


def test_anonymous_gets_401(api, db):
    assert api().get("/api/v1/orders").status_code == 401
    assert api().get("/api/v1/seller/orders").status_code == 401


def test_advancing_twice_applies_once_and_the_second_is_409(api, db, shop):
    number = place_order(shop)
    client = api(user(shop.seller_id))
    url = f"/api/v1/seller/orders/{number}/advance"
    assert client.post(url, json={"to": "processing"}).status_code == 200
    before = snapshot(number)
    response = client.post(url, json={"to": "processing"})
    assert response.status_code == 409 and error_code(response) == "illegal_transition"
    assert snapshot(number) == before


def test_an_unpaid_order_cannot_be_processed(api, db, shop):
    number = place_order(shop, paid=False)
    before = snapshot(number)
    client = api(user(shop.seller_id))
    detail = client.get(f"/api/v1/seller/orders/{number}").get_json()
    assert detail["awaiting_payment"] is True and detail["next_status"] is None
    response = client.post(f"/api/v1/seller/orders/{number}/advance",
                           json={"to": "processing"})
    assert response.status_code == 409 and error_code(response) == "illegal_transition"
    assert "belum dibayar" in response.get_json()["error"]["message"]
    assert snapshot(number) == before


@pytest.mark.parametrize(("body", "field"), [
    ({"to": "delivered"}, "to"),
    ({}, "to"),
    ({"to": "shipped", "tracking_number": "R" * 61}, "tracking_number"),
    ({"to": "shipped", "extra": 1}, "extra"),
])
def test_advance_with_bad_input_is_422_naming_the_field(api, db, shop, body, field):
    number = place_order(shop)
    move_to(number, "processing")
    before = snapshot(number)
    response = api(user(shop.seller_id)).post(f"/api/v1/seller/orders/{number}/advance",
                                              json=body)
    assert response.status_code == 422 and error_code(response) == "validation_failed"
    assert field in response.get_json()["error"]["fields"]
    assert snapshot(number) == before


def test_seller_cancels_a_pending_order_only_with_a_reason(api, db, shop):
    number = place_order(shop, quantity=2)
    client = api(user(shop.seller_id))
    url = f"/api/v1/seller/orders/{number}/cancel"
    before = snapshot(number)
    response = client.post(url, json={"reason": " "})
    assert response.status_code == 422 and "reason" in response.get_json()["error"]["fields"]
    assert snapshot(number) == before
    response = client.post(url, json={"reason": "Stok habis", "from_status": "pending"})
    assert response.status_code == 200
    body = response.get_json()
    assert body["status"] == "cancelled" and body["history"][-1]["note"] == "Stok habis"
    assert stock(shop) == 20


def test_seller_cannot_cancel_a_shipped_order(api, db, shop):
    number = place_order(shop)
    move_to(number, "shipped")
    before = snapshot(number)
    response = api(user(shop.seller_id)).post(f"/api/v1/seller/orders/{number}/cancel",
                                              json={"reason": "Stok habis"})
    assert response.status_code == 409 and error_code(response) == "illegal_transition"
    assert snapshot(number) == before
