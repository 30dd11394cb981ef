"""The production reverse proxy (docker/nginx.conf, Debian's nginx as a child process) in
front of the app configured as production trusts it (ProxyFix for one proxy, `Secure`
cookies), on loopback ports that are not 80/443 — as an operator publishing 8080/8443 would
run it (issue 19, "It must boot as shipped"): TLS with HSTS, HTTP redirected to HTTPS with
host and URI kept, host *and port* forwarded so the CSRF referrer check and the API's
absolute URLs keep the port, text gzipped, /static/ served by nginx with long caching of
versioned URLs."""

from __future__ import annotations

import gzip
import re
from collections.abc import Iterator

import pytest

from app import create_app
from app.config import TestConfig
from tests.conftest import missing_service
from tests.factories import DEFAULT_PASSWORD, make_user
from tests.live import LiveBrowser, csrf_token_of, raw_request, serve
from tests.nginx import Nginx, nginx_binary, nginx_start


@pytest.fixture(scope="module")
def proxy(app, tmp_path_factory, request) -> Iterator[Nginx]:
    """nginx in front of the suite's database served by an app set up as production sets
    itself up behind nginx (docker-compose.yml: PROXY_FIX_X_FOR=1; Secure cookies)."""
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


def _https_port(proxy: Nginx) -> int:
    return proxy.ports[443]


def test_a_form_post_over_https_on_a_non_default_port_passes_the_csrf_referrer_check(
        proxy, db):
    """A browser's login: the page, then its form with the Referer it sends. Flask-WTF
    compares the Referer with https://<Host>/: with the port dropped it was a 400."""
    email = make_user().email
    db.session.commit()
    base = proxy.url(443)
    assert _https_port(proxy) not in (443, 80)
    session = LiveBrowser(base)
    page = session.request("/masuk")
    assert page.status == 200
    assert "Secure" in page.headers["Set-Cookie"]
    answer = session.post_form("/masuk", {"csrf_token": csrf_token_of(page.text()),
                                          "email": email, "password": DEFAULT_PASSWORD},
                               headers={"Referer": f"{base}/masuk"})
    assert answer.status == 303, answer.text()[:500]
    assert session.request("/akun").status == 200


def test_the_api_absolute_urls_keep_the_public_scheme_host_and_port(proxy, db):
    response = raw_request(proxy.url(443), "/api/v1/products?per_page=1")
    assert response.status == 200
    links = re.findall(r"<([^>]+)>", response.headers["Link"])
    assert links
    assert all(link.startswith(f"{proxy.url(443)}/api/v1/products?") for link in links)


def test_plain_http_redirects_to_https_with_the_same_host_and_uri(proxy):
    response = raw_request(proxy.url(80), "/produk?q=serum&page=2",
                           headers={"Host": f"racik.test:{proxy.ports[80]}"})
    assert response.status == 301
    assert response.headers["Location"] == (
        f"https://racik.test:{_https_port(proxy)}/produk?q=serum&page=2")


def test_every_https_answer_carries_one_hsts_header(proxy):
    for path in ("/masuk", "/static/css/app.css", "/no-such-page"):
        response = raw_request(proxy.url(443), path)
        values = response.headers.get_all("Strict-Transport-Security") or []
        assert values == ["max-age=31536000"], (path, values)


def test_html_css_and_json_are_gzipped_for_clients_that_accept_it(proxy):
    for path, kind in (("/masuk", "text/html"), ("/static/css/app.css", "text/css"),
                       ("/api/v1/openapi.json", "application/json")):
        response = raw_request(proxy.url(443), path, headers={"Accept-Encoding": "gzip"})
        assert response.status == 200, path
        assert response.headers["Content-Type"].startswith(kind)
        assert response.headers.get("Content-Encoding") == "gzip", path
        assert "Accept-Encoding" in response.headers.get("Vary", ""), path
        plain = raw_request(proxy.url(443), path)
        assert "Content-Encoding" not in plain.headers
        assert len(response.body) < len(plain.body)
        if kind != "text/html":  # a page carries a fresh CSRF token each time
            assert gzip.decompress(response.body) == plain.body


def test_static_files_come_from_nginx_and_versioned_urls_are_immutable(proxy, app):
    with app.test_request_context():
        from flask import url_for

        versioned = url_for("static", filename="css/app.css")
    assert "?v=" in versioned
    cached = raw_request(proxy.url(443), versioned)
    assert cached.status == 200
    with open(f"{app.static_folder}/css/app.css", "rb") as source:
        assert cached.body == source.read()
    assert cached.headers["Cache-Control"] == "public, max-age=31536000, immutable"
    # nginx answered itself: the app echoes a request id on everything it serves.
    assert "X-Request-ID" not in cached.headers
    plain = raw_request(proxy.url(443), "/static/css/app.css")
    assert plain.headers["Cache-Control"] == "no-cache"
    assert raw_request(proxy.url(443), "/static/../config.py").status in (400, 404)
