"""The sandbox simulator: `GET/POST /sandbox/bayar/<reference>` (endpoint
`payments.sandbox_pay`; the sandbox gateway's e-wallet deeplinks point here).

A tester's tool, and the stand-in for the bank or wallet app: it shows what the sandbox
gateway knows of a transaction and pays (in full or another amount), expires, denies or
cancels it; the sandbox then notifies our webhook after commit (job
`jobs.payments.sandbox_deliver`), twice and/or with a late "pending" when asked. Any
logged-in user may use it; it does not exist (404) when `PAYMENT_SANDBOX_ENABLED` is off,
as in production.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from functools import wraps
from typing import Any, TypeVar

from flask import abort, current_app, flash, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user, login_required
from sqlalchemy import select

from app.core.forms import parse_rupiah
from app.core.http import render_page, see_other
from app.core.qr import qr_svg
from app.extensions import db
from app.payments.gateways.sandbox import (
    ACTIONS,
    SandboxError,
    sandbox_simulate,
    sandbox_transaction,
)
from app.payments.models import Payment, SandboxTransaction
from app.payments.pay_page import BANK_NAMES, WALLET_NAMES, group_digits
from app.payments.routes import bp
from app.payments.signals import payable_page

log = logging.getLogger(__name__)
F = TypeVar("F", bound=Callable[..., Any])

PAY_OTHER = "pay_other"  # "Bayar dengan jumlah lain": `pay` with the amount typed
AMOUNT_MAX = 10**12  # whole Rupiah; far above any checkout, well inside BIGINT
ACTION_LABELS = {
    "pay": _l("Bayar"),
    PAY_OTHER: _l("Bayar dengan jumlah lain"),
    "expire": _l("Kedaluwarsa"),
    "deny": _l("Tolak"),
    "cancel": _l("Batalkan"),
}
TX_STATUS_LABELS = {
    "pending": _l("Menunggu pembayaran"),
    "settlement": _l("Dibayar"),
    "capture": _l("Dibayar"),
    "expire": _l("Kedaluwarsa"),
    "deny": _l("Ditolak"),
    "cancel": _l("Dibatalkan"),
    "refund": _l("Dana dikembalikan"),
    "partial_refund": _l("Dikembalikan sebagian"),
}


class SimulatorInputError(Exception):
    def __init__(self, message: str, field: str = ""):
        super().__init__(message)
        self.message = message
        self.field = field


def sandbox_only(view: F) -> F:
    """404 for everyone (before asking anyone to log in) when the sandbox is off."""

    @wraps(view)
    def wrapped(*args: Any, **kwargs: Any) -> Any:
        if not current_app.config["PAYMENT_SANDBOX_ENABLED"]:
            abort(404)
        return view(*args, **kwargs)

    return wrapped  # type: ignore[return-value]


def _page(tx: SandboxTransaction, *, http_status: int = 200, errors: dict | None = None,
          typed: dict | None = None):
    payment = db.session.scalars(select(Payment).where(
        Payment.reference == tx.order_id)).first()
    wallet = request.args.get("app", "")
    return render_page(
        "payments/sandbox.html", http_status=http_status, tx=tx, payment=payment,
        is_payer=payment is not None and payment.payer_id == current_user.id,
        back_url=payable_page(payment) if payment is not None else "",
        bank_name=BANK_NAMES.get(tx.bank, tx.bank.upper()),
        wallet_name=WALLET_NAMES.get(wallet, ""),
        va_grouped=group_digits(tx.va_number),
        qr=qr_svg(tx.qr_string, label=_("Kode QR QRIS transaksi %(reference)s",
                                        reference=tx.order_id), size_px=200,
                  test_id="sandbox-qr") if tx.qr_string else None,
        status_labels=TX_STATUS_LABELS, action_labels=ACTION_LABELS,
        errors=errors or {}, typed=typed or {})


def _read_form(form) -> tuple[str, int | None]:
    """(sandbox action, amount or None): raises SimulatorInputError for bad input."""
    action = form.get("action", "")
    if action not in ACTION_LABELS:
        raise SimulatorInputError(_("Pilih salah satu tindakan simulasi."))
    if action != PAY_OTHER:
        return action, None
    typed = form.get("amount", "").strip()
    amount = parse_rupiah(typed)
    if not typed:
        raise SimulatorInputError(_("Isi jumlah yang dibayarkan."), "amount")
    if amount is None or amount <= 0 or amount > AMOUNT_MAX:
        raise SimulatorInputError(
            _("Tulis jumlah Rupiah berupa bilangan bulat lebih dari 0, misalnya 150000."),
            "amount")
    return "pay", amount


@bp.route("/sandbox/bayar/<reference>", methods=["GET", "POST"])
@sandbox_only
@login_required
def sandbox_pay(reference: str):
    if request.method == "GET":
        tx = sandbox_transaction(reference)
        if tx is None:
            abort(404)
        return _page(tx)
    # Locked while we decide (PostgreSQL): two clicks on "Bayar" pay once; the second
    # finds the transaction no longer pending.
    tx = db.session.scalars(select(SandboxTransaction).where(
        SandboxTransaction.order_id == reference).with_for_update()).first()
    if tx is None:
        abort(404)
    form = request.form
    typed = {"amount": form.get("amount", ""), "twice": bool(form.get("twice")),
             "out_of_order": bool(form.get("out_of_order"))}
    try:
        action, amount = _read_form(form)
        if tx.transaction_status != "pending":
            raise SimulatorInputError(_(
                "Transaksi ini sudah berstatus %(status)s; hanya transaksi yang menunggu "
                "pembayaran dapat disimulasikan.",
                status=TX_STATUS_LABELS.get(tx.transaction_status, tx.transaction_status)))
        sandbox_simulate(reference=reference, action=action, amount=amount,
                         twice=typed["twice"], out_of_order=typed["out_of_order"])
    except (SimulatorInputError, SandboxError) as error:
        db.session.rollback()
        message = error.message if isinstance(error, SimulatorInputError) else str(error)
        field = error.field if isinstance(error, SimulatorInputError) else ""
        tx = sandbox_transaction(reference)
        return _page(tx, http_status=422, errors={field or "action": message}, typed=typed)
    db.session.commit()
    log.info("sandbox simulator: %s %s by user %s", reference, action, current_user.id)
    payment = db.session.scalars(select(Payment).where(Payment.reference == reference)).first()
    flash(_("Simulasi terkirim: transaksi %(reference)s sekarang %(status)s.",
            reference=reference, status=TX_STATUS_LABELS[ACTIONS[action]]), "success")
    if payment is not None and payment.payer_id == current_user.id \
            and payment.checkout_id is not None:
        return see_other(url_for("orders.checkout_detail", reference=reference))
    page = payable_page(payment) if payment is not None else ""
    if page and payment.payer_id == current_user.id:
        return see_other(page)
    return see_other(url_for("payments.sandbox_pay", reference=reference))
