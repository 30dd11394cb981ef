"""Catalog (public) and the seller's products: who may search, read, create and change."""

from __future__ import annotations

from tests.api.access import everyone, only, owned
from tests.core.test_access_matrix import SELLER_A, _fresh_product

ACCESS = {
    "api.products_search": {"GET": everyone(200)},
    "api.product_get": {"GET": everyone(200)},
    "api.categories_list": {"GET": everyone(200)},
    "api.store_get": {"GET": everyone(200)},
    "api.store_products_list": {"GET": everyone(200)},
    "api.seller_products_list": {"GET": only({"seller"})},
    # An empty body: a seller reaches the service's input check (422).
    "api.seller_product_create": {"POST": only({"seller"}, status=422)},
    "api.seller_product_get": {"GET": owned(SELLER_A)},
    "api.seller_product_update": {"PATCH": owned(SELLER_A)},
    "api.seller_product_archive": {"POST": owned(SELLER_A)},
    "api.seller_product_restore": {"POST": owned(SELLER_A)},
    "api.seller_variants_update": {"PUT": owned(SELLER_A)},
    "api.seller_variant_stock": {"PUT": owned(SELLER_A)},
}


def args(w) -> dict[str, dict]:
    product = {"product_id": w.product_id}
    return {
        "api.product_get": product,
        "api.store_get": {"slug": w.store_slug},
        "api.store_products_list": {"slug": w.store_slug},
        "api.seller_product_get": product,
        "api.seller_variants_update": product,
    }


def _fresh(w) -> dict:
    return {"product_id": _fresh_product(w)["product_id"]}


def _fresh_variant(w) -> dict:
    return {"variant_id": _fresh_product(w)["variant_id"]}


FRESH = {
    "api.seller_product_update": _fresh,
    "api.seller_product_archive": _fresh,
    "api.seller_product_restore": _fresh,
    "api.seller_variant_stock": _fresh_variant,
}


def _same_price(w) -> dict:
    """A valid change that changes nothing: the shared variant keeps its price."""
    from app.catalog.models import Variant
    from app.extensions import db

    return {"variants": [{"id": w.variant_id,
                          "price": db.session.get(Variant, w.variant_id).price}]}


BODIES = {
    "api.seller_product_update": {"description": "Diubah lewat API."},
    "api.seller_variants_update": _same_price,
    "api.seller_variant_stock": {"stock": 5},
}
