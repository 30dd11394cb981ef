"""The invoice of an order sent with a courier names the courier and its cost (the PDF
as issued, read back with poppler's pdftotext)."""

from __future__ import annotations

from sqlalchemy import select

from app.core.money import format_rupiah
from app.core.storage import storage_read
from app.orders.invoicing import order_invoice_issue as invoice_issue
from app.payments.models import Invoice
from tests.payments.test_invoice_documents import pdf_text
from tests.shipping.helpers import courier_order


def test_invoice_pdf_shows_the_courier_and_its_cost(db, tmp_path):
    _seller, _buyer, order = courier_order(service="sicepat:BEST")
    invoice_issue(order.id)
    db.session.commit()
    invoice = db.session.scalars(select(Invoice).where(Invoice.order_id == order.id)).one()
    assert invoice.shipping == order.shipping_cost > 0
    text = " ".join(pdf_text(storage_read(invoice.file_key), tmp_path).split())
    assert f"Ongkos kirim (SiCepat BEST) {format_rupiah(order.shipping_cost)}" in text
