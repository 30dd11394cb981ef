"""Search: the keyword, every filter and every sort order return exactly the expected products.

One small hand-made catalog (two stores, a category with a sub-category, one archived
product) is arranged through the real services; each test asserts the exact ordered list of
product names, over HTTP (`GET /produk`) or through `product_search` where that is clearer.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from sqlalchemy import select

from app.accounts.models import Store
from app.catalog.models import Category, Product
from app.catalog.queries import PER_PAGE, SearchParams, product_search
from app.catalog.services import (
    OptionGroup,
    ProductData,
    VariantChange,
    category_create,
    product_archive,
    product_create,
    product_restore,
    product_update,
    variants_update,
)
from app.catalog.stock import stock_change
from app.inventory.models import StockReason
from tests.factories import make_user

PRODUCT_NAME = re.compile(r'<span class="product-name">([^<]*)</span>')
T0 = datetime(2026, 1, 1, tzinfo=UTC)


def _seller_store(db, email: str, store_name: str) -> Store:
    user = make_user(email=email, roles=("seller",), store_name=store_name)
    db.session.flush()
    return user.store


def _product(db, store: Store, name: str, price: int, *, category: Category,
             description: str = "", stock: int = 5, **cached) -> Product:
    """A product through `product_create`; `cached` sets the columns that orders and reviews
    maintain (sold_count, rating_avg, rating_count) and created_at, directly."""
    product = product_create(
        store=store,
        data=ProductData(name=name, description=description, category_id=category.id,
                         price=price, initial_stock=stock),
        actor=store.owner,
    )
    for attribute, value in cached.items():
        setattr(product, attribute, value)
    db.session.flush()
    return product


@dataclass
class Catalog:
    face: Category  # "Perawatan Wajah", parent of `serums`
    serums: Category
    hair: Category
    cantik: Store
    segar: Store


@pytest.fixture
def catalog(db) -> Catalog:
    """Seven active products and one archived one.

    | # | name                    | store  | category | price   | stock | sold | rating  | age |
    |---|-------------------------|--------|----------|---------|-------|------|---------|-----|
    | 1 | Serum Vitamin C         | cantik | serums   | 150.000 | 10    | 50   | 4.80/20 | +5h |
    | 2 | Sabun Cuci Muka         | cantik | face     | 45.000  | 0     | 120  | 4.00/5  | +1h |
    | 3 | Pelembap Aloe Vera      | segar  | face     | 85.000  | 7     | 10   | 3.50/8  | +7h |
    | 4 | Cream Malam Niacinamide | segar  | serums   | 120.000 | 3→0   | 75   | 4.80/40 | +3h |
    | 5 | Sampo Kemiri            | cantik | hair     | 50.000  | 12    | 0    | 0/0     | +4h |
    | 6 | Toner Mawar             | segar  | face     | 50.000  | 9     | 30   | 2.00/3  | +4h |
    | 7 | Sérum Retinol           | cantik | serums   | 200.000 | 4     | 50   | 3.50/8  | +2h |
    | 8 | Serum Lama (archived)   | cantik | serums   | 60.000  | 5     | 999  | 5.00/10 | +9h |

    Product 4 sold its last 3 units through the inventory service, so its `stock_total`
    cache reaches 0 the way it does in production.
    """
    face = category_create(name="Perawatan Wajah", name_en="Face care", parent_id=None)
    serums = category_create(name="Serum Wajah", name_en="Face serums", parent_id=face.id)
    hair = category_create(name="Perawatan Rambut", name_en="Hair care", parent_id=None)
    cantik = _seller_store(db, "cantik@example.test", "Toko Cantik")
    segar = _seller_store(db, "segar@example.test", "Toko Segar")

    def at(hours: int) -> datetime:
        return T0 + timedelta(hours=hours)

    _product(db, cantik, "Serum Vitamin C", 150_000, category=serums, stock=10,
             description="Mencerahkan kulit wajah.", sold_count=50,
             rating_avg=Decimal("4.80"), rating_count=20, created_at=at(5))
    _product(db, cantik, "Sabun Cuci Muka", 45_000, category=face, stock=0,
             description="Pembersih lembut.", sold_count=120,
             rating_avg=Decimal("4.00"), rating_count=5, created_at=at(1))
    _product(db, segar, "Pelembap Aloe Vera", 85_000, category=face, stock=7,
             description="Melembapkan kulit kering.", sold_count=10,
             rating_avg=Decimal("3.50"), rating_count=8, created_at=at(7))
    cream = _product(db, segar, "Cream Malam Niacinamide", 120_000, category=serums, stock=3,
                     description="Dipakai sebelum tidur.", sold_count=75,
                     rating_avg=Decimal("4.80"), rating_count=40, created_at=at(3))
    _product(db, cantik, "Sampo Kemiri", 50_000, category=hair, stock=12,
             description="Menguatkan akar rambut.", created_at=at(4))
    _product(db, segar, "Toner Mawar", 50_000, category=face, stock=9,
             description="Dipakai setelah serum pagi hari.", sold_count=30,
             rating_avg=Decimal("2.00"), rating_count=3, created_at=at(4))
    _product(db, cantik, "Sérum Retinol", 200_000, category=serums, stock=4,
             sold_count=50, rating_avg=Decimal("3.50"), rating_count=8, created_at=at(2))
    archived = _product(db, cantik, "Serum Lama", 60_000, category=serums, stock=5,
                        description="Serum lama.", sold_count=999,
                        rating_avg=Decimal("5.00"), rating_count=10, created_at=at(9))
    product_archive(product=archived, actor=cantik.owner)
    stock_change(variant=cream.variants[0], delta=-3, reason=StockReason.SALE, actor=None,
                 reference="pesanan uji")
    db.session.commit()
    return Catalog(face=face, serums=serums, hair=hair, cantik=cantik, segar=segar)


def names(page) -> list[str]:
    return [product.name for product in page.items]


def search(**params) -> list[str]:
    return names(product_search(SearchParams(**params)))


def listed(client, **args) -> list[str]:
    response = client.get("/produk", query_string=args)
    assert response.status_code == 200
    return PRODUCT_NAME.findall(response.get_data(as_text=True))


ALL_BY_PRICE = ["Sabun Cuci Muka", "Sampo Kemiri", "Toner Mawar", "Pelembap Aloe Vera",
                "Cream Malam Niacinamide", "Serum Vitamin C", "Sérum Retinol"]


# --- keyword ------------------------------------------------------------------------------


@pytest.mark.parametrize("query", ["serum", "SERUM", "SÉRUM", "Sérum", "sérum"])
def test_keyword_ignores_case_and_accents_and_matches_name_or_description(
        catalog, client, query):
    # Toner Mawar has "serum" only in its description; the archived Serum Lama never shows.
    expected = ["Toner Mawar", "Serum Vitamin C", "Sérum Retinol"]
    assert listed(client, q=query, urut="price_asc") == expected


def test_keyword_matches_a_word_of_the_description_only(catalog, client):
    assert listed(client, q="mencerahkan") == ["Serum Vitamin C"]


@pytest.mark.parametrize(("query", "expected"), [
    ("sabu", ["Sabun Cuci Muka"]),
    ("kem", ["Sampo Kemiri"]),
    ("niac", ["Cream Malam Niacinamide"]),
])
def test_keyword_is_a_prefix_match(catalog, query, expected):
    assert search(q=query, sort="price_asc") == expected


@pytest.mark.parametrize(("query", "expected"), [
    ("serum retinol", ["Sérum Retinol"]),
    ("vitamin serum", ["Serum Vitamin C"]),
    ("dipakai serum", ["Toner Mawar"]),  # both words in the description
    ("serum kemiri", []),  # each word matches some product, never both in one
])
def test_keyword_with_several_words_requires_all_of_them(catalog, query, expected):
    assert search(q=query, sort="price_asc") == expected


@pytest.mark.parametrize(("query", "expected"), [
    ("pelembab", ["Pelembap Aloe Vera"]),
    ("moisturizer", ["Pelembap Aloe Vera"]),
    ("krim", ["Cream Malam Niacinamide"]),
    ("krem malam", ["Cream Malam Niacinamide"]),
    ("soap", ["Sabun Cuci Muka"]),
])
def test_keyword_finds_indonesian_spelling_variants_and_loan_words(catalog, client, query,
                                                                   expected):
    assert listed(client, q=query) == expected


def test_relevance_ranks_a_name_match_above_a_description_only_match(db):
    store = _seller_store(db, "rank@example.test", "Toko Rank")
    category = category_create(name="Wajah", name_en="Face", parent_id=None)
    # The description-only match is the newest and has the highest id, so neither the
    # id tie-break nor "newest" could put it last: only the rank does. The two name
    # matches rank equally and fall back to id (newest id first).
    _product(db, store, "Serum Kunyit", 10_000, category=category,
             description="Untuk kulit kusam.", created_at=T0)
    _product(db, store, "Serum Jeruk", 10_000, category=category,
             description="Untuk kulit kusam.", created_at=T0)
    _product(db, store, "Toner Mawar", 10_000, category=category,
             description="Dipakai setelah serum.", created_at=T0 + timedelta(days=1))
    db.session.commit()

    assert search(q="serum", sort="relevance") == ["Serum Jeruk", "Serum Kunyit",
                                                   "Toner Mawar"]


def test_keyword_search_sorts_by_relevance_unless_told_otherwise(db, client):
    store = _seller_store(db, "rank2@example.test", "Toko Rank")
    category = category_create(name="Wajah", name_en="Face", parent_id=None)
    _product(db, store, "Serum Kunyit", 10_000, category=category, created_at=T0)
    _product(db, store, "Toner Mawar", 10_000, category=category,
             description="Dipakai setelah serum.", created_at=T0 + timedelta(days=1))
    db.session.commit()

    assert listed(client, q="serum") == ["Serum Kunyit", "Toner Mawar"]
    assert listed(client, q="serum", urut="newest") == ["Toner Mawar", "Serum Kunyit"]


# --- filters ------------------------------------------------------------------------------


def test_archived_products_never_appear(catalog, client):
    assert sorted(listed(client)) == sorted(ALL_BY_PRICE)
    assert listed(client, q="lama") == []
    assert search(store=catalog.cantik, sort="popular") == [
        "Sabun Cuci Muka", "Sérum Retinol", "Serum Vitamin C", "Sampo Kemiri"]


def test_category_filter_includes_its_sub_categories(catalog, client):
    assert listed(client, kategori=catalog.face.slug, urut="price_asc") == [
        "Sabun Cuci Muka", "Toner Mawar", "Pelembap Aloe Vera", "Cream Malam Niacinamide",
        "Serum Vitamin C", "Sérum Retinol"]
    assert listed(client, kategori=catalog.serums.slug, urut="price_asc") == [
        "Cream Malam Niacinamide", "Serum Vitamin C", "Sérum Retinol"]
    assert listed(client, kategori=catalog.hair.slug, urut="price_asc") == ["Sampo Kemiri"]


def test_category_filter_includes_sub_categories_at_any_depth(catalog, client, db):
    night = category_create(name="Serum Malam", name_en="Night serums",
                            parent_id=catalog.serums.id)
    _product(db, catalog.segar, "Ampoule Tidur", 99_000, category=night)
    db.session.commit()

    assert listed(client, kategori=catalog.face.slug, urut="price_asc") == [
        "Sabun Cuci Muka", "Toner Mawar", "Pelembap Aloe Vera", "Ampoule Tidur",
        "Cream Malam Niacinamide", "Serum Vitamin C", "Sérum Retinol"]
    assert listed(client, kategori=catalog.serums.slug, urut="price_asc") == [
        "Ampoule Tidur", "Cream Malam Niacinamide", "Serum Vitamin C", "Sérum Retinol"]
    assert listed(client, kategori=night.slug) == ["Ampoule Tidur"]


def test_archiving_and_restoring_takes_a_product_out_of_search_and_back(catalog, db):
    toner = db.session.scalars(select(Product).where(Product.name == "Toner Mawar")).one()
    product_archive(product=toner, actor=catalog.segar.owner)
    db.session.commit()
    assert search(q="toner") == []

    product_restore(product=toner, actor=catalog.segar.owner)
    db.session.commit()
    assert search(q="toner") == ["Toner Mawar"]


def test_edited_product_is_found_by_its_new_words_only(catalog, db):
    toner = db.session.scalars(select(Product).where(Product.name == "Toner Mawar")).one()
    product_update(product=toner, actor=catalog.segar.owner, data=ProductData(
        name="Essence Melati", description="Menyegarkan kulit.",
        category_id=toner.category_id, price=toner.price))
    db.session.commit()

    assert search(q="toner") == []
    assert search(q="mawar") == []
    assert search(q="melati") == ["Essence Melati"]
    assert search(q="menyegarkan") == ["Essence Melati"]
    assert search(q="serum", sort="price_asc") == ["Serum Vitamin C", "Sérum Retinol"]


@pytest.mark.parametrize(("low", "high"), [
    ("50.000", "120.000"), ("50000", "120000"), ("Rp 50.000", "120000")])
def test_price_range_is_inclusive_and_accepts_dotted_rupiah(catalog, client, low, high):
    assert listed(client, harga_min=low, harga_max=high, urut="price_asc") == [
        "Sampo Kemiri", "Toner Mawar", "Pelembap Aloe Vera", "Cream Malam Niacinamide"]


def test_price_bounds_alone(catalog, client):
    assert listed(client, harga_min="150.000", urut="price_asc") == [
        "Serum Vitamin C", "Sérum Retinol"]
    assert listed(client, harga_max="50000", urut="price_asc") == [
        "Sabun Cuci Muka", "Sampo Kemiri", "Toner Mawar"]


def test_price_filter_uses_the_lowest_active_variant_price(db):
    store = _seller_store(db, "varian@example.test", "Toko Varian")
    category = category_create(name="Wajah", name_en="Face", parent_id=None)
    product = product_create(
        store=store,
        data=ProductData(name="Serum Dua Ukuran", description="", category_id=category.id,
                         price=100_000, initial_stock=1,
                         option_groups=[OptionGroup(name="Isi", values=["30 ml", "100 ml"])]),
        actor=store.owner,
    )
    small, large = product.variants
    variants_update(product=product, actor=store.owner, changes=[
        VariantChange(variant_id=small.id, sku=small.sku, price=40_000, stock=1,
                      expected_stock=1),
        VariantChange(variant_id=large.id, sku=large.sku, price=130_000, stock=1,
                      expected_stock=1),
    ])
    db.session.commit()

    assert search(price_min=40_000, price_max=40_000) == ["Serum Dua Ukuran"]
    assert search(price_min=50_000) == []  # its cheapest variant is below 50.000
    assert search(price_max=39_999) == []


def test_swapped_price_bounds_are_swapped_with_a_message(catalog, client):
    response = client.get("/produk", query_string={"harga_min": "120000",
                                                   "harga_max": "50000", "urut": "price_asc"})
    html = response.get_data(as_text=True)
    assert response.status_code == 200
    assert "ditukar" in html
    assert PRODUCT_NAME.findall(html) == [
        "Sampo Kemiri", "Toner Mawar", "Pelembap Aloe Vera", "Cream Malam Niacinamide"]


def test_in_stock_filter_leaves_out_sold_out_products(catalog, client):
    # Sabun was created without stock; Cream sold its last units through the ledger.
    assert listed(client, tersedia="1", urut="price_asc") == [
        "Sampo Kemiri", "Toner Mawar", "Pelembap Aloe Vera", "Serum Vitamin C",
        "Sérum Retinol"]
    assert listed(client, urut="price_asc") == ALL_BY_PRICE


@pytest.mark.parametrize(("rating", "expected"), [
    ("5", []),  # only the archived product has 5.00
    ("4", ["Sabun Cuci Muka", "Cream Malam Niacinamide", "Serum Vitamin C"]),  # 4.00 counts
    ("2", ["Sabun Cuci Muka", "Toner Mawar", "Pelembap Aloe Vera", "Cream Malam Niacinamide",
           "Serum Vitamin C", "Sérum Retinol"]),
    ("1", ["Sabun Cuci Muka", "Toner Mawar", "Pelembap Aloe Vera", "Cream Malam Niacinamide",
           "Serum Vitamin C", "Sérum Retinol"]),  # unrated Sampo Kemiri is left out
    ("9", ALL_BY_PRICE),  # out of range: ignored
])
def test_min_rating_filter(catalog, client, rating, expected):
    assert listed(client, rating=rating, urut="price_asc") == expected


def test_store_filter_shows_only_that_stores_products(catalog, client):
    assert listed(client, toko=catalog.segar.slug, urut="price_asc") == [
        "Toner Mawar", "Pelembap Aloe Vera", "Cream Malam Niacinamide"]
    assert listed(client, toko=catalog.cantik.slug, urut="price_asc") == [
        "Sabun Cuci Muka", "Sampo Kemiri", "Serum Vitamin C", "Sérum Retinol"]


def test_filters_combine(catalog, client):
    assert listed(client, q="serum", kategori=catalog.serums.slug, toko=catalog.cantik.slug,
                  harga_max="160.000", tersedia="1", rating="4") == ["Serum Vitamin C"]


# --- sorting ------------------------------------------------------------------------------


@pytest.mark.parametrize(("sort", "expected"), [
    # created_at: Pelembap +7h, Serum Vitamin C +5h, Toner and Sampo both +4h (tie: the
    # newer id first), Cream +3h, Sérum Retinol +2h, Sabun +1h.
    ("newest", ["Pelembap Aloe Vera", "Serum Vitamin C", "Toner Mawar", "Sampo Kemiri",
                "Cream Malam Niacinamide", "Sérum Retinol", "Sabun Cuci Muka"]),
    # Sampo and Toner both cost 50.000: the lower id first when ascending...
    ("price_asc", ALL_BY_PRICE),
    # ...and the higher id first when descending.
    ("price_desc", ["Sérum Retinol", "Serum Vitamin C", "Cream Malam Niacinamide",
                    "Pelembap Aloe Vera", "Toner Mawar", "Sampo Kemiri", "Sabun Cuci Muka"]),
    # sold_count; Serum Vitamin C and Sérum Retinol both sold 50: the newer id first.
    ("popular", ["Sabun Cuci Muka", "Cream Malam Niacinamide", "Sérum Retinol",
                 "Serum Vitamin C", "Toner Mawar", "Pelembap Aloe Vera", "Sampo Kemiri"]),
    # rating_avg, then rating_count (4.80/40 before 4.80/20), then the newer id
    # (Sérum Retinol and Pelembap are both 3.50/8).
    ("rating", ["Cream Malam Niacinamide", "Serum Vitamin C", "Sabun Cuci Muka",
                "Sérum Retinol", "Pelembap Aloe Vera", "Toner Mawar", "Sampo Kemiri"]),
])
def test_each_sort_order_with_ties_broken_by_id(catalog, client, sort, expected):
    assert listed(client, urut=sort) == expected
    assert search(sort=sort) == expected


def test_without_keyword_the_default_order_is_newest(catalog, client):
    newest = listed(client, urut="newest")
    assert listed(client) == newest
    assert listed(client, urut="relevance") == newest  # nothing to rank by


# --- pagination ---------------------------------------------------------------------------


def test_pages_hold_24_products_without_overlap_and_cover_everything(db, client):
    store = _seller_store(db, "banyak@example.test", "Toko Banyak")
    category = category_create(name="Wajah", name_en="Face", parent_id=None)
    everything = [f"Sabun Nomor {n:02d}" for n in range(1, 31)]
    for n, name in enumerate(everything, start=1):
        _product(db, store, name, 1_000 * n, category=category)
    db.session.commit()

    first = listed(client, q="sabun", urut="price_asc")
    second = listed(client, q="sabun", urut="price_asc", hal="2")
    third = listed(client, q="sabun", urut="price_asc", hal="3")

    assert PER_PAGE == 24
    assert first == everything[:24]
    assert second == everything[24:]
    assert third == []
    page = product_search(SearchParams(q="sabun", sort="price_asc", page=2))
    assert (page.total, page.pages, len(page.items)) == (30, 2, 6)


# --- bad input ----------------------------------------------------------------------------


@pytest.mark.parametrize("args", [
    {"harga_min": "abc"},
    {"harga_max": "-5"},
    {"harga_min": "12,5"},
])
def test_invalid_price_is_ignored_with_a_message(catalog, client, args):
    response = client.get("/produk", query_string={**args, "urut": "price_asc"})
    html = response.get_data(as_text=True)
    assert response.status_code == 200
    assert "tidak valid" in html
    assert PRODUCT_NAME.findall(html) == ALL_BY_PRICE


def test_unknown_category_is_ignored_with_a_message(catalog, client):
    response = client.get("/produk", query_string={"kategori": "tidak-ada",
                                                   "urut": "price_asc"})
    html = response.get_data(as_text=True)
    assert response.status_code == 200
    assert "Kategori tidak ditemukan" in html
    assert PRODUCT_NAME.findall(html) == ALL_BY_PRICE


def test_unknown_store_is_ignored_with_a_message(catalog, client):
    response = client.get("/produk", query_string={"toko": "tidak-ada", "urut": "price_asc"})
    html = response.get_data(as_text=True)
    assert response.status_code == 200
    assert "Toko tidak ditemukan" in html
    assert PRODUCT_NAME.findall(html) == ALL_BY_PRICE


@pytest.mark.parametrize("args", [
    {"urut": "bogus"},
    {"urut": "price_asc; DROP TABLE products"},
    {"hal": "-1"},
    {"hal": "0"},
    {"hal": "x"},
    {"hal": "99999999999999999999"},
    {"rating": "abc"},
    {"tersedia": "maybe"},
])
def test_bad_sort_page_rating_or_stock_values_fall_back_to_defaults(catalog, client, args):
    assert listed(client, **args) == listed(client)


@pytest.mark.parametrize("args", [
    {"harga_max": "9" * 19},  # above a BIGINT: once a 500 on both backends
    {"harga_min": "99.999.999.999.999.999.999"},
])
def test_absurdly_large_price_is_ignored_with_a_message(catalog, client, args):
    response = client.get("/produk", query_string={**args, "urut": "price_asc"})

    html = response.get_data(as_text=True)
    assert response.status_code == 200
    assert "tidak valid" in html
    assert PRODUCT_NAME.findall(html) == ALL_BY_PRICE


@pytest.mark.parametrize("high", ["999.999.999.999.999", "999999999999999"])
def test_fifteen_digit_price_is_still_a_valid_bound(catalog, client, high):
    response = client.get("/produk", query_string={"harga_max": high, "urut": "price_asc"})

    html = response.get_data(as_text=True)
    assert response.status_code == 200
    assert "tidak valid" not in html
    assert PRODUCT_NAME.findall(html) == ALL_BY_PRICE


@pytest.mark.parametrize(("args", "message"), [
    ({"kategori": "perawatan-wajah\x00"}, "Kategori tidak ditemukan"),
    ({"toko": "toko-cantik\x00"}, "Toko tidak ditemukan"),
])
def test_nul_byte_in_a_slug_filter_is_an_unknown_slug(catalog, client, args, message):
    response = client.get("/produk", query_string=args)

    assert response.status_code == 200
    assert message in response.get_data(as_text=True)


def test_store_page_with_a_nul_byte_in_its_slug_is_not_found(catalog, client):
    assert client.get(f"/toko/{catalog.cantik.slug}").status_code == 200
    assert client.get(f"/toko/{catalog.cantik.slug}%00").status_code == 404


@pytest.mark.parametrize("query", [
    '"serum" OR NEAR(a b) * ^ : -',
    "serum\x00",
    '"serum',
    "serum AND",
    "NOT serum",
    "(((",
    "*",
    "serum:*",
    "!serum & | <->",
    "' OR 1=1 --",
    "セラム",
    "a",
    "x" * 500,
])
def test_full_text_syntax_in_the_keyword_never_fails(catalog, client, query):
    response = client.get("/produk", query_string={"q": query, "urut": "relevance"})
    assert response.status_code == 200


def test_keyword_is_escaped_in_the_page(catalog, client):
    response = client.get("/produk", query_string={"q": '"><script>alert(1)</script>'})

    html = response.get_data(as_text=True)
    assert response.status_code == 200
    assert "<script>alert(1)" not in html
    assert "&lt;script&gt;alert(1)" in html


def test_full_text_operators_are_plain_words(catalog, client):
    # "serum" AND "or" AND "near": no product has words starting with "or" and "near".
    assert listed(client, q='"serum" OR NEAR(a b) * ^ : -') == []
    assert listed(client, q='"serum"*', urut="price_asc") == [
        "Toner Mawar", "Serum Vitamin C", "Sérum Retinol"]


# --- htmx ---------------------------------------------------------------------------------


def test_htmx_request_gets_only_the_results_fragment(catalog, client):
    response = client.get("/produk", query_string={"q": "serum", "urut": "price_asc"},
                          headers={"HX-Request": "true"})
    html = response.get_data(as_text=True)
    assert response.status_code == 200
    assert html.lstrip().startswith('<div id="results"')
    assert "<html" not in html
    assert 'role="search"' not in html
    assert PRODUCT_NAME.findall(html) == ["Toner Mawar", "Serum Vitamin C", "Sérum Retinol"]
    assert "HX-Request" in response.headers.get("Vary", "")


def test_plain_request_gets_the_full_page_with_the_results(catalog, client):
    response = client.get("/produk", query_string={"q": "serum", "urut": "price_asc"})
    html = response.get_data(as_text=True)
    assert response.status_code == 200
    assert "<html" in html
    assert 'role="search"' in html
    assert '<div id="results"' in html
    assert PRODUCT_NAME.findall(html) == ["Toner Mawar", "Serum Vitamin C", "Sérum Retinol"]
    assert "HX-Request" in response.headers.get("Vary", "")


def test_count_stops_at_the_cap_and_says_more_than(catalog, client, monkeypatch):
    """Counting every match of a broad word costs more than the page: the count stops at
    COUNT_CAP + 1 and the page says "more than"; only the first COUNT_CAP are listed."""
    import app.catalog.queries as catalog_queries

    everything = listed(client)
    monkeypatch.setattr(catalog_queries, "COUNT_CAP", 3)
    page = catalog_queries.product_search(SearchParams())
    assert (page.total, page.exact) == (3, False)
    assert [p.name for p in page.items] == everything[:3]
    assert product_search(SearchParams(page=2), per_page=3).items == []
    body = client.get("/produk").get_data(as_text=True)
    assert "Lebih dari 3 produk" in body
    monkeypatch.setattr(catalog_queries, "COUNT_CAP", len(everything))
    exact = catalog_queries.product_search(SearchParams())
    assert (exact.total, exact.exact) == (len(everything), True)


# --- broad keywords: past COUNT_CAP matches, early termination (issue 24) ------------------


def _ranked_shop(db) -> None:
    """Three "serum" products: the description-only match sold the most, so ranking puts
    it last and popularity first."""
    store = _seller_store(db, "broad@example.test", "Toko Broad")
    category = category_create(name="Wajah", name_en="Face", parent_id=None)
    _product(db, store, "Serum Kunyit", 30_000, category=category, sold_count=5,
             description="Untuk kulit kusam.", created_at=T0)
    _product(db, store, "Serum Jeruk", 10_000, category=category, sold_count=1,
             description="Untuk kulit kusam.", created_at=T0 + timedelta(days=2))
    _product(db, store, "Toner Mawar", 20_000, category=category, sold_count=90,
             description="Dipakai setelah serum.", created_at=T0 + timedelta(days=1))
    db.session.commit()


def test_broad_keyword_relevance_is_the_popularity_order(db, client, monkeypatch):
    """More matches than COUNT_CAP: relevance is not computed for every match (that is the
    cost early termination avoids); the page lists them by units sold, and says the count
    is a lower bound."""
    import app.catalog.queries as catalog_queries

    _ranked_shop(db)
    assert search(q="serum", sort="relevance") == ["Serum Jeruk", "Serum Kunyit",
                                                   "Toner Mawar"]  # narrow: ranked
    assert 'data-testid="popularity-note"' not in client.get(
        "/produk?q=serum").get_data(as_text=True)
    monkeypatch.setattr(catalog_queries, "COUNT_CAP", 2)
    page = product_search(SearchParams(q="serum", sort="relevance"))
    assert (page.total, page.exact) == (2, False)
    # Only the first COUNT_CAP matches are listed, by popularity.
    assert names(page) == ["Toner Mawar", "Serum Kunyit"]
    assert listed(client, q="serum") == ["Toner Mawar", "Serum Kunyit"]
    broad_page = client.get("/produk?q=serum").get_data(as_text=True)
    assert "Lebih dari 2 produk" in broad_page
    assert 'data-testid="popularity-note"' in broad_page  # says it is not ranked
    assert 'data-testid="popularity-note"' not in client.get(
        "/produk?q=serum&urut=price_asc").get_data(as_text=True)
    # Every explicit sort walks its index and gives the narrow path's order and pages.
    for sort, expected in (("price_asc", ["Serum Jeruk", "Toner Mawar", "Serum Kunyit"]),
                           ("price_desc", ["Serum Kunyit", "Toner Mawar", "Serum Jeruk"]),
                           ("newest", ["Serum Jeruk", "Toner Mawar", "Serum Kunyit"]),
                           ("popular", ["Toner Mawar", "Serum Kunyit", "Serum Jeruk"])):
        pages = [names(product_search(SearchParams(q="serum", sort=sort, page=n), per_page=1))
                 for n in (1, 2, 3)]
        monkeypatch.setattr(catalog_queries, "COUNT_CAP", 1000)
        assert search(q="serum", sort=sort) == expected
        monkeypatch.setattr(catalog_queries, "COUNT_CAP", 2)
        assert [search(q="serum", sort=sort), *pages] == [
            expected[:2], expected[:1], expected[1:2], []]  # cut at COUNT_CAP


@pytest.mark.parametrize("rows_per_hit", [0, 1, 40])
def test_broad_keyword_pages_are_exact_whether_the_walk_budget_suffices_or_not(
        db, monkeypatch, rows_per_hit):
    """PostgreSQL walks a bounded prefix of the sort order for a broad keyword and sorts
    all matches when that budget runs out (0: always, 1: for later pages); every page is
    the same either way (SQLite has no budget: the same assertions hold)."""
    import app.catalog.queries as catalog_queries

    _ranked_shop(db)
    monkeypatch.setattr(catalog_queries, "COUNT_CAP", 2)
    monkeypatch.setattr(catalog_queries, "WALK_ROWS_PER_HIT", rows_per_hit)
    for sort, expected in (("relevance", ["Toner Mawar", "Serum Kunyit", "Serum Jeruk"]),
                           ("price_asc", ["Serum Jeruk", "Toner Mawar", "Serum Kunyit"]),
                           ("newest", ["Serum Jeruk", "Toner Mawar", "Serum Kunyit"])):
        pages = [names(product_search(SearchParams(q="serum", sort=sort, page=n), per_page=1))
                 for n in (1, 2, 3)]
        assert pages == [expected[:1], expected[1:2], []], sort
