"""Seller product management: create/edit/archive with variants, validation, ownership."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from app.catalog.models import Category, Product, Variant
from app.inventory.models import StockMovement, StockReason
from tests.factories import make_category, make_product, make_user


def _counts(db) -> tuple[int, int, int]:
    return (db.session.scalar(select(func.count(Product.id))),
            db.session.scalar(select(func.count(Variant.id))),
            db.session.scalar(select(func.count(StockMovement.id))))


@pytest.fixture
def seller(db, login_as):
    user = make_user(email="penjual@example.test", roles=("seller",), store_name="Glow")
    make_category()
    db.session.commit()
    login_as(user)
    return user


@pytest.fixture
def category_id(db, seller) -> int:
    return db.session.scalars(select(Category.id)).one()


def _form(category: int, **overrides) -> dict:
    form = {"name": "Serum Vitamin C", "category_id": str(category), "price": "150.000",
            "initial_stock": "5", "description": "Serum pencerah wajah", "action": "save"}
    form.update(overrides)
    return form


def test_create_expands_option_groups_into_one_variant_per_combination(client, db, seller,
                                                                      category_id):
    response = client.post("/seller/produk/baru", data=_form(
        category_id, group_name=["Warna", "Ukuran"], group_values=["Merah, Biru", "S, M"],
        spec_label=["Isi", ""], spec_value=["30 ml", ""]))
    assert response.status_code == 303
    product = db.session.scalars(select(Product)).one()
    variants = sorted(product.variants, key=lambda v: v.position)
    assert [v.options for v in variants] == [
        {"Warna": "Merah", "Ukuran": "S"}, {"Warna": "Merah", "Ukuran": "M"},
        {"Warna": "Biru", "Ukuran": "S"}, {"Warna": "Biru", "Ukuran": "M"}]
    assert len({v.sku for v in variants}) == 4
    assert all(v.price == 150_000 and v.stock == 5 for v in variants)
    assert product.specifications == [{"label": "Isi", "value": "30 ml"}]
    assert (product.price_min, product.price_max, product.stock_total) == (150_000, 150_000, 20)
    movements = db.session.scalars(select(StockMovement)).all()
    assert sorted((m.variant_id, m.delta, m.reason) for m in movements) == sorted(
        (v.id, 5, StockReason.RESTOCK) for v in variants)


def test_product_without_options_has_exactly_one_default_variant(client, db, seller,
                                                                 category_id):
    response = client.post("/seller/produk/baru", data=_form(category_id, sku="SRM-001"))
    assert response.status_code == 303
    variant = db.session.scalars(select(Variant)).one()
    assert (variant.options, variant.sku, variant.stock) == ({}, "SRM-001", 5)


@pytest.mark.parametrize("overrides, message", [
    ({"name": ""}, "Wajib diisi."),
    ({"price": "0"}, "Harga harus lebih dari Rp 0."),
    ({"price": "   "}, "Wajib diisi."),  # InputRequired lets spaces through: was a 500
    ({"price": "-5000"}, "Tidak boleh negatif."),
    ({"price": "9" * 25}, "Terlalu besar: maksimal Rp 1.000.000.000.000."),
    ({"price": "lima ribu"}, "Tulis angka Rupiah tanpa desimal"),
    ({"price": "150.000,5"}, "Tulis angka Rupiah tanpa desimal"),
    ({"group_name": ["Warna"], "group_values": [" , "]}, "belum punya nilai"),
    ({"group_name": ["Warna"], "group_values": ["Merah, Biru, merah"]}, "Nilai opsi ganda"),
    ({"group_name": ["Warna", "warna"], "group_values": ["Merah", "Biru"]}, "dipakai dua kali"),
    ({"initial_stock": "-1"}, "Stok tidak boleh negatif."),
    ({"initial_stock": "9" * 25}, "Terlalu besar: maksimal 10.000.000."),
    ({"initial_stock": "banyak"}, "Tulis bilangan bulat"),
    ({"category_id": "0"}, "Pilih kategori."),
    ({"spec_label": ["Isi"], "spec_value": [""]}, "Isi label dan nilai"),
])
def test_invalid_product_input_rerenders_with_a_message_and_writes_nothing(
        client, db, seller, category_id, overrides, message):
    before = _counts(db)
    response = client.post("/seller/produk/baru", data=_form(category_id, **overrides))
    assert response.status_code == 422
    assert message in response.get_data(as_text=True)
    assert _counts(db) == before


def test_duplicate_sku_in_the_store_is_refused_and_nothing_is_written(client, db, seller,
                                                                      category_id):
    assert client.post("/seller/produk/baru", data=_form(category_id, sku="SAMA-1")) \
        .status_code == 303
    before = _counts(db)
    response = client.post("/seller/produk/baru", data=_form(category_id, name="Lain",
                                                             sku="sama-1"))
    assert response.status_code == 422
    assert "sudah dipakai" in response.get_data(as_text=True)
    assert _counts(db) == before


def test_typed_values_survive_a_refused_submit(client, seller, category_id):
    response = client.post("/seller/produk/baru", data=_form(
        category_id, price="abc", name="Toner Mawar", spec_label=["Isi"],
        spec_value=["100 ml"]))
    body = response.get_data(as_text=True)
    assert 'value="Toner Mawar"' in body and 'value="100 ml"' in body and 'value="abc"' in body


def test_spec_rows_are_added_and_removed_without_js_and_nothing_is_saved(client, db, seller,
                                                                         category_id):
    form = _form(category_id, spec_label=["Isi", "BPOM"], spec_value=["30 ml", "NA123"])
    added = client.post("/seller/produk/baru", data={**form, "action": "add_spec"})
    assert added.status_code == 200
    assert added.get_data(as_text=True).count('name="spec_label"') == 3
    removed = client.post("/seller/produk/baru", data={**form, "action": "remove_spec:0"})
    body = removed.get_data(as_text=True)
    assert body.count('name="spec_label"') == 1 and 'value="BPOM"' in body
    assert "<html" in body  # the whole page without htmx
    assert _counts(db) == (0, 0, 0)


def test_spec_row_buttons_answer_the_form_fragment_to_htmx(client, seller, category_id):
    response = client.post("/seller/produk/baru", headers={"HX-Request": "true"},
                           data=_form(category_id, action="add_group"))
    body = response.get_data(as_text=True)
    assert response.status_code == 200
    assert "<html" not in body and 'id="product-form"' in body
    assert body.count('name="group_name"') == 1


def test_removing_an_option_value_retires_its_variant_and_writes_off_its_stock(
        client, db, seller):
    product = make_product(store=seller.store, options={"Ukuran": ["S", "M"]}, stock=4)
    db.session.commit()
    response = client.post(f"/seller/produk/{product.id}/ubah", data={
        "name": product.name, "category_id": str(product.category_id), "price": "150000",
        "group_name": ["Ukuran"], "group_values": ["S, L"], "action": "save"})
    assert response.status_code == 303
    db.session.expire_all()
    by_size = {v.options["Ukuran"]: v for v in product.variants}
    assert (by_size["M"].active, by_size["M"].stock) == (False, 0)
    assert (by_size["L"].active, by_size["L"].stock) == (True, 0)
    assert by_size["S"].stock == 4
    write_off = db.session.scalars(select(StockMovement).where(
        StockMovement.variant_id == by_size["M"].id, StockMovement.delta < 0)).one()
    assert write_off.delta == -4
    assert product.stock_total == 4


def test_writing_off_a_removed_combination_sends_no_low_stock_alert(client, db, seller):
    from app.core.models import EmailOutbox, Notice

    product = make_product(store=seller.store, options={"Ukuran": ["S", "M"]}, stock=15)
    db.session.commit()
    response = client.post(f"/seller/produk/{product.id}/ubah", data={
        "name": product.name, "category_id": str(product.category_id), "price": "150000",
        "group_name": ["Ukuran"], "group_values": ["S"], "action": "save"})
    assert response.status_code == 303
    assert db.session.scalar(select(func.count(StockMovement.id)).where(
        StockMovement.delta == -15)) == 1  # written off in the ledger
    assert db.session.scalar(select(func.count(EmailOutbox.id))) == 0
    assert db.session.scalar(select(func.count(Notice.id))) == 0


def test_variant_table_saves_sku_price_and_stock_with_one_ledger_row(client, db, seller):
    product = make_product(store=seller.store, stock=5)
    db.session.commit()
    variant = product.variants[0]
    response = client.post(f"/seller/produk/{product.id}/varian", data={
        "variant_id": [str(variant.id)], f"sku-{variant.id}": "BARU-1",
        f"price-{variant.id}": "99.000", f"stock-{variant.id}": "8",
        f"expected-{variant.id}": "5"})
    assert response.status_code == 303
    db.session.expire_all()
    assert (variant.sku, variant.price, variant.stock) == ("BARU-1", 99_000, 8)
    assert (product.price_min, product.stock_total) == (99_000, 8)
    changes = db.session.scalars(select(StockMovement.delta).where(
        StockMovement.variant_id == variant.id).order_by(StockMovement.id)).all()
    assert changes == [5, 3]


@pytest.mark.parametrize("field, value, message", [
    ("price", "0", "Harga harus lebih dari Rp 0."),
    ("stock", "-2", "Stok tidak boleh negatif."),
    ("sku", "", "SKU hanya huruf"),
    ("sku", "DUA", "dipakai dua kali"),
])
def test_invalid_variant_table_changes_nothing(client, db, seller, field, value, message):
    product = make_product(store=seller.store, options={"Ukuran": ["S", "M"]}, stock=5)
    db.session.commit()
    first, second = product.variants
    form = {"variant_id": [str(first.id), str(second.id)]}
    for v in (first, second):
        form.update({f"sku-{v.id}": v.sku, f"price-{v.id}": "1000", f"stock-{v.id}": "5",
                     f"expected-{v.id}": "5"})
    if value == "DUA":
        form[f"sku-{first.id}"] = form[f"sku-{second.id}"] = "DUA"
    else:
        form[f"{field}-{first.id}"] = value
    skus = (first.sku, second.sku)
    response = client.post(f"/seller/produk/{product.id}/varian", data=form,
                           headers={"HX-Request": "true"})
    assert response.status_code == 422
    assert message in response.get_data(as_text=True)
    db.session.expire_all()
    assert (first.sku, second.sku) == skus
    assert (first.price, first.stock, second.stock) == (150_000, 5, 5)


def test_variant_table_refuses_a_stock_changed_since_the_form_was_shown(client, db, seller):
    product = make_product(store=seller.store, stock=5)
    db.session.commit()
    variant = product.variants[0]
    response = client.post(f"/seller/produk/{product.id}/varian", data={
        "variant_id": [str(variant.id)], f"sku-{variant.id}": variant.sku,
        f"price-{variant.id}": "150000", f"stock-{variant.id}": "50",
        f"expected-{variant.id}": "2"})
    assert response.status_code == 422
    assert "sudah berubah menjadi 5" in response.get_data(as_text=True)
    db.session.expire_all()
    assert variant.stock == 5


def test_sellers_cannot_touch_another_stores_products(app, client, db, seller, make_client):
    other = make_user(email="lain@example.test", roles=("seller",), store_name="Toko Lain")
    theirs = make_product(store=other.store, name="Produk Mereka", stock=3)
    db.session.commit()
    pid, vid = theirs.id, theirs.variants[0].id
    attempts = [
        ("GET", f"/seller/produk/{pid}/ubah", {}),
        ("POST", f"/seller/produk/{pid}/ubah", {"name": "Dibajak", "action": "save"}),
        ("POST", f"/seller/produk/{pid}/arsipkan", {}),
        ("POST", f"/seller/produk/{pid}/varian", {"variant_id": [str(vid)],
                                                  f"stock-{vid}": "99"}),
        ("POST", f"/seller/inventaris/{vid}/tambah", {}),
        ("POST", f"/seller/inventaris/{vid}/stok", {"stok": "99", "semula": "3"}),
        ("POST", f"/seller/inventaris/{vid}/kosongkan", {}),
        ("GET", f"/seller/varian/{vid}", {}),
    ]
    for method, url, data in attempts:
        response = client.open(url, method=method, data=data or None)
        assert response.status_code == 404, (method, url)
    db.session.expire_all()
    assert (theirs.name, theirs.active, theirs.variants[0].stock) == ("Produk Mereka", True, 3)


def test_customers_cannot_reach_seller_pages(client, login_as):
    login_as("customer")
    for url in ("/seller/produk", "/seller/produk/baru", "/seller/inventaris", "/seller/toko"):
        assert client.get(url).status_code == 403, url


def test_archived_product_leaves_the_shop_but_its_owner_still_sees_it(app, client, db, seller,
                                                                      make_client):
    product = make_product(store=seller.store, name="Sabun Arsip")
    db.session.commit()
    assert client.post(f"/seller/produk/{product.id}/arsipkan").status_code == 303
    assert client.get(f"/produk/{product.id}").status_code == 200  # the owner
    visitor = make_client()
    assert visitor.get(f"/produk/{product.id}").status_code == 404
    assert "Sabun Arsip" not in visitor.get("/produk?q=sabun").get_data(as_text=True)
    assert client.post(f"/seller/produk/{product.id}/aktifkan").status_code == 303
    assert "Sabun Arsip" in visitor.get("/produk?q=sabun").get_data(as_text=True)


def test_variant_picker_shows_the_chosen_variants_price_and_stock(client, db, seller):
    product = make_product(store=seller.store, options={"Ukuran": ["30 ml", "50 ml"]}, stock=7)
    db.session.commit()
    big = next(v for v in product.variants if v.options["Ukuran"] == "50 ml")
    big.price = 240_000
    db.session.commit()
    page = client.get(f"/produk/{product.id}?opsi-0=50+ml")
    assert "Rp\u00a0240.000" in page.get_data(as_text=True)
    fragment = client.get(f"/produk/{product.id}?opsi-0=50+ml", headers={"HX-Request": "true"})
    body = fragment.get_data(as_text=True)
    assert "<html" not in body and 'id="variant-info"' in body and "Rp\u00a0240.000" in body
    missing = client.get(f"/produk/{product.id}?opsi-0=1+liter")
    assert "tidak tersedia" in missing.get_data(as_text=True)


def test_store_page_lists_only_its_active_products(client, db, seller):
    make_product(store=seller.store, name="Toner Mawar")
    archived = make_product(store=seller.store, name="Toner Lama")
    archived.active = False
    other = make_user(roles=("seller",), store_name="Toko Lain")
    make_product(store=other.store, name="Sampo Lidah Buaya")
    db.session.commit()
    body = client.get(f"/toko/{seller.store.slug}").get_data(as_text=True)
    assert "Toner Mawar" in body and "Toner Lama" not in body and "Sampo" not in body


def test_store_settings_validate_the_threshold(client, db, seller):
    bad = client.post("/seller/toko", data={"name": "Glow", "location": "Bandung",
                                            "low_stock_threshold": "-1"})
    assert bad.status_code == 422
    blank = client.post("/seller/toko", data={"name": "Glow", "location": "Bandung",
                                              "low_stock_threshold": "   "})
    assert blank.status_code == 422 and "Wajib diisi." in blank.get_data(as_text=True)
    good = client.post("/seller/toko", data={"name": "Glow Baru", "location": "Bandung",
                                             "low_stock_threshold": "25"})
    assert good.status_code == 303
    db.session.expire_all()
    assert (seller.store.name, seller.store.low_stock_threshold) == ("Glow Baru", 25)
