"""A store's couriers (seller settings) and the admin's rate table: who may use them, bad
input answered with a message and nothing saved, htmx row swaps."""

from __future__ import annotations

from sqlalchemy import select

from app.audit.models import AuditEntry
from app.shipping.models import ShippingRate, StoreCourier
from app.shipping.rates import rates_seed
from tests.factories import make_user


def _offered(db, store_id: int) -> list[str]:
    return sorted(db.session.scalars(select(StoreCourier.service)
                                     .where(StoreCourier.store_id == store_id)))


def test_seller_chooses_the_store_couriers(db, client, login_as):
    seller = make_user(roles=("seller",))
    other = make_user(roles=("seller",))
    db.session.add(StoreCourier(store_id=other.store.id, service="jne:YES"))
    db.session.commit()
    login_as(seller)
    page = client.get("/seller/kurir").get_data(as_text=True)
    assert 'value="gosend:SAMEDAY"' in page and "hanya dalam satu kota" in page
    response = client.post("/seller/kurir", data={"services": ["jne:REG", "sicepat:BEST"]})
    assert response.status_code == 303
    assert _offered(db, seller.store.id) == ["jne:REG", "sicepat:BEST"]
    client.post("/seller/kurir", data={"services": ["sicepat:BEST"]})
    assert _offered(db, seller.store.id) == ["sicepat:BEST"]
    assert _offered(db, other.store.id) == ["jne:YES"]  # only one's own store
    audit = db.session.scalars(select(AuditEntry).where(
        AuditEntry.action == "store.couriers")).all()
    assert len(audit) == 2


def test_unknown_courier_is_refused_and_nothing_changes(db, client, login_as):
    seller = make_user(roles=("seller",))
    db.session.add(StoreCourier(store_id=seller.store.id, service="jne:REG"))
    db.session.commit()
    login_as(seller)
    response = client.post("/seller/kurir", data={"services": ["jne:YES", "kilat:X"]})
    assert response.status_code == 422
    assert "Layanan kurir tidak dikenal" in response.get_data(as_text=True)
    assert _offered(db, seller.store.id) == ["jne:REG"]


def test_store_couriers_page_is_for_sellers(db, client, login_as):
    assert client.get("/seller/kurir").status_code == 302
    login_as(make_user())
    assert client.get("/seller/kurir").status_code == 403
    assert client.post("/seller/kurir", data={"services": ["jne:REG"]}).status_code == 403


def _row(db) -> ShippingRate:
    return db.session.scalars(select(ShippingRate).where(
        ShippingRate.service == "jne:REG", ShippingRate.origin_zone == "JABODETABEK",
        ShippingRate.dest_zone == "MEDAN")).one()


def test_admin_edits_a_rate_and_checkout_prices_follow(db, client, login_as):
    from app.shipping.rates import rates_quote

    rates_seed()
    db.session.commit()
    login_as(make_user(roles=("admin",)))
    page = client.get("/admin/ongkir?layanan=jne:REG&asal=JABODETABEK")
    assert page.status_code == 200 and 'data-testid="rate-table"' in page.get_data(True)
    assert 'data-testid="nav-shipping.admin_rates"' in page.get_data(True)  # the admin menu
    rate = _row(db)
    response = client.post(f"/admin/ongkir/{rate.id}", data={
        "price_per_kg": "Rp 41.500", "etd_min": "3", "etd_max": "5", "active": "1"})
    assert response.status_code == 303
    db.session.expire_all()
    rate = _row(db)
    assert (rate.price_per_kg, rate.etd_min, rate.etd_max, rate.active) == (41_500, 3, 5, True)
    quote = rates_quote(origin="Jakarta", destination="Medan", grams=1500,
                        services=["jne:REG"])[0]
    assert (quote.cost, quote.etd) == (83_000, "3-5")


def test_admin_rate_bad_input_is_a_message_and_nothing_saved(db, client, login_as):
    rates_seed()
    db.session.commit()
    login_as(make_user(roles=("admin",)))
    rate = _row(db)
    before = (rate.price_per_kg, rate.etd_min, rate.etd_max)
    for data, message in (
            ({"price_per_kg": "abc", "etd_min": "1", "etd_max": "2"}, "angka"),
            ({"price_per_kg": "0", "etd_min": "1", "etd_max": "2"}, "Minimal"),
            ({"price_per_kg": "9000", "etd_min": "5", "etd_max": "2"}, "Perkiraan hari")):
        response = client.post(f"/admin/ongkir/{rate.id}", data=data,
                               headers={"HX-Request": "true"})
        body = response.get_data(as_text=True)
        assert response.status_code == 422, data
        assert body.lstrip().startswith(f'<tr id="rate-{rate.id}" class="row-error"')
        assert message in body, (data, body)
    db.session.expire_all()
    rate = _row(db)
    assert (rate.price_per_kg, rate.etd_min, rate.etd_max) == before


def test_rate_table_is_for_admins(db, client, login_as):
    rates_seed()
    db.session.commit()
    rate = _row(db)
    login_as(make_user(roles=("seller",)))
    assert client.get("/admin/ongkir").status_code == 403
    assert client.post(f"/admin/ongkir/{rate.id}", data={"price_per_kg": "1"}).status_code \
        == 403
    db.session.expire_all()
    assert _row(db).price_per_kg != 1
