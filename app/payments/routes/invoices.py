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

import hashlib
import io
import logging

from flask import abort, send_file
from flask_login import current_user, login_required
from sqlalchemy import select

from app.accounts.models import RoleName
from app.core.http import content_disposition, render_page
from app.core.security import owned_or_404
from app.core.storage import storage_download, storage_exists
from app.payments.invoice_pdf import npwp_display
from app.payments.invoices import (
    invoice_by_code,
    invoice_filename,
    invoice_issuer,
    invoice_refund,
    invoice_refunded_copy,
    invoices_readable_by,
)
from app.payments.models import Invoice
from app.payments.routes import bp

log = logging.getLogger(__name__)


@bp.route("/invoice/<int:invoice_id>.pdf")
@login_required
def invoice_download(invoice_id: int):
    """The invoice PDF for its buyer, its seller or an admin; 404 for anyone else."""
    stmt = select(Invoice).where(Invoice.id == invoice_id, Invoice.file_key != "")
    if not current_user.has_role(RoleName.ADMIN):
        # Each kind of sale says whose its invoices are (orders: buyer and seller; maklon:
        # the ordering company's clients).
        stmt = stmt.where(invoices_readable_by(current_user))
    invoice = owned_or_404(stmt)
    if not storage_exists(invoice.file_key):
        log.error("invoice %s: stored file %s is missing", invoice.number, invoice.file_key)
        abort(404)
    copy = invoice_refunded_copy(invoice)
    if copy is None:  # paid: the archived original (LUNAS), byte for byte
        return storage_download(invoice.file_key, mimetype="application/pdf",
                                filename=invoice_filename(invoice), etag=invoice.sha256)
    # refunded: a copy stamped DIKEMBALIKAN (the original stays archived)
    response = send_file(io.BytesIO(copy), mimetype="application/pdf", max_age=0,
                         conditional=True, etag=hashlib.sha256(copy).hexdigest())
    response.headers["Content-Disposition"] = content_disposition(invoice_filename(invoice))
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.cache_control.private = True
    response.cache_control.public = False
    return response


@bp.route("/invoice/verifikasi/<code>")
def invoice_verify(code: str):
    """Public check of an invoice's authenticity by the code printed on it."""
    invoice = invoice_by_code(code)
    issuer = invoice_issuer(invoice) if invoice is not None else None
    refunded = invoice is not None and invoice_refund(invoice) is not None
    return render_page("payments/invoice_verify.html",
                       http_status=200 if invoice is not None else 404,
                       invoice=invoice, issuer_name=issuer.name if issuer else "",
                       issuer_npwp=npwp_display(issuer.npwp if issuer else ""),
                       refunded=refunded,
                       code=code[:40])
