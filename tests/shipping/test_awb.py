"""Air-waybill numbers: the seller of the order enters one when shipping, in the shape of
the courier chosen at checkout; the buyer sees the courier, the number, the courier's
tracking link and the shipping events; nobody else sees or ships it."""

from __future__ import annotations

import pytest

from app.accounts.models import User
from app.orders.models import Order
from app.shipping.couriers import awb_normalise, awb_problem
from tests.factories import make_user
from tests.orders.lifecycle_helpers import make_shop, place_order
from tests.shipping.helpers import courier_order


@pytest.mark.parametrize(("service", "awb", "ok"), [
    ("jne:REG", "CGK1234567890", True), ("jne:REG", "123", False),
    ("jnt:EZ", "JP1234567890", True), ("jnt:EZ", "ABCDEFGHIJ", False),
    ("sicepat:REG", "004123456789", True), ("sicepat:BEST", "00412345678", False),
    ("anteraja:REG", "10001234567890", True), ("anteraja:REG", "AA", False),
    ("gosend:SAMEDAY", "GK-11-123456789", True), ("gosend:SAMEDAY", "123456789", False),
])
def test_awb_shape_per_courier(service, awb, ok):
    assert (awb_problem(service, awb_normalise(awb)) == "") is ok


def test_awb_is_normalised_spaces_removed_upper_case():
    assert awb_normalise(" cgk 1234 5678 90 ") == "CGK1234567890"


def _ship(client, number: str, awb: str):
    return client.post(f"/seller/pesanan/{number}/lanjut",
                       data={"dari": "processing", "tracking_number": awb})


def test_seller_must_enter_an_awb_of_the_chosen_courier(db, client, login_as):
    seller, _buyer, order = courier_order(service="sicepat:REG")
    number = order.number
    login_as(seller)
    missing = _ship(client, number, "")
    assert missing.status_code == 422
    assert "Isi nomor resi SiCepat" in missing.get_data(as_text=True)
    wrong = _ship(client, number, "JNE-0012345")
    assert wrong.status_code == 422
    assert "Nomor resi SiCepat tidak dikenali: 12 angka" in wrong.get_data(as_text=True)
    db.session.expire_all()
    assert db.session.get(Order, order.id).status == "processing"  # nothing changed
    shipped = _ship(client, number, "0041 2345 6789")
    assert shipped.status_code == 303
    db.session.expire_all()
    saved = db.session.get(Order, order.id)
    assert (saved.status, saved.tracking_number) == ("shipped", "004123456789")


def test_buyer_sees_courier_awb_tracking_link_and_events(db, client, login_as, make_client):
    seller, buyer, order = courier_order(service="jne:REG")
    seller_client = make_client()
    login_as(seller, seller_client)
    assert _ship(seller_client, order.number, "CGK1234567890").status_code == 303
    login_as(buyer)
    page = client.get(f"/pesanan/{order.number}").get_data(as_text=True)
    assert 'data-testid="order-courier">JNE REG' in page
    assert 'data-testid="awb">CGK1234567890' in page
    assert 'href="https://www.jne.co.id/tracking-package?resi=CGK1234567890"' in page
    assert "Paket diserahkan ke kurir" in page and "Pesanan diproses penjual" in page
    assert "1–2 hari" in page  # the estimate kept from checkout


def test_another_seller_cannot_ship_it_and_another_buyer_cannot_see_it(db, client, login_as,
                                                                       make_client):
    _seller, _buyer, order = courier_order(service="jne:REG")
    other_seller = make_user(roles=("seller",), store_name="Toko Lain")
    other_buyer = make_user()
    db.session.commit()
    login_as(other_seller)
    assert _ship(client, order.number, "CGK1234567890").status_code == 404
    buyer_client = make_client()
    login_as(other_buyer, buyer_client)
    assert buyer_client.get(f"/pesanan/{order.number}").status_code == 404
    assert buyer_client.post(f"/pesanan/{order.number}/lacak").status_code == 404
    db.session.expire_all()
    assert db.session.get(Order, order.id).status == "processing"


def test_flat_cost_order_keeps_the_optional_free_text_number(db, client, login_as):
    shop = make_shop()
    number = place_order(shop)
    login_as(db.session.get(User, shop.seller_id))
    client.post(f"/seller/pesanan/{number}/lanjut", data={"dari": "pending"})
    assert _ship(client, number, "").status_code == 303


def test_shipped_email_carries_the_courier_tracking_link(db, client, login_as):
    from sqlalchemy import select

    from app.core.models import EmailOutbox

    seller, _buyer, order = courier_order(service="sicepat:REG")
    login_as(seller)
    assert _ship(client, order.number, "004123456789").status_code == 303
    mails = db.session.scalars(select(EmailOutbox).where(
        EmailOutbox.template == "order_status").order_by(EmailOutbox.id)).all()
    text = mails[-1].body_text
    assert "004123456789" in text
    assert "https://www.sicepat.com/checkAwb?awb=004123456789" in text


def test_seller_list_names_the_courier_whose_awb_to_enter(db, client, login_as):
    seller, _buyer, order = courier_order(service="anteraja:REG")
    login_as(seller)
    page = client.get("/seller/pesanan").get_data(as_text=True)
    assert 'placeholder="Nomor resi AnterAja REG"' in page
    wrong = client.post(f"/seller/pesanan/{order.number}/lanjut",
                        data={"dari": "processing", "tracking_number": "x", "view": "list"},
                        headers={"HX-Request": "true"})
    assert wrong.status_code == 422
    assert "Nomor resi AnterAja tidak dikenali" in wrong.get_data(as_text=True)
