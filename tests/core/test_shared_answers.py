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
from tests.factories import DEFAULT_PASSWORD, make_category, make_product, make_user
from tests.live import csrf_token_of, raw_request, serve

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


# --- form pages: the login page's answer, with each visitor's own token and session ------


def test_a_first_visit_to_the_login_page_gets_its_own_token_without_flask(
        app, db, make_client, shop, flask_runs):
    """Flask renders the login page once; every later first visit gets the same page and
    headers with a new session cookie and a token made for it, and can sign in with them."""
    buyer = make_user(email="pembeli@racik.test")
    db.session.commit()
    first = make_client().get("/masuk")
    flask_runs.clear()
    visitors = [make_client() for _ in range(3)]
    answers = [visitor.get("/masuk") for visitor in visitors]
    assert flask_runs == []
    tokens = [csrf_token_of(answer.get_data(as_text=True)) for answer in answers]
    cookies = [answer.headers["Set-Cookie"] for answer in answers]
    assert len({*tokens, csrf_token_of(first.get_data(as_text=True))}) == 4
    assert len({cookie.split(";")[0] for cookie in cookies}) == 3
    serializer = app.session_interface.get_signing_serializer(app)
    for answer, token in zip(answers, tokens, strict=True):
        assert answer.status_code == 200 and answer.headers["X-Racik-Cache"] == "hit"
        assert answer.get_data(as_text=True).replace(token, "T") == \
            first.get_data(as_text=True).replace(csrf_token_of(first.get_data(as_text=True)), "T")
        # The same headers as Flask's, the cookie's attributes included; only its value
        # and the length (a token's length varies) differ.
        cookie = answer.headers["Set-Cookie"]
        assert cookie.split(";", 1)[1] == first.headers["Set-Cookie"].split(";", 1)[1]
        assert set(serializer.loads(cookie.split(";")[0].split("=", 1)[1])) == {"csrf_token"}
        assert int(answer.headers["Content-Length"]) == len(answer.data)
        assert {k: v for k, v in _headers(answer).items()
                if k not in ("set-cookie", "content-length")} == {
            k: v for k, v in _headers(first).items() if k not in ("set-cookie", "content-length")}

    # Each visitor signs in with its own token; another visitor's token is refused.
    refused = visitors[0].post("/masuk", data={"email": buyer.email, "password":
                                               DEFAULT_PASSWORD, "csrf_token": tokens[1]},
                               csrf=False)
    assert refused.status_code == 400
    for visitor, token in zip(visitors[1:], tokens[1:], strict=True):
        signed_in = visitor.post("/masuk", data={"email": buyer.email, "password":
                                                 DEFAULT_PASSWORD, "csrf_token": token},
                                 csrf=False)
        assert signed_in.status_code == 303, signed_in.get_data(as_text=True)[:300]


def test_a_login_page_with_a_query_a_cookie_or_a_permanent_session_goes_to_flask(
        app, make_client, shop, flask_runs, monkeypatch):
    make_client().get("/masuk")
    for path in ("/masuk?next=/akun", "/masuk"):
        visitor = make_client()
        if path == "/masuk":
            visitor.set_cookie(app.config["LANGUAGE_COOKIE_NAME"], "en")
        flask_runs.clear()
        answer = visitor.get(path)
        assert flask_runs == [path] and answer.status_code == 200, path
    # A session cookie that expires (a permanent session) cannot be made again without
    # Flask: it is never kept.
    layer = _layer(app)
    name = app.config["SESSION_COOKIE_NAME"]
    assert layer._form_cookie([f"{name}=x; HttpOnly; Path=/"], []) == (name, "; HttpOnly; Path=/")
    assert layer._form_cookie([f"{name}=x; Expires=Wed, 06 Jan 2027 00:00:00 GMT"], []) is None
    assert layer._form_cookie([f"{name}=x", "other=y"], []) is None
    assert layer._form_cookie([f"{name}=x"], [("Content-Encoding", "gzip")]) is None


def test_over_http_a_login_page_given_by_the_layer_signs_in(app, db, shop, flask_runs):
    """Outside in: a live server, a browser that keeps its cookies and posts the form."""
    from tests.live import LiveBrowser

    email = make_user(email="pembeli-http@racik.test").email
    db.session.commit()
    db.session.close()
    with serve(app) as base:
        raw_request(base, "/masuk")  # Flask renders it once
        flask_runs.clear()
        browser = LiveBrowser(base)
        page = browser.get("/masuk")
        assert flask_runs == [] and page.headers["X-Racik-Cache"] == "hit"
        assert int(page.headers["Content-Length"]) == len(page.body)
        answer = browser.request("/masuk", method="POST", body=(
            f"csrf_token={browser.page_token}&email={email}&password="
            f"{DEFAULT_PASSWORD}").encode(), headers={
            "Content-Type": "application/x-www-form-urlencoded"})
        assert answer.status == 303, answer.text()[:300]
        assert browser.get("/akun").status == 200
