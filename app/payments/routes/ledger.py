"""The admin payments ledger (admin only).

    GET   /admin/pembayaran                                 payments with filters (status,
                                                            method, WIB dates), totals per day
    GET   /admin/pembayaran/<id>                            one payment: notifications, refunds
    POST  /admin/pembayaran/<id>/terima                     flagged payment: accept it
    POST  /admin/pembayaran/<id>/kembalikan                 flagged payment: send it back
    POST  /admin/pembayaran/pengembalian/<id>/sudah-ditransfer   refund paid out by hand
    POST  /admin/pembayaran/pengembalian/<id>/coba-lagi     ask the gateway again

Every POST is a conditional change (a double click changes once; the second answers 409)
and redirects (303) back to the payment with a flash.
"""

from __future__ import annotations

from flask import abort, flash, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from sqlalchemy import select

from app.accounts.models import RoleName
from app.core.http import render_error, render_page, see_other
from app.core.security import owned_or_404, role_required
from app.extensions import db
from app.payments.ledger import (
    ledger_daily_totals,
    ledger_filters,
    ledger_page,
    payment_for_admin,
)
from app.payments.method_choice import PAYMENT_METHODS
from app.payments.models import Payment, PayStatus, Refund, RefundStatus
from app.payments.refunds import REFUND_STATUS_LABELS, refund_mark_done, refund_retry
from app.payments.review import NOTE_MAX, payment_review_accept, payment_review_refund
from app.payments.routes import bp
from app.payments.services import PAY_STATUS_LABELS, PaymentError
from app.payments.signals import payable_items

EVENT_SOURCE_LABELS = {
    "notification": _l("Notifikasi gateway"),
    "status_check": _l("Cek status"),
    "admin": _l("Keputusan admin"),
}



def _labels() -> dict:
    return {"pay_status_labels": PAY_STATUS_LABELS, "method_labels": PAYMENT_METHODS,
            "refund_status_labels": REFUND_STATUS_LABELS,
            "event_source_labels": EVENT_SOURCE_LABELS}


@bp.get("/admin/pembayaran")
@role_required(RoleName.ADMIN)
def ledger():
    filters, problems = ledger_filters(request.args)
    return render_page("payments/ledger.html", "payments/_ledger.html",
                       filters=filters, problems=problems, payments=ledger_page(filters),
                       totals=ledger_daily_totals(filters), statuses=PayStatus.ALL,
                       **_labels())


def _detail(payment: Payment, http_status: int = 200, note_error: str = "", note: str = ""):
    return render_page("payments/payment_detail.html", http_status=http_status,
                       payment=payment, items=payable_items(payment),
                       note_error=note_error, note=note, note_max=NOTE_MAX,
                       refund_statuses=RefundStatus, **_labels())


@bp.get("/admin/pembayaran/<int:payment_id>")
@role_required(RoleName.ADMIN)
def payment_detail(payment_id: int):
    payment = payment_for_admin(payment_id)
    if payment is None:
        abort(404)
    return _detail(payment)


def _decision(payment_id: int, decide, done_message: str):
    payment = owned_or_404(select(Payment).where(Payment.id == payment_id))
    note = (request.form.get("note") or "").strip()
    if len(note) > NOTE_MAX:
        return _detail(payment, 422, _("Maksimal %(max)s karakter.", max=NOTE_MAX), note)
    try:
        decide(payment=payment, actor=current_user, note=note)
    except PaymentError as error:
        db.session.rollback()
        return render_error(409, error.message)
    db.session.commit()
    flash(done_message, "success")
    return see_other(url_for("payments.payment_detail", payment_id=payment_id))


@bp.post("/admin/pembayaran/<int:payment_id>/terima")
@role_required(RoleName.ADMIN)
def payment_accept(payment_id: int):
    return _decision(payment_id, payment_review_accept,
                     _("Pembayaran diterima; pesanan ditandai lunas."))


@bp.post("/admin/pembayaran/<int:payment_id>/kembalikan")
@role_required(RoleName.ADMIN)
def payment_refund(payment_id: int):
    return _decision(payment_id, payment_review_refund,
                     _("Dana pembayaran ini dikembalikan ke pembeli."))


def _refund_action(refund_id: int, act):
    refund = owned_or_404(select(Refund).where(Refund.id == refund_id))
    try:
        refund = act(refund=refund, actor=current_user)
    except PaymentError as error:
        db.session.rollback()
        return render_error(409, error.message)
    status = refund.status
    db.session.commit()
    if status == RefundStatus.DONE:
        flash(_("Pengembalian dana ditandai selesai."), "success")
    else:
        flash(_("Pengembalian dana belum berhasil: %(error)s", error=refund.error), "error")
    return see_other(url_for("payments.payment_detail", payment_id=refund.payment_id))


@bp.post("/admin/pembayaran/pengembalian/<int:refund_id>/sudah-ditransfer")
@role_required(RoleName.ADMIN)
def refund_done(refund_id: int):
    return _refund_action(refund_id, refund_mark_done)


@bp.post("/admin/pembayaran/pengembalian/<int:refund_id>/coba-lagi")
@role_required(RoleName.ADMIN)
def refund_again(refund_id: int):
    return _refund_action(refund_id, refund_retry)
