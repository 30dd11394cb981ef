"""The payments blueprint's entries in the header: app.core.templating knows no domain, each
domain registers its menu items and badges when its blueprint is registered
(`nav_on_register` in the blueprint's package). `order` is the place in the header."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l

from app.core.templating import NavItem
from app.payments import ledger as ledger_reads

PAYMENTS_NAV = (
    NavItem(_l("Pembayaran"), "payments.ledger", frozenset({"admin"}),
            lambda user: ledger_reads.review_badge(user), group="admin", order=190),
)
