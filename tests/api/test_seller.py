"""The seller's products API: own store only, the catalog services' rules, stock through the
ledger with the inventory page's optimistic check."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from app.catalog.models import Product, Variant
from app.catalog.services import product_archive
from app.inventory.models import StockMovement, StockReason
from tests.api.conftest import error_code
from tests.factories import make_category, make_product, make_user


@pytest.fixture
def shop(db):
    """Seller A with a product of two variants, seller B with one, a customer."""
    category = make_category()
    seller_a = make_user(roles=("seller",), store_name="Toko A")
    seller_b = make_user(roles=("seller",), store_name="Toko B")
    customer = make_user()
    product = make_product(store=seller_a.store, name="Serum", price=100_000, stock=7,
                           category=category, options={"Ukuran": ["30 ml", "50 ml"]})
    other = make_product(store=seller_b.store, name="Serum B", category=category)
    db.session.commit()
    return {"a": seller_a, "b": seller_b, "customer": customer, "product": product,
            "other": other, "category": category}


def _count(db, model) -> int:
    return db.session.scalar(select(func.count()).select_from(model))


def _movements(db, variant_id: int) -> list[StockMovement]:
    return list(db.session.scalars(select(StockMovement).where(
        StockMovement.variant_id == variant_id).order_by(StockMovement.id)))


# --- roles and ownership -------------------------------------------------------------------


@pytest.mark.parametrize("method, path", [
    ("GET", "/api/v1/seller/products"),
    ("POST", "/api/v1/seller/products"),
    ("GET", "/api/v1/seller/products/{id}"),
    ("PATCH", "/api/v1/seller/products/{id}"),
    ("POST", "/api/v1/seller/products/{id}/archive"),
    ("POST", "/api/v1/seller/products/{id}/restore"),
    ("PUT", "/api/v1/seller/products/{id}/variants"),
    ("PUT", "/api/v1/seller/variants/{variant}/stock"),
])
def test_customer_is_refused_every_seller_operation(api, shop, method, path):
    url = path.format(id=shop["product"].id, variant=shop["product"].variants[0].id)
    response = api(shop["customer"]).open(url, method, json={"stock": 1})
    assert response.status_code == 403 and error_code(response) == "forbidden"
    assert api().open(url, method, json={"stock": 1}).status_code == 401


def test_seller_cannot_read_or_change_another_stores_product(api, db, shop):
    product = shop["product"]
    variant = product.variants[0]
    client = api(shop["b"])
    for method, url, body in [
        ("GET", f"/api/v1/seller/products/{product.id}", None),
        ("PATCH", f"/api/v1/seller/products/{product.id}", {"name": "Dicuri"}),
        ("POST", f"/api/v1/seller/products/{product.id}/archive", None),
        ("POST", f"/api/v1/seller/products/{product.id}/restore", None),
        ("PUT", f"/api/v1/seller/products/{product.id}/variants",
         {"variants": [{"id": variant.id, "price": 1}]}),
        ("PUT", f"/api/v1/seller/variants/{variant.id}/stock", {"stock": 0}),
    ]:
        response = client.open(url, method, json=body)
        assert response.status_code == 404, (method, url)
        assert error_code(response) == "not_found"
    db.session.expire_all()
    assert product.name == "Serum" and product.active
    assert variant.price == 100_000 and variant.stock == 7


def test_seller_cannot_put_another_stores_variant_into_own_products_change(api, db, shop):
    product, foreign = shop["product"], shop["other"].variants[0]
    response = api(shop["a"]).put(f"/api/v1/seller/products/{product.id}/variants",
                                  json={"variants": [{"id": foreign.id, "price": 1}]})
    assert response.status_code == 422
    assert set(response.get_json()["error"]["fields"]) == {"variants.0.id"}
    db.session.expire_all()
    assert foreign.price == 150_000


def test_seller_without_a_store_is_refused_like_the_web(api, db):
    seller = make_user(roles=("seller",))
    db.session.delete(seller.store)
    db.session.commit()
    response = api(seller).get("/api/v1/seller/products")
    assert response.status_code == 403 and error_code(response) == "forbidden"


# --- list and read -------------------------------------------------------------------------


def test_seller_lists_own_products_active_or_archived(api, db, shop):
    archived = make_product(store=shop["a"].store, name="Lama", category=shop["category"])
    product_archive(product=archived, actor=shop["a"])
    db.session.commit()
    client = api(shop["a"])
    active = client.get("/api/v1/seller/products").get_json()
    assert [item["id"] for item in active["items"]] == [shop["product"].id]
    item = active["items"][0]
    assert item == {"id": shop["product"].id, "name": "Serum", "active": True,
                    "price_min": 100_000, "price_max": 100_000, "stock_total": 14,
                    "sold_count": 0, "variant_count": 2, "cover_url": None,
                    "created_at": item["created_at"], "updated_at": item["updated_at"]}
    gone = client.get("/api/v1/seller/products", query_string={"archived": "true"})
    assert [item["id"] for item in gone.get_json()["items"]] == [archived.id]


def test_seller_product_list_pages_with_link_header(api, db, shop):
    for number in range(4):
        make_product(store=shop["a"].store, name=f"Produk {number}", category=shop["category"])
    db.session.commit()
    response = api(shop["a"]).get("/api/v1/seller/products",
                                  query_string={"per_page": 2, "page": 3})
    body = response.get_json()
    assert (body["total"], body["pages"], len(body["items"])) == (5, 3, 1)
    assert body["items"][0]["id"] == shop["product"].id  # the oldest, last
    assert 'rel="prev"' in response.headers["Link"]
    assert 'rel="next"' not in response.headers["Link"]
    assert response.headers["X-Total-Count"] == "5"


def test_seller_reads_own_product_with_every_variant(api, shop):
    product = shop["product"]
    body = api(shop["a"]).get(f"/api/v1/seller/products/{product.id}").get_json()
    small, large = product.variants
    assert body["price"] == 100_000 and body["active"] is True
    assert body["variants"] == [
        {"id": small.id, "product_id": product.id, "sku": small.sku,
         "options": {"Ukuran": "30 ml"}, "label": "Ukuran: 30 ml", "price": 100_000,
         "stock": 7, "availability": "low", "active": True, "weight_grams": 250},
        {"id": large.id, "product_id": product.id, "sku": large.sku,
         "options": {"Ukuran": "50 ml"}, "label": "Ukuran: 50 ml", "price": 100_000,
         "stock": 7, "availability": "low", "active": True, "weight_grams": 250},
    ]


def test_seller_product_get_answers_304_for_its_etag(api, shop):
    client = api(shop["a"])
    url = f"/api/v1/seller/products/{shop['product'].id}"
    etag = client.get(url).headers["ETag"]
    assert client.get(url, headers={"If-None-Match": etag}).status_code == 304


# --- create --------------------------------------------------------------------------------


def test_seller_creates_a_product_with_option_variants_and_initial_stock(api, db, shop):
    body = {"name": "Toner Mawar", "description": "Segar", "category_id": shop["category"].id,
            "price": 45_000, "specifications": [{"label": "Isi", "value": "100 ml"}],
            "option_groups": [{"name": "Aroma", "values": ["Mawar", "Melati"]}],
            "initial_stock": 12}
    response = api(shop["a"]).post("/api/v1/seller/products", json=body)
    assert response.status_code == 201, response.get_json()
    created = response.get_json()
    assert response.headers["Location"].endswith(f"/api/v1/seller/products/{created['id']}")
    assert (created["name"], created["description"], created["price"]) == (
        "Toner Mawar", "Segar", 45_000)
    assert created["store"]["id"] == shop["a"].store.id
    assert created["specifications"] == [{"label": "Isi", "value": "100 ml"}]
    assert [(v["options"], v["stock"], v["price"]) for v in created["variants"]] == [
        ({"Aroma": "Mawar"}, 12, 45_000), ({"Aroma": "Melati"}, 12, 45_000)]
    assert created["stock_total"] == 24
    for variant in created["variants"]:
        [movement] = _movements(db, variant["id"])
        assert (movement.delta, movement.reason) == (12, StockReason.RESTOCK)


def test_product_create_repeated_with_its_idempotency_key_creates_one_product(api, db, shop):
    client = api(shop["a"])
    body = {"name": "Sabun", "category_id": shop["category"].id, "price": 20_000}
    first = client.post("/api/v1/seller/products", json=body,
                        headers={"Idempotency-Key": "produk-1"})
    again = client.post("/api/v1/seller/products", json=body,
                        headers={"Idempotency-Key": "produk-1"})
    assert (first.status_code, again.status_code) == (201, 201)
    assert again.headers["Idempotent-Replayed"] == "true"
    assert again.get_json()["id"] == first.get_json()["id"]
    assert db.session.scalar(select(func.count()).select_from(Product).where(
        Product.name == "Sabun")) == 1


def test_seller_creates_a_single_variant_product_with_its_sku(api, shop):
    response = api(shop["a"]).post("/api/v1/seller/products", json={
        "name": "Sabun", "category_id": shop["category"].id, "price": 20_000,
        "sku": "SABUN-1"})
    assert response.status_code == 201
    [variant] = response.get_json()["variants"]
    assert (variant["sku"], variant["options"], variant["stock"]) == ("SABUN-1", {}, 0)


@pytest.mark.parametrize("change, field", [
    ({"category_id": 999_999}, "category_id"),
    ({"price": 0}, "price"),
    ({"name": ""}, "name"),
    ({"name": None}, "name"),
    ({"option_groups": [{"name": "Warna", "values": ["Merah", "merah"]}]}, "option_groups"),
    ({"option_groups": [{"name": "A", "values": [str(n) for n in range(11)]},
                        {"name": "B", "values": [str(n) for n in range(10)]}]},
     "option_groups"),
    ({"sku": "bukan sku!"}, "sku"),
    ({"initial_stock": -1}, "initial_stock"),
    ({"colour": "red"}, "colour"),
])
def test_invalid_product_is_refused_naming_the_field_and_nothing_is_written(
        api, db, shop, change, field):
    before = (_count(db, Product), _count(db, Variant), _count(db, StockMovement))
    body = {"name": "Produk", "category_id": shop["category"].id, "price": 10_000,
            "initial_stock": 3, **change}
    response = api(shop["a"]).post("/api/v1/seller/products", json=body)
    assert response.status_code == 422, response.get_json()
    assert error_code(response) == "validation_failed"
    assert field in response.get_json()["error"]["fields"]
    assert (_count(db, Product), _count(db, Variant), _count(db, StockMovement)) == before


def test_product_sku_taken_in_own_store_is_refused(api, shop):
    taken = shop["product"].variants[0].sku
    response = api(shop["a"]).post("/api/v1/seller/products", json={
        "name": "Lain", "category_id": shop["category"].id, "price": 10_000, "sku": taken})
    assert response.status_code == 422
    assert "sudah dipakai" in response.get_json()["error"]["fields"]["sku"]


# --- update, archive, restore --------------------------------------------------------------


def test_seller_patch_changes_only_the_given_fields(api, db, shop):
    product = shop["product"]
    response = api(shop["a"]).patch(f"/api/v1/seller/products/{product.id}",
                                    json={"name": "Serum Baru"})
    assert response.status_code == 200, response.get_json()
    body = response.get_json()
    assert body["name"] == "Serum Baru"
    assert body["option_groups"] == [{"name": "Ukuran", "values": ["30 ml", "50 ml"]}]
    assert [v["stock"] for v in body["variants"]] == [7, 7]
    db.session.expire_all()
    assert product.name == "Serum Baru" and product.search_name == "serum baru"


def test_removing_an_option_keeps_its_variant_inactive_with_stock_written_off(api, db, shop):
    product = shop["product"]
    small, large = product.variants
    response = api(shop["a"]).patch(f"/api/v1/seller/products/{product.id}", json={
        "option_groups": [{"name": "Ukuran", "values": ["30 ml", "100 ml"]}]})
    assert response.status_code == 200, response.get_json()
    variants = {v["id"]: v for v in response.get_json()["variants"]}
    assert variants[large.id]["active"] is False and variants[large.id]["stock"] == 0
    assert variants[small.id]["active"] is True and variants[small.id]["stock"] == 7
    assert len(variants) == 3
    assert response.get_json()["stock_total"] == 7


def test_invalid_patch_is_refused_and_nothing_is_written(api, db, shop):
    product = shop["product"]
    response = api(shop["a"]).patch(f"/api/v1/seller/products/{product.id}",
                                    json={"name": "Baru", "price": 0})
    assert response.status_code == 422
    assert set(response.get_json()["error"]["fields"]) == {"price"}
    db.session.expire_all()
    assert product.name == "Serum"


def test_archive_hides_the_product_from_the_shop_and_restore_shows_it(api, db, shop):
    product = shop["product"]
    client = api(shop["a"])
    archived = client.post(f"/api/v1/seller/products/{product.id}/archive")
    assert archived.status_code == 200 and archived.get_json()["active"] is False
    assert api().get(f"/api/v1/products/{product.id}").status_code == 404
    restored = client.post(f"/api/v1/seller/products/{product.id}/restore")
    assert restored.status_code == 200 and restored.get_json()["active"] is True
    assert api().get(f"/api/v1/products/{product.id}").status_code == 200


# --- variants ------------------------------------------------------------------------------


def test_seller_changes_variant_sku_price_and_stock(api, db, shop):
    product = shop["product"]
    small, large = product.variants
    response = api(shop["a"]).put(f"/api/v1/seller/products/{product.id}/variants", json={
        "variants": [{"id": small.id, "sku": "SRM-30", "price": 90_000},
                     {"id": large.id, "stock": 20, "expected_stock": 7}]})
    assert response.status_code == 200, response.get_json()
    body = response.get_json()
    assert [(v["sku"], v["price"], v["stock"]) for v in body["variants"]] == [
        ("SRM-30", 90_000, 7), (large.sku, 100_000, 20)]
    assert (body["price_min"], body["price_max"], body["stock_total"]) == (
        90_000, 100_000, 27)
    assert _movements(db, large.id)[-1].delta == 13


def test_variant_change_refused_names_the_variant_field(api, db, shop):
    product = shop["product"]
    small, large = product.variants
    response = api(shop["a"]).put(f"/api/v1/seller/products/{product.id}/variants", json={
        "variants": [{"id": small.id, "price": 50_000},
                     {"id": large.id, "sku": small.sku}]})
    assert response.status_code == 422
    assert set(response.get_json()["error"]["fields"]) == {"variants.1.sku"}
    db.session.expire_all()
    assert small.price == 100_000


def test_variant_change_with_a_stale_stock_is_a_conflict(api, db, shop):
    product = shop["product"]
    small = product.variants[0]
    response = api(shop["a"]).put(f"/api/v1/seller/products/{product.id}/variants", json={
        "variants": [{"id": small.id, "price": 80_000, "stock": 3, "expected_stock": 6}]})
    assert response.status_code == 409 and error_code(response) == "stock_conflict"
    db.session.expire_all()
    assert (small.price, small.stock) == (100_000, 7)


# --- stock ---------------------------------------------------------------------------------


def test_seller_sets_stock_through_the_ledger_like_the_inventory_page(api, db, shop):
    variant = shop["product"].variants[0]
    response = api(shop["a"]).put(f"/api/v1/seller/variants/{variant.id}/stock",
                                  json={"stock": 25, "expected_stock": 7})
    assert response.status_code == 200, response.get_json()
    assert response.get_json() == {
        "id": variant.id, "product_id": shop["product"].id, "sku": variant.sku,
        "options": {"Ukuran": "30 ml"}, "label": "Ukuran: 30 ml", "price": 100_000,
        "stock": 25, "availability": "in_stock", "active": True,
        "weight_grams": 250}
    movement = _movements(db, variant.id)[-1]
    assert (movement.delta, movement.stock_after, movement.reason, movement.user_id) == (
        18, 25, StockReason.ADJUSTMENT, shop["a"].id)
    db.session.expire_all()
    assert db.session.get(Product, shop["product"].id).stock_total == 32


def test_stock_set_with_a_stale_expected_stock_is_409_and_nothing_written(api, db, shop):
    variant = shop["product"].variants[0]
    before = len(_movements(db, variant.id))
    response = api(shop["a"]).put(f"/api/v1/seller/variants/{variant.id}/stock",
                                  json={"stock": 1, "expected_stock": 8})
    assert response.status_code == 409 and error_code(response) == "stock_conflict"
    assert "7" in response.get_json()["error"]["message"]
    assert set(response.get_json()["error"]["fields"]) == {"expected_stock"}
    db.session.expire_all()
    assert variant.stock == 7 and len(_movements(db, variant.id)) == before


@pytest.mark.parametrize("body", [{"stock": -1}, {"stock": 10_000_001}, {}, {"stock": "x"}])
def test_stock_never_negative_or_out_of_range(api, db, shop, body):
    variant = shop["product"].variants[0]
    response = api(shop["a"]).put(f"/api/v1/seller/variants/{variant.id}/stock", json=body)
    assert response.status_code == 422
    assert "stock" in response.get_json()["error"]["fields"]
    db.session.expire_all()
    assert variant.stock == 7


def test_unchanged_stock_writes_no_ledger_row(api, db, shop):
    variant = shop["product"].variants[0]
    before = len(_movements(db, variant.id))
    response = api(shop["a"]).put(f"/api/v1/seller/variants/{variant.id}/stock",
                                  json={"stock": 7})
    assert response.status_code == 200
    assert len(_movements(db, variant.id)) == before

