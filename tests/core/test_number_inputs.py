"""Numbers typed into forms, posted over real HTTP: a number too large, a negative one and
one that is no number at all each get their own message (in the user's language), never a
500, and nothing is written."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from app.catalog.models import Product, Variant
from app.maklon.models import MaklonRequest
from app.orders.models import CartItem
from tests.factories import make_category, make_product, make_user
from tests.live import LiveBrowser
from tests.maklon.factories import make_maklon_client

HUGE = "9" * 25  # beyond any 64-bit integer column

# (typed, Indonesian message, English message)
PRICE_CASES = [
    (HUGE, "Terlalu besar: maksimal Rp 1.000.000.000.000.",
     "Too large: at most Rp 1.000.000.000.000."),
    ("-5000", "Tidak boleh negatif.", "Cannot be negative."),
    ("lima ribu", "Tulis angka Rupiah tanpa desimal", "Write a whole Rupiah amount"),
]


def _browser(live_url: str, email: str) -> LiveBrowser:
    browser = LiveBrowser(live_url)
    browser.log_in(email)
    return browser


@pytest.mark.parametrize("locale", ["id", "en"])
@pytest.mark.parametrize(("typed", "message_id", "message_en"), PRICE_CASES)
def test_a_product_price_says_what_is_wrong_with_it(db, live_url, locale, typed, message_id,
                                                   message_en):
    seller = make_user(roles=("seller",), store_name="Glow", locale=locale)
    category = make_category()
    email, category_id = seller.email, category.id
    db.session.commit()
    browser = _browser(live_url, email)
    response = browser.post("/seller/produk/baru", {
        "name": "Serum Vitamin C", "category_id": str(category_id), "price": typed,
        "initial_stock": "5", "action": "save"})
    assert response.status == 422
    assert (message_id if locale == "id" else message_en) in response.text()
    assert db.session.scalar(select(func.count()).select_from(Product)) == 0


@pytest.mark.parametrize(("typed", "message"), [
    (HUGE, "Terlalu besar: maksimal 10.000.000."),
    ("-3", "Stok tidak boleh negatif."),
    ("banyak", "Tulis bilangan bulat, misalnya 25."),
])
def test_a_stock_edit_says_what_is_wrong_and_keeps_the_stock(db, live_url, typed, message):
    seller = make_user(roles=("seller",), store_name="Glow")
    product = make_product(store=seller.store, stock=7)
    email, variant_id = seller.email, product.variants[0].id
    db.session.commit()
    browser = _browser(live_url, email)
    browser.get("/seller/inventaris")
    response = browser.post(f"/seller/inventaris/{variant_id}/stok",
                            {"stok": typed, "semula": "7"}, headers={"HX-Request": "true"})
    assert response.status == 422
    assert message in response.text()
    db.session.expire_all()
    assert db.session.get(Variant, variant_id).stock == 7


@pytest.mark.parametrize(("locale", "typed", "message"), [
    ("id", HUGE, "Jumlah maksimal 999 per barang."),
    ("en", HUGE, "The quantity can be at most 999 per item."),
    ("id", "-5", "Jumlah minimal 1."),
    ("id", "dua", "Tulis bilangan bulat, misalnya 25."),
])
def test_a_cart_quantity_says_what_is_wrong_and_keeps_the_line(db, live_url, locale, typed,
                                                              message):
    seller = make_user(roles=("seller",), store_name="Glow")
    product = make_product(store=seller.store, stock=50)
    buyer = make_user(roles=("customer",), locale=locale)
    email, variant_id = buyer.email, product.variants[0].id
    db.session.add(CartItem(user_id=buyer.id, variant_id=variant_id, quantity=2))
    db.session.commit()
    item_id = db.session.scalar(select(CartItem.id))
    db.session.commit()
    browser = _browser(live_url, email)
    browser.get("/keranjang")
    response = browser.post(f"/keranjang/{item_id}", {"quantity": typed})
    assert response.status == 422
    assert message in response.text()
    db.session.expire_all()
    assert db.session.get(CartItem, item_id).quantity == 2


@pytest.mark.parametrize(("locale", "typed", "message"), [
    ("id", HUGE, "Terlalu besar: maksimal 10.000.000."),
    ("en", HUGE, "Too large: at most 10.000.000."),
    ("id", "-5", "Minimal 1."),
    ("en", "-5", "At least 1."),
    ("id", "1,5", "Tulis bilangan bulat, misalnya 25."),
])
def test_a_maklon_batch_quantity_says_what_is_wrong(db, live_url, locale, typed, message):
    from tests.maklon.test_requests import valid_form

    client = make_maklon_client()
    client.locale = locale
    email, form = client.email, {**valid_form(quantity=typed), "action": "submit"}
    db.session.commit()  # the test's reads end here: the server writes next
    browser = _browser(live_url, email)
    browser.get("/maklon/baru")
    response = browser.post("/maklon/baru", form)
    assert response.status == 422
    assert message in response.text()
    assert db.session.scalar(select(func.count()).select_from(MaklonRequest)) == 0
