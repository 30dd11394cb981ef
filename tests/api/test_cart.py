"""The cart through the API: grouped per store, adding (201 / 200), capping to the stock,
flagged lines, quantity changes, removal, roles and ownership."""

from __future__ import annotations

from sqlalchemy import select

from app.catalog.services import product_archive
from app.catalog.stock import stock_set
from app.orders.models import CartItem
from tests.api.conftest import error_code
from tests.factories import make_product, make_user

LINE_FIELDS = {"id", "variant_id", "product_id", "product_name", "options", "options_label",
               "sku", "unit_price", "quantity", "line_total", "stock", "withdrawn",
               "problem"}


def _shop(db, *, shipping: int = 0, **kwargs):
    seller = make_user(roles=("seller",))
    seller.store.shipping_cost = shipping
    product = make_product(store=seller.store, **kwargs)
    db.session.commit()
    return seller, product


def _buyer(db):
    buyer = make_user()
    db.session.commit()
    return buyer


def _lines(db, user_id: int) -> list[CartItem]:
    return list(db.session.scalars(select(CartItem).where(CartItem.user_id == user_id)
                                   .order_by(CartItem.id)))


def test_cart_groups_lines_per_store_with_subtotals_shipping_and_totals(db, api):
    seller_a, serum = _shop(db, shipping=10_000, name="Serum", price=50_000,
                            options={"Ukuran": ["30 ml", "50 ml"]})
    seller_b, toner = _shop(db, shipping=0, name="Toner", price=20_000)
    buyer = _buyer(db)
    client = api(buyer)
    for variant_id, quantity in ((serum.variants[0].id, 2), (toner.variants[0].id, 1),
                                 (serum.variants[1].id, 1)):
        assert client.post("/api/v1/cart/items", json={
            "variant_id": variant_id, "quantity": quantity}).status_code == 201

    response = client.get("/api/v1/cart")
    assert response.status_code == 200
    cart = response.get_json()
    assert set(cart) == {"stores", "line_count", "units", "subtotal", "shipping_total",
                         "total", "blocked"}
    assert [group["store"]["id"] for group in cart["stores"]] == [seller_a.store.id,
                                                                   seller_b.store.id]
    first, second = cart["stores"]
    assert set(first) == {"store", "lines", "units", "subtotal", "shipping_cost", "total"}
    assert first["store"] == {"id": seller_a.store.id, "name": seller_a.store.name,
                              "slug": seller_a.store.slug}
    assert [line["quantity"] for line in first["lines"]] == [2, 1]
    line = first["lines"][0]
    assert set(line) == LINE_FIELDS
    assert line["variant_id"] == serum.variants[0].id and line["product_id"] == serum.id
    assert line["options"] == {"Ukuran": "30 ml"} and line["unit_price"] == 50_000
    assert line["line_total"] == 100_000 and line["problem"] is None
    assert first["subtotal"] == 150_000 and first["shipping_cost"] == 10_000
    assert first["total"] == 160_000 and first["units"] == 3
    assert second["subtotal"] == 20_000 and second["shipping_cost"] == 0
    assert cart["subtotal"] == 170_000 and cart["shipping_total"] == 10_000
    assert cart["total"] == 180_000 and cart["units"] == 4 and cart["line_count"] == 3
    assert cart["blocked"] is False


def test_cart_get_carries_an_etag_and_answers_304_when_unchanged(db, api):
    client = api(_buyer(db))
    first = client.get("/api/v1/cart")
    assert first.status_code == 200 and first.get_json()["stores"] == []
    again = client.get("/api/v1/cart", headers={"If-None-Match": first.headers["ETag"]})
    assert again.status_code == 304


def test_adding_the_same_variant_again_adds_to_its_line_and_answers_200(db, api):
    _, product = _shop(db, stock=10)
    buyer = _buyer(db)
    client = api(buyer)
    body = {"variant_id": product.variants[0].id, "quantity": 2}
    created = client.post("/api/v1/cart/items", json=body)
    assert created.status_code == 201
    added = client.post("/api/v1/cart/items", json=body)
    assert added.status_code == 200
    change = added.get_json()
    assert set(change) == {"item", "capped", "notice", "cart"}
    assert change["item"]["quantity"] == 4 and change["capped"] is False
    assert change["notice"] is None and change["cart"]["line_count"] == 1
    [line] = _lines(db, buyer.id)
    assert line.quantity == 4 and change["item"]["id"] == line.id


def test_quantity_above_the_stock_is_capped_and_reported_like_the_web(db, api):
    _, product = _shop(db, stock=3)
    buyer = _buyer(db)
    response = api(buyer).post("/api/v1/cart/items", json={
        "variant_id": product.variants[0].id, "quantity": 5})
    assert response.status_code == 201
    change = response.get_json()
    assert change["capped"] is True and change["item"]["quantity"] == 3
    assert "Stok tersedia hanya 3" in change["notice"]
    assert _lines(db, buyer.id)[0].quantity == 3


def test_adding_a_sold_out_variant_is_a_409_out_of_stock(db, api):
    _, product = _shop(db, stock=0)
    buyer = _buyer(db)
    response = api(buyer).post("/api/v1/cart/items", json={
        "variant_id": product.variants[0].id, "quantity": 1})
    assert response.status_code == 409 and error_code(response) == "out_of_stock"
    assert _lines(db, buyer.id) == []


def test_adding_an_unknown_or_archived_product_is_a_422_naming_variant_id(db, api):
    seller, product = _shop(db)
    product_archive(product=product, actor=seller)
    db.session.commit()
    buyer = _buyer(db)
    client = api(buyer)
    for variant_id in (product.variants[0].id, 2**31 - 1):
        response = client.post("/api/v1/cart/items", json={"variant_id": variant_id})
        assert response.status_code == 422 and error_code(response) == "unavailable"
        assert set(response.get_json()["error"]["fields"]) == {"variant_id"}
    assert _lines(db, buyer.id) == []


def test_a_seller_who_buys_cannot_add_their_own_product(db, api):
    seller = make_user(roles=("seller", "customer"))
    product = make_product(store=seller.store)
    db.session.commit()
    response = api(seller).post("/api/v1/cart/items", json={
        "variant_id": product.variants[0].id})
    assert response.status_code == 422 and error_code(response) == "own_product"


def test_bad_cart_input_is_a_422_naming_the_field_and_writes_nothing(db, api):
    _, product = _shop(db)
    buyer = _buyer(db)
    client = api(buyer)
    variant_id = product.variants[0].id
    for body, field in (({"variant_id": variant_id, "quantity": 0}, "quantity"),
                        ({"variant_id": variant_id, "quantity": 10**30}, "quantity"),
                        ({"variant_id": variant_id, "quantity": 1000}, "quantity"),
                        ({"quantity": 1}, "variant_id"),
                        ({"variant_id": "x"}, "variant_id"),
                        ({"variant_id": variant_id, "extra": 1}, "extra")):
        response = client.post("/api/v1/cart/items", json=body)
        assert response.status_code == 422, body
        assert field in response.get_json()["error"]["fields"], body
    assert _lines(db, buyer.id) == []


def test_patch_sets_the_quantity_capped_to_the_stock(db, api):
    _, product = _shop(db, stock=4)
    buyer = _buyer(db)
    client = api(buyer)
    item_id = client.post("/api/v1/cart/items", json={
        "variant_id": product.variants[0].id}).get_json()["item"]["id"]
    response = client.patch(f"/api/v1/cart/items/{item_id}", json={"quantity": 3})
    assert response.status_code == 200
    assert response.get_json()["item"]["quantity"] == 3
    assert response.get_json()["capped"] is False
    capped = client.patch(f"/api/v1/cart/items/{item_id}", json={"quantity": 9})
    assert capped.status_code == 200 and capped.get_json()["item"]["quantity"] == 4
    assert capped.get_json()["capped"] is True
    too_many = client.patch(f"/api/v1/cart/items/{item_id}", json={"quantity": 1000})
    assert too_many.status_code == 422 and error_code(too_many) == "quantity_invalid"
    assert set(too_many.get_json()["error"]["fields"]) == {"quantity"}
    assert _lines(db, buyer.id)[0].quantity == 4


def test_a_withdrawn_line_is_flagged_and_its_quantity_cannot_change(db, api):
    seller, product = _shop(db, stock=5)
    buyer = _buyer(db)
    client = api(buyer)
    item_id = client.post("/api/v1/cart/items", json={
        "variant_id": product.variants[0].id}).get_json()["item"]["id"]
    product_archive(product=product, actor=seller)
    db.session.commit()
    cart = client.get("/api/v1/cart").get_json()
    line = cart["stores"][0]["lines"][0]
    assert line["withdrawn"] is True and "tidak dijual lagi" in line["problem"]
    assert cart["blocked"] is True
    response = client.patch(f"/api/v1/cart/items/{item_id}", json={"quantity": 2})
    assert response.status_code == 409 and error_code(response) == "withdrawn"


def test_a_line_short_of_stock_since_it_was_added_is_flagged(db, api):
    seller, product = _shop(db, stock=5)
    buyer = _buyer(db)
    client = api(buyer)
    client.post("/api/v1/cart/items", json={"variant_id": product.variants[0].id,
                                            "quantity": 4})
    stock_set(variant=product.variants[0], new_stock=2, actor=seller)
    db.session.commit()
    line = client.get("/api/v1/cart").get_json()["stores"][0]["lines"][0]
    assert line["stock"] == 2 and "Stok tinggal 2" in line["problem"]


def test_delete_removes_the_line(db, api):
    _, product = _shop(db)
    buyer = _buyer(db)
    client = api(buyer)
    item_id = client.post("/api/v1/cart/items", json={
        "variant_id": product.variants[0].id}).get_json()["item"]["id"]
    response = client.delete(f"/api/v1/cart/items/{item_id}")
    assert response.status_code == 204 and response.data == b""
    assert _lines(db, buyer.id) == []
    assert client.delete(f"/api/v1/cart/items/{item_id}").status_code == 404


def test_buyer_cannot_change_or_remove_another_buyers_cart_line(db, api):
    _, product = _shop(db)
    owner, other = _buyer(db), _buyer(db)
    item_id = api(owner).post("/api/v1/cart/items", json={
        "variant_id": product.variants[0].id, "quantity": 2}).get_json()["item"]["id"]
    intruder = api(other)
    patched = intruder.patch(f"/api/v1/cart/items/{item_id}", json={"quantity": 1})
    assert patched.status_code == 404 and error_code(patched) == "not_found"
    deleted = intruder.delete(f"/api/v1/cart/items/{item_id}")
    assert deleted.status_code == 404
    assert [line.quantity for line in _lines(db, owner.id)] == [2]
    assert intruder.get("/api/v1/cart").get_json()["stores"] == []


def test_a_seller_without_the_customer_role_has_no_cart(db, api):
    seller, product = _shop(db)
    client = api(seller)
    assert client.get("/api/v1/cart").status_code == 403
    response = client.post("/api/v1/cart/items", json={"variant_id": product.variants[0].id})
    assert response.status_code == 403 and error_code(response) == "forbidden"
    assert api().get("/api/v1/cart").status_code == 401
