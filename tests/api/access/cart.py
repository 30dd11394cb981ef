"""Cart, checkout and payments: customers only (like the web's /keranjang and /checkout);
buyer A's cart line and checkout are 404 for the B customers (seller B, client B). A
payment's status: any token holder, found only by its payer (the checkout's buyer)."""

from __future__ import annotations

from tests.api.access import mine, only, owned
from tests.core.test_access_matrix import CUSTOMER, _cart_line

ACCESS = {
    "api.cart_get": {"GET": only({"customer"})},
    # A fresh product of seller A each time: a new line, 201.
    "api.cart_item_add": {"POST": only({"customer"}, status=201)},
    "api.cart_item_update": {"PATCH": owned(CUSTOMER)},
    "api.cart_item_delete": {"DELETE": owned(CUSTOMER, 204)},
    # An empty body: 422 for a customer (the address and method are the body).
    "api.checkout_create": {"POST": only({"customer"}, status=422)},
    "api.checkout_get": {"GET": owned(CUSTOMER)},
    "api.payment_get": {"GET": mine(CUSTOMER)},
    # A's payment is already charged: answered as it is (200).
    "api.payment_retry": {"POST": owned(CUSTOMER)},
}


def _fresh_variant(w) -> dict:
    from app.accounts.models import User
    from app.extensions import db
    from tests.factories import make_product

    store = db.session.get(User, w.seller_a_id).store
    product = make_product(store=store, name="Serum Keranjang API")
    return {"variant_id": product.variants[0].id, "quantity": 1}


FRESH = {
    "api.cart_item_update": _cart_line,
    "api.cart_item_delete": _cart_line,
}

BODIES = {
    "api.cart_item_add": _fresh_variant,
    "api.cart_item_update": {"quantity": 1},
}


def args(w) -> dict[str, dict]:
    checkout = {"reference": w.checkout_ref}
    return {key: checkout for key in ("api.checkout_get", "api.payment_get",
                                      "api.payment_retry")}
