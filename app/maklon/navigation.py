"""The maklon blueprint's entries in the header: app.core.templating knows no domain, each
domain registers its menu items and badges when its blueprint is registered
(`nav_on_register` in the blueprint's package). `order` is the place in the header."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l

from app.core.templating import NavItem

MAKLON_NAV = (
    NavItem(_l("Maklon"), "maklon.requests", frozenset({"client"}), group="maklon", order=90),
    NavItem(_l("Permintaan maklon"), "maklon.staff_requests", frozenset({"staff", "admin"}),
            group="maklon", order=100),
    NavItem(_l("Formula"), "maklon.formulas", frozenset({"client", "staff", "admin"}),
            group="maklon", order=110),
    NavItem(_l("Papan produksi"), "maklon.board", frozenset({"staff", "admin"}),
            group="production", order=120),
    NavItem(_l("Bahan baku"), "maklon.materials", frozenset({"staff", "admin"}),
            group="production", order=130),
)
