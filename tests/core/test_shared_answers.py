"""Shared answers (app/core/shared_answers.py): a public page's whole answer given before
Flask runs, to exactly the requests that may share it, identical to what Flask would have
answered, and never after the data under it changed.

The data cache is on for these tests (`cache_on`, an in-process SimpleCache; the Redis
variant takes the suite's Redis). "Flask ran" is counted at the layer's inner app.
"""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest
from flask import Flask

from app.core.shared_answers import SharedAnswers
from tests.conftest import log_in
from tests.factories import make_category, make_product, make_user
from tests.live import raw_request, serve

# Headers that differ between any two answers: the request's own id, and whether the data
# cache had the page (the first answer renders it: "miss").
PER_REQUEST = {"x-request-id", "x-racik-cache", "date", "server"}


def _layer(app: Flask) -> SharedAnswers:
    layer = app.wsgi_app
    while not isinstance(layer, SharedAnswers):
        layer = getattr(layer, "wsgi_app", None) or layer.app  # RequestId, ProxyFix
    return layer


@pytest.fixture
def flask_runs(app: Flask, cache_on, monkeypatch) -> Iterator[list[str]]:
    """The paths Flask itself answered (the layer's inner app), in order."""
    layer = _layer(app)
    inner = layer.wsgi_app
    seen: list[str] = []

    def counting(environ, start_response):
        seen.append(environ["PATH_INFO"] + ("?" + environ["QUERY_STRING"]
                                            if environ.get("QUERY_STRING") else ""))
        return inner(environ, start_response)

    monkeypatch.setattr(layer, "wsgi_app", counting)
    yield seen


@pytest.fixture
def shop(db) -> dict:
    category = make_category(name="Perawatan Wajah", name_en="Skincare")
    seller = make_user(roles=("seller",), store_name="Toko Cahaya")
    product = make_product(store=seller.store, name="Serum Vitamin C", category=category)
    db.session.commit()
    facts = {"store": seller.store, "slug": seller.store.slug, "product_id": product.id,
             "category": category}
    db.session.close()
    return facts


def _headers(response) -> dict[str, str]:
    return {name.lower(): value for name, value in response.headers.items()
            if name.lower() not in PER_REQUEST}


def _paths(shop: dict) -> list[str]:
    return ["/", "/produk", "/produk?q=serum", f"/produk/{shop['product_id']}",
            f"/toko/{shop['slug']}"]


def test_the_second_visit_gets_flasks_own_answer_without_flask(app, make_client, shop,
                                                                 flask_runs):
    for path in _paths(shop):
        first = make_client().get(path)
        flask_runs.clear()
        second = make_client().get(path)
        assert flask_runs == [], path
        assert first.status_code == second.status_code == 200, path
        assert second.data == first.data, path
        assert _headers(second) == _headers(first), path
        assert second.headers["X-Racik-Cache"] == "hit"
        assert second.headers["Cache-Control"].startswith("public")
        assert "Set-Cookie" not in second.headers
        assert second.headers["Content-Length"] == str(len(second.data))


def test_personal_or_conditional_requests_always_go_to_flask(app, db, make_client, shop,
                                                              flask_runs):
    make_client().get("/")  # the shared answer exists from here on
    flask_runs.clear()
    assert make_client().get("/").status_code == 200
    assert flask_runs == []

    buyer = make_user(name="Budi Pembeli")
    db.session.commit()
    signed_in = make_client()
    log_in(signed_in, buyer.email)
    flask_runs.clear()
    page = signed_in.get("/")
    assert flask_runs == ["/"] and "Budi Pembeli" in page.get_data(as_text=True)
    assert "Set-Cookie" in page.headers or page.headers["Cache-Control"] == "no-store"

    # A remember-me cookie alone (a closed browser) may sign the visitor in: Flask decides.
    # So does a chosen language, a token, a revalidation or a range.
    # (The test client sends its own cookie jar, not a Cookie header.)
    for cookie in ("remember_token", app.config["LANGUAGE_COOKIE_NAME"]):
        visitor = make_client()
        visitor.set_cookie(cookie, "en")
        flask_runs.clear()
        visitor.get("/")
        assert flask_runs == ["/"], cookie
    for headers in ({"Authorization": "Bearer x"},
                    {"If-None-Match": page.headers.get("ETag") or '"x"'},
                    {"Range": "bytes=0-10"}, {"HX-Request": "true", "HX-Target": "main"}):
        flask_runs.clear()
        make_client().get("/", headers=headers)
        assert flask_runs == ["/"], headers
    flask_runs.clear()
    make_client().head("/")
    assert flask_runs == ["/"]


def test_htmx_has_its_own_answer_and_english_visitors_never_get_the_indonesian(
        app, make_client, shop, flask_runs):
    htmx = {"HX-Request": "true"}
    indonesian = make_client().get("/produk").get_data(as_text=True)
    first_fragment = make_client().get("/produk", headers=htmx)
    flask_runs.clear()
    fragment = make_client().get("/produk", headers=htmx)
    assert flask_runs == []
    assert fragment.data == first_fragment.data
    assert "<html" not in fragment.get_data(as_text=True) and '<html lang="id">' in indonesian
    # The web pages' language is the visitor's choice (a cookie), Indonesian without one.
    english = make_client()
    english.set_cookie(app.config["LANGUAGE_COOKIE_NAME"], "en")
    for _ in range(2):
        assert '<html lang="en">' in english.get("/produk").get_data(as_text=True)


def test_a_catalog_write_ends_the_shared_answer_at_once(app, db, make_client, shop,
                                                        flask_runs):
    client = make_client()
    assert "Toner Mawar" not in client.get("/produk?q=toner").get_data(as_text=True)
    make_client().get("/")
    flask_runs.clear()
    make_client().get("/produk?q=toner")
    assert flask_runs == []

    make_product(store=db.session.merge(shop["store"]), name="Toner Mawar",
                 category=db.session.merge(shop["category"]))
    db.session.commit()  # invalidates the catalog's tag
    db.session.close()
    flask_runs.clear()
    assert "Toner Mawar" in make_client().get("/produk?q=toner").get_data(as_text=True)
    assert "Toner Mawar" in make_client().get("/").get_data(as_text=True)
    assert flask_runs == ["/produk?q=toner", "/"]
    flask_runs.clear()
    assert "Toner Mawar" in make_client().get("/produk?q=toner").get_data(as_text=True)
    assert flask_runs == []


def test_a_cache_outage_only_sends_every_request_to_flask(app, make_client, shop, cache_on,
                                                          flask_runs, monkeypatch):
    make_client().get("/")

    def broken(*args, **kwargs):
        raise ConnectionError("cache down")

    monkeypatch.setattr(cache_on, "get", broken)
    flask_runs.clear()
    answer = make_client().get("/")
    assert answer.status_code == 200 and "Serum Vitamin C" in answer.get_data(as_text=True)
    assert flask_runs == ["/"]


def test_over_http_each_answer_has_its_own_request_id_and_is_counted(app, shop, flask_runs):
    """Outside in: a live server on a free port, plain HTTP/1.1 requests read to the end."""
    with serve(app) as base:
        first = raw_request(base, "/")
        flask_runs.clear()
        answers = [raw_request(base, "/") for _ in range(3)]
        metrics = raw_request(base, "/metrics").text()
    assert flask_runs == ["/metrics"]
    ids = {first.headers["X-Request-ID"]} | {a.headers["X-Request-ID"] for a in answers}
    assert len(ids) == 4
    for answer in answers:
        assert answer.status == 200 and answer.body == first.body
        assert int(answer.headers["Content-Length"]) == len(answer.body)
        assert {k.lower(): v for k, v in answer.headers.items()
                if k.lower() not in PER_REQUEST} == {
            k.lower(): v for k, v in first.headers.items() if k.lower() not in PER_REQUEST}
    counted = re.search(r'racik_http_request_duration_seconds_count\{endpoint="main\.index",'
                        r'method="GET",status="200"\} (\d+)', metrics)
    assert counted and float(counted.group(1)) >= 4


@pytest.mark.redis
def test_the_answer_is_shared_through_redis(app, make_client, shop, flask_runs, redis_url):
    """Production keeps the cache in Redis (several processes share one answer)."""
    from flask_caching.backends.rediscache import RedisCache

    from app.core.cache import cache

    backend = RedisCache.factory(app, {"CACHE_REDIS_URL": redis_url,
                                       "CACHE_KEY_PREFIX": "racik:test-answers:"}, [], {})
    previous = app.extensions["cache"][cache]
    app.extensions["cache"][cache] = backend
    try:
        first = make_client().get("/")
        flask_runs.clear()
        second = make_client().get("/")
        assert flask_runs == []
        assert second.data == first.data and _headers(second) == _headers(first)
    finally:
        backend.clear()
        app.extensions["cache"][cache] = previous
