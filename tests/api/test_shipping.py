"""Shipping through the API: the cart's rates per store, the courier choice at checkout
(priced by the server; a tampered cost field is refused by the schema, a gone courier is
409), the order's courier, cost, AWB, tracking URL and events, and the AWB's shape when the
seller ships."""

from __future__ import annotations

from sqlalchemy import delete, func, select

from app.extensions import db as _db
from app.orders.models import Order
from app.shipping.models import StoreCourier
from app.shipping.rates import rates_seed
from tests.api.conftest import error_code
from tests.factories import make_user
from tests.shipping.helpers import buyer_with_cart, courier_order, courier_store


def _weighed_product(db):
    from tests.factories import make_product

    seller = make_user(roles=("seller",))
    product = make_product(store=seller.store, name="Toner", stock=5)
    db.session.commit()
    return seller, product, product.variants[0]


def _arrange(db):
    rates_seed()
    seller, product = courier_store(weight=400)
    buyer = buyer_with_cart(product, quantity=3)
    db.session.commit()
    return seller, buyer


def test_cart_rates_per_store_cheapest_first(db, api):
    seller, buyer = _arrange(db)
    response = api(buyer).get("/api/v1/cart/shipping-rates")
    assert response.status_code == 200
    body = response.get_json()
    [store] = body["stores"]
    assert store["store"]["id"] == seller.store.id
    assert (store["weight_grams"], store["flat"], store["problem"]) == (1200, False, None)
    services = [s["service"] for s in store["services"]]
    assert set(services) == {"jne:REG", "sicepat:REG", "gosend:SAMEDAY"}
    costs = [s["cost"] for s in store["services"]]
    assert costs == sorted(costs) and store["cheapest"] == services[0]
    assert body["shipping_total"] == costs[0]
    jne = next(s for s in store["services"] if s["service"] == "jne:REG")
    assert (jne["cost"], jne["etd"], jne["source"], jne["courier"]) == (18_000, "1-2",
                                                                        "table", "JNE")


def test_cart_rates_of_another_users_address_is_404(db, api):
    _seller, buyer = _arrange(db)
    from tests.factories import make_address

    stranger = make_user()
    address = make_address(user=stranger)
    db.session.commit()
    assert api(buyer).get(f"/api/v1/cart/shipping-rates?address_id={address.id}"
                          ).status_code == 404


def _address_id(buyer) -> int:
    from app.accounts.models import Address

    return _db.session.scalars(select(Address.id).where(Address.user_id == buyer.id)).one()


def test_checkout_with_courier_choice_is_priced_by_the_server(db, api):
    seller, buyer = _arrange(db)
    client = api(buyer)
    body = {"address_id": _address_id(buyer), "payment_method": "va_bca",
            "couriers": [{"store_id": seller.store.id, "service": "jne:REG"}]}
    tampered = client.post("/api/v1/checkout", json={
        **body, "couriers": [{"store_id": seller.store.id, "service": "jne:REG",
                              "cost": 1}]})
    assert tampered.status_code == 422  # unknown fields are refused, not trusted
    response = client.post("/api/v1/checkout", json=body)
    assert response.status_code == 201, response.get_json()
    placed = response.get_json()
    assert placed["shipping_total"] == 18_000 and placed["total"] == 168_000
    [order] = placed["orders"]
    assert (order["shipping_service"], order["shipping_cost"]) == ("jne:REG", 18_000)


def test_checkout_without_a_courier_choice_or_with_a_gone_one_is_refused(db, api):
    seller, buyer = _arrange(db)
    client = api(buyer)
    body = {"address_id": _address_id(buyer), "payment_method": "va_bca"}
    missing = client.post("/api/v1/checkout", json=body)
    assert missing.status_code == 422 and error_code(missing) == "courier_required"
    _db.session.execute(delete(StoreCourier).where(StoreCourier.service == "sicepat:REG"))
    _db.session.commit()
    gone = client.post("/api/v1/checkout", json={
        **body, "couriers": [{"store_id": seller.store.id, "service": "sicepat:REG"}]})
    assert gone.status_code == 409 and error_code(gone) == "courier_unavailable"
    assert "couriers" in gone.get_json()["error"]["fields"]
    unknown = client.post("/api/v1/checkout", json={
        **body, "couriers": [{"store_id": seller.store.id, "service": "kilat:X"}]})
    assert unknown.status_code == 422
    assert _db.session.scalar(select(func.count(Order.id))) == 0


def test_order_shows_courier_cost_awb_tracking_url_and_events(db, api):
    seller, buyer, order = courier_order(service="jnt:EZ")
    bad = api(seller).post(f"/api/v1/seller/orders/{order.number}/advance",
                           json={"to": "shipped", "tracking_number": "ABC"})
    assert bad.status_code == 422
    assert "J&T Express" in bad.get_json()["error"]["message"]
    shipped = api(seller).post(f"/api/v1/seller/orders/{order.number}/advance",
                               json={"to": "shipped", "tracking_number": "jp1234567890"})
    assert shipped.status_code == 200, shipped.get_json()
    response = api(buyer).get(f"/api/v1/orders/{order.number}")
    shipping = response.get_json()["shipping"]
    assert shipping["service"] == "jnt:EZ" and shipping["courier"] == "J&T Express"
    assert shipping["awb"] == "JP1234567890"
    assert shipping["tracking_url"] == "https://jet.co.id/track?awb=JP1234567890"
    assert shipping["cost"] == response.get_json()["shipping_cost"] > 0
    assert [e["description"] for e in shipping["events"]] == [
        "Pesanan diproses penjual", "Paket diserahkan ke kurir"]
    seller_view = api(seller).get(f"/api/v1/seller/orders/{order.number}").get_json()
    assert seller_view["shipping"]["awb"] == "JP1234567890"


def test_api_sets_and_shows_the_weight(db, api):
    seller, product, variant = _weighed_product(db)
    client = api(seller)
    response = client.put(f"/api/v1/seller/products/{product.id}/variants",
                          json={"variants": [{"id": variant.id, "weight_grams": 850}]})
    assert response.status_code == 200, response.get_json()
    assert response.get_json()["variants"][0]["weight_grams"] == 850
    bad = client.put(f"/api/v1/seller/products/{product.id}/variants",
                     json={"variants": [{"id": variant.id, "weight_grams": 0}]})
    assert bad.status_code == 422
