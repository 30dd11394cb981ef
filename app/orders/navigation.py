"""The orders blueprint's entries in the header: app.core.templating knows no domain, each
domain registers its menu items and badges when its blueprint is registered
(`nav_on_register` in the blueprint's package). `order` is the place in the header."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l

from app.core.templating import NavItem
from app.orders import cart as cart_reads
from app.orders import queries as order_reads
from app.orders import reviews as review_reads

ORDERS_NAV = (
    NavItem(_l("Keranjang"), "orders.cart", frozenset({"customer"}),
            lambda user: cart_reads.cart_badge(user), icon="cart", order=10),
    NavItem(_l("Pesanan saya"), "orders.my_orders", frozenset({"customer"}), order=20),
    NavItem(_l("Kelola pesanan"), "orders.seller_orders", frozenset({"seller"}),
            lambda user: order_reads.seller_new_orders_badge(user), group="store", order=30),
    NavItem(_l("Ulasan"), "orders.seller_reviews", frozenset({"seller"}),
            lambda user: review_reads.unreplied_reviews_badge(user), group="store", order=70),
)
