"""What orders do when a checkout's payment moves: the subscriber side of
app.payments.signals for the payable kind "checkout" (registered, with its hook and its
handlers, when the orders blueprint is registered: `payment_news_connect`).

    payment_settled    the checkout's orders become PAID (sellers may process them), each
                       gets its invoice job, sellers get a notice, the buyer an email; an
                       order cancelled meanwhile is refunded instead
    payment_closed     expired, cancelled or denied: its unpaid pending orders are
                       cancelled and restocked (ledger reason "expire")
    payment_refunded   all of the money went back at the gateway, outside Racik: each
                       order whose money is still here gets a done refund, pending ones are
                       cancelled and restocked, sellers are told
    payment_review_refunded
                       an admin sent the money of the flagged payment back: its orders
                       still waiting for payment are cancelled and restocked
    refund_done        one order's refund is done: `app.orders.refunds.order_refund_done`

All are idempotent (conditional UPDATEs). The hook `items_of` (`checkout_items`) describes
the checkout's orders to payments: the admin ledger's rows, the order a refund is recorded
on, the refund keys of each order.
"""

from __future__ import annotations

import contextlib
import logging

from flask_babel import lazy_gettext as _l
from sqlalchemy import func, select, update
from sqlalchemy.orm import joinedload
from sqlalchemy.orm.attributes import set_committed_value

from app.accounts.models import User
from app.core.clock import utcnow
from app.core.db import rowcount
from app.core.http import app_path, public_url
from app.core.mail import mail_queue
from app.core.notices import N_, notice_kind, notice_send
from app.core.queue import enqueue_after_commit
from app.extensions import db
from app.inventory.models import StockReason
from app.orders.lifecycle import (
    ORDER_PAYMENT_LABELS,
    ORDER_STATUS_LABELS,
    Side,
    TransitionError,
    order_cancel,
)
from app.orders.models import Checkout, Order, OrderStatus, PaymentStatus
from app.orders.refunds import (
    REFUND_REASONS,
    REFUND_SELLER_NOTICE,
    RefundCause,
    order_refund_done,
    refund_key,
)
from app.payments.models import Payment, Refund, RefundStatus
from app.payments.refunds import refund_complete, refund_record
from app.payments.signals import (
    PayableItem,
    payable_kind_register,
    payment_closed,
    payment_refunded,
    payment_review_refunded,
    payment_settled,
    refund_done,
)

log = logging.getLogger(__name__)

PAYABLE_KIND = "checkout"
ORDER_PAID_NOTICE = "order_paid"
notice_kind(ORDER_PAID_NOTICE, N_("Pesanan %(number)s sudah dibayar dan siap diproses."))


def checkout_settled(_kind: str, *, payment: Payment) -> dict[str, int]:
    """The checkout's orders become PAID (sellers may process them), each gets its invoice
    job, buyer and sellers are told. A cancelled order of a paid checkout gets a refund.
    Idempotent: conditional UPDATEs, so running twice changes nothing more."""
    # the "checkout" payable kind routes here only payments that have a checkout (FK)
    assert payment.checkout_id is not None
    checkout = db.session.get_one(Checkout, payment.checkout_id)
    first = rowcount(db.session.execute(
        update(Checkout).where(Checkout.id == checkout.id,
                               Checkout.payment_status == PaymentStatus.UNPAID)
        .values(payment_status=PaymentStatus.PAID)
        .execution_options(synchronize_session=False))) == 1
    paid = refunds = 0
    orders = db.session.scalars(select(Order).where(Order.checkout_id == checkout.id)
                                .order_by(Order.id)).all()
    for order in orders:
        cancelled = order.status == OrderStatus.CANCELLED
        to = PaymentStatus.REFUND_PENDING if cancelled else PaymentStatus.PAID
        changed = rowcount(db.session.execute(
            update(Order).where(Order.id == order.id,
                                Order.payment_status == PaymentStatus.UNPAID)
            .values(payment_status=to, updated_at=utcnow())
            .execution_options(synchronize_session=False)))
        if not changed:
            continue
        set_committed_value(order, "payment_status", to)
        if cancelled:
            refunds += 1
            enqueue_after_commit("jobs.payments.refund_order", order.id, "cancelled",
                                 queue="default")
            continue
        paid += 1
        enqueue_after_commit("jobs.payments.invoice_issue", order.id, queue="invoices")
        notice_send(user_id=order.store.owner_id, kind=ORDER_PAID_NOTICE,
                    params={"number": order.number},
                    link=app_path("orders.seller_order", number=order.number))
    if first:
        buyer = db.session.get_one(User, payment.payer_id)  # FK, RESTRICT
        mail_queue(to=buyer.email, template="payment_received", locale=buyer.locale,
                   subject=_l("Pembayaran diterima: %(reference)s",
                              reference=checkout.reference),
                   name=buyer.name, payment=payment, checkout=checkout, orders=orders,
                   link=public_url("orders.checkout_detail", reference=checkout.reference))
    db.session.flush()
    return {"paid": paid, "refunds": refunds}


def checkout_closed(_kind: str, *, payment: Payment, expired: bool) -> dict[str, int]:
    """Expired, cancelled or denied: cancel the checkout's unpaid pending orders and put
    their stock back (ledger reason "expire"). Idempotent."""
    reason = str(_l("Pembayaran kedaluwarsa.") if expired else _l("Pembayaran tidak berhasil."))
    return {"cancelled": _cancel_unpaid(payment, reason, stock_reason=StockReason.EXPIRE)}


def _cancel_unpaid(payment: Payment, reason: str, *, stock_reason: str) -> int:
    """Cancel the checkout's orders still pending and unpaid, their stock put back under
    `stock_reason`, `reason` on their history; one that moved meanwhile is left as it is.
    Returns how many were cancelled."""
    cancelled = 0
    orders = db.session.scalars(select(Order).where(
        Order.checkout_id == payment.checkout_id, Order.status == OrderStatus.PENDING,
        Order.payment_status == PaymentStatus.UNPAID).order_by(Order.id)).all()
    for order in orders:
        try:
            order_cancel(order=order, actor=None, side=Side.SYSTEM, reason=reason,
                         from_status=OrderStatus.PENDING, stock_reason=stock_reason)
        except TransitionError:
            continue  # cancelled or moved meanwhile
        cancelled += 1
    return cancelled


def checkout_refunded(_kind: str, *, payment: Payment, gateway_reference: str) -> None:
    """Everything the gateway sent back: each order of the checkout whose money is still
    here gets a done refund of what is left of it (the same `refund_complete` as every
    refund: order refunded, payment total, buyer told, audited); a pending order is
    cancelled and restocked, a processing one can no longer be shipped; its seller is
    told."""
    # Refunds already recorded and not done: the gateway has sent that money back too.
    for refund in list(payment.refunds):
        if refund.status != RefundStatus.DONE:
            refund_complete(refund, payment, gateway_reference=gateway_reference)
    db.session.refresh(payment)
    received = payment.paid_amount if payment.paid_amount is not None else payment.amount
    left = received - payment.refunded_amount
    orders = db.session.scalars(select(Order).where(Order.checkout_id == payment.checkout_id)
                                .order_by(Order.id)).all()
    reason = str(REFUND_REASONS[RefundCause.GATEWAY])
    for order in orders:
        if order.payment_status != PaymentStatus.PAID:
            continue  # unpaid, or its money went back already
        done = db.session.scalar(select(func.coalesce(func.sum(Refund.amount), 0)).where(
            Refund.order_id == order.id, Refund.status == RefundStatus.DONE)) or 0
        amount = min(order.total - done, left)
        changed = rowcount(db.session.execute(
            update(Order).where(Order.id == order.id,
                                Order.payment_status == PaymentStatus.PAID)
            .values(payment_status=PaymentStatus.REFUND_PENDING, updated_at=utcnow())
            .execution_options(synchronize_session=False)))
        if not changed:
            continue
        set_committed_value(order, "payment_status", PaymentStatus.REFUND_PENDING)
        if order.status == OrderStatus.PENDING:
            # Its payment status is refund_pending: no second refund is queued. Moved
            # meanwhile: it stays refunded and cannot be shipped.
            with contextlib.suppress(TransitionError):
                order_cancel(order=order, actor=None, side=Side.SYSTEM, reason=reason,
                             from_status=OrderStatus.PENDING)
        if amount > 0:
            refund = refund_record(payment=payment, order_id=order.id,
                                   key=refund_key(order, RefundCause.GATEWAY), amount=amount,
                                   reason=reason)
            refund_complete(refund, payment, gateway_reference=gateway_reference)
            left -= amount
        else:
            db.session.execute(
                update(Order).where(Order.id == order.id)
                .values(payment_status=PaymentStatus.REFUNDED)
                .execution_options(synchronize_session=False))
        notice_send(user_id=order.store.owner_id, kind=REFUND_SELLER_NOTICE,
                    params={"number": order.number},
                    link=app_path("orders.seller_order", number=order.number))
    db.session.flush()


def checkout_review_refunded(_kind: str, *, payment: Payment, reason: str) -> None:
    """An admin sent back the money of the checkout's flagged payment: its orders still
    pending and unpaid are cancelled and restocked (`reason` on the order's history)."""
    _cancel_unpaid(payment, reason, stock_reason=StockReason.CANCEL)


def checkout_items(payment: Payment) -> list[PayableItem]:
    """The checkout's orders, in their order, as payments sees them (the hook `items_of`):
    number, store, total, status and payment status as shown, and every refund key an
    order's refunds may carry."""
    if payment.checkout_id is None:
        return []
    orders = db.session.scalars(select(Order).where(Order.checkout_id == payment.checkout_id)
                                .options(joinedload(Order.store)).order_by(Order.id))
    return [PayableItem(
        id=order.id, number=order.number, seller=order.store.name, total=order.total,
        status=str(ORDER_STATUS_LABELS.get(order.status, order.status)),
        payment_status=str(ORDER_PAYMENT_LABELS.get(order.payment_status,
                                                    order.payment_status)),
        refund_keys=tuple(refund_key(order, cause) for cause in RefundCause.ALL))
        for order in orders]


def payment_news_connect() -> None:
    """Register the payable kind "checkout" and connect its handlers (idempotent; called
    when the orders blueprint is registered)."""
    payable_kind_register(PAYABLE_KIND, column="checkout_id", itemised_refunds=True,
                          items_of=checkout_items)
    payment_settled.connect(checkout_settled, sender=PAYABLE_KIND, weak=False)
    payment_closed.connect(checkout_closed, sender=PAYABLE_KIND, weak=False)
    payment_refunded.connect(checkout_refunded, sender=PAYABLE_KIND, weak=False)
    payment_review_refunded.connect(checkout_review_refunded, sender=PAYABLE_KIND,
                                    weak=False)
    refund_done.connect(order_refund_done, sender=PAYABLE_KIND, weak=False)
