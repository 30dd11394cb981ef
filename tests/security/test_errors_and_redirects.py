"""Error pages leak nothing, and `next` never leaves the site (issue #9, hardening).

A test-only app (same factory, same database) gets routes that fail in the ways a real
route can: an exception with a secret in its text, an SQL error (unknown table, bad
syntax), an abort with an internal description. Each answers the same friendly page (or
htmx fragment): no traceback, no exception text, no SQL, no file paths."""

from __future__ import annotations

import re
from urllib.parse import urlsplit

import pytest
from flask import Flask, abort
from sqlalchemy import text

from app import create_app
from app.config import TestConfig
from app.extensions import db as _db
from tests.conftest import log_in
from tests.factories import DEFAULT_PASSWORD, make_user

SECRET = "rahasia-hunter2-9f3a"
LEAKS = [SECRET, "Traceback", 'File "', ".py", "no_such_table", "SELECT", "FROM ", "sqlalchemy",
         "psycopg", "sqlite3", "OperationalError", "ProgrammingError", "RuntimeError",
         "werkzeug", "Debugger"]

# The CSRF token (hx-headers, hidden inputs): one quoted run of 40+ base64/dot characters.
CSRF_TOKEN = re.compile(r'(?<=")[\w.-]{40,}(?=")')


def _boom():
    raise RuntimeError(f"kaboom {SECRET}")


def _unknown_table():
    _db.session.execute(text("SELECT secret FROM no_such_table WHERE x = :x"), {"x": SECRET})
    return "unreachable"


def _bad_syntax():
    _db.session.execute(text("SELEKT * FROM users WHERE email = :email"), {"email": SECRET})
    return "unreachable"


def _abort_with_detail():
    abort(400, description=f"internal detail {SECRET}")


FAILURES = {"/_uji/boom": _boom, "/_uji/tabel": _unknown_table, "/_uji/sintaks": _bad_syntax,
            "/_uji/abort": _abort_with_detail}


@pytest.fixture(scope="module")
def failing_app(app: Flask, tmp_path_factory) -> Flask:
    """The real factory, the suite's database, plus the failing routes (test-only endpoints:
    the suite's own app and its URL map are left alone)."""
    application = create_app(TestConfig, SQLALCHEMY_DATABASE_URI=app.config[
        "SQLALCHEMY_DATABASE_URI"], INSTANCE_PATH=str(tmp_path_factory.mktemp("failing")))
    for path, view in FAILURES.items():
        application.add_url_rule(path, endpoint=f"uji_{view.__name__}", view_func=view)
    assert not application.debug
    return application


@pytest.mark.parametrize("htmx", [False, True], ids=["page", "htmx"])
@pytest.mark.parametrize("path", sorted(FAILURES))
def test_errors_answer_the_friendly_page_and_leak_nothing(failing_app, path, htmx):
    client = failing_app.test_client()
    headers = {"HX-Request": "true"} if htmx else {}
    response = client.get(path, headers=headers)
    html = response.get_data(as_text=True)
    expected = 400 if path == "/_uji/abort" else 500
    assert response.status_code == expected
    assert response.mimetype == "text/html"
    if expected == 500:
        assert "Terjadi kesalahan pada server" in html
    assert ("<html" in html) is not htmx
    # The page's random CSRF token may spell ".py" by chance: look only at what it is not.
    shown = CSRF_TOKEN.sub("", html)
    for leak in LEAKS:
        assert leak not in shown, f"{path} shows {leak!r}"
    # After a failed query the next request has a working database session.
    assert client.get("/").status_code == 200


def test_the_sql_error_is_logged_for_us_not_shown(failing_app, caplog):
    with caplog.at_level("ERROR"):
        response = failing_app.test_client().get("/_uji/tabel")
    assert response.status_code == 500
    assert any("no_such_table" in (record.exc_text or "") for record in caplog.records)


# --- open redirects ---------------------------------------------------------------------

EVIL = [
    "//evil.test", "//evil.test/akun", "https://evil.test", "http:evil.test",
    "/\\evil.test", "\\\\evil.test", "/\\/evil.test", "\\/evil.test", "javascript:alert(1)",
    "JavaScript:alert(1)", " //evil.test", "/\t/evil.test", "/\n/evil.test",
    "https:/\\evil.test", "//evil.test%2F@racik.test", "evil.test",
    "data:text/html,<script>alert(1)</script>", "///evil.test", "//@evil.test",
]


def _stays_here(location: str) -> bool:
    """Read Location as a browser does (it drops tabs and newlines, and treats a backslash
    as a slash): a path on this site, never another host or a script."""
    assert location == "/" or not location.startswith(("//", "/\\")), location
    seen = re.sub(r"[\t\n\r]", "", location).replace("\\", "/")
    parts = urlsplit(seen)
    return (not parts.scheme and not parts.netloc and seen.startswith("/")
            and not seen.startswith("//"))


@pytest.mark.parametrize("target", EVIL)
def test_login_next_never_leaves_the_site(make_client, db, target):
    user = make_user()
    db.session.commit()
    client = make_client()
    response = client.post("/masuk", query_string={"next": target},
                           data={"email": user.email, "password": DEFAULT_PASSWORD})
    assert response.status_code == 303
    assert _stays_here(response.headers["Location"])
    # Already logged in: /masuk?next= sends the user on at once, to the same safe place.
    again = client.get("/masuk", query_string={"next": target})
    assert again.status_code in (302, 303)
    assert again.headers["Location"] == response.headers["Location"]


@pytest.mark.parametrize("target", EVIL)
def test_language_switch_next_never_leaves_the_site(client, target):
    response = client.post("/bahasa", data={"lang": "en", "next": target})
    assert response.status_code == 303
    assert _stays_here(response.headers["Location"])


@pytest.mark.parametrize("target", ["//evil.test", "/\\evil.test", "javascript:alert(1)",
                                    "https://evil.test"])
def test_reauthentication_next_never_leaves_the_site(client, db, target):
    user = make_user()
    db.session.commit()
    log_in(client, user.email)
    response = client.post("/akun/konfirmasi", query_string={"next": target},
                           data={"password": DEFAULT_PASSWORD, "next": target})
    assert response.status_code == 303
    assert _stays_here(response.headers["Location"])


def test_a_local_next_is_followed(client, db):
    user = make_user()
    db.session.commit()
    response = client.post("/masuk", query_string={"next": "/pesanan?status=shipped"},
                           data={"email": user.email, "password": DEFAULT_PASSWORD})
    assert response.headers["Location"] == "/pesanan?status=shipped"
