"""Checkout: one checkout and one order per store, all or nothing, exactly once."""

from __future__ import annotations

import re
import threading

import pytest
from sqlalchemy import func, select

from app.catalog.models import Product, Variant
from app.core.models import EmailOutbox, Notice
from app.inventory.models import StockMovement
from app.orders.models import CartItem, Checkout, Order, OrderEvent, OrderItem
from tests.factories import make_address, make_product, make_user
from tests.orders.helpers import checkout_form


def _count(db, column) -> int:
    return db.session.scalar(select(func.count(column))) or 0


def _snapshot(db) -> dict:
    """Everything a checkout writes, to prove a refused one wrote nothing."""
    return {
        "checkouts": _count(db, Checkout.id), "orders": _count(db, Order.id),
        "items": _count(db, OrderItem.id), "events": _count(db, OrderEvent.id),
        "ledger": _count(db, StockMovement.id), "cart": _count(db, CartItem.id),
        "mail": _count(db, EmailOutbox.id), "notices": _count(db, Notice.id),
        "stock": sorted(db.session.execute(select(Variant.id, Variant.stock)).all()),
        "sold": sorted(db.session.execute(select(Product.id, Product.sold_count)).all()),
    }


@pytest.fixture
def three_stores(db):
    """Three stores (shipping 0, 10.000, 15.000), one product each."""
    products = []
    for n, (price, shipping) in enumerate(((20_000, 0), (35_000, 10_000), (50_000, 15_000))):
        seller = make_user(roles=("seller",), store_name=f"Toko Uji {n}")
        seller.store.shipping_cost = shipping
        products.append(make_product(store=seller.store, name=f"Produk {n}", price=price,
                                     stock=10))
    db.session.commit()
    return products


def _fill_cart(client, products, quantities) -> None:
    for product, quantity in zip(products, quantities, strict=True):
        response = client.post("/keranjang/tambah", data={
            "product_id": product.id, "variant_id": product.variants[0].id,
            "quantity": str(quantity)})
        assert response.status_code == 303


def _buyer(db, login_as) -> str:
    buyer = make_user()
    make_address(user=buyer)
    db.session.commit()
    return login_as(buyer)


def test_cart_from_three_stores_becomes_one_checkout_with_three_orders(
        db, client, login_as, three_stores):
    email = _buyer(db, login_as)
    _fill_cart(client, three_stores, (1, 2, 3))
    response = client.post("/checkout", data=checkout_form(client))
    assert response.status_code == 303
    reference = response.headers["Location"].rsplit("/", 1)[-1]
    placed = db.session.scalars(select(Checkout).where(Checkout.reference == reference)).one()
    assert re.fullmatch(r"CO-\d{8}-\d{6}", placed.reference)
    orders = placed.orders
    assert len(orders) == 3
    assert [o.subtotal for o in orders] == [20_000, 70_000, 150_000]
    assert [o.shipping_cost for o in orders] == [0, 10_000, 15_000]
    assert [o.total for o in orders] == [20_000, 80_000, 165_000]
    assert (placed.subtotal, placed.shipping_total, placed.total) == (240_000, 25_000, 265_000)
    assert all(re.fullmatch(r"RCK-\d{8}-\d{6}", o.number) for o in orders)
    assert len({o.number for o in orders}) == 3
    assert {o.store_id for o in orders} == {p.store_id for p in three_stores}
    assert all(o.status == "pending" and o.payment_status == "unpaid" for o in orders)
    assert all(o.shipping_address["city"] == "Bandung" for o in orders)
    # Stock taken, ledger written, popularity counted, cart emptied.
    assert [p.variants[0].stock for p in three_stores] == [9, 8, 7]
    sales = db.session.scalars(select(StockMovement).where(StockMovement.reason == "sale")
                               .order_by(StockMovement.id)).all()
    assert sorted(m.delta for m in sales) == [-3, -2, -1]
    assert {m.reference for m in sales} == {o.number for o in orders}
    assert [p.sold_count for p in three_stores] == [1, 2, 3]
    assert _count(db, CartItem.id) == 0
    # The buyer's confirmation, one email and one notice per seller, one event per order.
    mails = db.session.execute(select(EmailOutbox.template, EmailOutbox.to_address)
                               .where(EmailOutbox.template.like("order_%"))).all()
    assert sorted(mails) == sorted([("order_confirmation", email)] + [
        ("order_new_seller", p.store.owner.email) for p in three_stores])
    assert db.session.scalar(select(func.count(Notice.id))
                             .where(Notice.kind == "new_order")) == 3
    assert _count(db, OrderEvent.id) == 3
    page = client.get(f"/checkout/{reference}").get_data(as_text=True)
    assert page.count('data-testid="placed-order"') == 3 and "Rp 265.000" in page


def test_order_items_are_snapshots_not_links(db, client, login_as, three_stores):
    _buyer(db, login_as)
    _fill_cart(client, three_stores[:1], (2,))
    client.post("/checkout", data=checkout_form(client))
    variant = three_stores[0].variants[0]
    variant.price = 99_000
    three_stores[0].name = "Nama Baru"
    db.session.commit()
    item = db.session.scalars(select(OrderItem)).one()
    assert (item.product_name, item.unit_price, item.line_total) == ("Produk 0", 20_000, 40_000)
    assert item.sku == variant.sku


def test_lost_race_on_the_last_store_rolls_back_everything(db, client, login_as, three_stores):
    _buyer(db, login_as)
    _fill_cart(client, three_stores, (1, 2, 3))
    form = checkout_form(client)
    # Another buyer takes the last store's stock between the page and "Bayar".
    last = three_stores[2].variants[0]
    last.stock = 2  # the cart wants 3
    db.session.commit()
    before = _snapshot(db)
    response = client.post("/checkout", data=form)
    body = response.get_data(as_text=True)
    assert response.status_code == 422
    assert "Stok tidak cukup" in body
    assert "Produk 2: diminta 3, tersedia 2" in body
    assert _snapshot(db) == before  # stock, ledger, orders, cart, mail: all unchanged


def test_a_failure_after_the_first_stores_changes_nothing(db, client, login_as, three_stores,
                                                          monkeypatch):
    """The stock of stores 1 and 2 is taken, then the last store's write fails: the
    transaction is rolled back whole."""
    import app.orders.checkout as checkout_module
    from app.catalog.stock import StockError

    real = checkout_module.stock_change
    last_variant = three_stores[2].variants[0].id

    def failing(*, variant, **kwargs):
        if variant.id == last_variant:
            raise StockError("injected failure", 0)
        return real(variant=variant, **kwargs)

    monkeypatch.setattr(checkout_module, "stock_change", failing)
    _buyer(db, login_as)
    _fill_cart(client, three_stores, (1, 1, 1))
    form = checkout_form(client)
    before = _snapshot(db)
    response = client.post("/checkout", data=form)
    assert response.status_code == 422
    assert _snapshot(db) == before


def test_pressing_bayar_twice_places_one_checkout(db, client, login_as, three_stores):
    _buyer(db, login_as)
    _fill_cart(client, three_stores, (1, 1, 1))
    form = checkout_form(client)
    first = client.post("/checkout", data=form)
    second = client.post("/checkout", data=form)  # double click / retry after a timeout
    assert first.status_code == second.status_code == 303
    assert first.headers["Location"] == second.headers["Location"]
    assert _count(db, Checkout.id) == 1 and _count(db, Order.id) == 3
    assert [p.variants[0].stock for p in three_stores] == [9, 9, 9]


def test_two_tabs_submitting_at_once_place_one_checkout(db, app, make_client, three_stores):
    buyer = make_user()
    make_address(user=buyer)
    db.session.commit()
    from tests.conftest import log_in

    first, second = make_client(), make_client()
    log_in(first, buyer.email)
    log_in(second, buyer.email)
    _fill_cart(first, three_stores, (2, 1, 1))
    form = checkout_form(first)
    tokens = [first.csrf_token(), second.csrf_token()]
    barrier = threading.Barrier(2)
    results: list = [None, None]

    def submit(index: int, client) -> None:
        barrier.wait()
        results[index] = client.open("/checkout", method="POST", csrf=False,
                                     data={**form, "csrf_token": tokens[index]})

    threads = [threading.Thread(target=submit, args=(i, c))
               for i, c in enumerate((first, second))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert [r.status_code for r in results] == [303, 303]
    assert results[0].headers["Location"] == results[1].headers["Location"]
    assert _count(db, Checkout.id) == 1 and _count(db, Order.id) == 3
    assert three_stores[0].variants[0].stock == 8


@pytest.mark.parametrize("change, message", [
    ({"address_id": ""}, "Pilih alamat pengiriman"),
    ({"address_id": "999999"}, "Pilih alamat pengiriman"),
    ({"payment_method": "bitcoin"}, "Pilih metode pembayaran"),
    ({"payment_method": ""}, "Pilih metode pembayaran"),
    ({"idempotency_key": ""}, "Formulir kedaluwarsa"),
    ({"idempotency_key": "<script>"}, "Formulir kedaluwarsa"),
])
def test_bad_checkout_input_is_refused_with_a_message_and_nothing_written(
        db, client, login_as, three_stores, change, message):
    _buyer(db, login_as)
    _fill_cart(client, three_stores[:2], (1, 1))
    form = {**checkout_form(client), **change}
    before = _snapshot(db)
    response = client.post("/checkout", data=form)
    assert response.status_code == 422
    assert message in response.get_data(as_text=True)
    assert _snapshot(db) == before


def test_another_users_address_cannot_be_used(db, client, login_as, three_stores):
    other = make_user()
    foreign = make_address(user=other, city="Medan")
    db.session.commit()
    _buyer(db, login_as)
    _fill_cart(client, three_stores[:1], (1,))
    form = {**checkout_form(client), "address_id": str(foreign.id)}
    response = client.post("/checkout", data=form)
    assert response.status_code == 422
    assert _count(db, Order.id) == 0


def test_empty_cart_checkout_shows_a_message(db, client, login_as):
    _buyer(db, login_as)
    page = client.get("/checkout").get_data(as_text=True)
    assert 'data-testid="checkout-empty"' in page
    response = client.post("/checkout", data={"idempotency_key": "a" * 32,
                                              "address_id": "1", "payment_method": "qris"})
    assert response.status_code == 422
    assert _count(db, Checkout.id) == 0


def test_checkout_page_of_another_buyer_is_not_found(db, client, login_as, make_client,
                                                     three_stores):
    _buyer(db, login_as)
    _fill_cart(client, three_stores[:1], (1,))
    location = client.post("/checkout", data=checkout_form(client)).headers["Location"]
    intruder = make_client()
    login_as("customer", intruder)
    assert intruder.get(location).status_code == 404
    assert client.get(location).status_code == 200
