"""Invoices print what the domain that owns the sale drafts (app.orders.invoicing for an
order, app.maklon.invoicing for a milestone): the document handed to the PDF renderer,
read without poppler. The refunded copy is drafted again by the same kind."""

from __future__ import annotations

import pytest
from sqlalchemy import select, update

from app.core.settings import setting_set
from app.extensions import db as _db
from app.maklon.models import MilestonePayment
from app.orders.models import Order, PaymentStatus
from app.payments import invoices as invoices_module
from app.payments.invoice_pdf import InvoiceDocument, InvoiceStatus
from app.payments.invoices import InvoiceDraft, invoice_kinds, invoice_refunded_copy
from app.payments.models import Invoice, Payment
from tests.factories import make_order, make_product, make_user
from tests.maklon.factories import make_signed_request, pay_milestone_sandbox


def _drafted_again(invoice: Invoice) -> InvoiceDraft:
    """The draft of an issued invoice, as the kind that owns its sale builds it again."""
    [kind] = [kind for kind in invoice_kinds() if getattr(invoice, kind.column) is not None]
    return kind.draft_of(invoice)


@pytest.fixture
def printed(monkeypatch) -> list[InvoiceDocument]:
    """Every InvoiceDocument rendered, in order (the real renderer still runs)."""
    documents: list[InvoiceDocument] = []
    real = invoices_module.invoice_pdf

    def spy(document):
        documents.append(document)
        return real(document)

    monkeypatch.setattr(invoices_module, "invoice_pdf", spy)
    return documents


def test_an_order_invoice_prints_the_store_the_buyer_and_the_items(db, printed):
    seller = make_user(roles=("seller",), store_name="Toko Racik Jaya")
    store = seller.store
    store.pkp, store.npwp, store.address = True, "012345678901000", "Jl. Braga 1\nBandung"
    product = make_product(store=store, name="Serum Vitamin C", price=111_000, stock=5,
                           options={"Ukuran": ["30 ml"]})
    buyer = make_user(name="Siti Pembeli")
    _db.session.commit()
    order = make_order(buyer=buyer, variant=product.variants[0], paid=True)
    invoice = _db.session.scalars(select(Invoice).where(Invoice.order_id == order.id)).one()
    [document] = printed
    assert document.number == invoice.number and document.order_number == order.number
    assert document.seller.name == "Toko Racik Jaya"
    assert document.seller.address_lines == ["Jl. Braga 1", "Bandung"]
    assert document.seller.npwp == "012345678901000"
    assert document.buyer.name == "Siti Pembeli"
    assert [(line.product, line.quantity) for line in document.lines] == [
        ("Serum Vitamin C", 1)]
    assert document.pkp and document.ppn == invoice.ppn > 0
    assert document.payment_method  # the method's label, not empty
    assert not document.issued_by_platform_company
    assert _drafted_again(invoice).lines == document.lines

    # Money back: the copy is drafted again from the row and the order's snapshots.
    _db.session.execute(update(Order).where(Order.id == order.id)
                        .values(payment_status=PaymentStatus.REFUNDED))
    assert invoice_refunded_copy(invoice) is not None
    copy = printed[-1]
    assert copy.status == InvoiceStatus.REFUNDED and copy.refunded_amount == invoice.total
    assert (copy.seller, copy.buyer, copy.lines) == (document.seller, document.buyer,
                                                    document.lines)


def test_a_milestone_invoice_prints_the_maklon_company_and_one_line(db, printed):
    setting_set(key="company.name", value="PT Sinar Maklon Nusantara")
    setting_set(key="company.npwp", value="019876543210000")
    request = make_signed_request()
    dp = _db.session.scalars(select(MilestonePayment).where(
        MilestonePayment.request_id == request.id, MilestonePayment.kind == "dp")).one()
    pay_milestone_sandbox(dp)
    invoice = _db.session.scalars(select(Invoice).where(Invoice.milestone_id == dp.id)).one()
    [document] = printed
    assert document.order_number == request.number
    assert document.seller.name == "PT Sinar Maklon Nusantara"
    assert document.seller.npwp == "019876543210000"
    assert document.buyer.name == request.company.name
    [line] = document.lines
    assert line.product == f"Termin DP {dp.percent}% - {request.product_name} ({request.number})"
    assert line.line_total == dp.amount == invoice.total
    assert document.issued_by_platform_company
    assert _drafted_again(invoice).seller == document.seller

    _db.session.execute(update(Payment).where(Payment.milestone_id == dp.id)
                        .values(refunded_amount=dp.amount))
    assert invoice_refunded_copy(invoice) is not None
    assert printed[-1].status == InvoiceStatus.REFUNDED
    assert printed[-1].lines == document.lines
