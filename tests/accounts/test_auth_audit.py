"""The audit trail of logging in and out, passwords and two-factor login."""

from __future__ import annotations

import json
import re

import pyotp
from sqlalchemy import select

from app.audit.models import AuditEntry
from app.core.models import EmailOutbox
from tests.accounts.test_totp_login import (
    RECOVERY,
    SECRET_TEXT,
    next_code,
    password_step,
    totp_user,
)
from tests.conftest import log_in
from tests.factories import DEFAULT_PASSWORD, make_user

NEW_PASSWORD = "teh-manis-dingin-77"


def rows(db) -> list[AuditEntry]:
    db.session.expire_all()
    return db.session.scalars(select(AuditEntry).order_by(AuditEntry.id)).all()


def test_login_and_logout_are_audited(client, db):
    user = make_user(email="andi@example.test")
    db.session.commit()
    log_in(client, "andi@example.test")
    client.post("/keluar")
    login, logout = rows(db)
    assert (login.action, login.actor_id, login.object_type, login.object_id) == (
        "auth.login", user.id, "user", str(user.id))
    assert login.actor_label == "andi@example.test" and login.ip_address == "127.0.0.1"
    assert (logout.action, logout.actor_id, logout.object_id) == (
        "auth.logout", user.id, str(user.id))


def test_failed_login_notes_the_email_tried_never_the_password(client, db):
    make_user(email="andi@example.test")
    db.session.commit()
    client.post("/masuk", data={"email": " ANDI@example.test", "password": "rahasia-salah-99"})
    client.post("/masuk", data={"email": "siapa@example.test", "password": "rahasia-salah-99"})
    first, second = rows(db)
    assert [first.action, second.action] == ["auth.login_failed"] * 2
    assert (first.note, second.note) == ("andi@example.test", "siapa@example.test")
    assert first.actor_id is None and first.ip_address == "127.0.0.1"
    for row in (first, second):
        stored = json.dumps([row.note, row.before, row.after, row.actor_label, row.object_id])
        assert "rahasia-salah-99" not in stored


def test_password_change_and_reset_are_audited(client, db):
    user = make_user()
    db.session.commit()
    log_in(client, user.email)
    client.post("/akun/kata-sandi", data={"current_password": DEFAULT_PASSWORD,
                                          "new_password": NEW_PASSWORD,
                                          "new_password_confirm": NEW_PASSWORD})
    client.post("/keluar")
    client.post("/lupa-kata-sandi", data={"email": user.email})
    body = db.session.scalars(select(EmailOutbox.body_text).where(
        EmailOutbox.template == "password_reset")).one()
    link = re.search(r"(/atur-ulang-kata-sandi/\S+)", body).group(1)
    client.post(link, data={"new_password": DEFAULT_PASSWORD,
                            "new_password_confirm": DEFAULT_PASSWORD})
    audited = [(row.action, row.actor_id, row.object_id) for row in rows(db)]
    assert audited == [
        ("auth.login", user.id, str(user.id)),
        ("auth.password_change", user.id, str(user.id)),
        ("auth.logout", user.id, str(user.id)),
        ("auth.password_reset", user.id, str(user.id)),
    ]
    for row in rows(db):
        assert NEW_PASSWORD not in json.dumps([row.note, row.before, row.after])


def test_two_factor_actions_are_audited(client, db):
    user = make_user()
    db.session.commit()
    log_in(client, user.email)
    page = client.get("/akun/2fa").get_data(as_text=True)
    secret = SECRET_TEXT.search(page).group(1).replace(" ", "")
    enabled = client.post("/akun/2fa", data={"code": pyotp.TOTP(secret).now()})
    codes = RECOVERY.findall(enabled.get_data(as_text=True))
    client.post("/akun/2fa/kode-pemulihan")
    client.post("/keluar")
    password_step(client, user.email)
    client.post("/masuk/verifikasi", data={"code": "zzzz-zzzz"})  # not a code of this user
    client.post("/masuk/verifikasi", data={"code": codes[0]})  # replaced: refused
    client.post("/akun/2fa/matikan")  # not logged in: nothing
    audited = [(row.action, row.actor_id, row.note) for row in rows(db)]
    assert audited == [
        ("auth.login", user.id, ""),
        ("auth.totp_enable", user.id, ""),
        ("auth.recovery_codes_new", user.id, ""),
        ("auth.logout", user.id, ""),
        ("auth.totp_failed", user.id, "login"),
        ("auth.totp_failed", user.id, "login"),
    ]
    for row in rows(db):
        assert secret not in json.dumps([row.note, row.before, row.after])


def test_recovery_code_login_and_switching_off_are_audited(client, db):
    user = totp_user(db)
    password_step(client, user.email)
    client.post("/masuk/verifikasi", data={"code": "abcd-efgh"})
    client.post("/akun/2fa/matikan")
    audited = [(row.action, row.actor_id, row.note) for row in rows(db)]
    assert audited == [
        ("auth.recovery_code_used", user.id, ""),
        ("auth.login", user.id, "recovery"),
        ("auth.totp_disable", user.id, ""),
    ]


def test_a_wrong_code_at_confirmation_is_audited(client, db):
    user = totp_user(db)
    password_step(client, user.email)
    used = next_code()
    client.post("/masuk/verifikasi", data={"code": used})
    client.post("/akun/konfirmasi", data={"password": DEFAULT_PASSWORD, "code": used})
    audited = [(row.action, row.note) for row in rows(db)]
    assert audited == [("auth.login", "totp"), ("auth.totp_failed", "reauth")]
