"""Refunds: money going back to a buyer for one order, recorded once and paid through the
payment's gateway (or by hand by an admin when the gateway cannot).

    refund_order(order_id, cause)      the job `jobs.payments.refund_order`: an accepted
                                       return ("return") or a paid order cancelled
                                       ("cancelled"); idempotent per order and cause
    refund_from_gateway(payment, note) the gateway says money went back (a `refund` or
                                       `partial_refund` notification): our own refunds
                                       are confirmed, one made elsewhere (the Midtrans
                                       dashboard) refunds what the payment paid for
    refund_review_payment(...)         an admin sends back the money of a flagged payment
    refund_mark_done(refund, actor)    an admin paid it out by hand ("sudah ditransfer")
    refund_retry(refund, actor)        an admin asks the gateway again
    refunds_of_order(order_id)         what the order pages show (`payments/_refunds.html`)

A `Refund` is unique per (order_id, refund_key), the key derived from the order and the
cause (`RCK-20261122-000123-return`), and it is also the gateway's idempotency key: running
the job twice records and pays once. Executing a refund first locks its row (SELECT ... FOR
UPDATE on PostgreSQL; SQLite's write transactions are serialized by BEGIN IMMEDIATE), so two
runs or two admins never pay the same refund twice. Done: the order's payment status goes
`refund_pending -> refunded`, `Payment.refunded_amount` grows, and once the whole payment
went back the payment becomes REFUNDED; the buyer gets an email and an in-app notice. A
gateway that cannot refund the payment type (a bank transfer with Midtrans) leaves the
refund pending, one that refuses (`GatewayError`) marks it failed; admins are told, and pay
it out by hand or try again from the ledger. Services flush; the caller commits.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from flask_babel import lazy_gettext as _l
from sqlalchemy import select, update
from sqlalchemy.orm.attributes import set_committed_value

from app.accounts.models import Role, RoleName, User
from app.audit.services import audit_record
from app.core.clock import utcnow
from app.core.db import add_once, rowcount
from app.core.http import app_path, public_url
from app.core.mail import mail_queue
from app.core.money import format_rupiah
from app.core.notices import N_, notice_kind, notice_send
from app.extensions import db
from app.orders.models import Order, OrderStatus, PaymentStatus, ReturnRequest, ReturnStatus
from app.payments.gateways.base import (
    GatewayError,
    Notification,
    gateway_get,
    method_spec,
    parse_gross_amount,
)
from app.payments.models import Payment, PayStatus, Refund, RefundStatus
from app.payments.services import (
    By,
    PaymentError,
    pay_allowed,
    payment_claim,
    payment_of_checkout,
    payment_transition,
)
from app.payments.signals import payable_announce, payable_kind_of, payment_refunded

log = logging.getLogger(__name__)


class RefundCause:
    RETURN = "return"  # the seller accepted the buyer's return
    CANCELLED = "cancelled"  # a paid order was cancelled (or cancelled before it was paid)
    REVIEW = "review"  # an admin sent back the money of a flagged payment
    GATEWAY = "gateway"  # refunded at the gateway, outside Racik (the Midtrans dashboard)
    ORDER_CAUSES = (RETURN, CANCELLED)


REFUND_STATUS_LABELS: dict[str, Any] = {
    RefundStatus.PENDING: _l("Menunggu pengembalian"),
    RefundStatus.DONE: _l("Dana sudah dikembalikan"),
    RefundStatus.FAILED: _l("Gagal, sedang ditangani admin"),
}
REFUND_REASONS: dict[str, Any] = {
    RefundCause.RETURN: _l("Retur diterima penjual"),
    RefundCause.CANCELLED: _l("Pesanan dibatalkan setelah dibayar"),
    RefundCause.REVIEW: _l("Pembayaran tidak sesuai, dana dikembalikan admin"),
    RefundCause.GATEWAY: _l("Dana dikembalikan lewat gateway pembayaran"),
}
MANUAL_MESSAGE = _l("Metode pembayaran ini tidak dapat dikembalikan lewat gateway; "
                    "transfer manual ke pembeli.")

REFUND_DONE_NOTICE = "refund_done"
REFUND_MANUAL_NOTICE = "refund_manual"
REFUND_SELLER_NOTICE = "refund_gateway_seller"
REFUND_PARTIAL_NOTICE = "refund_gateway_partial"
notice_kind(REFUND_SELLER_NOTICE,
            N_("Dana pesanan %(number)s dikembalikan ke pembeli lewat gateway pembayaran; "
               "pesanan ini tidak boleh dikirim."))
notice_kind(REFUND_PARTIAL_NOTICE,
            N_("Gateway mengembalikan sebagian dana %(amount)s dari pembayaran "
               "%(reference)s di luar Racik; periksa pesanannya."))
notice_kind(REFUND_DONE_NOTICE,
            N_("Dana %(amount)s untuk pesanan %(number)s sudah dikembalikan."))
notice_kind(REFUND_MANUAL_NOTICE,
            N_("Pengembalian dana %(amount)s untuk pesanan %(number)s perlu ditangani: "
               "%(error)s"))


class RefundError(PaymentError):
    """A refund action refused (HTTP 409); nothing was changed."""


@dataclass(frozen=True)
class RefundView:
    """One refund as the order pages show it."""

    amount: int
    status: str
    status_label: str
    reason: str
    created_at: datetime
    done_at: datetime | None


# Reads -------------------------------------------------------------------------------------
def refunds_of_order(order_id: int) -> list[RefundView]:
    """The refunds of one order, oldest first (for `payments/_refunds.html`)."""
    rows = db.session.scalars(select(Refund).where(Refund.order_id == order_id)
                              .order_by(Refund.id)).all()
    return [RefundView(amount=r.amount, status=r.status,
                       status_label=str(REFUND_STATUS_LABELS.get(r.status, r.status)),
                       reason=r.reason, created_at=r.created_at, done_at=r.done_at)
            for r in rows]


def refund_key(order: Order, cause: str) -> str:
    """The refund's idempotency key: one per order and cause (also sent to the gateway)."""
    return f"{order.number}-{cause}"


def refund_by_gateway(payment: Payment) -> bool:
    """False when the gateway cannot pay this payment type back through its API (Midtrans:
    bank transfers and bill payments go back by hand)."""
    if payment.gateway != "midtrans":
        return True
    from app.payments.gateways.midtrans import REFUNDABLE

    payment_type = method_spec(payment.method).payment_type
    # OVO and DANA are charged as QRIS on Midtrans (see the adapter).
    payment_type = "qris" if payment_type in ("ovo", "dana") else payment_type
    return payment_type in REFUNDABLE


# The job -----------------------------------------------------------------------------------
def refund_order(order_id: int, cause: str) -> dict:
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
        amount = db.session.scalar(select(ReturnRequest.refund_amount).where(
            ReturnRequest.order_id == order.id,
            ReturnRequest.status == ReturnStatus.ACCEPTED))
        if not amount:
            log.error("refund of order %s: no accepted return with an amount", order.number)
            return {"refund": None, "status": "skipped"}
    refund = refund_record(payment=payment, order=order, key=refund_key(order, cause),
                     amount=amount, reason=str(REFUND_REASONS[cause]))
    _execute(refund, payment)
    return {"refund": refund.id, "status": refund.status}


def refund_record(*, payment: Payment, order: Order, key: str, amount: int, reason: str) -> Refund:
    """The refund of `order` under `key`, created once (a concurrent run's row is found)."""
    existing = _by_key(order.id, key)
    if existing is not None:
        return existing
    refund = Refund(payment_id=payment.id, order_id=order.id, refund_key=key, amount=amount,
                    reason=reason[:300], status=RefundStatus.PENDING)
    refund, created = add_once(refund, lambda: _by_key(order.id, key))
    if not created:  # a concurrent run recorded it first
        return refund
    log.info("refund %s recorded: %s for order %s", key, amount, order.number)
    return refund


def _by_key(order_id: int, key: str) -> Refund | None:
    return db.session.scalars(select(Refund).where(Refund.order_id == order_id,
                                                   Refund.refund_key == key)).first()


def _locked(refund_id: int) -> Refund:
    """The refund row, locked for this transaction and read afresh."""
    return db.session.execute(
        select(Refund).where(Refund.id == refund_id).with_for_update()
        .execution_options(populate_existing=True)).scalar_one()


def _execute(refund: Refund, payment: Payment, actor: User | None = None) -> bool:
    """Pay `refund` through the gateway unless it is done already. True when it is done
    now; otherwise the refund is pending (to pay by hand) or failed (the gateway refused),
    with the reason in `error`, and admins are told."""
    refund = _locked(refund.id)
    if refund.status == RefundStatus.DONE:
        return False
    if not refund_by_gateway(payment):
        _leave_for_admin(refund, RefundStatus.PENDING, str(MANUAL_MESSAGE))
        return False
    try:
        result = gateway_get(payment.gateway).refund(
            reference=payment.reference, amount=refund.amount, refund_key=refund.refund_key,
            reason=refund.reason)
    except (GatewayError, LookupError) as error:
        log.warning("refund %s: the gateway refused: %s", refund.refund_key, error)
        _leave_for_admin(refund, RefundStatus.FAILED, str(error))
        return False
    if not result.done:  # accepted by the gateway but not final yet
        refund.gateway_reference = result.reference[:80]
        db.session.flush()
        return False
    return refund_complete(refund, payment, gateway_reference=result.reference, actor=actor)


def _leave_for_admin(refund: Refund, status: str, error: str) -> None:
    first = refund.error != error[:300] or refund.status != status
    refund.status, refund.error = status, error[:300]
    db.session.flush()
    if not first:
        return  # admins were told already
    order = db.session.get(Order, refund.order_id)
    admins = db.session.scalars(select(User.id).join(User.roles).where(
        Role.name == RoleName.ADMIN, User.active.is_(True))).all()
    for admin_id in admins:
        notice_send(user_id=admin_id, kind=REFUND_MANUAL_NOTICE,
                    params={"amount": format_rupiah(refund.amount), "number": order.number,
                            "error": refund.error},
                    link=app_path("payments.payment_detail", payment_id=refund.payment_id))


def refund_complete(refund: Refund, payment: Payment, *, gateway_reference: str,
              actor: User | None = None) -> bool:
    """Mark `refund` done (conditional: once) and apply it to the order and the payment;
    audited ("refund.done", `actor` the admin who paid it or asked the gateway again)."""
    now = utcnow()
    previous = refund.status
    values = {"status": RefundStatus.DONE, "done_at": now, "error": "",
              "gateway_reference": gateway_reference[:80]}
    changed = rowcount(db.session.execute(
        update(Refund).where(Refund.id == refund.id, Refund.status != RefundStatus.DONE)
        .values(**values).execution_options(synchronize_session=False)))
    if changed != 1:
        return False
    for key, value in values.items():
        set_committed_value(refund, key, value)
    order_number = db.session.scalar(select(Order.number).where(Order.id == refund.order_id))
    manual = gateway_reference.startswith("manual:")
    audit_record("refund.done", actor=actor, object_type="order", object_id=order_number,
                 before={"status": previous},
                 after={"status": RefundStatus.DONE, "amount": refund.amount,
                        "via": "manual" if manual else "gateway", "payment": payment.reference},
                 note=refund.refund_key)
    db.session.execute(
        update(Order).where(Order.id == refund.order_id,
                            Order.payment_status == PaymentStatus.REFUND_PENDING)
        .values(payment_status=PaymentStatus.REFUNDED, updated_at=now)
        .execution_options(synchronize_session=False))
    db.session.execute(
        update(Payment).where(Payment.id == payment.id)
        .values(refunded_amount=Payment.refunded_amount + refund.amount)
        .execution_options(synchronize_session=False))
    db.session.refresh(payment)
    received = payment.paid_amount if payment.paid_amount is not None else payment.amount
    if payment.refunded_amount >= received and payment.status != PayStatus.REFUNDED:
        payment_transition(payment, PayStatus.REFUNDED)
    db.session.flush()
    _tell_buyer(refund, payment)
    log.info("refund %s done: %s (%s)", refund.refund_key, refund.amount,
             refund.gateway_reference)
    return True


def _tell_buyer(refund: Refund, payment: Payment) -> None:
    order = db.session.get(Order, refund.order_id)
    buyer = db.session.get(User, order.buyer_id)
    amount = format_rupiah(refund.amount)
    notice_send(user_id=buyer.id, kind=REFUND_DONE_NOTICE,
                params={"amount": amount, "number": order.number},
                link=app_path("orders.order_detail", number=order.number))
    mail_queue(to=buyer.email, template="refund_done", locale=buyer.locale,
               subject=_l("Dana dikembalikan: pesanan %(number)s", number=order.number),
               name=buyer.name, order=order, refund=refund, payment=payment,
               whole_payment=refund.refund_key.endswith(f"-{RefundCause.REVIEW}"),
               link=public_url("orders.order_detail", number=order.number))


# Admin actions -----------------------------------------------------------------------------
def refund_review_payment(*, payment: Payment, actor: User, note: str = "") -> Refund:
    """An admin sends back the money of a flagged (REVIEW) payment: the payment becomes
    REFUNDED at once (the decision; a double click changes it once), the amount received is
    recorded as a refund on the checkout's first order and paid through the gateway (or
    left to pay by hand), and the checkout's orders still waiting for payment are cancelled
    and restocked. Raises RefundError (409) when the payment is not in review."""
    from app.orders.lifecycle import Side, TransitionError, order_cancel

    amount = payment.paid_amount or 0
    orders = db.session.scalars(select(Order).where(Order.checkout_id == payment.checkout_id)
                                .order_by(Order.id)).all() if payment.checkout_id else []
    if not review_claim(payment, PayStatus.REFUNDED, actor=actor):
        raise RefundError(_l("Pembayaran %(reference)s tidak lagi menunggu keputusan admin.",
                             reference=payment.reference))
    if amount <= 0 or not orders:  # the caller rolls the decision back
        raise RefundError(_l("Tidak ada dana yang dapat dikembalikan untuk pembayaran ini."))
    reason = str(REFUND_REASONS[RefundCause.REVIEW])
    if note.strip():
        reason = f"{reason}: {note.strip()}"
    refund = refund_record(payment=payment, order=orders[0],
                     key=f"{payment.reference}-{RefundCause.REVIEW}"[:60], amount=amount,
                     reason=reason)
    for order in orders:
        if order.status != OrderStatus.PENDING or order.payment_status != PaymentStatus.UNPAID:
            continue
        try:
            order_cancel(order=order, actor=None, side=Side.SYSTEM,
                         reason=str(REFUND_REASONS[RefundCause.REVIEW]),
                         from_status=OrderStatus.PENDING)
        except TransitionError:
            continue  # moved meanwhile
    _execute(refund, payment, actor)
    log.info("payment %s: review refunded by admin %s (%s)", payment.reference, actor.id,
             refund.status)
    return refund


def review_claim(payment: Payment, to: str, *, actor: User | None = None) -> bool:
    """Move a REVIEW payment to `to`, only from REVIEW (not through `payment_transition`,
    which would judge again from a concurrent change: an admin's "accept" racing this one
    leaves PAID, and PAID -> REFUNDED is legal)."""
    assert pay_allowed(PayStatus.REVIEW, to, By.ADMIN)
    return payment.status == PayStatus.REVIEW and payment_claim(payment, to, actor=actor)


def refund_mark_done(*, refund: Refund, actor: User) -> Refund:
    """An admin paid a pending or failed refund out by hand ("sudah ditransfer manual").
    Raises RefundError (409) when it is done already (a double click changes it once)."""
    refund = _locked(refund.id)
    if refund.status == RefundStatus.DONE:
        raise RefundError(_l("Pengembalian dana ini sudah selesai."))
    payment = db.session.get(Payment, refund.payment_id)
    if not refund_complete(refund, payment, gateway_reference=f"manual:{actor.id}", actor=actor):
        raise RefundError(_l("Pengembalian dana ini sudah selesai."))
    log.info("refund %s paid out by hand by admin %s", refund.refund_key, actor.id)
    return refund


def refund_retry(*, refund: Refund, actor: User) -> Refund:
    """An admin asks the gateway again for a pending or failed refund. Returns the refund
    (done, or still pending/failed with the gateway's reason). Raises RefundError (409)
    when it is done already."""
    refund = _locked(refund.id)
    if refund.status == RefundStatus.DONE:
        raise RefundError(_l("Pengembalian dana ini sudah selesai."))
    payment = db.session.get(Payment, refund.payment_id)
    _execute(refund, payment, actor)
    log.info("refund %s retried by admin %s: %s", refund.refund_key, actor.id, refund.status)
    return refund


# The gateway's news -------------------------------------------------------------------------
def refund_from_gateway(payment: Payment, note: Notification) -> str:
    """The gateway says money of `payment` went back (`refund`: all of it;
    `partial_refund`: some). Our own refunds it lists (by refund_key) are completed if
    they were not yet; money sent back outside Racik (the Midtrans dashboard) refunds
    what the payment paid for when it is the whole remaining amount: `payment_refunded` is
    announced (a checkout's orders get a done refund each: app.orders.payment_news; a
    maklon milestone is unpaid again). Part of the money back outside Racik is recorded on the
    payment and admins are told (it cannot be known which order it was for). Only a PAID
    payment: a flagged one waits for an admin. Returns the outcome (applied | ignored).
    Idempotent: a delivery again finds everything accounted for."""
    payment = db.session.execute(
        select(Payment).where(Payment.id == payment.id).with_for_update()
        .execution_options(populate_existing=True)).scalar_one()
    if payment.status != PayStatus.PAID:
        return "ignored"
    received = payment.paid_amount if payment.paid_amount is not None else payment.amount
    entries = _gateway_refunds(note.payload)
    ours = _our_refunds(payment)
    confirmed = in_flight = 0
    for key, amount in entries:
        if key not in ours:
            continue
        refund = ours[key]
        if refund is None:  # our refund job is paying it right now and will account it
            in_flight += amount
        elif refund.status != RefundStatus.DONE:
            confirmed += refund_complete(refund, payment, gateway_reference=key)
    db.session.refresh(payment)
    total = _gateway_total(note, entries, received)
    outside = total - payment.refunded_amount - in_flight
    if payment.status != PayStatus.PAID or outside <= 0:
        return "applied" if confirmed else "ignored"
    whole = note.transaction_status == "refund" \
        or payment.refunded_amount + in_flight + outside >= received
    reference = note.transaction_id or payment.reference
    kind = payable_kind_of(payment)
    if whole and kind is not None and kind.itemised_refunds:
        # The owning domain accounts it (a checkout: a done refund per order).
        payable_announce(payment_refunded, payment, gateway_reference=f"gateway:{reference}")
    else:
        db.session.execute(
            update(Payment).where(Payment.id == payment.id)
            .values(refunded_amount=Payment.refunded_amount + outside)
            .execution_options(synchronize_session=False))
        db.session.refresh(payment)
        audit_record("payment.gateway_refund", actor=None, object_type="payment",
                     object_id=payment.reference, before={"status": payment.status},
                     after={"amount": outside, "whole": whole,
                            "refunded_amount": payment.refunded_amount},
                     note=reference)
        if whole:
            payment_transition(payment, PayStatus.REFUNDED)
            payable_announce(payment_refunded, payment,
                             gateway_reference=f"gateway:{reference}")
        else:
            _tell_admins(REFUND_PARTIAL_NOTICE, payment,
                         {"amount": format_rupiah(outside), "reference": payment.reference})
    if payment.status == PayStatus.PAID and whole:
        payment_transition(payment, PayStatus.REFUNDED)
    db.session.flush()
    log.info("payment %s: %s back at the gateway (%s)", payment.reference, outside,
             "whole" if whole else "part")
    return "applied"


def _gateway_refunds(payload: dict) -> list[tuple[str, int]]:
    """(refund_key, amount) of each refund the gateway lists (Midtrans `refunds`)."""
    rows = payload.get("refunds") if isinstance(payload, dict) else None
    found = []
    for row in rows if isinstance(rows, list) else []:
        if not isinstance(row, dict):
            continue
        amount = parse_gross_amount(str(row.get("refund_amount", "")))
        if amount:
            found.append((str(row.get("refund_key", "")), amount))
    return found


def _gateway_total(note: Notification, entries: list[tuple[str, int]], received: int) -> int:
    """How much of the payment the gateway says went back in all."""
    total = parse_gross_amount(str(note.payload.get("refund_amount", "")))
    if total is None:
        total = sum(amount for _, amount in entries)
    if not total and note.transaction_status == "refund":
        total = received  # a full refund that does not say how much: all of it
    return total or 0


def _our_refunds(payment: Payment) -> dict[str, Refund | None]:
    """Every refund_key Racik sends for this payment -> its Refund (None: not recorded
    yet, its job is running)."""
    keys: dict[str, Refund | None] = {f"{payment.reference}-{RefundCause.REVIEW}"[:60]: None}
    if payment.checkout_id is not None:
        orders = db.session.scalars(select(Order).where(
            Order.checkout_id == payment.checkout_id)).all()
        for order in orders:
            for cause in (*RefundCause.ORDER_CAUSES, RefundCause.GATEWAY):
                keys[refund_key(order, cause)] = None
    for refund in db.session.scalars(select(Refund).where(Refund.payment_id == payment.id)):
        keys[refund.refund_key] = refund
    return keys


def _tell_admins(kind: str, payment: Payment, params: dict[str, str]) -> None:
    admins = db.session.scalars(select(User.id).join(User.roles).where(
        Role.name == RoleName.ADMIN, User.active.is_(True))).all()
    for admin_id in admins:
        notice_send(user_id=admin_id, kind=kind, params=params,
                    link=app_path("payments.payment_detail", payment_id=payment.id))
