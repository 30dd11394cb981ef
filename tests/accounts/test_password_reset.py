"""'Lupa kata sandi': the same answer for any email, a link that works once and for an hour,
every session ended, rate limits."""

from __future__ import annotations

import re
from datetime import timedelta
from unittest.mock import patch

from sqlalchemy import func, select

from app.accounts.models import PasswordResetToken, UserSession
from app.core.clock import utcnow
from app.core.models import EmailOutbox
from tests.conftest import log_in
from tests.factories import DEFAULT_PASSWORD, make_user

NEW_PASSWORD = "teh-manis-pakai-es-batu-77"
LINK = re.compile(r"(/atur-ulang-kata-sandi/[A-Za-z0-9_-]+)")


def _ask(client, email: str):
    return client.post("/lupa-kata-sandi", data={"email": email})


def _link(db, email: str) -> str:
    row = db.session.scalars(select(EmailOutbox).where(
        EmailOutbox.to_address == email, EmailOutbox.template == "password_reset")
        .order_by(EmailOutbox.id.desc())).first()
    assert row is not None, "no reset email"
    return LINK.search(row.body_text).group(1)


def _reset(client, link: str, password: str = NEW_PASSWORD):
    return client.post(link, data={"new_password": password,
                                   "new_password_confirm": password})


def test_known_and_unknown_emails_get_the_same_answer(db, client):
    user = make_user(email="ada@example.test")
    db.session.commit()
    known = _ask(client, "ADA@example.test ")
    unknown = _ask(client, "tidak-ada@example.test")
    assert known.status_code == unknown.status_code == 303
    assert known.headers["Location"] == unknown.headers["Location"] == "/lupa-kata-sandi/terkirim"
    assert "Jika email itu terdaftar" in client.get("/lupa-kata-sandi/terkirim").get_data(
        as_text=True)
    mails = db.session.scalars(select(EmailOutbox.to_address).where(
        EmailOutbox.template == "password_reset")).all()
    assert mails == [user.email]  # nothing sent to the unknown address
    assert db.session.scalar(select(func.count(PasswordResetToken.id))) == 1


def test_the_link_sets_a_new_password_and_ends_every_session(db, client, make_client):
    user = make_user(email="budi@example.test")
    db.session.commit()
    elsewhere = make_client()
    log_in(elsewhere, user.email)
    _ask(client, user.email)
    link = _link(db, user.email)
    stored = db.session.scalars(select(PasswordResetToken)).one()
    assert link.rsplit("/", 1)[1] not in stored.token_hash  # only the hash is kept
    assert client.get(link).status_code == 200
    response = _reset(client, link)
    assert response.status_code == 303 and response.headers["Location"] == "/masuk"
    assert elsewhere.get("/akun").status_code == 302  # the other device is logged out
    assert db.session.scalar(select(func.count(UserSession.id)).where(
        UserSession.user_id == user.id, UserSession.revoked_at.is_(None))) == 0
    log_in(client, user.email, NEW_PASSWORD)
    assert db.session.scalar(select(func.count(EmailOutbox.id)).where(
        EmailOutbox.template == "password_changed")) == 1


def test_a_link_works_once(db, client):
    user = make_user()
    db.session.commit()
    _ask(client, user.email)
    link = _link(db, user.email)
    assert _reset(client, link).status_code == 303
    again = _reset(client, link, "pisang-goreng-keju-99")
    assert again.status_code == 410
    assert "Tautan tidak berlaku" in again.get_data(as_text=True)
    assert client.get(link).status_code == 410
    log_in(client, user.email, NEW_PASSWORD)  # the second try changed nothing


def test_using_one_link_spends_the_others(db, client):
    user = make_user()
    db.session.commit()
    _ask(client, user.email)
    older = _link(db, user.email)
    _ask(client, user.email)
    newer = _link(db, user.email)
    assert older != newer
    assert _reset(client, newer).status_code == 303
    assert client.get(older).status_code == 410


def test_a_link_expires_after_an_hour(db, client):
    user = make_user()
    db.session.commit()
    _ask(client, user.email)
    link = _link(db, user.email)
    later = utcnow() + timedelta(hours=1, seconds=1)
    with patch("app.accounts.password_reset.utcnow", return_value=later):
        assert client.get(link).status_code == 410
        assert _reset(client, link).status_code == 410
    earlier = utcnow() + timedelta(minutes=59)
    with patch("app.accounts.password_reset.utcnow", return_value=earlier):
        assert client.get(link).status_code == 200


def test_a_made_up_link_is_gone(client):
    assert client.get("/atur-ulang-kata-sandi/" + "a" * 43).status_code == 410
    assert client.get("/atur-ulang-kata-sandi/" + "a" * 300).status_code == 410


def test_a_weak_or_mismatched_new_password_is_refused_and_the_link_still_works(db, client):
    user = make_user()
    db.session.commit()
    _ask(client, user.email)
    link = _link(db, user.email)
    weak = _reset(client, link, "12345678")
    assert weak.status_code == 422
    mismatch = client.post(link, data={"new_password": NEW_PASSWORD,
                                       "new_password_confirm": NEW_PASSWORD + "x"})
    assert mismatch.status_code == 422
    assert "tidak cocok" in mismatch.get_data(as_text=True)
    log_in(client, user.email, DEFAULT_PASSWORD)  # unchanged
    client.post("/keluar")
    assert _reset(client, link).status_code == 303


def test_a_deactivated_account_gets_no_link(db, client):
    user = make_user()
    user.active = False
    db.session.commit()
    assert _ask(client, user.email).status_code == 303
    assert db.session.scalar(select(func.count(PasswordResetToken.id))) == 0


def test_bad_email_input_is_a_field_message(client):
    for email in ("", "x" * 400):
        response = _ask(client, email)
        assert response.status_code == 422


def test_reset_requests_are_rate_limited_per_email_and_per_ip(db, app, client):
    make_user(email="sering@example.test")
    db.session.commit()
    for _ in range(3):
        assert _ask(client, "sering@example.test").status_code == 303
    assert _ask(client, "sering@example.test").status_code == 429
    assert db.session.scalar(select(func.count(PasswordResetToken.id))) == 3
    for n in range(16):  # 20 per hour per IP: 4 used above
        assert _ask(client, f"orang{n}@example.test").status_code == 303
    assert _ask(client, "lain@example.test").status_code == 429


def test_login_page_links_to_the_reset(client):
    assert "/lupa-kata-sandi" in client.get("/masuk").get_data(as_text=True)
