"""Registration: customers and sellers; bad input re-renders the form and creates nothing."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from app.accounts.models import Store, User, UserSession
from app.core.models import EmailOutbox, OutboxStatus
from tests.factories import DEFAULT_PASSWORD, make_user

GOOD = {
    "account_type": "customer",
    "name": "Siti Rahma",
    "email": "siti@example.test",
    "phone": "0812 3456 7890",
    "password": DEFAULT_PASSWORD,
    "password_confirm": DEFAULT_PASSWORD,
}


def _count(db, model) -> int:
    return db.session.scalar(select(func.count()).select_from(model))


def test_register_customer_logs_in_and_queues_welcome_email(client, db, mail_dir):
    response = client.post("/daftar", data=dict(GOOD, email="Siti@Example.TEST "))
    assert response.status_code == 303
    user = db.session.execute(select(User).where(User.email == "siti@example.test")).scalar_one()
    assert user.role_names == {"customer"}
    assert user.password_hash.startswith("$argon2id$")
    assert user.store is None
    assert _count(db, UserSession) == 1
    home = client.get("/").get_data(as_text=True)
    assert "Halo, Siti Rahma" in home
    outbox = db.session.scalars(select(EmailOutbox)).one()
    assert outbox.template == "welcome" and outbox.to_address == "siti@example.test"
    assert outbox.status == OutboxStatus.SENT  # sync jobs in tests; file backend
    assert (mail_dir / f"{outbox.id:08d}-welcome.eml").exists()


def test_register_seller_creates_store_with_unique_slug(client, make_client, db):
    make_user(roles=("seller",), store_name="Glow Nusantara")
    db.session.commit()
    data = dict(GOOD, account_type="seller", store_name="Glow Nusantara!",
                store_location="Bandung")
    assert client.post("/daftar", data=data).status_code == 303
    user = db.session.execute(select(User).where(User.email == GOOD["email"])).scalar_one()
    assert user.role_names == {"customer", "seller"}
    assert user.store.slug == "glow-nusantara-2"
    assert user.store.location == "Bandung"


BAD_INPUTS = [
    pytest.param({"email": "taken@example.test"}, "email", "Email ini sudah terdaftar",
                 id="duplicate-email"),
    pytest.param({"password": "password1", "password_confirm": "password1"}, "password",
                 "terlalu umum", id="common-password"),
    pytest.param({"password": "pendek", "password_confirm": "pendek"}, "password",
                 "minimal 8 karakter", id="short-password"),
    pytest.param({"password": "x" * 129, "password_confirm": "x" * 129}, "password",
                 "maksimal 128 karakter", id="long-password"),
    pytest.param({"password_confirm": "bukan-yang-sama-99"}, "password_confirm",
                 "Konfirmasi kata sandi tidak cocok", id="mismatched-confirmation"),
    pytest.param({"account_type": "seller", "store_location": "Bandung"}, "store_name",
                 "Nama toko wajib diisi", id="seller-without-store-name"),
    pytest.param({"account_type": "seller", "store_name": "Toko Baru"}, "store_location",
                 "Lokasi toko wajib diisi", id="seller-without-location"),
    pytest.param({"email": "bukan-email"}, "email", "Alamat email tidak valid",
                 id="invalid-email"),
    pytest.param({"name": ""}, "name", "Wajib diisi", id="missing-name"),
    pytest.param({"account_type": "admin"}, "account_type", "Pilihan tidak valid",
                 id="forged-account-type"),
]


@pytest.mark.parametrize(("changes", "field", "message"), BAD_INPUTS)
def test_register_bad_input_rerenders_form_and_creates_nothing(client, db, changes, field,
                                                               message):
    make_user(email="taken@example.test")
    db.session.commit()
    before = (_count(db, User), _count(db, Store), _count(db, EmailOutbox))
    data = dict(GOOD, **changes)
    response = client.post("/daftar", data=data)
    html = response.get_data(as_text=True)
    assert response.status_code == 422
    assert f'id="{field}-errors"' in html
    assert message in html
    assert 'value="Siti Rahma"' in html or changes.get("name") == ""  # typed input kept
    assert (_count(db, User), _count(db, Store), _count(db, EmailOutbox)) == before
    assert _count(db, UserSession) == 0


def test_register_bad_input_via_htmx_returns_only_the_form(client):
    response = client.post("/daftar", data=dict(GOOD, password_confirm="lain-lagi-123"),
                           headers={"HX-Request": "true"})
    html = response.get_data(as_text=True)
    assert response.status_code == 422
    assert html.lstrip().startswith("<form") and "<html" not in html
    assert "HX-Request" in response.headers.get("Vary", "")


def test_register_success_via_htmx_redirects_with_header(client):
    response = client.post("/daftar", data=GOOD, headers={"HX-Request": "true"})
    assert response.status_code == 204
    assert response.headers["HX-Redirect"] == "/"


def test_concurrent_duplicate_email_is_a_field_error_not_a_500(client, db, monkeypatch):
    """The uniqueness check can race; the database constraint still answers cleanly."""
    from app.accounts import services

    monkeypatch.setattr(services, "user_by_email", lambda email: None)
    make_user(email=GOOD["email"])
    db.session.commit()
    response = client.post("/daftar", data=GOOD)
    assert response.status_code == 422, response.get_data(as_text=True)[-3000:]
    assert "Email ini sudah terdaftar" in response.get_data(as_text=True)
    assert _count(db, User) == 1

