"""Checkout with couriers: the page prices each store's couriers, the buyer picks one per
store, the totals follow (htmx and without JavaScript), and placing recomputes the cost on
the server (a tampered cost is ignored; a courier gone since the page was shown refuses
the checkout with a clear message and writes nothing)."""

from __future__ import annotations

import re

from sqlalchemy import delete, func, select

from app.orders.models import CartItem, Checkout, Order
from app.payments.models import Payment
from app.shipping.models import Shipment, StoreCourier
from app.shipping.rates import rates_quote, rates_seed
from tests.factories import make_product, make_user
from tests.orders.helpers import checkout_form
from tests.shipping.helpers import buyer_with_cart, courier_store


def _quote(service: str, *, origin: str, destination: str, grams: int) -> int:
    return next(q.cost for q in rates_quote(origin=origin, destination=destination,
                                            grams=grams, services=[service]))


def _arrange(db, *, quantity: int = 3, city: str = "Bandung"):
    rates_seed()
    seller, product = courier_store(weight=400)
    buyer = buyer_with_cart(product, quantity=quantity, city=city)
    db.session.commit()
    return seller, product, buyer


def test_checkout_lists_store_couriers_with_cost_and_etd_cheapest_chosen(db, client,
                                                                          login_as):
    seller, _product, buyer = _arrange(db)
    login_as(buyer)
    page = client.get("/checkout").get_data(as_text=True)
    jne = _quote("jne:REG", origin="Bandung", destination="Bandung", grams=1200)
    gosend = _quote("gosend:SAMEDAY", origin="Bandung", destination="Bandung", grams=1200)
    assert jne == 2 * 9_000  # 1.2 kg is billed as 2 kg
    store_id = seller.store.id
    for service in ("jne:REG", "sicepat:REG", "gosend:SAMEDAY"):
        assert f'name="courier-{store_id}" value="{service}"' in page
    assert "Rp\u00a018.000" in page and f"Rp\u00a0{gosend:,}".replace(",", ".") in page
    assert "Tiba hari ini" in page  # GoSend's etd
    cheapest = min(q.cost for q in rates_quote(
        origin="Bandung", destination="Bandung", grams=1200,
        services=["jne:REG", "sicepat:REG", "gosend:SAMEDAY"]))
    checked = re.search(rf'name="courier-{store_id}" value="([^"]+)" checked', page)
    assert checked is not None
    total = 3 * 50_000 + cheapest
    assert f'data-testid="checkout-total">Rp\u00a0{total:,}'.replace(",", ".") in page
    assert "Rp\u00a07.000" not in page  # the flat cost no longer applies


def test_placed_order_costs_what_the_server_computes_not_what_the_client_sends(
        db, client, login_as):
    seller, _product, buyer = _arrange(db)
    login_as(buyer)
    form = checkout_form(client)
    store_id = seller.store.id
    form.update({f"courier-{store_id}": "jne:REG", "shipping_cost": "1",
                 f"cost-{store_id}": "1", "shipping_total": "1", "total": "1"})
    response = client.post("/checkout", data=form)
    assert response.status_code == 303
    db.session.expire_all()
    order = db.session.scalars(select(Order)).one()
    expected = _quote("jne:REG", origin="Bandung", destination="Bandung", grams=1200)
    assert order.shipping_cost == expected
    assert order.total == 150_000 + expected
    checkout = db.session.get(Checkout, order.checkout_id)
    assert checkout.shipping_total == expected and checkout.total == 150_000 + expected
    payment = db.session.scalars(select(Payment)).one()
    assert payment.amount == checkout.total
    shipment = db.session.scalars(select(Shipment)).one()
    assert (shipment.order_id, shipment.service, shipment.weight_grams, shipment.cost,
            shipment.etd) == (order.id, "jne:REG", 1200, expected, "1-2")


def test_courier_withdrawn_after_the_page_refuses_checkout_and_writes_nothing(
        db, client, login_as):
    seller, _product, buyer = _arrange(db)
    login_as(buyer)
    form = checkout_form(client)
    form[f"courier-{seller.store.id}"] = "gosend:SAMEDAY"
    db.session.execute(delete(StoreCourier).where(StoreCourier.service == "gosend:SAMEDAY"))
    db.session.commit()
    response = client.post("/checkout", data=form)
    page = response.get_data(as_text=True)
    assert response.status_code == 422
    assert "Kurir GoSend SAMEDAY tidak tersedia lagi" in page
    assert db.session.scalar(select(func.count(Order.id))) == 0
    assert db.session.scalar(select(func.count(Checkout.id))) == 0
    assert db.session.scalar(select(func.count(CartItem.id))) == 1  # the cart is intact
    assert f'name="courier-{seller.store.id}" value="jne:REG"' in page  # choose again


def test_courier_that_cannot_reach_the_address_is_refused(db, client, login_as):
    """GoSend chosen for an address in another city (the page offered it for Bandung)."""
    seller, _product, buyer = _arrange(db, city="Surabaya")
    login_as(buyer)
    form = checkout_form(client)
    form[f"courier-{seller.store.id}"] = "gosend:SAMEDAY"
    response = client.post("/checkout", data=form)
    assert response.status_code == 422
    assert "tidak tersedia lagi" in response.get_data(as_text=True)
    assert db.session.scalar(select(func.count(Order.id))) == 0


def test_unknown_or_missing_courier_is_refused(db, client, login_as):
    seller, _product, buyer = _arrange(db)
    login_as(buyer)
    form = checkout_form(client)
    form[f"courier-{seller.store.id}"] = "kilat:EXPRESS"
    response = client.post("/checkout", data=form)
    assert response.status_code == 422
    assert "Pilih kurir untuk pesanan dari Toko Kurir" in response.get_data(as_text=True)
    assert db.session.scalar(select(func.count(Order.id))) == 0


def test_without_javascript_recalculating_keeps_the_choice_and_updates_totals(
        db, client, login_as):
    seller, _product, buyer = _arrange(db)
    login_as(buyer)
    form = checkout_form(client)
    store_id = seller.store.id
    form.update({f"courier-{store_id}": "jne:REG", "reprice": "1",
                 f"note-{store_id}": "Bungkus rapi"})
    response = client.post("/checkout", data=form)
    page = response.get_data(as_text=True)
    assert response.status_code == 200
    assert f'name="courier-{store_id}" value="jne:REG" checked' in page
    assert 'value="Bungkus rapi"' in page
    assert f'name="idempotency_key" value="{form["idempotency_key"]}"' in page
    assert 'data-testid="checkout-total">Rp\u00a0168.000' in page
    assert db.session.scalar(select(func.count(Order.id))) == 0  # nothing placed


def test_htmx_courier_change_answers_totals_and_each_store_out_of_band(db, client,
                                                                       login_as):
    seller, _product, buyer = _arrange(db)
    flat_seller = make_user(roles=("seller",), store_name="Toko Tetap")
    flat_seller.store.shipping_cost = 12_000
    flat = make_product(store=flat_seller.store, name="Sabun", price=10_000, stock=5)
    from app.orders.cart import cart_add

    cart_add(user=buyer, variant_id=flat.variants[0].id, quantity=1)
    db.session.commit()
    login_as(buyer)
    form = checkout_form(client)
    store_id = seller.store.id
    form[f"courier-{store_id}"] = "jne:REG"
    response = client.post("/checkout/ongkir", data=form, headers={"HX-Request": "true"})
    body = response.get_data(as_text=True)
    assert response.status_code == 200
    assert body.lstrip().startswith('<div id="checkout-totals"')
    assert f'id="shipping-{store_id}" class="checkout-shipping" hx-swap-oob="true"' in body
    assert f'id="shipping-{flat_seller.store.id}"' in body
    assert f'name="courier-{store_id}" value="jne:REG" checked' in body
    # 150.000 + 18.000 (JNE, 2 kg) + 10.000 + 12.000 flat
    assert 'data-testid="checkout-total">Rp\u00a0190.000' in body
    assert "Bayar Rp\u00a0190.000" in body
    assert "Vary" in response.headers and "HX-Request" in response.headers["Vary"]


def test_flat_cost_store_checks_out_as_before(db, client, login_as):
    seller = make_user(roles=("seller",), store_name="Toko Lama")
    seller.store.shipping_cost = 9_000
    product = make_product(store=seller.store, price=20_000, stock=3)
    buyer = buyer_with_cart(product)
    db.session.commit()
    login_as(buyer)
    page = client.get("/checkout").get_data(as_text=True)
    assert 'name="courier-' not in page
    response = client.post("/checkout", data=checkout_form(client))
    assert response.status_code == 303
    order = db.session.scalars(select(Order)).one()
    assert order.shipping_cost == 9_000 and order.total == 29_000
    assert db.session.scalar(select(func.count(Shipment.id))) == 0


def test_rates_endpoint_is_for_logged_in_customers(db, client, login_as):
    response = client.post("/checkout/ongkir", data={}, headers={"HX-Request": "true"})
    assert response.status_code == 401
    login_as(make_user(roles=("seller",)))
    assert client.post("/checkout/ongkir", data={},
                       headers={"HX-Request": "true"}).status_code == 403


def test_cart_page_leaves_a_courier_stores_shipping_to_the_checkout(db, client, login_as):
    _seller, _product, buyer = _arrange(db)
    login_as(buyer)
    page = client.get("/keranjang").get_data(as_text=True)
    assert "Pilih kurir saat checkout" in page
    assert 'data-testid="cart-total">Rp\u00a0150.000' in page  # not the flat Rp\u00a07.000
