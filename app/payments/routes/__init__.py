"""Payments blueprint. The routes live in one module per area; each imports `bp` from here.

URL table:
    POST      /payments/notify/<gateway>             gateway notifications (CSRF-exempt,
                                                      signature-checked)       webhook.py
    GET       /checkout/<reference>                   the payment page (orders blueprint)
    GET       /checkout/<reference>/status            its self-polling status block   pay.py
    POST      /checkout/<reference>/bayar-ulang       ask the gateway again after a failure
    GET/POST  /sandbox/bayar/<reference>              the sandbox simulator (not in
                                                      production)             sandbox.py
    GET       /invoice/<id>.pdf                       an invoice: the order's buyer, the
                                                      store's owner, admins   invoices.py
    GET       /invoice/verifikasi/<code>              public check of an invoice's code
    GET       /admin/pembayaran[/<id>]                the admin ledger, one payment,
    POST      /admin/pembayaran/<id>/...              decisions and refund actions ledger.py
"""

from __future__ import annotations

from flask import Blueprint

bp = Blueprint("payments", __name__)

from app.payments.routes import invoices, ledger, pay, sandbox, webhook  # noqa: E402,F401


def _register_metrics() -> None:
    from app.core.metrics import metrics_source_register
    from app.payments.metrics import payments_by_status

    metrics_source_register(payments_by_status)


_register_metrics()

# The header's entries of this blueprint (core knows no domain: domains register them).
from app.core.templating import nav_on_register  # noqa: E402
from app.payments.navigation import PAYMENTS_NAV  # noqa: E402

nav_on_register(bp, *PAYMENTS_NAV)
