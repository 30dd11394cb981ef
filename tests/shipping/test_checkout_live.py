"""Outside in, without JavaScript: a buyer on a live server (real HTTP, cookies, CSRF) sees
the couriers of two stores, picks one per store, presses "Hitung ulang ongkir" (the page
reloads with the choices and the new totals), then "Bayar": the orders cost what the server
computed for those couriers."""

from __future__ import annotations

import re

from sqlalchemy import select

from app.orders.models import Order
from app.shipping.rates import rates_quote, rates_seed
from tests.live import LiveBrowser
from tests.shipping.helpers import buyer_with_cart, courier_store


def _fields(page: str) -> dict[str, str]:
    """What the browser would submit: hidden inputs, checked radios, text inputs."""
    fields = dict(re.findall(r'<input type="hidden" name="([^"]+)" value="([^"]*)"', page))
    for name, value in re.findall(r'name="([^"]+)" value="([^"]+)" checked', page):
        fields[name] = value
    return fields


def test_buyer_picks_couriers_per_store_without_javascript(db, live_url):
    from app.orders.cart import cart_add

    rates_seed()
    bandung, serum = courier_store(name="Toko Bandung", city="Bandung", weight=400)
    surabaya, jamu = courier_store(name="Toko Surabaya", city="Surabaya", weight=1600,
                                   services=("jne:REG", "jnt:EZ", "anteraja:REG"))
    buyer = buyer_with_cart(serum, quantity=1, city="Bandung")
    cart_add(user=buyer, variant_id=jamu.variants[0].id, quantity=1)
    jne = rates_quote(origin="Bandung", destination="Bandung", grams=400,
                      services=["jne:REG"])[0].cost
    jnt = rates_quote(origin="Surabaya", destination="Bandung", grams=1600,
                      services=["jnt:EZ"])[0].cost
    email, bandung_id, surabaya_id = buyer.email, bandung.store.id, surabaya.store.id
    db.session.commit()
    db.session.close()  # SQLite: the live server's requests need the write lock

    browser = LiveBrowser(live_url)
    browser.log_in(email)
    page = browser.get("/checkout").text()
    assert f'name="courier-{bandung_id}" value="gosend:SAMEDAY"' in page
    assert f'name="courier-{surabaya_id}" value="gosend:SAMEDAY"' not in page
    form = _fields(page)
    form[f"courier-{bandung_id}"] = "jne:REG"
    form[f"courier-{surabaya_id}"] = "jnt:EZ"
    reloaded = browser.post("/checkout", {**form, "reprice": "1"})
    assert reloaded.status == 200
    text = reloaded.text()
    assert jnt == 2 * 16_000  # Java to Java, 1.6 kg billed as 2 kg
    total = 2 * 50_000 + jne + jnt
    assert f'data-testid="checkout-total">Rp\u00a0{total:,}'.replace(",", ".") in text
    assert f'name="courier-{bandung_id}" value="jne:REG" checked' in text
    assert f'name="courier-{surabaya_id}" value="jnt:EZ" checked' in text

    paid = browser.post("/checkout", _fields(text))
    assert paid.status == 303, paid.text()[:500]
    db.session.expire_all()
    orders = {o.store_id: o for o in db.session.scalars(select(Order))}
    assert orders[bandung_id].shipping_cost == jne
    assert orders[surabaya_id].shipping_cost == jnt
    assert sum(o.total for o in orders.values()) == total
