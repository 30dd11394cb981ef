"""Login, logout, remember me, session rotation and the login rate limit."""

from __future__ import annotations

from sqlalchemy import select

from app.accounts.models import UserSession
from tests.conftest import log_in
from tests.factories import DEFAULT_PASSWORD, make_user


def _session_cookie(client) -> str | None:
    cookie = client.get_cookie("racik_session")
    return cookie.value if cookie else None


def test_login_rotates_session_and_opens_a_server_side_session(client, db):
    user = make_user(email="andi@example.test")
    db.session.commit()
    client.get("/masuk")
    anonymous_cookie = _session_cookie(client)
    response = client.post("/masuk", data={"email": " ANDI@example.test",
                                           "password": DEFAULT_PASSWORD})
    assert response.status_code == 303
    assert _session_cookie(client) != anonymous_cookie
    rows = db.session.scalars(select(UserSession).where(UserSession.user_id == user.id)).all()
    assert len(rows) == 1 and rows[0].revoked_at is None and not rows[0].remember
    assert db.session.get(type(user), user.id).last_login_at is not None
    assert "Halo, " in client.get("/").get_data(as_text=True)


def test_login_with_wrong_password_or_unknown_email_gives_the_same_answer(client, db):
    make_user(email="andi@example.test")
    db.session.commit()
    wrong = client.post("/masuk", data={"email": "andi@example.test", "password": "salah-123"})
    unknown = client.post("/masuk", data={"email": "siapa@example.test",
                                          "password": "salah-123"})
    for response in (wrong, unknown):
        assert response.status_code == 422
        assert "Email atau kata sandi salah." in response.get_data(as_text=True)
    assert db.session.scalars(select(UserSession)).all() == []


def test_inactive_user_cannot_log_in(client, db):
    user = make_user(email="nonaktif@example.test")
    user.active = False
    db.session.commit()
    response = client.post("/masuk", data={"email": user.email, "password": DEFAULT_PASSWORD})
    assert response.status_code == 422


def test_remember_me_sets_a_long_lived_cookie(client, db):
    user = make_user()
    db.session.commit()
    log_in(client, user.email, remember=True)
    assert client.get_cookie("racik_remember") is not None
    row = db.session.scalars(select(UserSession)).one()
    assert row.remember
    assert (row.expires_at - row.created_at).days == 30


def test_remembered_login_survives_the_browser_session_cookie(client, db):
    user = make_user()
    db.session.commit()
    log_in(client, user.email, remember=True)
    client.delete_cookie("racik_session")  # browser closed: session cookie gone
    assert client.get("/akun").status_code == 200


def test_next_parameter_only_follows_local_paths(client, db):
    user = make_user()
    db.session.commit()
    response = client.post("/masuk?next=https://evil.example/steal",
                           data={"email": user.email, "password": DEFAULT_PASSWORD})
    assert response.headers["Location"] == "/"
    client.post("/keluar")
    response = client.post("/masuk?next=/akun",
                           data={"email": user.email, "password": DEFAULT_PASSWORD})
    assert response.headers["Location"] == "/akun"


def test_protected_page_sends_anonymous_user_to_login_and_back(client):
    response = client.get("/akun/kata-sandi")
    assert response.status_code == 302
    assert response.headers["Location"] == "/masuk?next=/akun/kata-sandi"


def test_protected_fragment_for_htmx_redirects_with_header(client):
    response = client.get("/akun", headers={"HX-Request": "true"})
    assert response.status_code == 401
    assert response.headers["HX-Redirect"].startswith("/masuk?next=")


def test_logout_revokes_the_session_so_a_copied_cookie_is_useless(client, make_client, db):
    user = make_user()
    db.session.commit()
    log_in(client, user.email)
    stolen = _session_cookie(client)
    assert client.post("/keluar").status_code == 303
    assert db.session.scalars(select(UserSession)).one().revoked_at is not None
    thief = make_client()
    thief.set_cookie("racik_session", stolen)
    assert thief.get("/akun").status_code == 302


def test_login_is_rate_limited_per_account(client, make_client, db, app):
    user = make_user(email="target@example.test")
    db.session.commit()
    for _ in range(5):
        response = client.post("/masuk", data={"email": user.email, "password": "tebak-tebak"})
        assert response.status_code == 422
    blocked = client.post("/masuk", data={"email": user.email, "password": DEFAULT_PASSWORD})
    html = blocked.get_data(as_text=True)
    assert blocked.status_code == 429
    assert "Coba lagi dalam 15 menit" in html
    # Seconds until the window resets: just under 15 minutes, never more.
    assert 14 * 60 < int(blocked.headers["Retry-After"]) <= 15 * 60
    # The limit is per account: another account from the same address still logs in.
    other = make_user()
    db.session.commit()
    assert client.post("/masuk", data={"email": other.email,
                                       "password": DEFAULT_PASSWORD}).status_code == 303


def test_login_is_rate_limited_per_ip_across_accounts(client, db, app, monkeypatch):
    monkeypatch.setitem(app.config, "LOGIN_LIMIT_PER_IP", "3 per 15 minutes")
    for n in range(3):
        response = client.post("/masuk", data={"email": f"u{n}@example.test",
                                               "password": "tebak-tebak"})
        assert response.status_code == 422
    response = client.post("/masuk", data={"email": "u9@example.test", "password": "x"})
    assert response.status_code == 429


def test_successful_logins_do_not_count_toward_the_limit(client, db):
    user = make_user()
    db.session.commit()
    for _ in range(7):
        log_in(client, user.email)
        client.post("/keluar")


def test_rate_limited_htmx_login_gets_a_fragment(client, db, app, monkeypatch):
    monkeypatch.setitem(app.config, "LOGIN_LIMIT_PER_ACCOUNT", "1 per 15 minutes")
    client.post("/masuk", data={"email": "a@example.test", "password": "x"})
    response = client.post("/masuk", data={"email": "a@example.test", "password": "x"},
                           headers={"HX-Request": "true"})
    assert response.status_code == 429
    html = response.get_data(as_text=True)
    assert "<html" not in html and "Coba lagi dalam" in html


def _age_sessions(db, minutes: int) -> None:
    from datetime import timedelta

    from sqlalchemy import update

    from app.core.clock import utcnow

    db.session.execute(update(UserSession).values(
        last_seen_at=utcnow() - timedelta(minutes=minutes)))
    db.session.commit()


def test_last_seen_is_updated_on_reads_and_on_writes_without_locking_up(client, db):
    """On SQLite a write request holds the write lock: touching the session must not wait
    for a second connection (that would hang, then fail)."""
    import time

    from app.core.clock import utcnow

    user = make_user()
    db.session.commit()
    log_in(client, user.email)

    _age_sessions(db, 5)
    assert client.get("/akun").status_code == 200
    row = db.session.scalars(select(UserSession)).one()
    assert (utcnow() - row.last_seen_at).total_seconds() < 60

    token = client.csrf_token()  # a GET: it would touch the session itself
    _age_sessions(db, 5)
    started = time.monotonic()
    response = client.post("/akun", csrf=False, data={
        "name": "Nama Baru", "phone": "", "locale": "id", "csrf_token": token})
    assert response.status_code == 303
    assert time.monotonic() - started < 5
    row = db.session.scalars(select(UserSession)).one()
    assert (utcnow() - row.last_seen_at).total_seconds() < 60
