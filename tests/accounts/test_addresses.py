"""Saved shipping addresses: one default, bad input refused at the field, `next` stays on
this site, another user's address is not found."""

from __future__ import annotations

from sqlalchemy import select

from app.accounts.models import Address, User
from tests.factories import make_address, make_user

FORM = {"label": "Rumah", "recipient": "Andi Pratama", "phone": "0812 3456 7890",
        "street": "Jl. Malioboro No. 52", "city": "Yogyakarta", "province": "DI Yogyakarta",
        "postal_code": "55271"}


def _addresses(db, email: str) -> list[Address]:
    user = db.session.scalars(select(User).where(User.email == email)).one()
    return list(db.session.scalars(select(Address).where(Address.user_id == user.id)
                                   .order_by(Address.id)))


def test_first_address_becomes_the_default_and_another_can_take_over(db, client, login_as):
    email = login_as("customer")
    assert client.post("/akun/alamat/baru", data=FORM).status_code == 303
    assert client.post("/akun/alamat/baru", data={**FORM, "label": "Kantor"}).status_code == 303
    first, second = _addresses(db, email)
    assert (first.is_default, second.is_default) == (True, False)
    assert client.post(f"/akun/alamat/{second.id}/utama").status_code == 303
    db.session.expire_all()
    first, second = _addresses(db, email)
    assert (first.is_default, second.is_default) == (False, True)
    page = client.get("/akun/alamat").get_data(as_text=True)
    assert page.index("Kantor") < page.index("Rumah")  # the default first


def test_deleting_the_default_makes_another_address_the_default(db, client, login_as):
    email = login_as("customer")
    client.post("/akun/alamat/baru", data=FORM)
    client.post("/akun/alamat/baru", data={**FORM, "label": "Kantor"})
    first, second = _addresses(db, email)
    assert client.post(f"/akun/alamat/{first.id}/hapus").status_code == 303
    [left] = _addresses(db, email)
    assert left.id == second.id and left.is_default


def test_bad_address_input_is_refused_at_the_field_and_nothing_saved(db, client, login_as):
    email = login_as("customer")
    cases = [({"postal_code": "5527"}, "Kode pos terdiri dari 5 angka"),
             ({"postal_code": "abcde"}, "Kode pos terdiri dari 5 angka"),
             ({"province": "Atlantis"}, "Pilih provinsi dari daftar"),
             ({"phone": "call me"}, "Nomor telepon tidak valid"),
             ({"recipient": ""}, "Wajib diisi"),
             ({"street": "x" * 301}, "Maksimal 300 karakter")]
    for change, message in cases:
        response = client.post("/akun/alamat/baru", data={**FORM, **change})
        body = response.get_data(as_text=True)
        assert response.status_code == 422, change
        assert message in body, change
        assert "Jl. Malioboro No. 52" in body or "street" in change  # typed text kept
    assert _addresses(db, email) == []


def test_after_saving_the_address_form_follows_next_only_on_this_site(db, client, login_as):
    login_as("customer")
    response = client.post("/akun/alamat/baru", data={**FORM, "next": "/checkout"})
    assert response.headers["Location"] == "/checkout"
    response = client.post("/akun/alamat/baru",
                           data={**FORM, "next": "https://evil.example/steal"})
    assert response.headers["Location"] == "/akun/alamat"


def test_another_users_address_cannot_be_edited_or_deleted(db, client, login_as):
    owner = make_user()
    foreign = make_address(user=owner)
    db.session.commit()
    login_as("customer")
    assert client.get(f"/akun/alamat/{foreign.id}/ubah").status_code == 404
    assert client.post(f"/akun/alamat/{foreign.id}/ubah", data=FORM).status_code == 404
    assert client.post(f"/akun/alamat/{foreign.id}/hapus").status_code == 404
    assert client.post(f"/akun/alamat/{foreign.id}/utama").status_code == 404
    db.session.expire_all()
    assert db.session.get(Address, foreign.id).city == "Bandung"


def test_at_most_twenty_addresses(db, client, login_as):
    email = login_as("customer")
    user = db.session.scalars(select(User).where(User.email == email)).one()
    for _ in range(20):
        make_address(user=user, default=False)
    db.session.commit()
    response = client.post("/akun/alamat/baru", data=FORM)
    assert response.status_code == 422
    assert "Maksimal 20 alamat" in response.get_data(as_text=True)
    assert len(_addresses(db, email)) == 20
