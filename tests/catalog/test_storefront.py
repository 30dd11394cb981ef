"""The storefront: the home page's data and sections, product cards (rating, units sold,
store and city, one stock wording), the product page's gallery and variant chips, the search
page's first row of photos, and the buyer's order list with the store and thumbnails."""

from __future__ import annotations

import pickle
import re
from contextlib import contextmanager
from decimal import Decimal

import pytest
from sqlalchemy import event

from app.catalog.models import ProductImage
from app.catalog.queries import ProductBrief, storefront_home
from app.extensions import db as _db
from tests.factories import make_category, make_order, make_product, make_user
from tests.live import raw_request

IMG = re.compile(r"<img\b[^>]*>")


@contextmanager
def statements():
    """The SQL statements run inside the block."""
    seen: list[str] = []

    def count(conn, cursor, statement, *args):
        seen.append(statement)

    engine = _db.engine
    event.listen(engine, "before_cursor_execute", count)
    try:
        yield seen
    finally:
        event.remove(engine, "before_cursor_execute", count)


def _shop(count: int = 10):
    """Two stores in two cities, `count` products, the later ones selling more."""
    make_category(name="Perawatan Wajah")
    first = make_user(roles=("seller",), store_name="Glow Nusantara")
    second = make_user(roles=("seller",), store_name="Herbal Jaya")
    second.store.location = "Surabaya"
    products = []
    for n in range(count):
        product = make_product(store=(first, second)[n % 2].store, name=f"Produk Uji {n:02d}")
        product.sold_count = n * 10
        products.append(product)
    _db.session.commit()
    return products


def test_storefront_home_is_plain_data_read_in_four_queries(db):
    _shop(30)
    _db.session.expire_all()
    with statements() as seen:
        home = storefront_home()
    queries = [s for s in seen if s.lstrip().upper().startswith("SELECT")]
    assert len(queries) <= 4, queries
    assert [p.name for p in home.popular][:2] == ["Produk Uji 29", "Produk Uji 28"]
    assert len(home.popular) == 8 and len(home.newest) == 8
    assert {s.store.name for s in home.stores} == {"Glow Nusantara", "Herbal Jaya"}
    assert all(s.products == 15 for s in home.stores)
    assert isinstance(home.popular[0], ProductBrief)
    assert pickle.loads(pickle.dumps(home)) == home  # noqa: S301 - a cache can keep it


def test_archived_products_stay_off_the_home_page(client, db):
    products = _shop(3)
    products[2].active = False
    db.session.commit()
    body = client.get("/").get_data(as_text=True)
    assert "Produk Uji 01" in body and "Produk Uji 02" not in body


def test_home_page_has_search_categories_shelves_stores_and_the_maklon_offer(client, db):
    _shop(10)
    body = client.get("/").get_data(as_text=True)
    for section in ("home-search", "home-categories", "home-popular", "home-new",
                    "home-stores", "home-maklon"):
        assert f'data-testid="{section}"' in body, section
    assert re.search(r'<form method="get" action="/produk" role="search"', body)
    assert 'name="q"' in body
    assert 'href="/ajukan-maklon"' in body and 'href="/masuk"' in body
    assert 'href="/daftar"' in body
    assert "<svg class=\"home-mark\"" in body
    assert "ui-store.css" in body


def test_an_empty_shop_has_a_home_page_that_says_so(client, db):
    response = client.get("/")
    assert response.status_code == 200
    assert "Belum ada produk di marketplace." in response.get_data(as_text=True)


def test_home_page_over_http_loads_only_the_first_row_eagerly_at_the_size_shown(
        db, live_url):
    products = _shop(10)
    for product in products:
        product.cover_key = f"produk/{product.id}.webp"
    db.session.commit()
    response = raw_request(live_url, "/")
    assert response.status == 200
    page = response.text()
    popular = page[page.index('data-testid="home-popular"'):page.index('data-testid="home-maklon"')]
    images = IMG.findall(popular)
    assert len(images) == 8
    assert all('width="200"' in tag and 'height="200"' in tag for tag in images)
    assert ['loading="lazy"' in tag for tag in images] == [False] * 4 + [True] * 4
    rest = page[page.index('data-testid="home-new"'):]
    assert all('loading="lazy"' in tag for tag in IMG.findall(rest))


def test_search_loads_the_first_row_eagerly_and_the_rest_lazily(client, db):
    products = _shop(8)
    for product in products:
        product.cover_key = f"produk/{product.id}.webp"
    db.session.commit()
    body = client.get("/produk").get_data(as_text=True)
    images = IMG.findall(body[body.index('id="results"'):])
    assert ['loading="lazy"' in tag for tag in images] == [False] * 4 + [True] * 4


def test_card_shows_units_sold_compactly_and_no_line_when_nothing_sold(client, db):
    store = make_user(roles=("seller",), store_name="Toko Kartu").store
    make_category()
    hit = make_product(store=store, name="Laris Sekali")
    hit.sold_count = 1234
    hit.rating_count, hit.rating_total, hit.rating_avg = 12, 54, Decimal("4.50")
    make_product(store=store, name="Belum Laku")
    db.session.commit()
    body = client.get("/produk").get_data(as_text=True).replace("\xa0", " ")  # "1,2 rb"
    cards = body.split('data-testid="product-card"')[1:]
    hit_card = next(card for card in cards if "Laris Sekali" in card)
    quiet_card = next(card for card in cards if "Belum Laku" in card)
    assert "Terjual 1,2 rb" in hit_card and "4,5" in hit_card and "(12)" in hit_card
    assert "Toko Kartu" in hit_card and "Bandung" in hit_card
    assert "card-stats" not in quiet_card and "Terjual" not in quiet_card
    assert "Toko Kartu" in quiet_card


@pytest.mark.parametrize(("stock", "threshold", "on_page", "on_card"), [
    (39, 10, "Stok 39", None), (10, 10, "Stok 10", None), (9, 10, "Sisa 9", "Sisa 9"),
    (1, 10, "Sisa 1", "Sisa 1"), (0, 10, "Habis", "Habis"), (5, 3, "Stok 5", None),
])
def test_one_stock_wording_on_card_product_page_and_cart(client, db, make_client, login_as,
                                                         stock, threshold, on_page,
                                                         on_card):
    """"Sisa N" under the store's low-stock threshold (the API's `low`), "Habis" at 0."""
    store = make_user(roles=("seller",), store_name="Toko Stok").store
    store.low_stock_threshold = threshold
    make_category()
    product = make_product(store=store, name="Serum Stok", stock=stock)
    db.session.commit()
    page = client.get(f"/produk/{product.id}").get_data(as_text=True)
    label = re.search(r'data-testid="stock-label">([^<]+)<', page)
    assert label and label.group(1) == on_page
    card = client.get("/produk").get_data(as_text=True)
    card = card[card.index('data-testid="product-card"'):]
    found = re.search(r'data-testid="stock-label">([^<]+)<', card)
    assert (found.group(1) if found else None) == on_card
    if stock:  # the cart says the same as the card
        shopper = make_client()
        login_as("customer", shopper)
        shopper.post("/keranjang/tambah", data={"product_id": product.id,
                                                "variant_id": product.variants[0].id,
                                                "quantity": 1})
        cart = shopper.get("/keranjang").get_data(as_text=True)
        found = re.search(r'data-testid="stock-label">([^<]+)<', cart)
        assert (found.group(1) if found else None) == on_card


def test_product_page_gallery_and_chips_work_without_javascript(client, db):
    store = make_user(roles=("seller",), store_name="Toko Galeri").store
    make_category()
    product = make_product(store=store, name="Serum Galeri",
                           options={"Ukuran": ["20 ml", "30 ml"]})
    for position in range(3):
        db.session.add(ProductImage(product_id=product.id, position=position,
                                    display_key=f"produk/d{position}.webp",
                                    thumb_key=f"produk/t{position}.webp",
                                    width=440, height=440))
    product.description = "Serum untuk kulit kusam."
    product.specifications = [{"label": "Isi", "value": "30 ml"}]
    db.session.commit()
    body = client.get(f"/produk/{product.id}?opsi-0=30+ml").get_data(as_text=True)
    radios = re.findall(r'<input type="radio" name="foto" id="g-(\d)"[^>]*>', body)
    assert radios == ["1", "2", "3"]
    assert all(f'<label for="g-{n}" class="gallery-thumb"' in body for n in radios)
    slides = re.findall(r'<figure class="gallery-slide"[^>]*>\s*<img ([^>]*)>', body)
    assert len(slides) == 3 and "loading=" not in slides[0]
    assert all('loading="lazy"' in slide for slide in slides[1:])
    chips = re.findall(r'<input type="radio" name="opsi-0" value="([^"]+)"\s?(checked)?>', body)
    assert chips == [("20 ml", ""), ("30 ml", "checked")]
    assert 'class="product-spec"' in body  # "Spesifikasi" in its own block, apart


def test_a_single_photo_is_shown_without_thumbnails(client, db):
    store = make_user(roles=("seller",), store_name="Toko Satu Foto").store
    make_category()
    product = make_product(store=store, name="Sabun Satu Foto")
    db.session.add(ProductImage(product_id=product.id, position=0, display_key="produk/d.webp",
                                thumb_key="produk/t.webp", width=440, height=440))
    db.session.commit()
    body = client.get(f"/produk/{product.id}").get_data(as_text=True)
    # The checked radio is what shows the photo (ui-store.css): one photo has one too.
    assert re.search(r'<input type="radio" name="foto" id="g-1"[^>]* checked>', body)
    assert "gallery-thumb" not in body.split('data-testid="gallery"')[1].split("</section>")[0]


def test_buyer_orders_show_the_store_first_and_three_thumbnails_plus_more(client, db,
                                                                        login_as):
    from tests.factories import make_checkout

    store = make_user(roles=("seller",), store_name="Toko Pesanan").store
    make_category()
    products = [make_product(store=store, name=f"Barang {n}") for n in range(5)]
    for product in products:
        product.cover_key = f"produk/{product.id}.webp"
    buyer = make_user(email="pembeli@example.test")
    make_checkout(buyer=buyer, lines=[(p.variants[0], 1) for p in products])
    other = make_user(email="lain@example.test")
    other_store = make_user(roles=("seller",), store_name="Toko Orang Lain").store
    make_order(buyer=other, variant=make_product(store=other_store, name="Punya Lain")
               .variants[0])
    db.session.commit()
    login_as(buyer)
    body = client.get("/pesanan").get_data(as_text=True)
    row = body[body.index('data-testid="order-row"'):]
    assert row.index("Toko Pesanan") < row.index('data-testid="order-thumbs"') < row.index(
        'class="order-number"')
    thumbs = re.findall(r'data-testid="order-thumb"', row)
    assert len(thumbs) == 3
    assert re.search(r'data-testid="order-thumbs-more"[^>]*>\+2<', row)
    assert "Toko Orang Lain" not in body and "Punya Lain" not in body


def test_buyer_order_list_queries_do_not_grow_with_the_orders(client, db, login_as):
    store = make_user(roles=("seller",), store_name="Toko Hitung").store
    make_category()
    product = make_product(store=store, name="Barang Hitung", stock=50)
    buyer = make_user(email="penghitung@example.test")
    make_order(buyer=buyer, variant=product.variants[0])
    db.session.commit()
    login_as(buyer)
    client.get("/pesanan")
    with statements() as one:
        assert client.get("/pesanan").status_code == 200
    for n in range(3):  # other products: each would be one more query if loaded per row
        make_order(buyer=buyer, variant=make_product(store=store, name=f"Lain {n}").variants[0])
    db.session.commit()
    with statements() as four:
        assert client.get("/pesanan").status_code == 200
    assert len(four) == len(one)


def test_buyer_orders_need_a_login(client, db):
    response = client.get("/pesanan")
    assert response.status_code in (302, 303) and "/masuk" in response.headers["Location"]
