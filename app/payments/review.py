"""An admin's decisions on a flagged payment (status REVIEW: money arrived but not the amount
asked, or after the payment was closed).

    payment_review_accept(...)   "Terima pembayaran": REVIEW -> PAID, then the settled job
                                 marks the orders paid (a cancelled one gets its refund)
    payment_review_refund(...)   "Kembalikan dana": REVIEW -> REFUNDED, the money received
                                 goes back (`refunds.refund_review_payment`)

Each is a conditional change from REVIEW (a double click changes once; the second raises
PaymentError, HTTP 409) and leaves a trace among the payment's events (source "admin":
who, when, the note) and in the audit log ("payment.decision"). Services flush; the route
commits.
"""

from __future__ import annotations

import hashlib
import logging
import uuid

from flask_babel import lazy_gettext as _l

from app.accounts.models import User
from app.audit.services import audit_record
from app.core.queue import enqueue_after_commit
from app.extensions import db
from app.payments.models import Payment, PaymentEvent, PayStatus, Refund
from app.payments.refunds import refund_review_payment, review_claim
from app.payments.services import PaymentError

log = logging.getLogger(__name__)

NOTE_MAX = 300
ADMIN_ACCEPT = "admin_accept"
ADMIN_REFUND = "admin_refund"
DECISIONS = {ADMIN_ACCEPT: "accept", ADMIN_REFUND: "refund"}  # as the audit log names them


def payment_review_accept(*, payment: Payment, actor: User, note: str = "") -> None:
    """Accept the money of a flagged payment as payment: REVIEW -> PAID, then (after
    commit) `jobs.payments.settled`. Raises PaymentError (409) unless it is in review."""
    if not review_claim(payment, PayStatus.PAID, actor=actor):
        raise PaymentError(_l("Pembayaran %(reference)s tidak lagi menunggu keputusan admin.",
                              reference=payment.reference))
    _admin_event(payment, actor, ADMIN_ACCEPT, note)
    enqueue_after_commit("jobs.payments.settled", payment.id, queue="default")
    log.info("payment %s accepted by admin %s", payment.reference, actor.id)


def payment_review_refund(*, payment: Payment, actor: User, note: str = "") -> Refund:
    """Send the money of a flagged payment back. Raises RefundError (409) unless it is in
    review or when nothing was received."""
    refund = refund_review_payment(payment=payment, actor=actor, note=note)
    _admin_event(payment, actor, ADMIN_REFUND, note)
    return refund


def _admin_event(payment: Payment, actor: User, action: str, note: str) -> PaymentEvent:
    audit_record("payment.decision", actor=actor, object_type="payment",
                 object_id=payment.reference, before={"status": PayStatus.REVIEW},
                 after={"status": payment.status, "decision": DECISIONS[action]},
                 note=note.strip())
    key = hashlib.sha256(f"admin\x1f{payment.id}\x1f{action}\x1f{uuid.uuid4().hex}"
                         .encode()).hexdigest()
    event = PaymentEvent(
        event_key=key, payment_id=payment.id, gateway=payment.gateway, source="admin",
        order_id=payment.reference[:60], transaction_status=action, outcome="applied",
        payload={"actor_id": actor.id, "actor": actor.name, "note": note.strip()[:NOTE_MAX]})
    db.session.add(event)
    db.session.flush()
    return event
