"""The buyer's side of a payment (the page itself is `orders.checkout_detail`):

    GET   /checkout/<reference>/status        the status block, polled by htmx every 5 s:
                                              286 once final (htmx stops polling), 304 when
                                              unchanged (ETag)
    POST  /checkout/<reference>/bayar-ulang   ask the gateway again after a failed charge

Only the checkout's buyer may use them; anyone else gets a 404.
"""

from __future__ import annotations

import logging

from flask import flash, render_template, url_for
from flask_babel import gettext as _
from flask_login import current_user

from app.accounts.models import RoleName
from app.core.clock import utcnow
from app.core.http import render_error, see_other
from app.core.security import owned_or_404, role_required
from app.extensions import db
from app.payments.models import PayStatus
from app.payments.pay_page import pay_status_answer, pay_view
from app.payments.queries import buyer_payment
from app.payments.routes import bp
from app.payments.services import payment_charge_committed

log = logging.getLogger(__name__)


@bp.route("/checkout/<reference>/status")
@role_required(RoleName.CUSTOMER)
def pay_status(reference: str):
    payment = owned_or_404(buyer_payment(current_user.id, reference))
    view = pay_view(payment, with_instructions=False)
    # `oob`: a final answer also removes the instructions shown beside the block.
    return pay_status_answer(view, lambda: render_template(
        "payments/_pay_status.html", payment=payment, view=view, reference=reference,
        oob=True))


@bp.route("/checkout/<reference>/bayar-ulang", methods=["POST"])
@role_required(RoleName.CUSTOMER)
def pay_retry(reference: str):
    """The gateway failed when the checkout was placed: ask it again for the payment
    details. 409 once the payment is no longer pending or its time is up."""
    payment = owned_or_404(buyer_payment(current_user.id, reference).with_for_update())
    page = url_for("orders.checkout_detail", reference=reference)
    if payment.charged_at is not None:  # a double click, or another tab was quicker
        return see_other(page)
    if payment.status != PayStatus.PENDING or payment.expires_at <= utcnow():
        db.session.rollback()
        return render_error(409, _("Batas waktu pembayaran ini sudah lewat. Silakan "
                                   "berbelanja kembali."))
    charged = payment_charge_committed(payment, locked=True)
    if charged:
        flash(_("Instruksi pembayaran sudah siap."), "success")
    else:
        flash(_("Layanan pembayaran masih belum dapat dihubungi. Coba lagi beberapa saat "
                "lagi."), "error")
    return see_other(page)
