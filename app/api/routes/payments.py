"""Payments: the status and instructions of a payment, and "try again" after a failed charge.

    GET  /payments/<reference>                 a payment the caller pays or may see: the
                                               buyer's checkout payment, or a maklon
                                               milestone payment of a request the caller
                                               may see (the web's ownership queries)
    POST /checkouts/<reference>/payment        the buyer: ask the gateway again for the
                                               payment details after a failed charge
                                               (Idempotency-Key honoured)

The instructions (VA number, bill key, e-wallet deeplink, QRIS string, the Alfamart /
Indomaret payment code and the steps) are
what the payment page shows (`payments.pay_page.pay_view`): only while the payment is
pending and charged.
"""

from __future__ import annotations

import logging
import re
from datetime import datetime

from flask import abort
from flask_babel import gettext as _
from flask_login import current_user
from pydantic import Field
from sqlalchemy import Select, or_, select

from app.accounts.models import RoleName
from app.api import bp
from app.api.error_codes import ApiErrorCode
from app.api.errors import ApiError
from app.api.schemas import Output
from app.api.spec import operation
from app.core.clock import utcnow
from app.core.security import owned_or_404
from app.extensions import db
from app.maklon.access import requests_visible
from app.maklon.labels import MILESTONE_LABELS
from app.maklon.models import MaklonRequest, MilestonePayment
from app.orders.models import Checkout
from app.payments.method_choice import PAYMENT_METHODS
from app.payments.models import Payment, PayStatus
from app.payments.pay_page import pay_view
from app.payments.queries import buyer_payment
from app.payments.services import PAY_STATUS_LABELS, payment_charge_committed

log = logging.getLogger(__name__)
TAG = "Pembayaran"
REFERENCE = re.compile(r"^[A-Za-z0-9_.-]{1,100}$")


class StepsOut(Output):
    """One way to pay (ATM, mobile banking, the e-wallet app) and its steps."""

    title: str
    items: list[str]


class InstructionsOut(Output):
    """How to pay, as the payment page shows it (only while pending and charged)."""

    kind: str = Field(description="va | bill | ewallet | qris | cstore")
    bank_name: str = ""
    va_number: str = Field("", description="The virtual account number (va).")
    va_number_grouped: str = Field("", description="The same in groups of four.")
    biller_code: str = Field("", description="Mandiri bill payment: company code (bill).")
    bill_key: str = Field("", description="Mandiri bill payment: bill key (bill).")
    bill_key_grouped: str = ""
    wallet_name: str = ""
    deeplink_url: str = Field("", description="Opens the e-wallet app (ewallet).")
    qr_string: str = Field("", description="The QRIS payload to draw as a QR code (qris).")
    store: str = Field("", description="The retail outlet: alfamart | indomaret (cstore).")
    store_name: str = ""
    payment_code: str = Field("", description="The code to show at the retail outlet's "
                                              "cashier (cstore).")
    payment_code_grouped: str = Field("", description="The same in groups of four.")
    steps: list[StepsOut]


class MilestoneRef(Output):
    request_number: str
    kind: str
    label: str


class PaymentOut(Output):
    """A payment: amount, status, deadline and how to pay it."""

    reference: str
    method: str
    method_label: str
    amount: int = Field(description="Whole Rupiah.")
    status: str = Field(description="pending | paid | expired | cancelled | denied | review "
                                    "| refunded")
    status_label: str
    store: str = Field("", description="alfamart | indomaret for a retail-outlet payment, "
                                       "else empty.")
    final: bool = Field(description="True once the status can no longer change by itself.")
    charged: bool = Field(description="False while pending: the gateway could not be "
                                      "reached; ask again with POST .../payment.")
    expires_at: datetime = Field(description="The deadline to pay (count down from it).")
    paid_at: datetime | None
    created_at: datetime
    checkout_reference: str | None
    milestone: MilestoneRef | None
    instructions: InstructionsOut | None


def payment_out(payment: Payment) -> PaymentOut:
    """The payment as its page shows it (`pay_view`: instructions only while awaiting)."""
    view = pay_view(payment)
    instructions = None
    if view.awaiting:
        instructions = InstructionsOut(
            kind=view.kind, bank_name=view.bank_name, va_number=payment.va_number,
            va_number_grouped=view.va_grouped, biller_code=payment.biller_code,
            bill_key=payment.bill_key, bill_key_grouped=view.bill_grouped,
            wallet_name=view.wallet_name,
            deeplink_url=payment.deeplink_url if view.kind == "ewallet" else "",
            qr_string=payment.qr_string if view.kind == "qris" else "",
            store=view.store, store_name=view.store_name,
            payment_code=payment.payment_code if view.kind == "cstore" else "",
            payment_code_grouped=view.code_grouped,
            steps=[StepsOut(title=s.title, items=list(s.items)) for s in view.steps])
    checkout_reference = milestone = None
    if payment.checkout_id is not None:
        checkout_reference = db.session.scalar(
            select(Checkout.reference).where(Checkout.id == payment.checkout_id))
    elif payment.milestone_id is not None:
        row = db.session.execute(
            select(MaklonRequest.number, MilestonePayment.kind)
            .join(MilestonePayment, MilestonePayment.request_id == MaklonRequest.id)
            .where(MilestonePayment.id == payment.milestone_id)).one()
        milestone = MilestoneRef(request_number=row.number, kind=row.kind,
                                 label=str(MILESTONE_LABELS.get(row.kind, row.kind)))
    return PaymentOut(
        reference=payment.reference, method=payment.method,
        method_label=str(PAYMENT_METHODS.get(payment.method, payment.method)),
        amount=payment.amount, status=payment.status,
        status_label=str(PAY_STATUS_LABELS.get(payment.status, payment.status)),
        store=view.store, final=view.final, charged=view.charged, expires_at=payment.expires_at,
        paid_at=payment.paid_at,
        created_at=payment.created_at, checkout_reference=checkout_reference,
        milestone=milestone, instructions=instructions)


def reference_or_404(reference: str) -> str:
    """A reference outside the documented pattern names nothing (and never reaches SQL)."""
    if not REFERENCE.match(reference):
        abort(404)
    return reference


def payment_visible(reference: str) -> Select:
    """For `owned_or_404`: the payment `reference` if the caller pays it as a buyer (the
    web's `buyer_payment`) or may see its maklon request (the web's `requests_visible`,
    as on the milestone payment page)."""
    mine: list = []
    if current_user.has_role(RoleName.CUSTOMER):
        mine.append(Payment.id.in_(
            buyer_payment(current_user.id, reference).with_only_columns(Payment.id)))
    visible_requests = requests_visible(current_user).with_only_columns(MaklonRequest.id)
    mine.append(Payment.milestone_id.in_(
        select(MilestonePayment.id).where(MilestonePayment.request_id.in_(visible_requests))))
    return select(Payment).where(Payment.reference == reference, or_(*mine))


@operation(bp, "/payments/<reference>", "GET", tag=TAG, summary="A payment: status and how "
           "to pay it", response=PaymentOut)
def payment_get(reference: str):
    """404 when the payment is not the caller's (another buyer's, or a maklon request the
    caller may not see)."""
    payment = owned_or_404(payment_visible(reference_or_404(reference)))
    return payment_out(payment)


@operation(bp, "/checkouts/<reference>/payment", "POST", tag=TAG,
           summary="Ask the gateway again after a failed charge", response=PaymentOut,
           roles=(RoleName.CUSTOMER,), errors=(409,), idempotent=True)
def payment_retry(reference: str):
    """Like the payment page's "Coba lagi": an already charged payment is answered as it
    is; `charged: false` means the gateway is still unreachable (try again later with a
    new Idempotency-Key). 404: not the caller's checkout. 409 `payment_closed`: the payment
    is no longer pending or its time is up."""
    payment = owned_or_404(buyer_payment(current_user.id, reference_or_404(reference))
                           .with_for_update())
    if payment.charged_at is not None:  # another device or a double tap was quicker
        db.session.rollback()
        return payment_out(payment)
    if payment.status != PayStatus.PENDING or payment.expires_at <= utcnow():
        db.session.rollback()
        raise ApiError(409, ApiErrorCode.PAYMENT_CLOSED,
                       _("Batas waktu pembayaran ini sudah lewat. Silakan berbelanja kembali."))
    charged = payment_charge_committed(payment, locked=True)
    log.info("api payment %s charge retried: %s", payment.reference,
             "charged" if charged else "still failing")
    return payment_out(payment)
