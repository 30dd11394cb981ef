"""Invoice routes: the PDF download and the public verification page.

URL table:
    GET  /invoice/<invoice_id>.pdf         the stored PDF, as an attachment: the order's
                                           buyer, the store's owner and admins (a maklon
                                           milestone's: the company's clients and admins);
                                           anyone else 404 (anonymous: log in)
    GET  /invoice/verifikasi/<code>        public: number, issuer, date, total, SHA-256
                                           (no personal data); unknown code 404

The order pages include `payments/_invoice_link.html` (given `invoice` or None).
"""

from __future__ import annotations

import logging

from flask import abort
from flask_login import current_user, login_required
from sqlalchemy import or_, select

from app.accounts.models import RoleName, Store
from app.core.company import company_identity
from app.core.http import render_page
from app.core.security import owned_or_404
from app.core.storage import storage_download, storage_exists
from app.maklon.models import MaklonRequest, MilestonePayment
from app.orders.models import Order
from app.payments.invoices import invoice_by_code, invoice_filename
from app.payments.models import Invoice
from app.payments.routes import bp

log = logging.getLogger(__name__)


@bp.route("/invoice/<int:invoice_id>.pdf")
@login_required
def invoice_download(invoice_id: int):
    """The invoice PDF for its buyer, its seller or an admin; 404 for anyone else."""
    stmt = select(Invoice).where(Invoice.id == invoice_id, Invoice.file_key != "")
    if not current_user.has_role(RoleName.ADMIN):
        of_orders = (select(Order.id).join(Store, Store.id == Order.store_id)
                     .where(or_(Order.buyer_id == current_user.id,
                                Store.owner_id == current_user.id)))
        allowed = [Invoice.order_id.in_(of_orders)]
        if current_user.has_role(RoleName.CLIENT) and current_user.company_id is not None:
            # A maklon milestone's invoice: the clients of the ordering company.
            allowed.append(Invoice.milestone_id.in_(
                select(MilestonePayment.id)
                .join(MaklonRequest, MaklonRequest.id == MilestonePayment.request_id)
                .where(MaklonRequest.company_id == current_user.company_id)))
        stmt = stmt.where(or_(*allowed))
    invoice = owned_or_404(stmt)
    if not storage_exists(invoice.file_key):
        log.error("invoice %s: stored file %s is missing", invoice.number, invoice.file_key)
        abort(404)
    name = invoice_filename(invoice)  # INV-2026-000123.pdf: nothing to quote or escape
    return storage_download(invoice.file_key, mimetype="application/pdf", filename=name,
                            etag=invoice.sha256, disposition=f'attachment; filename="{name}"')


@bp.route("/invoice/verifikasi/<code>")
def invoice_verify(code: str):
    """Public check of an invoice's authenticity by the code printed on it."""
    invoice = invoice_by_code(code)
    store = None
    issuer_name = ""
    if invoice is not None and invoice.order is not None:
        store = invoice.order.store
        issuer_name = store.name
    elif invoice is not None and invoice.milestone_id is not None:
        issuer_name = company_identity().name  # a maklon milestone: the platform company
    return render_page("payments/invoice_verify.html",
                       http_status=200 if invoice is not None else 404,
                       invoice=invoice, store=store, issuer_name=issuer_name,
                       code=code[:40])
