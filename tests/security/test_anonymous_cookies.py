"""A visitor who has not posted anything gets no session cookie (issue 24): the catalog,
the home page, an error page, the API docs. The CSRF token is made only where a form is
shown (the login page sets the cookie), and it still guards every POST."""

from __future__ import annotations

import re

import pytest

from app.config import TestConfig
from tests.factories import DEFAULT_PASSWORD, make_product, make_user

CSRF_INPUT = re.compile(r'name="csrf_token" (?:type="hidden" )?value="([^"]+)"')


@pytest.fixture(autouse=True)
def plain_clients(app, monkeypatch):
    """Flask's own test client: the suite's CsrfClient would fill in a real token."""
    monkeypatch.setattr(app, "test_client_class", None)


@pytest.fixture
def shop(db):
    seller = make_user(roles=("seller",), store_name="Toko Tanpa Kue")
    product = make_product(store=seller.store, name="Serum Tanpa Kue")
    db.session.commit()
    return {"product_id": product.id, "slug": seller.store.slug}


def _fresh(app):
    return app.test_client(use_cookies=False)  # every request a first visit, like wrk


def _get(app, client, path: str):
    """One request in its own app context, as under a server: the test's outer context
    would share `g` (and the CSRF token made in it) between requests."""
    with app.app_context():
        return client.get(path)


def test_fresh_anonymous_visitor_gets_no_cookie_on_pages_without_a_form(app, shop):
    client = _fresh(app)
    for path in ("/", "/produk", "/produk?q=serum", f"/produk/{shop['product_id']}",
                 f"/toko/{shop['slug']}", "/tidak-ada-halaman-ini", "/produk/999999",
                 "/api/v1/docs"):
        response = _get(app, client, path)
        assert response.status_code in (200, 404), (path, response.status_code)
        assert response.headers.getlist("Set-Cookie") == [], path
        body = response.get_data(as_text=True)
        assert "X-CSRFToken" not in body and 'name="csrf_token"' not in body, path


def test_login_page_sets_the_session_cookie_and_login_still_works(app, db):
    user = make_user(email="kue@example.test")
    db.session.commit()
    client = app.test_client()
    page = _get(app, client, "/masuk")
    cookies = page.headers.getlist("Set-Cookie")
    assert any(cookie.startswith(TestConfig.SESSION_COOKIE_NAME + "=")
               for cookie in cookies), cookies
    token = CSRF_INPUT.search(page.get_data(as_text=True)).group(1)
    response = client.post("/masuk", data={"email": user.email, "password": DEFAULT_PASSWORD,
                                           "csrf_token": token})
    assert response.status_code in (302, 303), response.status_code
    assert client.get("/akun").status_code == 200


def test_anonymous_post_with_a_forged_or_missing_token_is_refused(app, db):
    user = make_user(email="palsu@example.test")
    db.session.commit()
    client = app.test_client()
    client.get("/masuk")  # a session with a real token exists
    for data in ({"csrf_token": "forged"}, {}):
        response = client.post("/masuk", data={"email": user.email,
                                               "password": DEFAULT_PASSWORD, **data})
        assert response.status_code == 400
    other = _fresh(app)  # no session at all
    assert other.post("/masuk", data={"email": user.email, "password": DEFAULT_PASSWORD,
                                      "csrf_token": "forged"}).status_code == 400


def test_api_blueprint_limit_still_counts_before_the_view(app, monkeypatch):
    monkeypatch.setitem(app.config, "API_LIMIT", "2 per minute")
    client = _fresh(app)
    statuses = [client.get("/api/v1/products").status_code for _ in range(3)]
    assert statuses[:2] != [429, 429] and statuses[2] == 429, statuses
