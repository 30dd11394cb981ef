"""Reports blueprint. The routes live in one module per page; each imports `bp` from here.
Each module's docstring holds its URL table.

    analytics.py   /seller/analitik  the seller's own store at a glance
    dashboards.py  /maklon/dasbor (client) and /admin/dasbor (admin)
    exports.py     /admin/laporan: filtered reports, CSV/PDF exports, their downloads
"""

from __future__ import annotations

from flask import Blueprint

bp = Blueprint("reports", __name__)

from app.core.templating import nav_on_register  # noqa: E402

# The header's entries of this blueprint (core knows no domain: domains register them).
from app.reports.navigation import REPORTS_NAV  # noqa: E402
from app.reports.routes import analytics, dashboards, exports, history  # noqa: E402,F401

nav_on_register(bp, *REPORTS_NAV)
