"""Password change (ends the other sessions), the password policy, profile and language."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from app.accounts.models import User, UserSession
from app.accounts.passwords import common_passwords, password_problems
from app.core.models import EmailOutbox
from tests.conftest import log_in
from tests.factories import DEFAULT_PASSWORD, make_user

NEW_PASSWORD = "teh-tarik-pakai-es-77"


def test_changing_password_ends_the_other_sessions_but_not_this_one(client, make_client, db):
    user = make_user()
    db.session.commit()
    phone = make_client()
    log_in(phone, user.email)
    log_in(client, user.email)
    assert phone.get("/akun").status_code == 200
    response = client.post("/akun/kata-sandi", data={
        "current_password": DEFAULT_PASSWORD,
        "new_password": NEW_PASSWORD,
        "new_password_confirm": NEW_PASSWORD,
    })
    assert response.status_code == 303
    assert client.get("/akun").status_code == 200  # this browser stays logged in
    assert phone.get("/akun").status_code == 302  # the other one is logged out
    live = db.session.scalars(select(UserSession).where(UserSession.revoked_at.is_(None))).all()
    assert len(live) == 1
    email = db.session.scalars(select(EmailOutbox)).one()
    assert email.template == "password_changed" and email.to_address == user.email
    # The new password works, the old one no longer does.
    fresh = make_client()
    assert fresh.post("/masuk", data={"email": user.email,
                                      "password": DEFAULT_PASSWORD}).status_code == 422
    log_in(fresh, user.email, NEW_PASSWORD)


@pytest.mark.parametrize(("data", "field", "message"), [
    ({"current_password": "bukan-ini-123"}, "current_password", "Kata sandi saat ini salah"),
    ({"new_password": "qwerty123", "new_password_confirm": "qwerty123"}, "new_password",
     "terlalu umum"),
    ({"new_password_confirm": "beda-sendiri-42"}, "new_password_confirm", "tidak cocok"),
    ({"new_password": DEFAULT_PASSWORD, "new_password_confirm": DEFAULT_PASSWORD},
     "new_password", "harus berbeda"),
])
def test_password_change_bad_input_changes_nothing(client, make_client, db, data, field,
                                                   message):
    user = make_user()
    db.session.commit()
    other = make_client()
    log_in(other, user.email)
    log_in(client, user.email)
    old_hash = user.password_hash
    form = {"current_password": DEFAULT_PASSWORD, "new_password": NEW_PASSWORD,
            "new_password_confirm": NEW_PASSWORD, **data}
    response = client.post("/akun/kata-sandi", data=form)
    assert response.status_code == 422
    html = response.get_data(as_text=True)
    assert f'id="{field}-errors"' in html and message in html
    assert db.session.get(User, user.id).password_hash == old_hash
    assert other.get("/akun").status_code == 200  # nobody was logged out
    assert db.session.scalars(select(EmailOutbox)).all() == []


def test_password_policy_boundaries():
    assert password_problems("kopi-123") == []  # exactly 8
    assert password_problems("kopi-12") != []  # 7
    assert password_problems("k" * 127 + "!") == []  # exactly 128
    assert password_problems("k" * 128 + "!") != []  # 129
    assert password_problems("Password") != []  # common, case-insensitive
    assert password_problems("budi@example.test", email="Budi@example.test") != []


def test_common_password_list_has_the_1000_most_common():
    words = common_passwords()
    assert len(words) == 1000
    assert {"123456", "password", "qwerty"} <= words


def test_profile_update_and_language_preference(client, db):
    user = make_user()
    db.session.commit()
    log_in(client, user.email)
    response = client.post("/akun", data={"name": "Budi Baru", "phone": "+62 812-1111-2222",
                                          "locale": "en"})
    assert response.status_code == 303
    refreshed = db.session.get(User, user.id)
    assert (refreshed.name, refreshed.phone, refreshed.locale) == (
        "Budi Baru", "+62 812-1111-2222", "en")
    assert 'lang="en"' in client.get("/").get_data(as_text=True)


def test_profile_bad_input_is_a_field_error(client, db):
    user = make_user(name="Nama Lama")
    db.session.commit()
    log_in(client, user.email)
    response = client.post("/akun", data={"name": "", "phone": "telepon!", "locale": "fr"})
    assert response.status_code == 422
    html = response.get_data(as_text=True)
    assert 'id="name-errors"' in html and 'id="phone-errors"' in html
    assert 'id="locale-errors"' in html
    assert db.session.get(User, user.id).name == "Nama Lama"


def test_language_switch_for_guests_is_remembered(client):
    assert 'lang="id"' in client.get("/").get_data(as_text=True)
    response = client.post("/bahasa", data={"lang": "en", "next": "/masuk"})
    assert response.status_code == 303 and response.headers["Location"] == "/masuk"
    assert 'lang="en"' in client.get("/").get_data(as_text=True)
    client.post("/bahasa", data={"lang": "xx"})
    assert 'lang="en"' in client.get("/").get_data(as_text=True)


def test_language_switch_refuses_offsite_next(client):
    response = client.post("/bahasa", data={"lang": "id", "next": "//evil.example/"})
    assert response.headers["Location"] == "/"
