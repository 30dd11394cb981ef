"""Payments: create and charge a checkout's payment, receive gateway notifications, apply
only legal status changes, reconcile, and hand the consequences to jobs after commit.

One table of allowed changes (`PAY_TRANSITIONS`), applied by a conditional UPDATE
(`... WHERE id = :id AND status = :from`), so concurrent or repeated notifications change a
payment once:

    pending -> paid        settlement, or capture with fraud_status accept, of the exact amount
    pending -> review      money arrived but not the amount asked (partial / over-payment)
    pending -> expired | cancelled | denied
    paid    -> refunded    the whole amount went back (app.payments.refunds)
    paid    -> review      the bank reversed a settlement (Mandiri: settlement -> deny)
    expired | cancelled | denied -> review    money arrived after we closed it: admin decides
    review  -> paid | refunded                only an admin's decision, never the gateway's

A "pending" arriving after "settlement" (late, out of order) is stored and ignored. Every
notification is a `PaymentEvent` unique per gateway event: the same one delivered five times
is one row with `deliveries = 5` and one state change. A notification whose status_code is
not the one Midtrans documents for its transaction_status (base.STATUS_CODES) is stored as
"rejected" and changes nothing; with the real Midtrans gateway a notification that moves
money is first confirmed with `GET /v2/{order_id}/status`, and the status answer is applied.

After commit, jobs announce what happened (app.payments.signals) to the domain that sold
what the payment pays for: `jobs.payments.settled` sends `payment_settled` (a checkout's
orders become PAID, get their invoices, buyer and sellers are told: app.orders.payment_news;
a maklon milestone becomes PAID: app.maklon.milestones), `jobs.payments.closed` sends
`payment_closed` (a checkout's unpaid orders are cancelled and restocked). Payments itself
knows neither orders nor maklon. Both jobs are idempotent.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from flask import current_app
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
from app.core.queue import enqueue_after_commit
from app.extensions import db
from app.payments import signals as news
from app.payments.gateways.base import (
    METHODS,
    Gateway,
    GatewayError,
    Notification,
    TransactionNotFound,
    expiry_minutes,
    gateway_get,
    gateway_name,
    status_code_documented,
)
from app.payments.models import Payment, PaymentEvent, PayStatus

log = logging.getLogger(__name__)

class By:
    """Who may make a payment status change: the gateway's news, the system (jobs,
    refunds), or an admin's decision on a flagged payment."""

    GATEWAY = "gateway"
    SYSTEM = "system"
    ADMIN = "admin"


_NEWS = frozenset({By.GATEWAY, By.SYSTEM})
# (from, to) -> who may make it. Anything not listed is refused.
PAY_TRANSITIONS: dict[tuple[str, str], frozenset[str]] = {
    (PayStatus.PENDING, PayStatus.PAID): _NEWS,
    (PayStatus.PENDING, PayStatus.REVIEW): _NEWS,
    (PayStatus.PENDING, PayStatus.EXPIRED): _NEWS,
    (PayStatus.PENDING, PayStatus.CANCELLED): _NEWS,
    (PayStatus.PENDING, PayStatus.DENIED): _NEWS,
    (PayStatus.PAID, PayStatus.REFUNDED): _NEWS,
    (PayStatus.PAID, PayStatus.REVIEW): frozenset({By.GATEWAY}),
    (PayStatus.EXPIRED, PayStatus.REVIEW): _NEWS,
    (PayStatus.CANCELLED, PayStatus.REVIEW): _NEWS,
    (PayStatus.DENIED, PayStatus.REVIEW): _NEWS,
    # A flagged payment leaves review only by an admin's decision (app.payments.review):
    # a second, correct settlement does not make it paid.
    (PayStatus.REVIEW, PayStatus.PAID): frozenset({By.ADMIN}),
    (PayStatus.REVIEW, PayStatus.REFUNDED): frozenset({By.ADMIN}),
}


def pay_allowed(current: str, to: str, by: str) -> bool:
    """True when PAY_TRANSITIONS lets `by` move a payment from `current` to `to`."""
    return by in PAY_TRANSITIONS.get((current, to), frozenset())

PAY_STATUS_LABELS: dict[str, Any] = {
    PayStatus.PENDING: _l("Menunggu pembayaran"),
    PayStatus.PAID: _l("Lunas"),
    PayStatus.EXPIRED: _l("Kedaluwarsa"),
    PayStatus.CANCELLED: _l("Dibatalkan"),
    PayStatus.DENIED: _l("Ditolak"),
    PayStatus.REVIEW: _l("Perlu diperiksa admin"),
    PayStatus.REFUNDED: _l("Dana dikembalikan"),
}

# Gateway transaction_status -> our status (capture depends on fraud_status).
GATEWAY_STATUS = {
    "settlement": PayStatus.PAID,
    "expire": PayStatus.EXPIRED,
    "cancel": PayStatus.CANCELLED,
    "deny": PayStatus.DENIED,
    "failure": PayStatus.DENIED,
    "refund": PayStatus.REFUNDED,
}
CLOSED = (PayStatus.EXPIRED, PayStatus.CANCELLED, PayStatus.DENIED)
# Past its expiry a pending payment is asked about after this grace (the gateway's clock).
RECONCILE_GRACE = timedelta(minutes=2)

PAYMENT_REVIEW_NOTICE = "payment_review"
notice_kind(PAYMENT_REVIEW_NOTICE,
            N_("Pembayaran %(reference)s perlu diperiksa: %(reason)s"))


class PaymentError(Exception):
    """A payment action refused (HTTP 409/422); nothing was changed."""

    def __init__(self, message: object):
        super().__init__(str(message))
        self.message = str(message)


class NotificationDeferred(Exception):
    """A notification that cannot be judged now (the gateway's status lookup failed):
    nothing is stored, the webhook answers 503 and the gateway delivers it again."""


@dataclass
class Received:
    event: PaymentEvent
    outcome: str  # applied | ignored | flagged | duplicate | unknown | rejected | checked
    reason: str = ""  # why it was rejected


# Creating and charging ---------------------------------------------------------------------
def payment_method_refusal(method: str, amount: int) -> str:
    """Why `method` cannot pay `amount` ("" when it can): an unknown method, or more than
    a retail-outlet cashier takes in one payment (PAYMENT_CSTORE_MAX_AMOUNT)."""
    spec = METHODS.get(method)
    if spec is None:
        return str(_l("Pilih metode pembayaran."))
    limit = int(current_app.config["PAYMENT_CSTORE_MAX_AMOUNT"])
    if spec.kind == "cstore" and amount > limit:
        return str(_l("Pembayaran di gerai retail paling banyak %(limit)s sekali bayar. "
                      "Pilih Virtual Account, e-wallet, atau QRIS untuk %(amount)s.",
                      limit=format_rupiah(limit), amount=format_rupiah(amount)))
    return ""


def payment_create(*, reference: str, payer_id: int, method: str, amount: int,
                   **payable: int) -> Payment:
    """A new PENDING payment of `amount` by `method` for one payable (`checkout_id=` or
    `milestone_id=`, a registered kind's column), in the caller's transaction (flushes).
    The gateway is asked for the payment details by `payment_charge_committed` after the
    caller commits."""
    now = utcnow()
    payment = Payment(
        reference=reference, payer_id=payer_id, gateway=gateway_name(), method=method,
        amount=amount, status=PayStatus.PENDING,
        expires_at=now + timedelta(minutes=expiry_minutes(method)), created_at=now,
        **payable)
    db.session.add(payment)
    db.session.flush()
    return payment


def payment_of_checkout(checkout_id: int) -> Payment | None:
    return db.session.scalars(select(Payment).where(Payment.checkout_id == checkout_id)).first()


def payment_charge(payment: Payment) -> bool:
    """Ask the gateway for what the buyer needs (VA number, bill key, deeplink, QRIS,
    retail-outlet payment code) once.
    Returns True when the payment is charged; on a gateway failure records the error and
    returns False (the payment page offers to try again). Flushes."""
    if payment.charged_at is not None or payment.status != PayStatus.PENDING:
        return payment.charged_at is not None
    buyer = db.session.get(User, payment.payer_id)
    try:
        charge = gateway_get(payment.gateway).charge(
            reference=payment.reference, amount=payment.amount, method=payment.method,
            expires_at=payment.expires_at,
            customer={"first_name": buyer.name[:50], "email": buyer.email,
                      "phone": buyer.phone})
    except (GatewayError, LookupError) as error:
        payment.charge_error = str(error)[:300]
        db.session.flush()
        log.warning("payment %s: charge failed: %s", payment.reference, error)
        return False
    payment.transaction_id = charge.transaction_id
    payment.va_number, payment.bill_key = charge.va_number, charge.bill_key
    payment.biller_code, payment.qr_string = charge.biller_code, charge.qr_string
    payment.deeplink_url, payment.payment_code = charge.deeplink_url, charge.payment_code
    payment.charged_at, payment.charge_error = utcnow(), ""
    db.session.flush()
    log.info("payment %s charged at %s (%s)", payment.reference, payment.gateway,
             payment.method)
    return True


def payment_charge_committed(payment: Payment | None, *, locked: bool = False) -> bool:
    """The one way a request charges a payment it just created or retries: commit what
    the caller wrote (the payment row, the checkout that made it), then ask the gateway
    outside that transaction (`payment_charge`: no stock or counter lock is held during
    the call) and commit its answer. True when the payment is charged (now or already);
    False when there is no payment or the gateway failed (recorded on the payment: the
    payment page offers to try again).

    `locked`: the caller holds the payment's row lock (a retry, SELECT ... FOR UPDATE)
    and checked it is still chargeable; nothing is committed before the call, so two
    retries never charge twice."""
    if not locked:
        db.session.commit()
    if payment is None:
        return False
    if payment.charged_at is not None:
        return True
    charged = payment_charge(payment)
    db.session.commit()
    return charged


# Notifications -----------------------------------------------------------------------------
# A notification with one of these statuses moves money (or takes it back): with a gateway
# that `confirms_by_status`, its status answer is applied instead.
CONFIRM_STATUSES = frozenset({"settlement", "capture", "refund", "partial_refund", "deny"})


def notification_receive(gateway: Gateway, payload: object) -> Received:
    """Verify, store and apply one notification received by `gateway`'s webhook. Raises
    NotificationRejected (nothing written) for a forged or malformed one, and
    NotificationDeferred (nothing written) when the gateway's confirmation cannot be had
    now."""
    note = gateway.verify(payload)
    return notification_record(note, source="notification", confirm_with=gateway)


def notification_record(note: Notification, *, source: str,
                        confirm_with: Gateway | None = None) -> Received:
    """Store `note` once (a repeat only counts a delivery) and apply it when new. A
    status_code Midtrans does not document for the transaction_status is stored as
    "rejected" and changes nothing. With `confirm_with` a gateway that confirms by
    status, news that moves money is checked with its status lookup: the notification
    is stored as "checked" and the status answer is what gets applied."""
    existing = _event_by_key(note.event_key)
    if existing is not None:
        _count_delivery(existing)
        if existing.outcome == "rejected":
            return Received(existing, "rejected", _rejection(note))
        if existing.outcome == "checked" and existing.payment is not None:
            if confirm_with is not None:
                # Delivered again: ask again (the gateway may know more now).
                return _confirmed(existing.payment, note, confirm_with)
            if source == "status_check":
                # The gateway's status says just what the notification said: now it counts.
                existing.outcome = payment_apply(existing.payment, note)
                db.session.flush()
                return Received(existing, existing.outcome)
        return Received(existing, "duplicate")
    payment = db.session.scalars(select(Payment).where(
        Payment.reference == note.order_id)).first()
    event = PaymentEvent(
        event_key=note.event_key, payment_id=payment.id if payment else None,
        gateway=note.gateway, source=source, order_id=note.order_id[:60],
        transaction_id=note.transaction_id[:80],
        transaction_status=note.transaction_status[:30], fraud_status=note.fraud_status[:20],
        status_code=note.status_code[:5], gross_amount=note.gross_amount[:30],
        payment_type=note.payment_type[:30], payload=note.payload)
    event, created = add_once(event, lambda: _event_by_key(note.event_key))
    if not created:  # the same notification, stored by a concurrent request that won
        _count_delivery(event)
        return Received(event, "duplicate")
    if payment is None:
        event.outcome = "unknown"
        log.warning("%s notification for unknown order_id %s", note.gateway, note.order_id)
        return Received(event, "unknown")
    if not status_code_documented(note.transaction_status, note.status_code):
        event.outcome = "rejected"
        reason = _rejection(note)
        log.warning("payment %s: %s notification rejected: %s", payment.reference,
                    note.gateway, reason)
        audit_record("payment.notification_rejected", actor=None, object_type="payment",
                     object_id=payment.reference, before={"status": payment.status},
                     after={"transaction_status": note.transaction_status[:30],
                            "status_code": note.status_code[:5]}, note=reason)
        db.session.flush()
        return Received(event, "rejected", reason)
    if payment.gateway != note.gateway:
        event.outcome = "ignored"
        log.warning("payment %s belongs to %s, not %s", payment.reference, payment.gateway,
                    note.gateway)
        return Received(event, "ignored")
    if confirm_with is not None and confirm_with.confirms_by_status \
            and note.transaction_status in CONFIRM_STATUSES:
        event.outcome = "checked"
        db.session.flush()
        return _confirmed(payment, note, confirm_with)
    event.outcome = payment_apply(payment, note)
    db.session.flush()
    return Received(event, event.outcome)


def _confirmed(payment: Payment, note: Notification, gateway: Gateway) -> Received:
    """Ask `gateway` for the transaction's status and apply its answer instead of `note`.
    Raises NotificationDeferred when the lookup fails."""
    try:
        answer = gateway.status(note.order_id)
    except GatewayError as error:
        log.warning("payment %s: cannot confirm %s with the gateway: %s",
                    payment.reference, note.transaction_status, error)
        raise NotificationDeferred(str(error)) from error
    checked = notification_record(answer, source="status_check")
    log.info("payment %s: %s notification checked, the gateway says %s (%s)",
             payment.reference, note.transaction_status, answer.transaction_status,
             checked.outcome)
    return checked


def _rejection(note: Notification) -> str:
    return (f"status_code {note.status_code!r} is not what Midtrans sends for "
            f"transaction_status {note.transaction_status!r}")


def _event_by_key(key: str) -> PaymentEvent | None:
    return db.session.scalars(select(PaymentEvent).where(PaymentEvent.event_key == key)).first()


def _count_delivery(event: PaymentEvent) -> None:
    db.session.execute(update(PaymentEvent).where(PaymentEvent.id == event.id)
                       .values(deliveries=PaymentEvent.deliveries + 1)
                       .execution_options(synchronize_session=False))


def target_status(note: Notification) -> str | None:
    """Our status for the gateway's news, or None when it changes nothing (pending, a
    capture under fraud challenge, a partial refund)."""
    if note.transaction_status == "capture":
        return PayStatus.PAID if note.fraud_status in ("accept", "") else None
    return GATEWAY_STATUS.get(note.transaction_status)


def payment_apply(payment: Payment, note: Notification) -> str:
    """Apply the gateway's news to `payment` if it is a legal step for the gateway.
    Returns the outcome: applied, ignored (not legal from the current status, or no
    change) or flagged (money that does not match, or a settlement reversed: status
    REVIEW, an admin decides). A refund goes through app.payments.refunds (the orders or
    the milestone it paid for follow). When a concurrent change wins the race, the news
    is judged again from the new status."""
    if note.transaction_status in ("refund", "partial_refund"):
        from app.payments.refunds import refund_from_gateway

        return refund_from_gateway(payment, note)
    for _ in range(3):
        target, values = _judge(payment, note)
        if target is None or not pay_allowed(payment.status, target, By.GATEWAY):
            return "ignored"
        if payment_claim(payment, target, values):
            if target == PayStatus.REVIEW:
                _tell_admins_review(payment, str(values["flag_reason"]))
                return "flagged"
            _after_change(payment, target)
            return "applied"
        db.session.refresh(payment)
    return "ignored"


def _judge(payment: Payment, note: Notification) -> tuple[str | None, dict[str, object]]:
    """Our target status for `note` given the payment's current status, and the values to
    store with it: money is checked against the amount asked and the payment's state."""
    target = target_status(note)
    values: dict[str, object] = {}
    if target == PayStatus.DENIED and payment.status == PayStatus.PAID:
        # Mandiri may reverse a settlement to deny: nothing is undone automatically (the
        # seller may have shipped); an admin looks at it.
        values["flag_reason"] = str(_l(
            "Bank membatalkan (deny) pembayaran yang sudah lunas; periksa sebelum pesanan "
            "dikirim."))[:300]
        return PayStatus.REVIEW, values
    if target != PayStatus.PAID:
        return target, values
    received = note.amount
    values.update(paid_amount=received, paid_at=utcnow())
    reason = ""
    if payment.status in CLOSED:
        reason = str(_l("Dana %(amount)s masuk setelah pembayaran ditutup (%(status)s).",
                        amount=format_rupiah(received or 0),
                        status=PAY_STATUS_LABELS[payment.status]))
    elif received != payment.amount:
        reason = str(_l("Dibayar %(paid)s, seharusnya %(amount)s.",
                        paid=format_rupiah(received or 0),
                        amount=format_rupiah(payment.amount)))
    if reason:
        values["flag_reason"] = reason[:300]
        return PayStatus.REVIEW, values
    return target, values


def payment_transition(payment: Payment, to: str, *, by: str = By.SYSTEM,
                       **values: object) -> bool:
    """Move `payment` to `to` if PAY_TRANSITIONS allows it to `by` from its current status,
    with a conditional UPDATE (a concurrent change wins once). Returns False when not
    legal."""
    for _ in range(3):
        if not pay_allowed(payment.status, to, by):
            return False
        if payment_claim(payment, to, dict(values)):
            return True
        db.session.refresh(payment)  # somebody else moved it; judge again from there
    return False


def payment_claim(payment: Payment, to: str, values: dict[str, object] | None = None,
                  *, actor: User | None = None) -> bool:
    """One conditional UPDATE from the status we read (`payment.status`) to `to`: False
    when another change won. No legality check and no second judgement: callers decide
    (`payment_apply`, `payment_transition`, an admin's decision on a flagged payment).
    The change is audited ("payment.status"; `actor` None: the gateway or the system)."""
    current = payment.status
    now = utcnow()
    values = {"status": to, "updated_at": now, **(values or {})}
    if to in CLOSED:
        values["closed_at"] = now
    changed = rowcount(db.session.execute(
        update(Payment).where(Payment.id == payment.id, Payment.status == current)
        .values(**values).execution_options(synchronize_session=False)))
    if changed != 1:
        return False
    for key, value in values.items():
        set_committed_value(payment, key, value)
    after: dict[str, object] = {"status": to}
    if values.get("paid_amount") is not None:
        after["paid_amount"] = values["paid_amount"]
    audit_record("payment.status", actor=actor, object_type="payment",
                 object_id=payment.reference, before={"status": current}, after=after)
    log.info("payment %s: %s -> %s", payment.reference, current, to)
    return True


def _after_change(payment: Payment, to: str) -> None:
    if to == PayStatus.PAID:
        enqueue_after_commit("jobs.payments.settled", payment.id, queue="default")
    elif to in CLOSED:
        enqueue_after_commit("jobs.payments.closed", payment.id, queue="default")


def _tell_admins_review(payment: Payment, reason: str) -> None:
    log.warning("payment %s flagged for review: %s", payment.reference, reason)
    news.payable_announce(news.payment_flagged, payment, reason=reason)
    admins = db.session.scalars(select(User.id).join(User.roles).where(
        Role.name == RoleName.ADMIN, User.active.is_(True))).all()
    for admin_id in admins:
        notice_send(user_id=admin_id, kind=PAYMENT_REVIEW_NOTICE,
                    params={"reference": payment.reference, "reason": reason},
                    link=app_path("payments.ledger", status=PayStatus.REVIEW))


# Reconciliation ----------------------------------------------------------------------------
def payments_reconcile(*, limit: int = 200) -> dict[str, int]:
    """Cron: ask the gateway about payments still pending past their expiry and apply its
    answer (a lost expire or settlement notification). Returns counts."""
    due = utcnow() - RECONCILE_GRACE
    ids = db.session.scalars(select(Payment.id).where(
        Payment.status == PayStatus.PENDING, Payment.expires_at <= due)
        .order_by(Payment.expires_at).limit(limit)).all()
    db.session.commit()
    checked = changed = failed = 0
    for payment_id in ids:
        payment = db.session.get(Payment, payment_id)
        if payment is None or payment.status != PayStatus.PENDING:
            continue
        checked += 1
        try:
            note = gateway_get(payment.gateway).status(payment.reference)
        except (GatewayError, LookupError) as error:
            # Never charged (the gateway was down at checkout), or the gateway has no such
            # transaction: nobody can have paid it. (Money arriving after all moves the
            # expired payment on to review.)
            if payment.charged_at is None or isinstance(error, TransactionNotFound):
                log.warning("payment %s: expired, the gateway has no transaction (%s)",
                            payment.reference, error)
                if payment_transition(payment, PayStatus.EXPIRED):
                    changed += 1
                    _after_change(payment, PayStatus.EXPIRED)
            else:
                failed += 1
                log.warning("payment %s: status lookup failed: %s", payment.reference, error)
            payment.last_checked_at = utcnow()
            db.session.commit()
            continue
        payment.last_checked_at = utcnow()
        received = notification_record(note, source="status_check")
        changed += received.outcome in ("applied", "flagged")
        db.session.commit()
    return {"checked": checked, "changed": changed, "failed": failed}


# Consequences (jobs, after commit) ---------------------------------------------------------
def payment_settled(payment_id: int) -> dict[str, int]:
    """A PAID payment: announce `payment_settled` to what it pays for (a checkout's orders
    become PAID, invoices, people told; a milestone is marked paid). Returns the handlers'
    counts {"paid", "refunds"}. Idempotent: the handlers change things once."""
    payment = db.session.get(Payment, payment_id)
    if payment is None or payment.status != PayStatus.PAID:
        return {"paid": 0, "refunds": 0}
    counts = news.counts_sum(news.payable_announce(news.payment_settled, payment),
                             paid=0, refunds=0)
    db.session.flush()
    log.info("payment %s settled: %s paid, %s refunds", payment.reference, counts["paid"],
             counts["refunds"])
    return counts


def payment_closed(payment_id: int) -> dict[str, int]:
    """Expired, cancelled or denied: announce `payment_closed` (a checkout's unpaid pending
    orders are cancelled and restocked; a milestone stays unpaid). Idempotent."""
    payment = db.session.get(Payment, payment_id)
    # closed_at, not the status: money arriving meanwhile may have moved it on to review.
    if payment is None or payment.closed_at is None:
        return {"cancelled": 0}
    expired = payment.status == PayStatus.EXPIRED or db.session.scalar(
        select(PaymentEvent.id).where(PaymentEvent.payment_id == payment.id,
                                      PaymentEvent.transaction_status == "expire")) is not None
    counts = news.counts_sum(
        news.payable_announce(news.payment_closed, payment, expired=expired), cancelled=0)
    log.info("payment %s %s: %s cancelled", payment.reference, payment.status,
             counts["cancelled"])
    return counts
