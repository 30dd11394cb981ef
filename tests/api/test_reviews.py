"""The reviews API: a product's public reviews, the verified buyer's review after delivery
(once per product), the store's reviews and its one reply. The rules are
app/orders/reviews.py's; these tests prove the API reaches them with the right owner, role
and error format."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from app.accounts.models import User
from app.catalog.models import Product
from app.catalog.services import product_archive
from app.extensions import db as _db
from app.orders.models import Review
from tests.api.conftest import error_code
from tests.factories import make_user
from tests.orders.lifecycle_helpers import get_order, make_shop, move_to, place_order

PUBLIC_FIELDS = {"id", "rating", "comment", "buyer_first_name", "created_at", "reply",
                 "replied_at"}
REVIEW_FIELDS = PUBLIC_FIELDS | {"product_id", "product_name", "order_number"}


@pytest.fixture
def shop(db):
    return make_shop()


def user(user_id: int) -> User:
    return _db.session.get(User, user_id)


def reviews_count() -> int:
    return _db.session.scalar(select(func.count(Review.id)))


def delivered_item(shop, buyer_id: int | None = None) -> tuple[str, int]:
    number = place_order(shop, buyer_id=buyer_id)
    move_to(number, "delivered")
    return number, get_order(number).items[0].id


def review_url(number: str, item_id: int) -> str:
    return f"/api/v1/orders/{number}/items/{item_id}/review"


# --- writing a review ----------------------------------------------------------------------


def test_buyer_reviews_an_item_of_a_delivered_order(api, db, shop):
    number, item_id = delivered_item(shop)
    client = api(user(shop.buyer_id))
    response = client.post(review_url(number, item_id),
                           json={"rating": 4, "comment": "  Wangi, cepat meresap. "})
    assert response.status_code == 201
    body = response.get_json()
    assert set(body) == REVIEW_FIELDS
    assert body["rating"] == 4 and body["comment"] == "Wangi, cepat meresap."
    assert body["product_id"] == shop.product_id and body["order_number"] == number
    assert body["buyer_first_name"] == "Budi" and body["reply"] == ""
    _db.session.expire_all()
    product = _db.session.get(Product, shop.product_id)
    assert (product.rating_count, product.rating_total) == (1, 4)
    item = client.get(f"/api/v1/orders/{number}").get_json()["items"][0]
    assert item["reviewed"] is True and item["can_review"] is False


def test_reviewing_before_delivery_is_refused_and_nothing_is_written(api, db, shop):
    number = place_order(shop)
    move_to(number, "shipped")
    item_id = get_order(number).items[0].id
    response = api(user(shop.buyer_id)).post(review_url(number, item_id), json={"rating": 5})
    assert response.status_code == 409 and error_code(response) == "review_not_allowed"
    assert "setelah pesanan diterima" in response.get_json()["error"]["message"]
    assert reviews_count() == 0
    _db.session.expire_all()
    assert _db.session.get(Product, shop.product_id).rating_count == 0


def test_a_second_review_of_the_same_product_is_refused(api, db, shop):
    first, first_item = delivered_item(shop)
    second, second_item = delivered_item(shop)
    client = api(user(shop.buyer_id))
    assert client.post(review_url(first, first_item), json={"rating": 5}).status_code == 201
    response = client.post(review_url(second, second_item), json={"rating": 1})
    assert response.status_code == 409 and error_code(response) == "review_not_allowed"
    assert "sudah mengulas" in response.get_json()["error"]["message"]
    assert reviews_count() == 1


@pytest.mark.parametrize(("body", "field"), [
    ({"rating": 6}, "rating"),
    ({"rating": 0}, "rating"),
    ({}, "rating"),
    ({"rating": 5, "comment": "x" * 2001}, "comment"),
    ({"rating": 5, "photo": "x"}, "photo"),
])
def test_review_with_bad_input_is_422_naming_the_field(api, db, shop, body, field):
    number, item_id = delivered_item(shop)
    response = api(user(shop.buyer_id)).post(review_url(number, item_id), json=body)
    assert response.status_code == 422 and error_code(response) == "validation_failed"
    assert field in response.get_json()["error"]["fields"]
    assert reviews_count() == 0


def test_buyer_cannot_review_another_buyers_order(api, db, shop):
    number, item_id = delivered_item(shop)
    other = make_user()
    _db.session.commit()
    response = api(other).post(review_url(number, item_id), json={"rating": 5})
    assert response.status_code == 404 and error_code(response) == "not_found"
    assert reviews_count() == 0


def test_an_item_of_another_order_is_404(api, db, shop):
    number, _ = delivered_item(shop)
    _, other_item = delivered_item(shop)
    response = api(user(shop.buyer_id)).post(review_url(number, other_item),
                                             json={"rating": 5})
    assert response.status_code == 404
    assert reviews_count() == 0


def test_a_seller_without_the_customer_role_cannot_review(api, db, shop):
    number, item_id = delivered_item(shop)
    response = api(user(shop.seller_id)).post(review_url(number, item_id), json={"rating": 5})
    assert response.status_code == 403


# --- a product's reviews -------------------------------------------------------------------


def _review(api, shop, rating: int, name: str) -> None:
    buyer = make_user(name=name)
    _db.session.commit()
    number, item_id = delivered_item(shop, buyer_id=buyer.id)
    response = api(buyer).post(review_url(number, item_id),
                               json={"rating": rating, "comment": "Ulasan"})
    assert response.status_code == 201


def test_anyone_reads_a_products_reviews_with_the_first_name_only(api, db, shop):
    for rating, name in ((5, "Sari Wulandari"), (3, "Agus Salim"), (4, "Rina Putri")):
        _review(api, shop, rating, name)
    response = api().get(f"/api/v1/products/{shop.product_id}/reviews?per_page=2")
    assert response.status_code == 200
    body = response.get_json()
    assert body["total"] == 3 and body["pages"] == 2
    assert set(body["items"][0]) == PUBLIC_FIELDS
    assert [r["buyer_first_name"] for r in body["items"]] == ["Rina", "Agus"]
    assert 'rel="next"' in response.headers["Link"]
    second = api().get(f"/api/v1/products/{shop.product_id}/reviews?page=2&per_page=2")
    assert [r["buyer_first_name"] for r in second.get_json()["items"]] == ["Sari"]
    assert "Wulandari" not in second.get_data(as_text=True)


def test_reviews_of_an_unknown_product_are_404(api, db):
    response = api().get("/api/v1/products/999999/reviews")
    assert response.status_code == 404 and error_code(response) == "not_found"


def test_reviews_of_an_archived_product_only_for_its_seller(api, db, shop):
    seller = user(shop.seller_id)
    product_archive(product=_db.session.get(Product, shop.product_id), actor=seller)
    _db.session.commit()
    url = f"/api/v1/products/{shop.product_id}/reviews"
    assert api().get(url).status_code == 404
    assert api(user(shop.buyer_id)).get(url).status_code == 404
    assert api(seller).get(url).status_code == 200


# --- the seller's reviews and reply --------------------------------------------------------


def _one_review(api, shop) -> int:
    number, item_id = delivered_item(shop)
    response = api(user(shop.buyer_id)).post(review_url(number, item_id),
                                             json={"rating": 5, "comment": "Mantap"})
    return response.get_json()["id"]


def test_seller_lists_the_stores_reviews_and_filters_unreplied(api, db, shop):
    review_id = _one_review(api, shop)
    client = api(user(shop.seller_id))
    body = client.get("/api/v1/seller/reviews").get_json()
    assert [r["id"] for r in body["items"]] == [review_id]
    assert set(body["items"][0]) == REVIEW_FIELDS
    client.post(f"/api/v1/seller/reviews/{review_id}/reply", json={"reply": "Terima kasih"})
    assert client.get("/api/v1/seller/reviews?unreplied=true").get_json()["total"] == 0
    assert client.get("/api/v1/seller/reviews").get_json()["total"] == 1


def test_seller_replies_to_a_review_once(api, db, shop):
    review_id = _one_review(api, shop)
    client = api(user(shop.seller_id))
    url = f"/api/v1/seller/reviews/{review_id}/reply"
    response = client.post(url, json={"reply": "Terima kasih, Kak!"})
    assert response.status_code == 200
    body = response.get_json()
    assert set(body) == REVIEW_FIELDS
    assert body["reply"] == "Terima kasih, Kak!" and body["replied_at"] is not None
    again = client.post(url, json={"reply": "Lagi"})
    assert again.status_code == 409 and error_code(again) == "already_replied"
    _db.session.expire_all()
    assert _db.session.get(Review, review_id).reply == "Terima kasih, Kak!"
    public = api().get(f"/api/v1/products/{shop.product_id}/reviews").get_json()
    assert public["items"][0]["reply"] == "Terima kasih, Kak!"


def test_an_empty_reply_is_422_and_nothing_is_written(api, db, shop):
    review_id = _one_review(api, shop)
    response = api(user(shop.seller_id)).post(f"/api/v1/seller/reviews/{review_id}/reply",
                                              json={"reply": "   "})
    assert response.status_code == 422 and "reply" in response.get_json()["error"]["fields"]
    _db.session.expire_all()
    assert _db.session.get(Review, review_id).replied_at is None


def test_another_store_cannot_reply_to_a_review(api, db, shop):
    review_id = _one_review(api, shop)
    other = make_user(roles=("seller",))
    _db.session.commit()
    response = api(other).post(f"/api/v1/seller/reviews/{review_id}/reply",
                               json={"reply": "Halo"})
    assert response.status_code == 404 and error_code(response) == "not_found"
    _db.session.expire_all()
    assert _db.session.get(Review, review_id).replied_at is None
    assert api(other).get("/api/v1/seller/reviews").get_json()["total"] == 0
