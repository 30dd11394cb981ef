"""A variant's weight: 250 g by default (and for the rows the migration found), edited in
the seller's variants table (the API: tests/api/test_shipping.py), checked (whole grams,
1 g to 50 kg)."""

from __future__ import annotations

from app.catalog.models import Variant
from tests.factories import make_product, make_user


def _seller_with_product(db):
    seller = make_user(roles=("seller",))
    product = make_product(store=seller.store, name="Toner", stock=5)
    db.session.commit()
    return seller, product, product.variants[0]


def _form(variant, weight: str) -> dict[str, str]:
    return {"variant_id": str(variant.id), f"sku-{variant.id}": variant.sku,
            f"price-{variant.id}": str(variant.price), f"stock-{variant.id}": "5",
            f"expected-{variant.id}": "5", f"weight-{variant.id}": weight}


def test_new_variants_weigh_250_grams(db):
    _seller, _product, variant = _seller_with_product(db)
    assert variant.weight_grams == 250


def test_seller_sets_the_weight_in_the_variants_table(db, client, login_as):
    seller, product, variant = _seller_with_product(db)
    login_as(seller)
    page = client.get(f"/seller/produk/{product.id}/ubah").get_data(as_text=True)
    assert f'name="weight-{variant.id}"' in page and 'value="250"' in page
    response = client.post(f"/seller/produk/{product.id}/varian", data=_form(variant, "1.200"))
    assert response.status_code in (200, 303)
    db.session.expire_all()
    assert db.session.get(Variant, variant.id).weight_grams == 1200


def test_bad_weight_is_a_message_and_nothing_saved(db, client, login_as):
    seller, product, variant = _seller_with_product(db)
    login_as(seller)
    for typed in ("berat", "0", "60000"):
        response = client.post(f"/seller/produk/{product.id}/varian",
                               data={**_form(variant, typed), f"price-{variant.id}": "99000"})
        assert response.status_code == 422, typed
        assert f'id="weight-{variant.id}-errors"' in response.get_data(as_text=True)
    db.session.expire_all()
    saved = db.session.get(Variant, variant.id)
    assert (saved.weight_grams, saved.price) == (250, variant.price)

