"""Payments is a lower layer: it announces what happened to a payment (app.payments.signals)
and the domains that sell through it (orders: checkouts, maklon: milestones) subscribe when
their blueprints are registered. Nothing is forgotten: every payable kind handles every
news that moves money, and every payable column of Payment is a registered kind."""

from __future__ import annotations

import ast
from pathlib import Path

from app.payments.models import Payment
from app.payments.signals import REQUIRED_NEWS, payable_kinds

APP = Path(__file__).resolve().parents[2] / "app"
# The payments modules that must know nothing of what is sold.
LOWER = ("services.py", "signals.py", "invoices.py", "invoice_pdf.py", "gateways/base.py")


def test_every_payable_kind_has_a_handler_for_each_news(app):
    kinds = {kind.name for kind in payable_kinds()}
    assert kinds == {"checkout", "milestone"}
    missing = [(kind, signal.name) for kind in sorted(kinds) for signal in REQUIRED_NEWS
               if not signal.has_receivers_for(kind)]
    assert missing == []


def test_every_payable_column_of_payment_is_a_registered_kind(app):
    payable = {column.name for column in Payment.__table__.columns
               if column.foreign_keys and column.name != "payer_id"}
    assert payable == {kind.column for kind in payable_kinds()}


def test_payments_lower_modules_import_neither_orders_nor_maklon():
    found = []
    for name in LOWER:
        tree = ast.parse((APP / "payments" / name).read_text())
        for node in ast.walk(tree):
            modules = ([alias.name for alias in node.names] if isinstance(node, ast.Import)
                       else [node.module or ""] if isinstance(node, ast.ImportFrom) else [])
            found += [f"{name}: {module}" for module in modules
                      if module.startswith(("app.orders", "app.maklon"))]
    assert found == []


def test_every_sale_an_invoice_can_bill_has_a_registered_invoice_kind(app):
    """Invoices render what the owning domain drafts: an invoice of an order or of a
    milestone can always be drafted again (the refunded copy) and asked for its refund."""
    from app.payments.invoices import invoice_kinds
    from app.payments.models import Invoice

    sales = {column.name for column in Invoice.__table__.columns if column.foreign_keys}
    assert sales == {kind.column for kind in invoice_kinds()} == {"order_id", "milestone_id"}
