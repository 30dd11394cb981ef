"""The page cache of the production proxy (docker/nginx.conf's proxy_cache, Debian's nginx
in front of a live app): a second anonymous request of a catalog page is a HIT, kept per
language and per htmx fragment; a request with a session cookie never reads or fills it."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from app import create_app
from app.config import TestConfig
from tests.conftest import missing_service
from tests.factories import DEFAULT_PASSWORD, make_product, make_user
from tests.live import LiveBrowser, csrf_token_of, raw_request, serve
from tests.nginx import Nginx, nginx_binary, nginx_start


@pytest.fixture(scope="module")
def proxy(app, tmp_path_factory) -> Iterator[Nginx]:
    binary = nginx_binary()
    if binary is None:
        missing_service("nginx (Debian's, `make chromium` installs it)")
    behind = create_app(TestConfig, SQLALCHEMY_DATABASE_URI=app.config["SQLALCHEMY_DATABASE_URI"],
                        INSTANCE_PATH=app.instance_path, PROXY_FIX_X_FOR=1,
                        PROXY_FIX_X_HOST=1, PROXY_FIX_X_PORT=1, SESSION_COOKIE_SECURE=True,
                        REMEMBER_COOKIE_SECURE=True)
    with serve(behind) as upstream:
        started = nginx_start(upstream=upstream, directory=tmp_path_factory.mktemp("nginx"),
                              binary=binary)
        try:
            yield started
        finally:
            started.stop()


@pytest.fixture
def shop(db):
    seller = make_user(roles=("seller",), store_name="Toko Proksi")
    product = make_product(store=seller.store, name="Sabun Sereh")
    facts = {"product": f"/produk/{product.id}", "store": f"/toko/{seller.store.slug}",
             "customer": make_user().email}
    db.session.commit()
    db.session.close()
    return facts


def _status(response) -> str:
    return response.headers.get("X-Cache-Status", "")


def test_second_anonymous_request_is_a_cache_hit(proxy, shop):
    # A query string of its own per test run: the cache outlives the test's rows.
    for path in (shop["product"], shop["store"], f"{shop['product']}?r=1",
                 "/produk?q=sabun"):
        first = raw_request(proxy.url(443), path)
        assert first.status == 200, (path, first.text()[:300])
        assert _status(first) == "MISS", path
        assert "Set-Cookie" not in first.headers
        second = raw_request(proxy.url(443), path)
        assert _status(second) == "HIT", path
        assert second.body == first.body
        assert second.headers["Cache-Control"] == "public, max-age=60"


def test_language_and_htmx_fragment_are_cached_apart(proxy, shop):
    path = shop["product"] + "?v=lang"
    indonesian = raw_request(proxy.url(443), path)
    english = raw_request(proxy.url(443), path, headers={"Cookie": "racik_lang=en"})
    assert _status(indonesian) == "MISS" and _status(english) == "MISS"
    assert '<html lang="en">' in english.text() and '<html lang="id">' in indonesian.text()
    assert _status(raw_request(proxy.url(443), path,
                               headers={"Cookie": "racik_lang=en"})) == "HIT"
    fragment = raw_request(proxy.url(443), "/produk?q=sereh", headers={"HX-Request": "true"})
    page = raw_request(proxy.url(443), "/produk?q=sereh")
    assert _status(fragment) == "MISS" and _status(page) == "MISS"
    assert "<html" not in fragment.text() and "<html" in page.text()


def test_logged_in_requests_never_hit_nor_fill_the_cache(proxy, shop):
    path = shop["product"] + "?v=personal"
    base = proxy.url(443)
    browser = LiveBrowser(base)
    token = csrf_token_of(browser.get("/masuk").text())
    answer = browser.post_form("/masuk", {"csrf_token": token, "email": shop["customer"],
                                          "password": DEFAULT_PASSWORD},
                               headers={"Referer": f"{base}/masuk"})
    assert answer.status == 303, answer.text()[:300]
    assert "racik_session" in browser.cookies
    for _ in range(2):
        response = browser.get(path)
        assert response.status == 200
        assert _status(response) == "BYPASS"
        assert response.headers["Cache-Control"] == "no-store"
        assert "X-CSRFToken" in response.text()
    # Nothing was stored from those: the first anonymous request is a miss.
    assert _status(raw_request(proxy.url(443), path)) == "MISS"
    # And the anonymous copy now cached is not handed to the logged-in user.
    assert _status(raw_request(proxy.url(443), path)) == "HIT"
    assert _status(browser.get(path)) == "BYPASS"
