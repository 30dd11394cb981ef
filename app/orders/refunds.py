"""Order refunds: the rules of an order's money going back to its buyer. Payments executes
refunds (app.payments.refunds: the `Refund` row, its lock, the gateway, the payment's
refunded amount, the admins' ledger); orders decides when and how much, names the key, and
follows a refund once it is done.

    order_refund(order_id, cause)       the job `jobs.payments.refund_order`: an accepted
                                        return ("return") or a paid order cancelled
                                        ("cancelled"); idempotent per order and cause
    refund_key(order, cause)            the refund's idempotency key, from the order number
                                        (`RCK-20261122-000123-return`; also the gateway's)
    order_refund_done(...)              the kind "checkout"'s handler of `refund_done`
                                        (connected with the others in
                                        app.orders.payment_news): audited ("refund.done" on
                                        the order), the order's payment status
                                        `refund_pending -> refunded`, the buyer told (an
                                        in-app notice and an email)

Who sets `refund_pending` and queues the job, in the same transaction: `order_cancel` for a
paid order (app.orders.lifecycle), `return_accept` (app.orders.returns), and the settlement
of a checkout whose order was cancelled meanwhile (app.orders.payment_news). The admin's
refund of a flagged payment and a refund made at the gateway outside Racik are announced by
payments (`payment_review_refunded`, `payment_refunded`) and followed in
app.orders.payment_news. Services flush; the caller commits.
"""

from __future__ import annotations

import logging
from typing import Any

from flask_babel import lazy_gettext as _l
from sqlalchemy import select, update

from app.accounts.models import User
from app.audit.services import audit_record
from app.core.http import app_path, public_url
from app.core.mail import mail_queue
from app.core.money import format_rupiah
from app.core.notices import N_, notice_kind, notice_send
from app.extensions import db
from app.orders.models import Order, PaymentStatus, ReturnRequest, ReturnStatus
from app.payments.models import Payment, Refund, RefundStatus
from app.payments.refunds import refund_execute, refund_of_whole_payment, refund_record
from app.payments.services import payment_of_checkout

log = logging.getLogger(__name__)


class RefundCause:
    """Why an order's money goes back: the last part of its refund_key."""

    RETURN = "return"  # the seller accepted the buyer's return
    CANCELLED = "cancelled"  # a paid order was cancelled (or cancelled before it was paid)
    GATEWAY = "gateway"  # refunded at the gateway, outside Racik (the Midtrans dashboard)
    ORDER_CAUSES = (RETURN, CANCELLED)  # the job's
    ALL = (RETURN, CANCELLED, GATEWAY)


REFUND_REASONS: dict[str, Any] = {
    RefundCause.RETURN: _l("Retur diterima penjual"),
    RefundCause.CANCELLED: _l("Pesanan dibatalkan setelah dibayar"),
    RefundCause.GATEWAY: _l("Dana dikembalikan lewat gateway pembayaran"),
}

REFUND_DONE_NOTICE = "refund_done"
REFUND_SELLER_NOTICE = "refund_gateway_seller"
notice_kind(REFUND_SELLER_NOTICE,
            N_("Dana pesanan %(number)s dikembalikan ke pembeli lewat gateway pembayaran; "
               "pesanan ini tidak boleh dikirim."))
notice_kind(REFUND_DONE_NOTICE,
            N_("Dana %(amount)s untuk pesanan %(number)s sudah dikembalikan."))


def refund_key(order: Order, cause: str) -> str:
    """The refund's idempotency key: one per order and cause (also sent to the gateway)."""
    return f"{order.number}-{cause}"


# The job -----------------------------------------------------------------------------------
def order_refund(order_id: int, cause: str) -> dict:
    """Record the refund of one order for `cause` ("return" or "cancelled") once, and pay it
    through the payment's gateway. Returns {"refund": id or None, "status": ...}.
    Idempotent: a refund already done is left alone; a pending or failed one is tried again.
    Raises ValueError for an unknown cause."""
    if cause not in RefundCause.ORDER_CAUSES:
        raise ValueError(f"unknown refund cause {cause!r}")
    order = db.session.get(Order, order_id)
    if order is None:
        log.warning("refund of order %s (%s): no such order", order_id, cause)
        return {"refund": None, "status": "skipped"}
    if order.payment_status not in (PaymentStatus.REFUND_PENDING, PaymentStatus.REFUNDED):
        # Only an order whose money is owed back has a refund (the services set
        # refund_pending in the same transaction that queued this job).
        log.warning("refund of order %s (%s): payment status is %s, nothing owed",
                    order.number, cause, order.payment_status)
        return {"refund": None, "status": "skipped"}
    payment = payment_of_checkout(order.checkout_id)
    if payment is None:
        log.error("refund of order %s: its checkout has no payment", order.number)
        return {"refund": None, "status": "skipped"}
    amount = order.total
    if cause == RefundCause.RETURN:
        accepted = db.session.scalar(select(ReturnRequest.refund_amount).where(
            ReturnRequest.order_id == order.id,
            ReturnRequest.status == ReturnStatus.ACCEPTED))
        if not accepted:
            log.error("refund of order %s: no accepted return with an amount", order.number)
            return {"refund": None, "status": "skipped"}
        amount = accepted
    refund = refund_record(payment=payment, order_id=order.id, key=refund_key(order, cause),
                           amount=amount, reason=str(REFUND_REASONS[cause]))
    refund_execute(refund, payment)
    return {"refund": refund.id, "status": refund.status}


# A refund done (payments' news) -------------------------------------------------------------
def order_refund_done(_kind: str, *, payment: Payment, refund: Refund, previous: str,
                      actor: User | None, via: str) -> None:
    """A refund of one of the checkout's orders is done (`refund_done`): audited on the
    order ("refund.done", `actor` the admin who paid it or asked the gateway again, None for
    the system), the order's payment status `refund_pending -> refunded` (conditional), the
    buyer told."""
    order = db.session.get_one(Order, refund.order_id)  # FK, RESTRICT
    audit_record("refund.done", actor=actor, object_type="order", object_id=order.number,
                 before={"status": previous},
                 after={"status": RefundStatus.DONE, "amount": refund.amount, "via": via,
                        "payment": payment.reference},
                 note=refund.refund_key)
    db.session.execute(
        update(Order).where(Order.id == refund.order_id,
                            Order.payment_status == PaymentStatus.REFUND_PENDING)
        .values(payment_status=PaymentStatus.REFUNDED, updated_at=refund.done_at)
        .execution_options(synchronize_session=False))
    _tell_buyer(order, refund, payment)


def _tell_buyer(order: Order, refund: Refund, payment: Payment) -> None:
    buyer = db.session.get_one(User, order.buyer_id)  # FK, RESTRICT
    amount = format_rupiah(refund.amount)
    notice_send(user_id=buyer.id, kind=REFUND_DONE_NOTICE,
                params={"amount": amount, "number": order.number},
                link=app_path("orders.order_detail", number=order.number))
    mail_queue(to=buyer.email, template="refund_done", locale=buyer.locale,
               subject=_l("Dana dikembalikan: pesanan %(number)s", number=order.number),
               name=buyer.name, order=order, refund=refund, payment=payment,
               whole_payment=refund_of_whole_payment(refund),
               link=public_url("orders.order_detail", number=order.number))
