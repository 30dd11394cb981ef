"""Order pages: the buyer's list (filter, pages, no query per row), the order page and its
live status block, the seller's list with in-place next steps, the order page, the packing
slip and the new-orders badge; another buyer's or store's order is a 404."""

from __future__ import annotations

import re
from contextlib import contextmanager
from datetime import timedelta

import pytest
from sqlalchemy import event, update

from app.accounts.models import User
from app.extensions import db as _db
from app.orders.lifecycle import order_cancel
from app.orders.models import Order
from tests.conftest import log_in
from tests.factories import make_user
from tests.orders.lifecycle_helpers import get_order, make_shop, move_to, place_order, snapshot

HX = {"HX-Request": "true"}


@pytest.fixture
def shop(db):
    return make_shop(stock=500)


@contextmanager
def count_queries():
    statements: list[str] = []

    def _count(conn, cursor, statement, parameters, context, executemany):
        statements.append(statement)

    event.listen(_db.engine, "before_cursor_execute", _count)
    try:
        yield statements
    finally:
        event.remove(_db.engine, "before_cursor_execute", _count)


def _rows(body: str) -> list[str]:
    return re.findall(r'class="order-number" href="/pesanan/([^"]+)"', body)


def _age(numbers: list[str]) -> None:
    """Spread creation times one hour apart, the first the oldest."""
    for hours, number in enumerate(reversed(numbers)):
        order = get_order(number)
        _db.session.execute(update(Order).where(Order.id == order.id).values(
            created_at=order.created_at - timedelta(hours=hours + 1)))
    _db.session.commit()


def test_my_orders_lists_own_orders_newest_first_20_per_page(client, db, shop):
    numbers = [place_order(shop) for _ in range(21)]
    _age(numbers)
    stranger = make_user()
    _db.session.commit()
    foreign = place_order(shop, buyer_id=stranger.id)
    log_in(client, shop.buyer_email)

    first = client.get("/pesanan")
    body = first.get_data(as_text=True)
    assert first.status_code == 200
    assert _rows(body) == list(reversed(numbers))[:20]
    assert foreign not in body
    assert "Toko Glow" in body and "Rp\u00a0150.000" in body and "Menunggu diproses" in body
    assert "Halaman 1 dari 2" in body
    second = client.get("/pesanan?hal=2").get_data(as_text=True)
    assert _rows(second) == [numbers[0]]


def test_my_orders_filters_by_status(client, db, shop):
    kept, cancelled = place_order(shop), place_order(shop)
    order_cancel(order=get_order(cancelled), actor=_db.session.get(User, shop.buyer_id))
    _db.session.commit()
    log_in(client, shop.buyer_email)
    body = client.get("/pesanan?status=cancelled").get_data(as_text=True)
    assert _rows(body) == [cancelled]
    assert _rows(client.get("/pesanan?status=pending").get_data(as_text=True)) == [kept]
    assert set(_rows(client.get("/pesanan?status=bogus").get_data(as_text=True))) == {
        kept, cancelled}
    fragment = client.get("/pesanan?status=cancelled", headers=HX).get_data(as_text=True)
    assert "<html" not in fragment and 'id="my-orders"' in fragment


def test_my_orders_reads_a_page_without_a_query_per_order(client, db, shop):
    log_in(client, shop.buyer_email)
    for _ in range(2):
        place_order(shop)
    client.get("/pesanan")
    with count_queries() as few:
        client.get("/pesanan")
    for _ in range(18):
        place_order(shop)
    with count_queries() as many:
        client.get("/pesanan")
    assert len(many) == len(few)


def test_order_page_shows_items_address_totals_and_history(client, db, shop):
    number = place_order(shop, quantity=2)
    move_to(number, "shipped")
    order = get_order(number)
    _db.session.execute(update(Order).where(Order.id == order.id)
                        .values(tracking_number="JNT-777"))
    _db.session.commit()
    log_in(client, shop.buyer_email)
    body = client.get(f"/pesanan/{number}").get_data(as_text=True)
    assert "Serum Niacinamide" in body and "Jl. Merdeka No. 1" in body
    assert "Rp\u00a0300.000" in body and "JNT-777" in body
    assert body.count("<li>") >= 3  # pending, processing, shipped in the history
    assert f'action="/pesanan/{number}/diterima"' in body
    assert f'action="/pesanan/{number}/batal"' not in body


def test_another_buyers_order_is_404_and_untouched(client, db, shop):
    number = place_order(shop)
    before = snapshot(number)
    login_user = make_user()
    _db.session.commit()
    log_in(client, login_user.email)
    assert client.get(f"/pesanan/{number}").status_code == 404
    assert client.get(f"/pesanan/{number}/status", headers=HX).status_code == 404
    assert client.post(f"/pesanan/{number}/batal").status_code == 404
    assert client.post(f"/pesanan/{number}/diterima").status_code == 404
    assert client.post(f"/pesanan/{number}/retur", data={"reason": "x"}).status_code == 404
    assert snapshot(number) == before


def test_status_block_polls_until_final_then_answers_286(client, make_client, db, shop):
    number = place_order(shop)
    log_in(client, shop.buyer_email)
    page = client.get(f"/pesanan/{number}").get_data(as_text=True)
    assert f'hx-get="/pesanan/{number}/status" hx-trigger="every 10s"' in page

    polled = client.get(f"/pesanan/{number}/status", headers=HX)
    assert polled.status_code == 200 and polled.headers["ETag"]
    assert 'hx-trigger="every 10s"' in polled.get_data(as_text=True)
    again = client.get(f"/pesanan/{number}/status",
                       headers={**HX, "If-None-Match": polled.headers["ETag"]})
    assert again.status_code == 304 and again.get_data() == b""

    seller = make_client()
    log_in(seller, shop.seller_email)
    seller.post(f"/seller/pesanan/{number}/lanjut", data={"dari": "pending"})
    changed = client.get(f"/pesanan/{number}/status",
                         headers={**HX, "If-None-Match": polled.headers["ETag"]})
    assert changed.status_code == 200 and "Diproses" in changed.get_data(as_text=True)

    move_to(number, "delivered")
    final = client.get(f"/pesanan/{number}/status",
                       headers={**HX, "If-None-Match": changed.headers["ETag"]})
    assert final.status_code == 286
    assert "hx-trigger" not in final.get_data(as_text=True)
    assert "Selesai" in final.get_data(as_text=True)


def test_cancelled_order_status_answers_286(client, db, shop):
    number = place_order(shop)
    log_in(client, shop.buyer_email)
    client.post(f"/pesanan/{number}/batal")
    response = client.get(f"/pesanan/{number}/status", headers=HX)
    assert response.status_code == 286
    assert "hx-trigger" not in response.get_data(as_text=True)


def test_seller_list_shows_own_store_only_with_filter_and_pages(client, db, shop):
    numbers = [place_order(shop) for _ in range(21)]
    _age(numbers)
    other = make_shop()
    foreign = place_order(other)
    log_in(client, shop.seller_email)
    body = client.get("/seller/pesanan").get_data(as_text=True)
    rows = re.findall(r'<tr id="order-([^"]+)"', body)
    assert rows == list(reversed(numbers))[:20] and foreign not in body
    assert re.findall(r'<tr id="order-([^"]+)"',
                      client.get("/seller/pesanan?hal=2").get_data(as_text=True)) == [numbers[0]]
    move_to(numbers[3], "processing")
    filtered = client.get("/seller/pesanan?status=processing").get_data(as_text=True)
    assert re.findall(r'<tr id="order-([^"]+)"', filtered) == [numbers[3]]
    assert "Tandai dikirim" in filtered


def test_seller_next_step_swaps_the_row_with_htmx(client, db, shop):
    number = place_order(shop)
    log_in(client, shop.seller_email)
    response = client.post(f"/seller/pesanan/{number}/lanjut?status=pending", headers=HX,
                           data={"dari": "pending", "view": "list"})
    row = response.get_data(as_text=True)
    assert response.status_code == 200
    assert row.lstrip().startswith(f'<tr id="order-{number}"')
    assert "Diproses" in row and 'name="tracking_number"' in row
    shipped = client.post(f"/seller/pesanan/{number}/lanjut", headers=HX,
                          data={"dari": "processing", "view": "list",
                                "tracking_number": "SICEPAT-1"})
    assert "SICEPAT-1" in shipped.get_data(as_text=True)
    assert get_order(number).status == "shipped"


def test_seller_next_step_without_javascript_returns_to_the_filtered_list(client, db, shop):
    number = place_order(shop)
    log_in(client, shop.seller_email)
    response = client.post(f"/seller/pesanan/{number}/lanjut?status=pending&hal=2",
                           data={"dari": "pending", "view": "list"})
    assert response.status_code == 303
    assert response.headers["Location"].startswith("/seller/pesanan?status=pending&hal=2")
    assert get_order(number).status == "processing"


def test_seller_row_shows_a_bad_tracking_number_in_place(client, db, shop):
    number = place_order(shop)
    move_to(number, "processing")
    log_in(client, shop.seller_email)
    response = client.post(f"/seller/pesanan/{number}/lanjut", headers=HX,
                           data={"dari": "processing", "view": "list",
                                 "tracking_number": "R" * 70})
    assert response.status_code == 422
    body = response.get_data(as_text=True)
    assert body.lstrip().startswith("<tr") and "Nomor resi maksimal" in body
    assert get_order(number).status == "processing"


def test_another_stores_order_is_404_for_a_seller(client, db, shop):
    number = place_order(shop)
    before = snapshot(number)
    rival = make_user(roles=("seller",))
    _db.session.commit()
    log_in(client, rival.email)
    for url in (f"/seller/pesanan/{number}", f"/seller/pesanan/{number}/slip"):
        assert client.get(url).status_code == 404
    assert client.post(f"/seller/pesanan/{number}/lanjut",
                       data={"dari": "pending"}).status_code == 404
    assert client.post(f"/seller/pesanan/{number}/batal",
                       data={"reason": "bukan punya saya"}).status_code == 404
    assert number not in client.get("/seller/pesanan").get_data(as_text=True)
    assert snapshot(number) == before


def test_seller_order_page_has_history_and_actions(client, db, shop):
    number = place_order(shop)
    log_in(client, shop.seller_email)
    body = client.get(f"/seller/pesanan/{number}").get_data(as_text=True)
    assert "Proses pesanan" in body and "Alasan pembatalan" in body
    assert "Budi Pembeli" in body and 'data-testid="order-history"' in body


def test_packing_slip_lists_skus_and_quantities_without_prices(client, db, shop):
    number = place_order(shop, quantity=3)
    order = get_order(number)
    sku = order.items[0].sku
    log_in(client, shop.seller_email)
    response = client.get(f"/seller/pesanan/{number}/slip")
    body = response.get_data(as_text=True)
    assert response.status_code == 200
    assert number in body and sku in body and "Toko Glow" in body
    assert "Jl. Merdeka No. 1" in body and '<td class="slip-qty">3</td>' in body
    assert "Rp" not in body


def test_print_css_exists_for_the_packing_slip(app):
    from pathlib import Path

    css = (Path(app.static_folder) / "css" / "app.css").read_text()
    assert "@media print" in css and ".packing-slip" in css


def test_seller_nav_badge_counts_pending_orders(client, db, shop):
    numbers = [place_order(shop) for _ in range(3)]
    move_to(numbers[0], "processing")
    log_in(client, shop.seller_email)
    body = client.get("/seller/pesanan").get_data(as_text=True)
    assert re.search(r'data-testid="nav-orders.seller_orders">Kelola pesanan '
                     r'<span class="count">2</span>', body)


def test_buyer_nav_has_my_orders(client, db, shop):
    log_in(client, shop.buyer_email)
    body = client.get("/pesanan").get_data(as_text=True)
    assert 'data-testid="nav-orders.my_orders"' in body


def test_long_lists_count_only_a_few_pages_ahead(client, db, shop, monkeypatch):
    """A store with 100k orders is not counted on every view: past the cap the pager
    shows "Halaman N" and a next link, and the pages past the cap still work."""
    import app.orders.queries as queries

    monkeypatch.setattr(queries, "COUNT_AHEAD", 1)  # count at most 2 pages (40) on page 1
    numbers = [place_order(shop) for _ in range(45)]
    _age(numbers)
    log_in(client, shop.buyer_email)
    first = client.get("/pesanan").get_data(as_text=True)
    assert "Halaman 1" in first and "Halaman 1 dari" not in first
    assert 'rel="next"' in first
    third = client.get("/pesanan?hal=3").get_data(as_text=True)  # cap 80 > 45: exact again
    assert _rows(third) == list(reversed(numbers))[40:45]
    assert "Halaman 3 dari 3" in third and 'rel="next"' not in third
