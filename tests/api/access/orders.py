"""Orders and reviews: the buyer's orders (customer role, own orders only), the store's
orders, returns and review replies (seller role, own store only), public product reviews.

Shared objects: A's charged but unpaid pending order (`w.order_number`: confirm, return and
advance are 409 for their owner, the state machine refusing), the review of A's product
(`w.review_id`). Writes that succeed get a fresh object per cell.
"""

from __future__ import annotations

from tests.api.access import everyone, only, owned
from tests.core.test_access_matrix import CUSTOMER, SELLER_A, _delivered, _fresh_order


def _fresh_return(w) -> dict:
    """A delivered order of buyer A at seller A's store with a return requested."""
    from app.accounts.models import User
    from app.catalog.models import Variant
    from app.extensions import db
    from app.orders.returns import return_request
    from tests.factories import make_order

    buyer = db.session.get(User, w.buyer_id)
    order = make_order(buyer=buyer, variant=db.session.get(Variant, w.variant_id))
    _delivered(order)
    return {"return_id": return_request(order=order, buyer=buyer, reason="Kemasan rusak").id}


def _fresh_delivered(w):
    """A new product of seller A's and buyer A's delivered order of it."""
    from app.accounts.models import User
    from app.extensions import db
    from tests.factories import make_order, make_product

    buyer = db.session.get(User, w.buyer_id)
    product = make_product(store=db.session.get(User, w.seller_a_id).store,
                           name="Sabun Matriks", stock=10)
    order = make_order(buyer=buyer, variant=product.variants[0])
    _delivered(order)
    return order


def _fresh_review_item(w) -> dict:
    order = _fresh_delivered(w)
    return {"number": order.number, "item_id": order.items[0].id}


def _fresh_review(w) -> dict:
    from app.extensions import db
    from app.orders.models import Review

    order = _fresh_delivered(w)
    review = Review(product_id=order.items[0].product_id, store_id=order.store_id,
                    order_id=order.id, buyer_id=order.buyer_id, rating=4)
    db.session.add(review)
    db.session.flush()
    return {"review_id": review.id}


ACCESS = {
    "api.my_orders": {"GET": only({"customer"})},
    "api.order_detail": {"GET": owned(CUSTOMER)},
    "api.order_cancel_buyer": {"POST": owned(CUSTOMER)},
    # A's order is pending: confirming it or asking for its return is refused (409).
    "api.order_confirm": {"POST": owned(CUSTOMER, 409)},
    "api.return_request": {"POST": owned(CUSTOMER, 409)},
    "api.review_new": {"POST": owned(CUSTOMER, 201)},
    "api.seller_orders": {"GET": only({"seller"})},
    "api.seller_order": {"GET": owned(SELLER_A)},
    # A's order is not paid yet: processing it is refused (409).
    "api.seller_advance": {"POST": owned(SELLER_A, 409)},
    "api.seller_cancel": {"POST": owned(SELLER_A)},
    "api.return_accept": {"POST": owned(SELLER_A)},
    "api.return_reject": {"POST": owned(SELLER_A)},
    "api.seller_reviews": {"GET": only({"seller"})},
    "api.review_reply_route": {"POST": owned(SELLER_A)},
    "api.product_reviews": {"GET": everyone(200)},
}

FRESH = {
    "api.order_cancel_buyer": _fresh_order,
    "api.seller_cancel": _fresh_order,
    "api.return_accept": _fresh_return,
    "api.return_reject": _fresh_return,
    "api.review_new": _fresh_review_item,
    "api.review_reply_route": _fresh_review,
}

BODIES = {
    "api.order_cancel_buyer": {"reason": "Salah pilih"},
    "api.return_request": {"reason": "Kemasan rusak"},
    "api.review_new": {"rating": 5, "comment": "Bagus"},
    "api.seller_advance": {"to": "processing"},
    "api.seller_cancel": {"reason": "Stok habis"},
    "api.return_reject": {"reason": "Segel sudah dibuka"},
    "api.review_reply_route": {"reply": "Terima kasih!"},
}


def args(w) -> dict[str, dict]:
    order = {"number": w.order_number}
    return {
        "api.order_detail": order,
        "api.order_confirm": order,
        "api.return_request": order,
        "api.seller_order": order,
        "api.seller_advance": order,
        "api.product_reviews": {"product_id": w.product_id},
    }
