"""Payments is a lower layer: it announces what happened to a payment (app.payments.signals)
and the domains that sell through it (orders: checkouts, maklon: milestones) subscribe when
their blueprints are registered. Nothing is forgotten: every payable kind handles every
news that moves money, a kind whose refunds go item by item describes its items and follows
their refunds, and every payable column of Payment is a registered kind."""

from __future__ import annotations

import ast
from pathlib import Path

from app.payments.models import Payment
from app.payments.signals import ITEMISED_NEWS, REQUIRED_NEWS, payable_kinds

APP = Path(__file__).resolve().parents[2] / "app"
# The payments modules that must know nothing of what is sold (lint-imports holds the
# whole package to it; these are named here too, with those that once read orders).
LOWER = ("services.py", "signals.py", "invoices.py", "invoice_pdf.py", "gateways/base.py",
         "refunds.py", "review.py", "ledger.py", "method_choice.py", "routes/ledger.py")


def test_every_payable_kind_has_a_handler_for_each_news(app):
    kinds = {kind.name for kind in payable_kinds()}
    assert kinds == {"checkout", "milestone"}
    missing = [(kind, signal.name) for kind in sorted(kinds) for signal in REQUIRED_NEWS
               if not signal.has_receivers_for(kind)]
    assert missing == []


def test_a_kind_with_itemised_refunds_describes_its_items_and_follows_their_refunds(app):
    """Refund rows are per item (`Refund.order_id`): the kind must say what the items are
    (the ledger's rows, the admins' notices) and follow each refund done and an admin's
    refund of a flagged payment, or the money would go back and the order not follow."""
    itemised = [kind for kind in payable_kinds() if kind.itemised_refunds]
    assert [kind.name for kind in itemised] == ["checkout"]
    assert [kind.name for kind in itemised if kind.items_of is None] == []
    missing = [(kind.name, signal.name) for kind in itemised for signal in ITEMISED_NEWS
               if not signal.has_receivers_for(kind.name)]
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
