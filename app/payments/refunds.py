"""Refunds, executed: money going back to a payer for one item of what a payment paid for
(a checkout's order), recorded once and paid through the payment's gateway (or by hand by
an admin when the gateway cannot). When and how much is the payable kind's rule (orders:
app.orders.refunds, the job `jobs.payments.refund_order`); payments records, pays, accounts
and tells the kind (`refund_done`, app.payments.signals).

    refund_record(payment=, order_id=, key=, ...)  the refund of one item under `key`,
                                       recorded once (`order_id`: the item, Refund.order_id)
    refund_execute(refund, payment)    pay it through the gateway, unless it is done
    refund_complete(refund, payment, ...)  mark it done once: the kind is told
                                       (`refund_done`), the payment's `refunded_amount`
                                       grows, the payment is REFUNDED once all went back
    refund_from_gateway(payment, note) the gateway says money went back (a `refund` or
                                       `partial_refund` notification): our own refunds
                                       are confirmed, one made elsewhere (the Midtrans
                                       dashboard) refunds what the payment paid for
    refund_review_payment(...)         an admin sends back the money of a flagged payment
    refund_mark_done(refund, actor)    an admin paid it out by hand ("sudah ditransfer")
    refund_retry(refund, actor)        an admin asks the gateway again
    refunds_of_order(order_id)         what the order pages show (`payments/_refunds.html`)

A `Refund` is unique per (order_id, refund_key), the key given by the kind
(`RCK-20261122-000123-return`; an admin's refund of a flagged payment is
`<payment reference>-review`), and it is also the gateway's idempotency key: recording and
executing twice records and pays once. Executing a refund first locks its row (SELECT ...
FOR UPDATE on PostgreSQL; SQLite's write transactions are serialized by BEGIN IMMEDIATE), so
two runs or two admins never pay the same refund twice. Done: the kind is told (it audits
"refund.done", the order is refunded, its buyer told), `Payment.refunded_amount` grows, and
once the whole payment went back the payment becomes REFUNDED. A gateway that cannot
refund the payment type (a bank transfer with Midtrans) leaves the refund pending, one that
refuses (`GatewayError`) marks it failed; admins are told (the notice names the item, as
the kind's `items_of` describes it), and pay it out by hand or try again from the ledger.
Services flush; the caller commits.
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
from app.core.http import app_path
from app.core.money import format_rupiah
from app.core.notices import N_, notice_kind, notice_send
from app.extensions import db
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
    payment_transition,
)
from app.payments.signals import (
    payable_announce,
    payable_items,
    payable_kind_of,
    payment_refunded,
    payment_review_refunded,
    refund_done,
)

log = logging.getLogger(__name__)


# The cause of an admin's refund of a flagged payment (the payable kind names its own:
# app.orders.refunds.RefundCause), the last part of its refund_key.
REVIEW_CAUSE = "review"

REFUND_STATUS_LABELS: dict[str, Any] = {
    RefundStatus.PENDING: _l("Menunggu pengembalian"),
    RefundStatus.DONE: _l("Dana sudah dikembalikan"),
    RefundStatus.FAILED: _l("Gagal, sedang ditangani admin"),
}
REVIEW_REASON = _l("Pembayaran tidak sesuai, dana dikembalikan admin")
MANUAL_MESSAGE = _l("Metode pembayaran ini tidak dapat dikembalikan lewat gateway; "
                    "transfer manual ke pembeli.")

REFUND_MANUAL_NOTICE = "refund_manual"
REFUND_PARTIAL_NOTICE = "refund_gateway_partial"
notice_kind(REFUND_PARTIAL_NOTICE,
            N_("Gateway mengembalikan sebagian dana %(amount)s dari pembayaran "
               "%(reference)s di luar Racik; periksa pesanannya."))
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


def review_refund_key(payment: Payment) -> str:
    """The key of an admin's refund of all of a flagged payment (also sent to the
    gateway)."""
    return f"{payment.reference}-{REVIEW_CAUSE}"[:60]


def refund_of_whole_payment(refund: Refund) -> bool:
    """True for an admin's refund of all the money of a flagged payment (recorded on its
    first item), False for the refund of one item."""
    return refund.refund_key.endswith(f"-{REVIEW_CAUSE}")


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


# Recording and paying ------------------------------------------------------------------
def refund_record(*, payment: Payment, order_id: int, key: str, amount: int,
                  reason: str) -> Refund:
    """The refund of the item `order_id` of `payment` under `key`, created once (a
    concurrent run's row is found)."""
    existing = _by_key(order_id, key)
    if existing is not None:
        return existing
    refund = Refund(payment_id=payment.id, order_id=order_id, refund_key=key, amount=amount,
                    reason=reason[:300], status=RefundStatus.PENDING)
    refund, created = add_once(refund, lambda: _by_key(order_id, key))
    if not created:  # a concurrent run recorded it first
        return refund
    log.info("refund %s recorded: %s of payment %s", key, amount, payment.reference)
    return refund


def _by_key(order_id: int, key: str) -> Refund | None:
    return db.session.scalars(select(Refund).where(Refund.order_id == order_id,
                                                   Refund.refund_key == key)).first()


def _locked(refund_id: int) -> Refund:
    """The refund row, locked for this transaction and read afresh."""
    return db.session.execute(
        select(Refund).where(Refund.id == refund_id).with_for_update()
        .execution_options(populate_existing=True)).scalar_one()


def refund_execute(refund: Refund, payment: Payment, actor: User | None = None) -> bool:
    """Pay `refund` through the gateway unless it is done already. True when it is done
    now; otherwise the refund is pending (to pay by hand) or failed (the gateway refused),
    with the reason in `error`, and admins are told."""
    refund = _locked(refund.id)
    if refund.status == RefundStatus.DONE:
        return False
    if not refund_by_gateway(payment):
        _leave_for_admin(refund, payment, RefundStatus.PENDING, str(MANUAL_MESSAGE))
        return False
    try:
        result = gateway_get(payment.gateway).refund(
            reference=payment.reference, amount=refund.amount, refund_key=refund.refund_key,
            reason=refund.reason)
    except (GatewayError, LookupError) as error:
        log.warning("refund %s: the gateway refused: %s", refund.refund_key, error)
        _leave_for_admin(refund, payment, RefundStatus.FAILED, str(error))
        return False
    if not result.done:  # accepted by the gateway but not final yet
        refund.gateway_reference = result.reference[:80]
        db.session.flush()
        return False
    return refund_complete(refund, payment, gateway_reference=result.reference, actor=actor)


def _leave_for_admin(refund: Refund, payment: Payment, status: str, error: str) -> None:
    first = refund.error != error[:300] or refund.status != status
    refund.status, refund.error = status, error[:300]
    db.session.flush()
    if not first:
        return  # admins were told already
    number = next((item.number for item in payable_items(payment)
                   if item.id == refund.order_id), "")
    admins = db.session.scalars(select(User.id).join(User.roles).where(
        Role.name == RoleName.ADMIN, User.active.is_(True))).all()
    for admin_id in admins:
        notice_send(user_id=admin_id, kind=REFUND_MANUAL_NOTICE,
                    params={"amount": format_rupiah(refund.amount), "number": number,
                            "error": refund.error},
                    link=app_path("payments.payment_detail", payment_id=refund.payment_id))


def refund_complete(refund: Refund, payment: Payment, *, gateway_reference: str,
                    actor: User | None = None) -> bool:
    """Mark `refund` done (conditional: once), tell the payment's kind (`refund_done`:
    checkout audits "refund.done" with `actor`, the admin who paid it or asked the gateway
    again, refunds the order and tells its buyer), then add it to the payment's
    `refunded_amount` (REFUNDED once all of it went back). False when it was done
    already."""
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
    # The kind first, so its audit row comes before the payment's status change.
    payable_announce(refund_done, payment, refund=refund, previous=previous, actor=actor,
                     via="manual" if gateway_reference.startswith("manual:") else "gateway")
    db.session.execute(
        update(Payment).where(Payment.id == payment.id)
        .values(refunded_amount=Payment.refunded_amount + refund.amount)
        .execution_options(synchronize_session=False))
    db.session.refresh(payment)
    received = payment.paid_amount if payment.paid_amount is not None else payment.amount
    if payment.refunded_amount >= received and payment.status != PayStatus.REFUNDED:
        payment_transition(payment, PayStatus.REFUNDED)
    db.session.flush()
    log.info("refund %s done: %s (%s)", refund.refund_key, refund.amount,
             refund.gateway_reference)
    return True


# Admin actions -----------------------------------------------------------------------------
def refund_review_payment(*, payment: Payment, actor: User, note: str = "") -> Refund:
    """An admin sends back the money of a flagged (REVIEW) payment: the payment becomes
    REFUNDED at once (the decision; a double click changes it once), the amount received is
    recorded as a refund on the first item it paid for (`items_of`: the checkout's first
    order), the kind gives up what still waits for it (`payment_review_refunded`: the
    checkout's orders still waiting for payment are cancelled and restocked), and the
    refund is paid through the gateway (or left to pay by hand). Raises RefundError (409)
    when the payment is not in review, or received nothing or paid for no item (a
    milestone)."""
    amount = payment.paid_amount or 0
    items = payable_items(payment)
    if not review_claim(payment, PayStatus.REFUNDED, actor=actor):
        raise RefundError(_l("Pembayaran %(reference)s tidak lagi menunggu keputusan admin.",
                             reference=payment.reference))
    if amount <= 0 or not items:  # the caller rolls the decision back
        raise RefundError(_l("Tidak ada dana yang dapat dikembalikan untuk pembayaran ini."))
    reason = str(REVIEW_REASON)
    if note.strip():
        reason = f"{reason}: {note.strip()}"
    refund = refund_record(payment=payment, order_id=items[0].id,
                           key=review_refund_key(payment), amount=amount, reason=reason)
    payable_announce(payment_review_refunded, payment, reason=str(REVIEW_REASON))
    refund_execute(refund, payment, actor)
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
    payment = db.session.get_one(Payment, refund.payment_id)  # FK, RESTRICT
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
    payment = db.session.get_one(Payment, refund.payment_id)  # FK, RESTRICT
    refund_execute(refund, payment, actor)
    log.info("refund %s retried by admin %s: %s", refund.refund_key, actor.id, refund.status)
    return refund


# The gateway's news -------------------------------------------------------------------------
def refund_from_gateway(payment: Payment, note: Notification) -> str:
    """The gateway says money of `payment` went back (`refund`: all of it;
    `partial_refund`: some). Our own refunds it lists (by refund_key) are completed if
    they were not yet; money sent back outside Racik (the Midtrans dashboard) refunds
    what the payment paid for when it is the whole remaining amount: `payment_refunded` is
    announced (a checkout's orders get a done refund each: app.orders.payment_news; a
    maklon milestone is unpaid again). Part of the money back outside Racik is recorded on
    the payment and admins are told (it cannot be known which item it was for). Only a PAID
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
    """Every refund_key Racik sends for this payment (an admin's, and those its kind lists
    per item) -> its Refund (None: not recorded yet, its job is running)."""
    keys: dict[str, Refund | None] = {review_refund_key(payment): None}
    for item in payable_items(payment):
        for key in item.refund_keys:
            keys[key] = None
    for refund in db.session.scalars(select(Refund).where(Refund.payment_id == payment.id)):
        keys[refund.refund_key] = refund
    return keys


def _tell_admins(kind: str, payment: Payment, params: dict[str, str]) -> None:
    admins = db.session.scalars(select(User.id).join(User.roles).where(
        Role.name == RoleName.ADMIN, User.active.is_(True))).all()
    for admin_id in admins:
        notice_send(user_id=admin_id, kind=kind, params=params,
                    link=app_path("payments.payment_detail", payment_id=payment.id))
