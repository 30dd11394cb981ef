"""Orders blueprint: the cart, checkout, the buyer's and the seller's order pages, reviews
and returns. The routes live in one module per area; each imports `bp` from here.

URL table:
    GET       /keranjang                           the cart, grouped by store
    POST      /keranjang/tambah                    add a variant (product page; guests log in)
    POST      /keranjang/<item_id>                 change a line's quantity
    POST      /keranjang/<item_id>/hapus           remove a line
    GET/POST  /checkout                            address, shipping, payment method, "Bayar"
    GET       /checkout/<reference>                what one checkout created
    (orders.py)   /pesanan..., /seller/pesanan...  order pages, lifecycle, returns
    (reviews.py)  reviews and seller replies
"""

from __future__ import annotations

from flask import Blueprint

from app.orders.invoicing import invoicing_connect
from app.orders.payment_news import payment_news_connect

bp = Blueprint("orders", __name__)
# Orders sells through payments: its handlers of the payment signals (app.payments.signals)
# and its invoice kind are connected with the blueprint, so an app without them cannot
# exist.
@bp.record_once
def _sell_through_payments(_state) -> None:
    payment_news_connect()
    invoicing_connect()

from app.core.templating import nav_on_register  # noqa: E402

# The header's entries of this blueprint (core knows no domain: domains register them).
from app.orders.navigation import ORDERS_NAV  # noqa: E402
from app.orders.routes import cart, checkout, orders, reviews, shipping  # noqa: E402,F401

nav_on_register(bp, *ORDERS_NAV)


@bp.record_once
def _reviews_on_product_pages(state) -> None:
    from app.orders.reviews import reviews_on_product_pages

    reviews_on_product_pages(state.app)
