"""Caching of the catalog: anonymous pages shared (no cookie, no token, public
Cache-Control, ETag/304), personal pages never, and every write that changes a cached page
visible on the very next request (the data cache on, over a live server).

The suite's app runs with NullCache; `cache_on` (tests/conftest.py) gives it a real
backend for one test (an in-process SimpleCache; the Redis variant takes the suite's Redis)
and takes it away again.
"""

from __future__ import annotations

import io
import re
import threading

import pytest
from flask import Flask
from PIL import Image
from sqlalchemy import select

from app.catalog.models import Category, Product, Variant
from app.catalog.services import (
    VariantChange,
    category_update,
    product_archive,
    product_photos_add,
    product_restore,
    store_settings_update,
    variants_update,
)
from app.catalog.stock import stock_change
from app.core.cache import cache, cache_stats, cached, invalidate
from app.inventory.models import StockReason
from tests.factories import make_category, make_order, make_product, make_user
from tests.live import LiveBrowser, raw_request


@pytest.fixture
def world(db):
    category = make_category(name="Perawatan Wajah", name_en="Skincare")
    seller = make_user(roles=("seller",), store_name="Toko Cahaya")
    product = make_product(store=seller.store, name="Serum Vitamin C", price=150_000,
                           stock=20, category=category)
    facts = {"seller_id": seller.id, "seller_email": seller.email,
             "store_id": seller.store.id, "slug": seller.store.slug,
             "product_id": product.id, "category_id": category.id,
             "variant_id": product.variants[0].id}
    _commit(db)
    return facts


def _commit(db) -> None:
    """Commit and end the test's transaction: the live server's writers need SQLite's lock."""
    db.session.commit()
    db.session.close()


def _get(live_url: str, path: str, headers: dict[str, str] | None = None):
    response = raw_request(live_url, path, headers=headers)
    assert response.status in (200, 304), (path, response.status, response.text()[:300])
    return response


def _public_paths(world) -> list[str]:
    return ["/", "/produk", "/produk?q=serum", f"/produk/{world['product_id']}",
            f"/toko/{world['slug']}"]


# --- HTTP caching ------------------------------------------------------------------------


def test_anonymous_catalog_pages_are_public_and_set_no_cookie(live_url, world):
    for path in _public_paths(world):
        response = _get(live_url, path)
        assert response.status == 200
        assert "Set-Cookie" not in response.headers, path
        assert response.headers["Cache-Control"] == "public, max-age=60", path
        assert "no-store" not in response.headers["Cache-Control"]
        vary = {v.strip() for v in response.headers["Vary"].split(",")}
        assert {"Cookie", "HX-Request"} <= vary, path
        assert response.headers.get("ETag"), path
        body = response.text()
        # No per-visitor token anywhere in a shared page.
        assert "csrf_token" not in body and "X-CSRFToken" not in body, path


def test_anonymous_page_answers_304_to_its_etag(live_url, world):
    for path in _public_paths(world):
        etag = _get(live_url, path).headers["ETag"]
        again = _get(live_url, path, headers={"If-None-Match": etag})
        assert again.status == 304, path
        assert again.body == b""
        other = _get(live_url, path, headers={"If-None-Match": '"something-else"'})
        assert other.status == 200


def test_htmx_fragment_of_search_is_public_too(live_url, world):
    response = _get(live_url, "/produk?q=serum", headers={"HX-Request": "true"})
    assert response.headers["Cache-Control"].startswith("public")
    assert "<html" not in response.text() and "Serum Vitamin C" in response.text()


def test_logged_in_catalog_pages_are_not_stored(live_url, world, db):
    email = make_user(roles=("customer",)).email
    _commit(db)
    browser = LiveBrowser(live_url)
    browser.log_in(email)
    for path in _public_paths(world):
        response = browser.get(path)
        assert response.status == 200, path
        assert response.headers["Cache-Control"] == "no-store", path
        assert "ETag" not in response.headers, path
        # A logged-in user's page keeps its CSRF header for htmx.
        assert "X-CSRFToken" in response.text(), path


def test_visitor_with_a_flash_waiting_gets_a_personal_page(live_url, db, world):
    email = make_user(roles=("customer",)).email
    _commit(db)
    browser = LiveBrowser(live_url)
    browser.log_in(email)
    browser.post("/keluar")  # logged out, "Anda telah keluar." waits in the session
    response = browser.get("/")
    assert "Anda telah keluar." in response.text()
    assert response.headers["Cache-Control"] == "no-store"


def test_language_link_sets_only_the_language_cookie(live_url, world):
    response = raw_request(live_url, "/bahasa/en?next=/produk")
    assert response.status == 303 and response.headers["Location"] == "/produk"
    assert set(response.cookies) == {"racik_lang"} and response.cookies["racik_lang"] == "en"
    page = _get(live_url, "/produk", headers={"Cookie": "racik_lang=en"})
    assert '<html lang="en">' in page.text()
    assert page.headers["Cache-Control"] == "public, max-age=60"
    assert "Set-Cookie" not in page.headers
    # The English page is another variant of the URL (its own ETag).
    assert page.headers["ETag"] != _get(live_url, "/produk").headers["ETag"]


def test_language_link_refuses_unknown_language_and_offsite_next(live_url, world):
    assert raw_request(live_url, "/bahasa/xx?next=/").status == 404
    response = raw_request(live_url, "/bahasa/id?next=//evil.example/")
    assert response.status == 303 and response.headers["Location"] == "/"


def test_anonymous_buy_button_leads_to_login_without_a_token(client, world):
    html = client.get(f"/produk/{world['product_id']}").get_data(as_text=True)
    form = re.search(r'<form method="get" action="/masuk" class="add-to-cart">(.*?)</form>',
                     html, re.S)
    assert form is not None
    assert f'name="next" value="/produk/{world["product_id"]}"' in form.group(1)


# --- the data cache: hits, and invalidation by every write --------------------------------


def _product_page(live_url: str, world) -> str:
    return _get(live_url, f"/produk/{world['product_id']}").text()


def _assert_cached(live_url: str, path: str) -> None:
    """Requesting `path` twice: the second answer comes from the cache."""
    _get(live_url, path)
    hits = cache_stats()["hits"]
    _get(live_url, path)
    assert cache_stats()["hits"] == hits + 1, f"{path} was not served from the cache"


def test_anonymous_pages_are_served_from_the_cache(app, cache_on, live_url, world):
    with app.app_context():
        for path in _public_paths(world)[1:]:
            _assert_cached(live_url, path)


def test_price_change_is_visible_on_the_next_request(app, cache_on, live_url, world, db):
    with app.app_context():
        _assert_cached(live_url, f"/produk/{world['product_id']}")
        _assert_cached(live_url, "/produk?q=serum")
    assert "Rp\u00a0150.000" in _product_page(live_url, world)
    product = db.session.get(Product, world["product_id"])
    variant = product.variants[0]
    variants_update(product=product, actor=product.store.owner, changes=[VariantChange(
        variant_id=variant.id, sku=variant.sku, price=99_000, stock=variant.stock,
        expected_stock=variant.stock)])
    _commit(db)
    assert "Rp\u00a099.000" in _product_page(live_url, world)
    assert "Rp\u00a099.000" in _get(live_url, "/produk?q=serum").text()
    assert "Rp\u00a099.000" in _get(live_url, f"/toko/{world['slug']}").text()


def test_price_change_through_the_seller_form_is_visible(app, cache_on, live_url, world, db):
    variant = db.session.get(Variant, world["variant_id"])
    sku, stock = variant.sku, variant.stock
    db.session.close()
    with app.app_context():
        _assert_cached(live_url, f"/produk/{world['product_id']}")
    browser = LiveBrowser(live_url)
    browser.log_in(world["seller_email"])
    browser.get(f"/seller/produk/{world['product_id']}/ubah")
    vid = world["variant_id"]
    response = browser.post(f"/seller/produk/{world['product_id']}/varian", {
        "variant_id": str(vid), f"sku-{vid}": sku, f"price-{vid}": "123000",
        f"stock-{vid}": str(stock), f"expected-{vid}": str(stock)})
    assert response.status in (200, 303), response.text()[:500]
    assert db.session.get(Variant, world["variant_id"]).price == 123_000
    assert "Rp\u00a0123.000" in _product_page(live_url, world)


def test_stock_change_is_visible_on_the_next_request(app, cache_on, live_url, world, db):
    with app.app_context():
        _assert_cached(live_url, f"/produk/{world['product_id']}")
    assert "Stok 20" in _product_page(live_url, world)
    variant = db.session.get(Variant, world["variant_id"])
    stock_change(variant=variant, delta=-5, reason=StockReason.ADJUSTMENT, actor=None)
    _commit(db)
    assert "Stok 15" in _product_page(live_url, world)


def test_sale_restock_and_sold_count_are_visible(app, cache_on, live_url, world, db):
    _product_page(live_url, world)
    buyer = make_user()
    make_order(buyer=buyer, variant=db.session.get(Variant, world["variant_id"]), quantity=3)
    _commit(db)
    assert "Stok 17" in _product_page(live_url, world)


def _photo() -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (64, 48), (200, 40, 90)).save(out, "JPEG")
    return out.getvalue()


def test_new_photo_is_visible_on_the_next_request(app, cache_on, live_url, world, db):
    before = _product_page(live_url, world)
    product = db.session.get(Product, world["product_id"])
    key = product_photos_add(product=product, files=[_photo()])[0].display_key
    _commit(db)
    after = _product_page(live_url, world)
    assert before != after
    assert key.rsplit("/", 1)[-1] in after


def test_review_is_visible_on_the_next_request(app, cache_on, live_url, world, db):
    from app.orders.models import OrderStatus
    from app.orders.reviews import review_create

    assert "Kulitku cerah" not in _product_page(live_url, world)
    buyer = make_user(name="Rina Kusuma")
    order = make_order(buyer=buyer, variant=db.session.get(Variant, world["variant_id"]))
    order.status = OrderStatus.DELIVERED
    db.session.flush()
    review_create(buyer=buyer, order=order, item=order.items[0], rating=5,
                  comment="Kulitku cerah")
    _commit(db)
    assert "Kulitku cerah" in _product_page(live_url, world)


def test_store_settings_are_visible_on_the_next_request(app, cache_on, live_url, world, db):
    assert "Toko Cahaya" in _product_page(live_url, world)
    _get(live_url, f"/toko/{world['slug']}")
    product = db.session.get(Product, world["product_id"])
    store = product.store
    store_settings_update(store=store, name="Toko Bulan", location="Surabaya",
                          description=store.description,
                          low_stock_threshold=store.low_stock_threshold,
                          shipping_cost=store.shipping_cost)
    _commit(db)
    page = _product_page(live_url, world)
    assert "Toko Bulan" in page and "Surabaya" in page
    assert "Toko Bulan" in _get(live_url, f"/toko/{world['slug']}").text()


def test_category_edit_is_visible_on_the_next_request(app, cache_on, live_url, world, db):
    assert "Perawatan Wajah" in _product_page(live_url, world)
    assert "Perawatan Wajah" in _get(live_url, "/produk").text()
    category = db.session.get(Category, world["category_id"])
    category_update(category=category, name="Perawatan Kulit", name_en="Skin care",
                    parent_id=None, position=category.position)
    _commit(db)
    assert "Perawatan Kulit" in _product_page(live_url, world)
    assert "Perawatan Kulit" in _get(live_url, "/produk").text()


def test_unpublish_and_publish_are_visible_on_the_next_request(app, cache_on, live_url,
                                                               world, db):
    path = f"/produk/{world['product_id']}"
    _get(live_url, path)
    assert "Serum Vitamin C" in _get(live_url, "/produk?q=serum").text()
    product = db.session.get(Product, world["product_id"])
    product_archive(product=product, actor=product.store.owner)
    _commit(db)
    assert raw_request(live_url, path).status == 404
    assert "Serum Vitamin C" not in _get(live_url, "/produk?q=serum").text()
    product = db.session.get(Product, world["product_id"])
    product_restore(product=product, actor=product.store.owner)
    _commit(db)
    assert raw_request(live_url, path).status == 200
    assert "Serum Vitamin C" in _get(live_url, "/produk?q=serum").text()


def test_new_product_appears_in_cached_search(app, cache_on, live_url, world, db):
    assert "Toner Mawar" not in _get(live_url, "/produk").text()
    store = db.session.get(Product, world["product_id"]).store
    make_product(store=store, name="Toner Mawar", price=80_000,
                 category=db.session.get(Category, world["category_id"]))
    _commit(db)
    assert "Toner Mawar" in _get(live_url, "/produk").text()


# --- the tag rules of app/core/cache.py ---------------------------------------------------


def test_invalidation_waits_for_the_commit_and_a_rollback_keeps_the_entry(app, cache_on, db):
    calls = []

    def compute():
        calls.append(1)
        return len(calls)

    assert cached("k", compute, tags=["t"]) == 1
    db.session.execute(select(1))
    invalidate("t")  # inside the test's transaction: not yet
    assert cached("k", compute, tags=["t"]) == 1
    db.session.rollback()
    assert cached("k", compute, tags=["t"]) == 1
    db.session.execute(select(1))
    invalidate("t")
    _commit(db)
    assert cached("k", compute, tags=["t"]) == 2


def test_a_write_committed_while_computing_never_leaves_a_stale_entry(app, cache_on, db):
    """The reader computed from data older than a concurrent commit: its entry was stored
    under the tag's old version, so the next read recomputes."""
    values = iter(["old", "new", "newer"])

    def compute_while_a_writer_commits():
        value = next(values)
        writer = threading.Thread(target=_commit_invalidation, args=(app, "t"))
        writer.start()
        writer.join()
        return value

    assert cached("k", compute_while_a_writer_commits, tags=["t"]) == "old"
    assert cached("k", lambda: next(values), tags=["t"]) == "new"
    assert cached("k", lambda: "unused", tags=["t"]) == "new"


def _commit_invalidation(app: Flask, tag: str) -> None:
    with app.app_context():
        from app.extensions import db

        db.session.execute(select(1))
        invalidate(tag)
        _commit(db)
        db.session.remove()


def test_an_evicted_tag_version_is_a_miss_not_a_stale_hit(app, cache_on, db):
    assert cached("k", lambda: "first", tags=["t"]) == "first"
    cache_on.delete("tag:t")
    assert cached("k", lambda: "second", tags=["t"]) == "second"


def test_redis_backend_keeps_the_same_rules(app, redis_url):
    from flask_caching.backends.rediscache import RedisCache

    backend = RedisCache.factory(app, {"CACHE_REDIS_URL": redis_url,
                                       "CACHE_KEY_PREFIX": "racik:test-cache:"}, [], {})
    backend.clear()
    previous = (app.config["CACHE_TYPE"], app.extensions["cache"][cache])
    app.config["CACHE_TYPE"] = "RedisCache"
    app.extensions["cache"][cache] = backend
    try:
        with app.app_context():
            assert cached("k", lambda: {"n": 1}, tags=["a", "b"]) == {"n": 1}
            assert cached("k", lambda: {"n": 2}, tags=["a", "b"]) == {"n": 1}
            invalidate("b")
            assert cached("k", lambda: {"n": 3}, tags=["a", "b"]) == {"n": 3}
    finally:
        backend.clear()
        app.config["CACHE_TYPE"], app.extensions["cache"][cache] = previous
