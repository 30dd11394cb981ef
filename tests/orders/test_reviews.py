"""Verified reviews: only the buyer of a DELIVERED order reviews, once per product; the
product's rating caches stay exact (also under concurrent reviews); the store replies once.

DELIVERED is reached by setting `order.status` / `order.delivered_at` directly in the
arrangement: the order lifecycle service is written in parallel (issue #4) and reviews only
depend on the resulting state, not on how the order got there.
"""

from __future__ import annotations

import threading
from decimal import Decimal

import pytest
from flask import g, render_template_string
from sqlalchemy import event, func, select

from app.catalog.models import Product
from app.core.clock import utcnow
from app.core.models import Notice
from app.extensions import db as _db
from app.orders.models import Order, OrderStatus, Review
from app.orders.reviews import (
    ReviewError,
    buyer_first_name,
    rating_average,
    review_create,
    unreplied_reviews_badge,
)
from tests.conftest import log_in
from tests.factories import make_order, make_product, make_user


def _deliver(order: Order) -> Order:
    # Set directly (see the module docstring): the lifecycle service is not ours to call.
    order.status = OrderStatus.DELIVERED
    order.delivered_at = utcnow()
    _db.session.flush()
    return order


@pytest.fixture
def shop(db):
    """A seller with one product, and a buyer whose order of it was delivered."""
    seller = make_user(roles=("seller",), name="Sari Penjual")
    product = make_product(store=seller.store, name="Serum Niacinamide")
    buyer = make_user(name="Budi Santoso Wijaya")
    order = _deliver(make_order(buyer=buyer, variant=product.variants[0]))
    arranged = {"seller": seller, "product": product, "buyer": buyer, "order": order,
                "item": order.items[0]}
    # Committed last: a lazy load after the commit would open a transaction here that holds
    # SQLite's write lock (BEGIN IMMEDIATE) while login_as writes from another session.
    db.session.commit()
    return arranged


def _url(order: Order, item=None) -> str:
    return f"/pesanan/{order.number}/ulasan/{(item or order.items[0]).id}"


def _count(db, model) -> int:
    return db.session.scalar(select(func.count(model.id)))


def _product(db, product_id: int) -> Product:
    db.session.expire_all()
    return db.session.get(Product, product_id)


# --- the buyer writes a review ------------------------------------------------------------


def test_buyer_of_delivered_order_reviews_item_and_caches_move(client, login_as, db, shop):
    login_as(shop["buyer"])
    page = client.get(_url(shop["order"]))
    assert page.status_code == 200
    assert 'name="rating"' in page.text and 'value="5"' in page.text

    response = client.post(_url(shop["order"]), data={"rating": "5",
                                                      "comment": "  Cepat meresap.  "})

    assert response.status_code == 303
    assert response.headers["Location"].endswith(f"/pesanan/{shop['order'].number}")
    review = db.session.scalars(select(Review)).one()
    assert (review.rating, review.comment) == (5, "Cepat meresap.")  # stripped
    assert (review.buyer_id, review.product_id, review.order_id, review.store_id) == (
        shop["buyer"].id, shop["product"].id, shop["order"].id, shop["seller"].store.id)
    product = _product(db, shop["product"].id)
    assert (product.rating_total, product.rating_count, product.rating_avg) == (
        5, 1, Decimal("5.00"))
    notice = db.session.scalars(select(Notice).where(
        Notice.user_id == shop["seller"].id, Notice.kind == "review_new")).one()
    assert "Serum Niacinamide" in notice.message and "Budi" in notice.message
    assert "Santoso" not in notice.message


def test_comment_is_optional(client, login_as, db, shop):
    login_as(shop["buyer"])
    assert client.post(_url(shop["order"]), data={"rating": "3"}).status_code == 303
    assert db.session.scalars(select(Review)).one().comment == ""


@pytest.mark.parametrize("status", [OrderStatus.PENDING, OrderStatus.PROCESSING,
                                    OrderStatus.SHIPPED, OrderStatus.CANCELLED,
                                    OrderStatus.RETURNED])
def test_order_not_delivered_cannot_be_reviewed(client, login_as, db, shop, status):
    order = db.session.get(Order, shop["order"].id)
    order.status = status
    db.session.commit()
    login_as(shop["buyer"])

    assert client.get(_url(order)).status_code == 409
    response = client.post(_url(order), data={"rating": "5", "comment": "Bagus"})

    assert response.status_code == 409
    assert _count(db, Review) == 0
    assert _product(db, shop["product"].id).rating_count == 0


def test_another_buyers_order_is_404(client, login_as, db, shop):
    url = _url(shop["order"])
    db.session.commit()
    login_as("customer")
    assert client.get(url).status_code == 404
    assert client.post(url, data={"rating": "5"}).status_code == 404
    assert _count(db, Review) == 0


def test_item_of_another_order_is_404(client, login_as, db, shop):
    other_product = make_product(store=shop["seller"].store, name="Toner")
    other = _deliver(make_order(buyer=shop["buyer"], variant=other_product.variants[0]))
    db.session.commit()
    login_as(shop["buyer"])
    # The item exists and is the buyer's, but not part of this order.
    assert client.get(_url(shop["order"], other.items[0])).status_code == 404
    assert client.post(_url(shop["order"], other.items[0]),
                       data={"rating": "5"}).status_code == 404


def test_seller_cannot_use_the_buyer_form(client, login_as, shop):
    login_as(shop["seller"])
    assert client.get(_url(shop["order"])).status_code == 403


def test_second_review_of_the_same_product_is_refused(client, login_as, db, shop):
    login_as(shop["buyer"])
    assert client.post(_url(shop["order"]), data={"rating": "5"}).status_code == 303
    # A later order of the same product, also delivered: still one review per product.
    later = _deliver(make_order(buyer=db.session.get(type(shop["buyer"]), shop["buyer"].id),
                                variant=shop["product"].variants[0]))
    db.session.commit()

    again = client.post(_url(shop["order"]), data={"rating": "1"})
    assert again.status_code == 409
    assert "sudah mengulas" in again.text
    assert client.get(_url(later)).status_code == 409
    assert client.post(_url(later), data={"rating": "1"}).status_code == 409

    assert _count(db, Review) == 1
    product = _product(db, shop["product"].id)
    assert (product.rating_total, product.rating_count) == (5, 1)


@pytest.mark.parametrize(("form", "field", "message"), [
    ({"rating": "6"}, "rating", "Pilih rating 1 sampai 5 bintang."),
    ({"rating": "0"}, "rating", "Pilih rating 1 sampai 5 bintang."),
    ({"rating": "-1"}, "rating", "Pilih rating 1 sampai 5 bintang."),
    ({"rating": "lima"}, "rating", "Pilih rating 1 sampai 5 bintang."),
    ({"rating": "4.5"}, "rating", "Pilih rating 1 sampai 5 bintang."),
    ({"comment": "Tanpa rating"}, "rating", "Pilih rating 1 sampai 5 bintang."),
    ({"rating": "4", "comment": "x" * 2001}, "comment", "Maksimal 2000 karakter."),
])
def test_bad_input_is_422_with_the_field_message_and_nothing_written(
        client, login_as, db, shop, form, field, message):
    login_as(shop["buyer"])
    response = client.post(_url(shop["order"]), data=form)

    assert response.status_code == 422
    assert f'id="{field}-errors"' in response.text and message in response.text
    if form.get("comment"):
        assert form["comment"] in response.text  # what was typed is kept
    assert _count(db, Review) == 0
    assert _count(db, Notice) == 1  # only the seller's new-order notice from checkout
    product = _product(db, shop["product"].id)
    assert (product.rating_total, product.rating_count) == (0, 0)


def test_comment_of_exactly_2000_characters_is_accepted(client, login_as, db, shop):
    login_as(shop["buyer"])
    response = client.post(_url(shop["order"]), data={"rating": "4", "comment": "y" * 2000})
    assert response.status_code == 303


def test_service_refuses_a_non_integer_rating(db, shop):
    for bad in ("5", 4.0, True, None):
        with pytest.raises(ReviewError) as error:
            review_create(buyer=shop["buyer"], order=shop["order"], item=shop["item"],
                          rating=bad, comment="")
        assert error.value.field == "rating" and error.value.status == 422


# --- the product's rating caches ----------------------------------------------------------


def test_rating_average_after_several_reviews(db, shop):
    product = shop["product"]
    for rating in (5, 4, 4):
        buyer = make_user()
        order = _deliver(make_order(buyer=buyer, variant=product.variants[0]))
        review_create(buyer=buyer, order=order, item=order.items[0], rating=rating,
                      comment="")
    db.session.commit()

    product = _product(db, product.id)
    assert (product.rating_total, product.rating_count, product.rating_avg) == (
        13, 3, Decimal("4.33"))


def test_rating_average_rounds_half_up():
    assert rating_average(9, 8) == Decimal("1.13")  # 1.125: half up, not to even
    assert rating_average(14, 3) == Decimal("4.67")
    assert rating_average(0, 0) == Decimal("0.00")


# --- product page and review pages --------------------------------------------------------


def _review_by(db, product, rating: int, comment: str, name: str = "Rina Kusuma") -> Review:
    buyer = make_user(name=name)
    order = _deliver(make_order(buyer=buyer, variant=product.variants[0]))
    return review_create(buyer=buyer, order=order, item=order.items[0], rating=rating,
                         comment=comment)


def test_product_page_shows_reviews_with_first_name_and_reply(client, db, shop):
    review = _review_by(db, shop["product"], 4, "Teksturnya ringan.")
    review.reply = "Terima kasih, Kak!"
    review.replied_at = utcnow()
    _review_by(db, shop["product"], 2, "Kurang cocok.", name="Tono Hartono")
    db.session.commit()

    page = client.get(f"/produk/{shop['product'].id}")

    assert page.status_code == 200
    text = page.text
    assert "Teksturnya ringan." in text and "Terima kasih, Kak!" in text
    assert "Rina" in text and "Kusuma" not in text  # first name only
    assert "Tono" in text and "Hartono" not in text
    assert text.index("Kurang cocok.") < text.index("Teksturnya ringan.")  # newest first
    assert "★ 3.00" in text
    assert text.count("<progress") == 5  # one bar per star


def test_product_reviews_are_paginated_by_ten(client, db, shop):
    for n in range(12):
        _review_by(db, shop["product"], 5, f"Ulasan nomor {n:02d}.")
    db.session.commit()
    url = f"/produk/{shop['product'].id}/ulasan"

    first = client.get(f"/produk/{shop['product'].id}")
    assert first.text.count('data-testid="review"') == 10
    assert f'{url}?hal=2' in first.text

    second = client.get(f"{url}?hal=2")
    assert second.status_code == 200 and "<html" in second.text  # full page without JS
    assert second.text.count('data-testid="review"') == 2
    assert "Ulasan nomor 00." in second.text and "Ulasan nomor 11." not in second.text

    fragment = client.get(f"{url}?hal=2", headers={"HX-Request": "true"})
    assert fragment.status_code == 200 and "<html" not in fragment.text
    assert fragment.text.count('data-testid="review"') == 2
    assert client.get(f"{url}?hal=abc").status_code == 200  # a bad page number: page 1


def test_reviews_of_an_archived_product_are_404(client, db, shop):
    db.session.get(Product, shop["product"].id).active = False
    db.session.commit()
    assert client.get(f"/produk/{shop['product'].id}/ulasan").status_code == 404
    assert client.get("/produk/999999/ulasan").status_code == 404


def test_review_cta_links_unreviewed_items_and_marks_reviewed_ones_in_one_query(app, db,
                                                                                shop):
    second = make_product(store=shop["seller"].store, name="Toner")
    buyer = shop["buyer"]
    order = _deliver(make_order(buyer=buyer, variant=second.variants[0]))
    review_create(buyer=buyer, order=shop["order"], item=shop["item"], rating=4, comment="")
    db.session.commit()
    # Both products in one order: the reviewed one shows its rating, the other a link.
    from app.orders.models import OrderItem

    extra = OrderItem(order_id=order.id, product_id=shop["product"].id,
                      variant_id=shop["product"].variants[0].id, product_name="Serum",
                      sku="X", unit_price=1, quantity=1, line_total=1)
    db.session.add(extra)
    db.session.commit()
    order = db.session.get(Order, order.id)
    items = list(order.items)
    statements: list[str] = []

    def count(conn, cursor, statement, *args):
        if "FROM reviews" in statement:
            statements.append(statement)

    template = ("{% for item in order.items %}[{% include 'orders/_review_cta.html' %}]"
                "{% endfor %}")
    with app.test_request_context():
        g._login_user = db.session.get(type(buyer), buyer.id)
        event.listen(db.engine, "before_cursor_execute", count)
        try:
            html = render_template_string(template, order=order)
        finally:
            event.remove(db.engine, "before_cursor_execute", count)

    assert len(statements) == 1
    assert f"/pesanan/{order.number}/ulasan/{items[0].id}" in html  # the Toner: not yet
    assert "Sudah diulas" in html and "★4" in html  # the serum, reviewed from another order
    assert f"/ulasan/{items[1].id}" not in html


# --- the seller's reviews and reply -------------------------------------------------------


def _reviewed(db, shop, comment: str = "Mantap.") -> Review:
    review = review_create(buyer=shop["buyer"], order=shop["order"], item=shop["item"],
                           rating=5, comment=comment)
    db.session.commit()
    return review


def test_seller_replies_once(client, login_as, db, shop):
    review = _reviewed(db, shop)
    login_as(shop["seller"])
    url = f"/seller/ulasan/{review.id}/balas"

    response = client.post(url, data={"reply": "  Terima kasih sudah belanja!  "})
    assert response.status_code == 303
    assert response.headers["Location"].endswith(f"/seller/ulasan#review-{review.id}")
    db.session.expire_all()
    review = db.session.get(Review, review.id)
    assert review.reply == "Terima kasih sudah belanja!" and review.replied_at is not None
    notice = db.session.scalars(select(Notice).where(
        Notice.user_id == shop["buyer"].id, Notice.kind == "review_reply")).one()
    assert shop["seller"].store.name in notice.message

    again = client.post(url, data={"reply": "Balasan kedua"})
    assert again.status_code == 409
    db.session.expire_all()
    assert db.session.get(Review, review.id).reply == "Terima kasih sudah belanja!"


@pytest.mark.parametrize(("reply", "message"), [
    ("", "Wajib diisi."), ("   ", "Wajib diisi."), ("z" * 2001, "Maksimal 2000 karakter.")])
def test_bad_reply_is_422_and_nothing_written(client, login_as, db, shop, reply, message):
    review = _reviewed(db, shop)
    login_as(shop["seller"])
    response = client.post(f"/seller/ulasan/{review.id}/balas", data={"reply": reply})
    assert response.status_code == 422 and message in response.text
    assert f'id="reply-{review.id}-errors"' in response.text
    db.session.expire_all()
    assert db.session.get(Review, review.id).replied_at is None


def test_reply_with_htmx_returns_the_review_fragment(client, login_as, db, shop):
    review = _reviewed(db, shop)
    login_as(shop["seller"])
    headers = {"HX-Request": "true"}
    url = f"/seller/ulasan/{review.id}/balas"

    bad = client.post(url, data={"reply": ""}, headers=headers)
    assert bad.status_code == 422 and "<html" not in bad.text
    assert f'id="review-{review.id}"' in bad.text

    good = client.post(url, data={"reply": "Siap, Kak."}, headers=headers)
    assert good.status_code == 200 and "<html" not in good.text
    assert f'id="review-{review.id}"' in good.text and "Siap, Kak." in good.text
    assert 'name="reply"' not in good.text  # the form is gone once replied


def test_another_stores_review_is_404_and_not_listed(client, login_as, db, shop):
    review = _reviewed(db, shop, comment="Hanya untuk toko Sari.")
    login_as("seller")
    response = client.post(f"/seller/ulasan/{review.id}/balas", data={"reply": "Halo"})
    assert response.status_code == 404
    page = client.get("/seller/ulasan")
    assert page.status_code == 200 and "Hanya untuk toko Sari." not in page.text
    db.session.expire_all()
    assert db.session.get(Review, review.id).replied_at is None


def test_seller_reviews_filter_unreplied_and_badge(client, login_as, db, shop):
    replied = _reviewed(db, shop, comment="Sudah dijawab.")
    replied.reply, replied.replied_at = "Makasih", utcnow()
    _review_by(db, shop["product"], 3, "Belum dijawab.")
    db.session.commit()
    assert unreplied_reviews_badge(shop["seller"]) == 1
    assert unreplied_reviews_badge(shop["buyer"]) == 0  # no store: no badge
    login_as(shop["seller"])

    everything = client.get("/seller/ulasan")
    assert "Sudah dijawab." in everything.text and "Belum dijawab." in everything.text
    assert 'data-testid="nav-orders.seller_reviews"' in everything.text
    unreplied = client.get("/seller/ulasan?belum=1")
    assert "Belum dijawab." in unreplied.text and "Sudah dijawab." not in unreplied.text


def test_first_name_only():
    assert buyer_first_name("  Budi Santoso ") == "Budi"
    assert buyer_first_name("") == ""


# --- concurrency --------------------------------------------------------------------------


def _post_at_once(make_client, jobs: list[tuple[str, str, dict]]) -> list[int]:
    """Each job (email, url, form) from its own browser, released together."""
    clients = [make_client() for _ in jobs]
    for client, (email, _, _) in zip(clients, jobs, strict=True):
        log_in(client, email)
    tokens = [client.csrf_token() for client in clients]
    barrier = threading.Barrier(len(jobs))
    statuses = [0] * len(jobs)

    def worker(index: int) -> None:
        _, url, form = jobs[index]
        barrier.wait()
        response = clients[index].open(url, method="POST", csrf=False,
                                       data={**form, "csrf_token": tokens[index]})
        statuses[index] = response.status_code

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(len(jobs))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    return statuses


def test_concurrent_reviews_of_one_product_are_all_counted(app, make_client, db):
    seller = make_user(roles=("seller",))
    product = make_product(store=seller.store)
    jobs = []
    for rating in (5, 2, 4, 4):
        buyer = make_user()
        order = _deliver(make_order(buyer=buyer, variant=product.variants[0]))
        jobs.append((buyer.email, _url(order), {"rating": str(rating)}))
    product_id = product.id
    db.session.commit()  # nothing of ours holds a lock while the requests run

    statuses = _post_at_once(make_client, jobs)

    assert statuses == [303] * len(jobs)
    product = _product(db, product_id)
    assert (product.rating_count, product.rating_total, product.rating_avg) == (
        4, 15, Decimal("3.75"))
    assert _count(db, Review) == 4


def test_double_submit_of_one_review_writes_it_once(app, make_client, db, shop):
    email, url = shop["buyer"].email, _url(shop["order"])
    product_id = shop["product"].id
    db.session.commit()

    statuses = _post_at_once(make_client, [(email, url, {"rating": "5"}),
                                           (email, url, {"rating": "1"})])

    assert sorted(statuses) == [303, 409]
    assert _count(db, Review) == 1
    product = _product(db, product_id)
    assert product.rating_count == 1
    assert product.rating_total == db.session.scalars(select(Review.rating)).one()
