"""The reports blueprint's entries in the header: app.core.templating knows no domain, each
domain registers its menu items and badges when its blueprint is registered
(`nav_on_register` in the blueprint's package). `order` is the place in the header."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l

from app.core.templating import NavItem

REPORTS_NAV = (
    NavItem(_l("Analitik"), "reports.seller_analytics_page", frozenset({"seller"}),
            group="store", order=60),
    NavItem(_l("Dasbor maklon"), "reports.client_dashboard_page", frozenset({"client"}),
            group="maklon", order=80),
    # The admin console: its pages also list these in their own side navigation
    # (admin/_layout.html), so the header needs only the menu.
    NavItem(_l("Dasbor"), "reports.admin_dashboard_page", frozenset({"admin"}), group="admin",
            order=160),
    NavItem(_l("Laporan"), "reports.reports_page", frozenset({"admin"}), group="admin",
            order=210),
)
