"""The public catalog API: search (the web search's filters and sorts), a product, the
category tree, store pages."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from urllib.parse import parse_qsl, urlsplit

import pytest

from app.catalog.models import Category, Product
from app.catalog.queries import SearchParams, product_search
from app.catalog.services import ProductData, category_create, product_archive, product_create
from tests.api.conftest import error_code
from tests.factories import make_product, make_user

T0 = datetime(2026, 1, 1, tzinfo=UTC)


def _product(store, name, price, category, *, stock=5, description="", **cached) -> Product:
    product = product_create(store=store, data=ProductData(
        name=name, description=description, category_id=category.id, price=price,
        initial_stock=stock), actor=store.owner)
    for attribute, value in cached.items():
        setattr(product, attribute, value)
    return product


@pytest.fixture
def catalog(db):
    """Two stores, a category with a sub-category, products with distinct prices, dates,
    ratings and sales, one out of stock and one archived."""
    face = category_create(name="Wajah", name_en="Face", parent_id=None)
    serum = category_create(name="Serum", name_en="Serum", parent_id=face.id)
    hair = category_create(name="Rambut", name_en="Hair", parent_id=None)
    one = make_user(roles=("seller",), store_name="Toko Satu").store
    two = make_user(roles=("seller",), store_name="Toko Dua").store
    rows = [
        (one, "Serum Vitamin C", 150_000, serum, 5, "Serum pencerah wajah", 4.5, 10, 30),
        (one, "Krim Malam", 90_000, face, 0, "Krim pelembap", 3.0, 4, 5),
        (two, "Sampo Lidah Buaya", 45_000, hair, 8, "Untuk rambut", 5.0, 2, 50),
        (two, "Masker Wajah Clay", 60_000, face, 3, "Masker wajah", 4.0, 7, 12),
        (one, "Toner Wajah", 75_000, face, 9, "Toner segar untuk wajah", 0, 0, 0),
    ]
    products = {}
    for days, (store, name, price, cat, stock, desc, rating, count, sold) in enumerate(rows):
        products[name] = _product(store, name, price, cat, stock=stock, description=desc,
                                  rating_avg=Decimal(str(rating)), rating_count=count,
                                  sold_count=sold, created_at=T0 + timedelta(days=days))
    archived = _product(one, "Serum Lama", 100_000, serum)
    product_archive(product=archived, actor=one.owner)
    db.session.commit()
    return {"face": face, "serum": serum, "hair": hair, "one": one, "two": two,
            "products": products, "archived": archived}


def _ids(response) -> list[int]:
    assert response.status_code == 200, response.get_json()
    return [item["id"] for item in response.get_json()["items"]]


def _links(header: str) -> dict[str, dict[str, str]]:
    """rel -> the query of its URL."""
    out = {}
    for part in header.split(", "):
        url, rel = re.fullmatch(r'<([^>]*)>; rel="(\w+)"', part).groups()
        assert urlsplit(url).path == "/api/v1/products"
        out[rel] = dict(parse_qsl(urlsplit(url).query))
    return out


def _web_ids(**params) -> list[int]:
    return [p.id for p in product_search(SearchParams(**params), per_page=100).items]


@pytest.mark.parametrize("query, params", [
    ({}, {}),
    ({"q": "wajah"}, {"q": "wajah", "sort": "relevance"}),
    ({"q": "pelembab"}, {"q": "pelembab", "sort": "relevance"}),
    ({"q": "wajah", "sort": "price_asc"}, {"q": "wajah", "sort": "price_asc"}),
    ({"sort": "price_desc"}, {"sort": "price_desc"}),
    ({"sort": "popular"}, {"sort": "popular"}),
    ({"sort": "rating"}, {"sort": "rating"}),
    ({"price_min": 50_000, "price_max": 100_000}, {"price_min": 50_000, "price_max": 100_000}),
    ({"price_min": 100_000, "price_max": 50_000}, {"price_min": 50_000, "price_max": 100_000}),
    ({"in_stock": "true"}, {"in_stock": True}),
    ({"rating": 4}, {"rating_min": 4}),
])
def test_search_filters_and_sorts_give_the_web_searchs_products(api, catalog, query, params):
    query = {**query, "per_page": 100}
    assert _ids(api().get("/api/v1/products", query_string=query)) == _web_ids(**params)


def test_search_by_category_includes_sub_categories_like_the_web(api, catalog):
    got = _ids(api().get("/api/v1/products", query_string={
        "category": catalog["face"].slug, "sort": "price_asc"}))
    assert got == _web_ids(category=catalog["face"], sort="price_asc")
    names = {p.id: n for n, p in catalog["products"].items()}
    assert [names[i] for i in got] == ["Masker Wajah Clay", "Toner Wajah", "Krim Malam",
                                       "Serum Vitamin C"]


def test_search_by_store_gives_only_that_stores_active_products(api, catalog):
    got = _ids(api().get("/api/v1/products", query_string={"store": catalog["two"].slug}))
    assert got == _web_ids(store=catalog["two"])
    assert sorted(got) == sorted(catalog["products"][n].id
                                 for n in ("Sampo Lidah Buaya", "Masker Wajah Clay"))


def test_search_never_lists_an_archived_product(api, catalog):
    got = _ids(api().get("/api/v1/products", query_string={"q": "serum"}))
    assert catalog["archived"].id not in got
    assert got == [catalog["products"]["Serum Vitamin C"].id]


def test_search_result_has_the_card_fields(api, catalog):
    item = api().get("/api/v1/products", query_string={"q": "sampo"}).get_json()["items"][0]
    product = catalog["products"]["Sampo Lidah Buaya"]
    store = catalog["two"]
    assert item == {
        "id": product.id, "name": "Sampo Lidah Buaya", "price_min": 45_000,
        "price_max": 45_000, "in_stock": True, "rating": 5.0, "rating_count": 2,
        "sold_count": 50, "cover_url": None,
        "store": {"id": store.id, "name": "Toko Dua", "slug": store.slug,
                  "location": "Bandung"},
        "created_at": "2026-01-03T00:00:00Z",
    }


@pytest.mark.parametrize("query, field", [
    ({"category": "tidak-ada"}, "category"),
    ({"store": "tidak-ada"}, "store"),
    ({"sort": "cheapest"}, "sort"),
    ({"rating": 6}, "rating"),
    ({"price_min": -1}, "price_min"),
    ({"per_page": 101}, "per_page"),
])
def test_search_refuses_an_unknown_filter_value_naming_it(api, catalog, query, field):
    response = api().get("/api/v1/products", query_string=query)
    assert response.status_code == 422
    assert error_code(response) == "validation_failed"
    assert field in response.get_json()["error"]["fields"]


def test_search_pages_with_link_header_and_total(api, catalog):
    response = api().get("/api/v1/products", query_string={"per_page": 2, "page": 2,
                                                            "sort": "price_asc"})
    body = response.get_json()
    assert (body["page"], body["per_page"], body["total"], body["pages"]) == (2, 2, 5, 3)
    assert _ids(response) == _web_ids(sort="price_asc")[2:4]
    links = _links(response.headers["Link"])
    assert links == {"first": {"page": "1", "per_page": "2", "sort": "price_asc"},
                     "prev": {"page": "1", "per_page": "2", "sort": "price_asc"},
                     "next": {"page": "3", "per_page": "2", "sort": "price_asc"},
                     "last": {"page": "3", "per_page": "2", "sort": "price_asc"}}
    assert response.headers["X-Total-Count"] == "5"


def test_product_detail_has_variants_photos_store_and_rating(api, db):
    seller = make_user(roles=("seller",), store_name="Toko Warna")
    product = make_product(store=seller.store, name="Lipstik", price=50_000, stock=3,
                           options={"Warna": ["Merah", "Nude"]})
    product.variants[1].price = 55_000
    product.specifications = [{"label": "Isi", "value": "4 g"}]
    from app.catalog.models import ProductImage

    product.images.append(ProductImage(display_key="products/a.webp",
                                       thumb_key="products/a-t.webp", width=800, height=600))
    product.rating_avg, product.rating_count = Decimal("4.50"), 2
    db.session.commit()
    body = api().get(f"/api/v1/products/{product.id}").get_json()
    red, nude = product.variants
    category = db.session.get(Category, product.category_id)
    assert body == {
        "id": product.id, "name": "Lipstik", "description": "", "active": True,
        "category": {"id": category.id, "slug": category.slug, "name": category.name},
        "specifications": [{"label": "Isi", "value": "4 g"}],
        "option_groups": [{"name": "Warna", "values": ["Merah", "Nude"]}],
        "price_min": 50_000, "price_max": 50_000, "stock_total": 6, "rating": 4.5,
        "rating_count": 2, "sold_count": 0,
        "store": {"id": seller.store.id, "name": "Toko Warna", "slug": seller.store.slug,
                  "location": "Bandung"},
        "photos": [{"id": product.images[0].id,
                    "url": "http://localhost/media/products/a.webp",
                    "thumb_url": "http://localhost/media/products/a-t.webp",
                    "card_url": "http://localhost/media/products/a-t.webp",
                    "width": 800, "height": 600}],
        "variants": [
            {"id": red.id, "sku": red.sku, "options": {"Warna": "Merah"},
             "label": "Warna: Merah", "price": 50_000, "stock": 3, "availability": "low"},
            {"id": nude.id, "sku": nude.sku, "options": {"Warna": "Nude"},
             "label": "Warna: Nude", "price": 55_000, "stock": 3, "availability": "low"},
        ],
        "created_at": body["created_at"],
    }
    assert body["created_at"].endswith("Z")


def test_product_availability_follows_the_stores_threshold(api, db):
    seller = make_user(roles=("seller",))
    product = make_product(store=seller.store, stock=0)
    plenty = make_product(store=seller.store, name="Banyak", stock=50)
    db.session.commit()
    assert api().get(f"/api/v1/products/{product.id}").get_json()["variants"][0][
        "availability"] == "out_of_stock"
    assert api().get(f"/api/v1/products/{plenty.id}").get_json()["variants"][0][
        "availability"] == "in_stock"


def test_archived_product_is_404_except_to_its_seller(api, db):
    seller = make_user(roles=("seller",))
    other = make_user(roles=("seller",))
    product = make_product(store=seller.store)
    product_archive(product=product, actor=seller)
    db.session.commit()
    url = f"/api/v1/products/{product.id}"
    assert error_code(api().get(url)) == "not_found"
    assert api(other).get(url).status_code == 404
    owner_view = api(seller).get(url)
    assert owner_view.status_code == 200 and owner_view.get_json()["active"] is False


def test_unknown_product_is_404(api, db):
    response = api().get("/api/v1/products/999999")
    assert response.status_code == 404 and error_code(response) == "not_found"


def test_product_get_answers_304_for_its_etag(api, db):
    product = make_product(store=make_user(roles=("seller",)).store)
    db.session.commit()
    client = api()
    first = client.get(f"/api/v1/products/{product.id}")
    assert first.headers["ETag"]
    again = client.get(f"/api/v1/products/{product.id}",
                       headers={"If-None-Match": first.headers["ETag"]})
    assert again.status_code == 304 and again.get_data() == b""


def test_categories_answer_the_tree_in_the_users_language(api, catalog):
    body = api().get("/api/v1/categories", headers={"Accept-Language": "en"}).get_json()
    face, hair = catalog["face"], catalog["hair"]
    by_slug = {node["slug"]: node for node in body["items"]}
    assert set(by_slug) == {face.slug, hair.slug}
    assert by_slug[face.slug]["name"] == "Face"
    assert by_slug[face.slug]["name_id"] == "Wajah"
    assert by_slug[face.slug]["depth"] == 0
    assert by_slug[face.slug]["children"] == [{
        "id": catalog["serum"].id, "slug": catalog["serum"].slug, "name": "Serum",
        "name_id": "Serum", "name_en": "Serum", "depth": 1, "children": []}]


def test_store_profile_has_its_rating_over_active_products(api, catalog):
    store = catalog["one"]
    body = api().get(f"/api/v1/stores/{store.slug}").get_json()
    # (4.5 * 10 + 3.0 * 4) / 14 = 4.07 -> 4.1 (the web's rounding)
    assert body == {"id": store.id, "name": "Toko Satu", "slug": store.slug,
                    "location": "Bandung", "description": "", "rating": 4.1,
                    "rating_count": 14, "created_at": body["created_at"]}


def test_store_products_are_its_active_products_newest_first(api, catalog):
    store = catalog["one"]
    response = api().get(f"/api/v1/stores/{store.slug}/products",
                         query_string={"per_page": 2})
    assert _ids(response) == _web_ids(store=store, sort="newest")[:2]
    assert response.get_json()["total"] == 3
    assert 'rel="next"' in response.headers["Link"]


def test_unknown_store_is_404(api, db):
    assert error_code(api().get("/api/v1/stores/tidak-ada")) == "not_found"
    assert api().get("/api/v1/stores/tidak-ada/products").status_code == 404


# --- one normalisation for the web search and the API (app/catalog/search_request.py) ------


def _captured_params(monkeypatch, module) -> list[SearchParams]:
    """Record the SearchParams `module`'s route hands to `product_search`."""
    seen: list[SearchParams] = []
    real = module.product_search

    def spy(params, *args, **kwargs):
        seen.append(params)
        return real(params, *args, **kwargs)

    monkeypatch.setattr(module, "product_search", spy)
    return seen


def _shape(params: SearchParams) -> tuple:
    return (params.q, params.category and params.category.id, params.price_min,
            params.price_max, params.store and params.store.id, params.in_stock,
            params.rating_min, params.sort, params.page)


@pytest.mark.parametrize("web, api_query", [
    ({"q": "  serum  "}, {"q": "  serum  "}),
    ({"q": "x" * 100 + " "}, {"q": "x" * 100 + " "}),
    ({"kategori": "face", "harga_min": "90000", "harga_max": "10000"},
     {"category": "face", "price_min": 90000, "price_max": 10000}),
    ({"toko": "two", "tersedia": "1", "rating": "4", "urut": "price_desc", "hal": "2"},
     {"store": "two", "in_stock": "true", "rating": 4, "sort": "price_desc", "page": 2}),
    ({"q": "wajah", "urut": "popular"}, {"q": "wajah", "sort": "popular"}),
    ({}, {}),
])
def test_web_and_api_normalise_the_same_search_alike(app, client, api, catalog, monkeypatch,
                                                      web, api_query):
    from app.api.routes import catalog as api_routes
    from app.catalog import routes as web_routes

    slugs = {"face": catalog["face"].slug, "two": catalog["two"].slug}
    web = {k: slugs.get(v, v) if k in ("kategori", "toko") else v for k, v in web.items()}
    api_query = {k: slugs.get(v, v) if k in ("category", "store") else v
                 for k, v in api_query.items()}
    web_seen = _captured_params(monkeypatch, web_routes)
    api_seen = _captured_params(monkeypatch, api_routes)
    assert client.get("/produk", query_string=web).status_code == 200
    assert api().get("/api/v1/products", query_string=api_query).status_code == 200
    assert len(web_seen) == len(api_seen) == 1
    assert _shape(web_seen[0]) == _shape(api_seen[0])


def test_search_request_normalize_is_the_one_rule_both_routes_call(app, client, api, catalog,
                                                                   monkeypatch):
    from app.api.routes import catalog as api_routes
    from app.catalog import routes as web_routes
    from app.catalog import search_request

    calls: list[search_request.SearchRequest] = []
    real = search_request.search_request_normalize

    def spy(request):
        calls.append(request)
        return real(request)

    monkeypatch.setattr(web_routes, "search_request_normalize", spy)
    monkeypatch.setattr(api_routes, "search_request_normalize", spy)
    client.get("/produk", query_string={"q": "serum", "harga_min": "9", "harga_max": "1"})
    api().get("/api/v1/products", query_string={"q": "serum", "price_min": 9, "price_max": 1})
    assert len(calls) == 2
    normalized = real(calls[0])
    assert _shape(normalized.params) == _shape(real(calls[1]).params)
    assert (normalized.params.price_min, normalized.params.price_max) == (1, 9)
    assert normalized.prices_swapped and normalized.params.sort == "relevance"


def test_search_over_the_count_cap_says_its_total_is_a_lower_bound(api, catalog, monkeypatch):
    """Past COUNT_CAP matches the count stops: `total` is the cap, flagged as a lower bound,
    with no `last` link and a `next` link while pages come back full; only the first
    COUNT_CAP matches are listed."""
    from app.catalog import queries as catalog_queries

    monkeypatch.setattr(catalog_queries, "COUNT_CAP", 3)
    response = api().get("/api/v1/products", query_string={"per_page": 1, "page": 2})
    body = response.get_json()
    assert (body["total"], body["total_is_lower_bound"], body["pages"]) == (3, True, 3)
    assert len(body["items"]) == 1
    links = _links(response.headers["Link"])
    assert set(links) == {"first", "prev", "next"}
    assert links["next"]["page"] == "3"
    # Only the first COUNT_CAP matches are listed: past them, an empty page, no next.
    last = api().get("/api/v1/products", query_string={"per_page": 2, "page": 2})
    assert len(last.get_json()["items"]) == 1
    assert "next" not in _links(last.headers["Link"])
    beyond = api().get("/api/v1/products", query_string={"per_page": 1, "page": 4})
    assert beyond.status_code == 200 and beyond.get_json()["items"] == []
    monkeypatch.setattr(catalog_queries, "COUNT_CAP", 1000)
    exact = api().get("/api/v1/products", query_string={"per_page": 2}).get_json()
    assert (exact["total"], exact["total_is_lower_bound"]) == (5, False)
