"""HTTP baseline: security headers, error pages, health check, request ids, filters."""

from __future__ import annotations

import logging
import re
from datetime import UTC, datetime
from decimal import Decimal

import pytest

from app import create_app
from app.config import ProductionConfig
from app.core.money import format_rupiah, round_rupiah


def test_security_headers_on_every_page(client):
    response = client.get("/")
    csp = response.headers["Content-Security-Policy"]
    assert "default-src 'self'" in csp and "frame-ancestors 'none'" in csp
    assert "unsafe-inline" not in csp and "unsafe-eval" not in csp
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert response.headers["Referrer-Policy"] == "strict-origin-when-cross-origin"
    assert response.headers["X-Frame-Options"] == "DENY"
    assert "HX-Request" in response.headers["Vary"]


def test_pages_have_no_inline_script(client):
    html = client.get("/daftar").get_data(as_text=True)
    assert "<script>" not in html and " on" + "click=" not in html
    assert re.search(r'<script src="/static/vendor/htmx.min.js\?v=[0-9a-f]{12}" defer></script>',
                     html)


def test_a_photo_carries_nosniff_and_caching_but_no_document_headers(app, client):
    """A product photo is no document: no CSP, frame, referrer or permissions policy (they
    cost ~450 bytes per photo on the wire), no Expires beside max-age; nosniff and
    `inline` stay."""
    import io

    from PIL import Image

    from app.core.storage import storage_put

    buffer = io.BytesIO()
    Image.new("RGB", (8, 8), (10, 120, 80)).save(buffer, "WEBP")
    with app.app_context():
        key = storage_put(buffer.getvalue(), folder="products", suffix=".webp")

    photo = client.get(f"/media/{key}")
    page = client.get("/")

    assert photo.status_code == 200 and photo.mimetype == "image/webp"
    assert photo.headers["X-Content-Type-Options"] == "nosniff"
    assert "immutable" in photo.headers["Cache-Control"]
    for name in ("Content-Security-Policy", "X-Frame-Options", "Referrer-Policy",
                 "Permissions-Policy", "Cross-Origin-Opener-Policy", "Expires"):
        assert name not in photo.headers, name
        if name != "Expires":
            assert name in page.headers, name


def test_htmx_is_sent_only_to_pages_whose_content_uses_it(client, db):
    """htmx is 17 KB on the wire: the home page (no hx- attribute) goes without it, the
    register page (an htmx form) gets it; app.js (menus, busy states) is on both."""
    home = client.get("/").get_data(as_text=True)
    register = client.get("/daftar").get_data(as_text=True)
    assert "hx-get=" not in home and "hx-post=" not in home
    assert "htmx.min.js" not in home
    assert "hx-post=" in register and "/static/vendor/htmx.min.js" in register
    assert "/static/js/app.js" in home and "/static/js/app.js" in register


def test_search_gets_htmx_on_intent_not_with_the_page(client, db):
    """Search's htmx requests all start from the user: app.js is told where htmx is
    (data-htmx-on-intent) and fetches it when a control is reached for."""
    html = client.get("/produk").get_data(as_text=True)

    assert 'hx-get="/produk"' in html
    assert '<script src="/static/vendor/htmx.min.js' not in html
    assert re.search(r'<script src="/static/js/app.js\?v=\w+" data-htmx-on-intent='
                     r'"/static/vendor/htmx.min.js\?v=\w+" defer>', html)


def test_static_files_are_versioned_and_cached_for_long(client):
    html = client.get("/").get_data(as_text=True)
    href = re.search(r'href="(/static/css/app.css\?v=[0-9a-f]{12})"', html).group(1)
    response = client.get(href)
    assert response.status_code == 200
    assert "max-age=31536000" in response.headers["Cache-Control"]
    assert response.headers["X-Content-Type-Options"] == "nosniff"


def test_session_cookie_is_httponly_and_samesite_lax(client):
    client.get("/masuk")
    cookie = client.get_cookie("racik_session")
    assert cookie.http_only and cookie.same_site == "Lax"


def test_production_cookies_are_secure():
    assert ProductionConfig.SESSION_COOKIE_SECURE and ProductionConfig.REMEMBER_COOKIE_SECURE


@pytest.mark.parametrize("secret", [None, "dev-only-secret-key-change-me", "short"])
def test_production_refuses_to_start_with_a_default_or_weak_secret(secret, tmp_path):
    with pytest.raises(RuntimeError, match="SECRET_KEY"):
        create_app(ProductionConfig, SECRET_KEY=secret, INSTANCE_PATH=str(tmp_path),
                   SQLALCHEMY_DATABASE_URI="sqlite://", REDIS_URL="", JOBS_MODE="sync")


def test_production_starts_with_a_real_secret(tmp_path):
    app = create_app(ProductionConfig, SECRET_KEY="x" * 40, INSTANCE_PATH=str(tmp_path),
                     SQLALCHEMY_DATABASE_URI="sqlite://", REDIS_URL="", JOBS_MODE="sync",
                     RATELIMIT_STORAGE_URI="memory://", MIDTRANS_SERVER_KEY="Mid-server-x",
                     FORMULA_KEYS="k1:" + "A" * 43 + "=", CONTRACT_SEAL_KEY="A" * 43 + "=",
                     BACKUP_KEY="A" * 43 + "=")
    assert app.config["ENV_NAME"] == "production"
    assert app.config["PAYMENT_GATEWAY"] == "midtrans"
    assert not app.config["PAYMENT_SANDBOX_ENABLED"]


def test_production_refuses_midtrans_without_its_server_key(tmp_path):
    with pytest.raises(RuntimeError, match="MIDTRANS_SERVER_KEY"):
        create_app(ProductionConfig, SECRET_KEY="x" * 40, INSTANCE_PATH=str(tmp_path),
                   SQLALCHEMY_DATABASE_URI="sqlite://", REDIS_URL="", JOBS_MODE="sync",
                   RATELIMIT_STORAGE_URI="memory://", MIDTRANS_SERVER_KEY="")


@pytest.mark.parametrize("missing", ["FORMULA_KEYS", "CONTRACT_SEAL_KEY", "BACKUP_KEY"])
def test_production_refuses_to_start_without_the_formula_seal_and_backup_keys(missing,
                                                                               tmp_path):
    keys = {"FORMULA_KEYS": "k1:" + "A" * 43 + "=", "CONTRACT_SEAL_KEY": "A" * 43 + "=",
            "BACKUP_KEY": "A" * 43 + "="}
    keys[missing] = ""
    with pytest.raises(RuntimeError, match=missing):
        create_app(ProductionConfig, SECRET_KEY="x" * 40, INSTANCE_PATH=str(tmp_path),
                   SQLALCHEMY_DATABASE_URI="sqlite://", REDIS_URL="", JOBS_MODE="sync",
                   RATELIMIT_STORAGE_URI="memory://", MIDTRANS_SERVER_KEY="Mid-server-x",
                   **keys)


def test_404_is_a_full_page_normally_and_a_fragment_for_htmx(client):
    page = client.get("/tidak-ada")
    assert page.status_code == 404
    assert "<html" in page.get_data(as_text=True)
    assert "Halaman tidak ditemukan" in page.get_data(as_text=True)
    fragment = client.get("/tidak-ada", headers={"HX-Request": "true"})
    assert fragment.status_code == 404
    html = fragment.get_data(as_text=True)
    assert "<html" not in html and 'role="alert"' in html


def test_405_answers_with_allow_header(client):
    response = client.get("/keluar")
    assert response.status_code == 405
    assert "POST" in response.headers["Allow"]


def test_413_for_a_too_large_body(client, app, monkeypatch):
    monkeypatch.setitem(app.config, "MAX_CONTENT_LENGTH", 1024)
    response = client.post("/masuk", data={"email": "a" * 5000, "password": "x"}, csrf=False)
    assert response.status_code == 413
    assert "Berkas terlalu besar" in response.get_data(as_text=True)


def test_unexpected_error_is_a_friendly_500_and_is_logged(client, monkeypatch, caplog):
    def broken():
        raise RuntimeError("kaboom")

    monkeypatch.setitem(client.application.view_functions, "main.index", broken)
    with caplog.at_level(logging.ERROR):
        response = client.get("/", headers={"X-Request-ID": "req-abc-12345"})
    assert response.status_code == 500
    html = response.get_data(as_text=True)
    assert "Terjadi kesalahan pada server" in html and "kaboom" not in html
    assert any("kaboom" in (r.exc_text or "") for r in caplog.records)


def test_request_id_is_echoed_or_created(client):
    assert client.get("/", headers={"X-Request-ID": "abc12345-xyz"}).headers[
        "X-Request-ID"] == "abc12345-xyz"
    generated = client.get("/", headers={"X-Request-ID": "bad id; with spaces"})
    assert generated.headers["X-Request-ID"] != "bad id; with spaces"
    assert len(generated.headers["X-Request-ID"]) == 32


def test_log_lines_carry_the_request_id(app):
    from app.core.logs import RequestIdFilter

    record = logging.LogRecord("x", logging.INFO, __file__, 1, "hello", None, None)
    with app.test_request_context("/"):
        from flask import g

        g.request_id = "rid-0001"
        RequestIdFilter().filter(record)
    assert record.request_id == "rid-0001"


def test_healthz_reports_database_and_redis(client):
    response = client.get("/healthz")
    assert response.status_code == 200
    body = response.get_json()
    assert body["database"] == {"status": "ok"}
    assert body["redis"] == {"status": "disabled"}  # tests run without REDIS_URL unless asked
    assert body["status"] == "ok"


@pytest.mark.redis
def test_healthz_sees_a_real_redis(client, app, redis_url, monkeypatch):
    monkeypatch.setitem(app.config, "REDIS_URL", redis_url)
    monkeypatch.delitem(app.extensions, "racik_redis", raising=False)
    assert client.get("/healthz").get_json()["redis"] == {"status": "ok"}
    app.extensions.pop("racik_redis", None)
    monkeypatch.setitem(app.config, "REDIS_URL", "redis://127.0.0.1:1/0")
    body = client.get("/healthz").get_json()
    # Jobs do not run on RQ here (sync mode): a lost Redis degrades, it is not an outage.
    assert body["redis"] == {"status": "degraded"} and body["status"] == "ok"
    app.extensions.pop("racik_redis", None)


@pytest.mark.parametrize(("amount", "shown"), [
    (0, "Rp 0"), (999, "Rp 999"), (1000, "Rp 1.000"), (1250000, "Rp 1.250.000"),
    (-45000, "-Rp 45.000"), (12345678901, "Rp 12.345.678.901"),
])
def test_money_is_shown_as_rupiah(amount, shown):
    assert format_rupiah(amount) == shown


def test_money_refuses_floats():
    with pytest.raises(TypeError):
        format_rupiah(1.5)  # type: ignore[arg-type]


def test_tax_rounding_is_half_up():
    assert round_rupiah(Decimal("10.5")) == 11
    assert round_rupiah(Decimal("10.49")) == 10
    assert round_rupiah(Decimal("-10.5")) == -11


def test_dates_are_shown_in_wib(app):
    from app.core.templating import wib_datetime

    moment = datetime(2026, 11, 22, 17, 30, tzinfo=UTC)  # 00:30 next day in Jakarta
    with app.test_request_context("/"):
        shown = wib_datetime(moment)
    assert shown == "23 Nov 2026, 00.30 WIB"


def test_one_date_format_in_both_languages(app):
    """`wib` and `day` give one format whatever style a template passes (issue 20)."""
    from flask_babel import force_locale

    moment = datetime(2026, 12, 6, 18, 50, tzinfo=UTC)  # 01:50 on 7 December in Jakarta
    template = app.jinja_env.from_string(
        "{{ m|wib }}|{{ m|wib('short') }}|{{ m|wib('long') }}|{{ m|day }}|{{ m|day('long') }}")
    with app.test_request_context("/"):
        with force_locale("id"):
            indonesian = template.render(m=moment)
        with force_locale("en"):
            english = template.render(m=moment)
    assert indonesian == "|".join(["7 Des 2026, 01.50 WIB"] * 3 + ["7 Des 2026"] * 2)
    assert english == "|".join(["7 Dec 2026, 01:50 WIB"] * 3 + ["7 Dec 2026"] * 2)


def test_no_template_formats_a_date_by_itself():
    """Dates reach templates through the one filter family, never strftime/format_date."""
    from pathlib import Path

    root = Path(__file__).resolve().parents[2] / "app" / "templates"
    offenders = [str(path.relative_to(root)) for path in root.rglob("*.html")
                 if re.search(r"strftime|format_date|format_datetime|wib_datetime",
                              path.read_text())]
    assert offenders == []


def test_rupiah_filter_in_templates(app):
    with app.test_request_context("/"):
        rendered = app.jinja_env.from_string("{{ 1250000|rupiah }}").render()
    assert rendered == "Rp\u00a01.250.000"


@pytest.mark.parametrize("code", [400, 403, 404, 409, 413, 429, 500])
@pytest.mark.parametrize("htmx", [False, True], ids=["page", "fragment"])
def test_every_error_page_is_in_the_users_language(app, code, htmx):
    from app.core.http import ERROR_TITLES, render_error

    headers = {"HX-Request": "true"} if htmx else {}
    with app.test_request_context("/", headers=headers):
        app.preprocess_request()
        body, status = render_error(code)
    assert status == code
    assert str(ERROR_TITLES[code]) in body
    assert ("<html" in body) is not htmx
    with app.test_request_context("/", headers=headers):
        from flask import session

        session["lang"] = "en"
        app.preprocess_request()
        english, _ = render_error(code)
    assert str(ERROR_TITLES[code]) not in english  # translated


def test_a_form_value_with_a_nul_byte_is_a_400_not_a_database_error(client, login_as):
    login_as("seller")
    for data in ({"name": "Toko\x00", "location": "Bandung", "low_stock_threshold": "10"},
                 {"name": ["Toko", "Kedua\x00"], "location": "Bandung"}):  # any repeated value
        response = client.post("/seller/toko", data=data)
        assert response.status_code == 400
        assert "Permintaan tidak dapat diproses" in response.get_data(as_text=True)


def test_locale_of_a_user_detached_by_the_teardown_is_read_from_the_database(app, db):
    """A streamed body runs after the request's session was removed: the logged-in user is
    detached and expired, and reading it raised DetachedInstanceError (a 500 midway)."""
    from flask import g
    from sqlalchemy import inspect

    from app import _select_locale
    from tests.factories import make_user

    user = make_user(locale="en")
    db.session.commit()
    with app.test_request_context("/admin/laporan"):
        db.session.expunge(user)  # what the teardown's session.remove() leaves behind
        assert inspect(user).detached and "locale" not in inspect(user).dict
        g._login_user = user  # flask-login's cache of the request's user
        assert _select_locale() == "en"
