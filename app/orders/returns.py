"""Returns: within 7 days of delivery the buyer may ask to return an order (once per
order, with a reason); the seller accepts (the stock goes back, the order becomes RETURNED,
the refund amount is recorded) or rejects with a reason. Both sides hear of it by email.

Decisions use a conditional UPDATE on the request's status, so two clicks (or the seller in
two tabs) never decide twice. Services flush, never commit.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta
from typing import Any

from flask_babel import lazy_gettext as _l
from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm.attributes import set_committed_value

from app.accounts.models import User
from app.core.clock import utcnow
from app.core.db import rowcount
from app.core.http import app_path, public_url
from app.core.mail import mail_queue
from app.core.notices import N_, notice_kind, notice_send
from app.core.queue import enqueue_after_commit
from app.extensions import db
from app.orders.lifecycle import OrderError, Side, TransitionError, order_transition
from app.orders.models import Order, OrderStatus, PaymentStatus, ReturnRequest, ReturnStatus

log = logging.getLogger(__name__)

RETURN_WINDOW = timedelta(days=7)
REASON_MAX = 1000

RETURN_STATUS_LABELS: dict[str, Any] = {
    ReturnStatus.REQUESTED: _l("Menunggu keputusan penjual"),
    ReturnStatus.ACCEPTED: _l("Diterima"),
    ReturnStatus.REJECTED: _l("Ditolak"),
}

RETURN_REQUESTED_NOTICE = "return_requested"
notice_kind(RETURN_REQUESTED_NOTICE, N_("Pembeli mengajukan retur untuk pesanan %(number)s."))


def return_deadline(order: Order) -> datetime | None:
    """The last moment the buyer may ask for a return (None: not delivered)."""
    return order.delivered_at + RETURN_WINDOW if order.delivered_at else None


def return_open(order: Order) -> bool:
    """True while the order is delivered and inside the return window."""
    deadline = return_deadline(order)
    return (order.status == OrderStatus.DELIVERED and deadline is not None
            and utcnow() <= deadline)


def order_return(order_id: int) -> ReturnRequest | None:
    return db.session.scalars(select(ReturnRequest).where(
        ReturnRequest.order_id == order_id)).first()


def _clean_reason(reason: str | None, field: str) -> str:
    text = (reason or "").strip()
    if not text:
        raise OrderError(_l("Wajib diisi."), field=field)
    if len(text) > REASON_MAX:
        raise OrderError(_l("Maksimal %(max)d karakter.", max=REASON_MAX), field=field)
    return text


def return_request(*, order: Order, buyer: User, reason: str) -> ReturnRequest:
    """Record the buyer's return request and tell the seller (email + notice).

    Raises OrderError (422, field `reason`) for a missing or too long reason, and
    TransitionError (409) when the order is not the buyer's delivered order, the 7-day
    window has passed, or a return was already requested."""
    if order.buyer_id != buyer.id:
        raise TransitionError(_l("Hanya pembeli pesanan ini yang dapat mengajukan retur."))
    if order_return(order.id) is not None:
        raise TransitionError(_l("Retur untuk pesanan %(number)s sudah pernah diajukan.",
                                 number=order.number))
    if order.status != OrderStatus.DELIVERED:
        raise TransitionError(_l("Retur hanya dapat diajukan untuk pesanan yang sudah "
                                 "diterima."))
    if not return_open(order):
        raise TransitionError(_l("Batas waktu retur (7 hari setelah pesanan diterima) sudah "
                                 "lewat."))
    text = _clean_reason(reason, "reason")
    request = ReturnRequest(order_id=order.id, buyer_id=buyer.id, store_id=order.store_id,
                            reason=text, status=ReturnStatus.REQUESTED)
    try:
        with db.session.begin_nested():
            db.session.add(request)
    except IntegrityError:
        # The same buyer in another tab got there first (one return per order).
        raise TransitionError(_l("Retur untuk pesanan %(number)s sudah pernah diajukan.",
                                 number=order.number)) from None
    owner = order.store.owner
    notice_send(user_id=owner.id, kind=RETURN_REQUESTED_NOTICE, params={"number": order.number},
                link=app_path("orders.seller_order", number=order.number))
    mail_queue(to=owner.email, template="return_requested", locale=owner.locale,
               subject=_l("Permintaan retur untuk pesanan %(number)s", number=order.number),
               name=owner.name, order=order, buyer=buyer, reason=text,
               link=public_url("orders.seller_order", number=order.number))
    log.info("return requested for order %s", order.number)
    return request


def _decide(request: ReturnRequest, status: str, actor: User, reject_reason: str = "",
            refund_amount: int = 0) -> None:
    """Claim the undecided request for this decision, or raise TransitionError."""
    now = utcnow()
    values = {"status": status, "decided_by_id": actor.id, "decided_at": now,
              "reject_reason": reject_reason, "refund_amount": refund_amount}
    claimed = rowcount(db.session.execute(
        update(ReturnRequest)
        .where(ReturnRequest.id == request.id, ReturnRequest.status == ReturnStatus.REQUESTED)
        .values(**values).execution_options(synchronize_session=False)
    ))
    if claimed != 1:
        raise TransitionError(_l("Permintaan retur ini sudah diputuskan."))
    for key, value in values.items():
        set_committed_value(request, key, value)


def _check_seller(request: ReturnRequest, actor: User) -> Order:
    order = request.order
    store = order.store
    if store.owner_id != actor.id:
        raise TransitionError(_l("Hanya penjual pesanan ini yang dapat memutuskan retur."))
    if request.status != ReturnStatus.REQUESTED:
        raise TransitionError(_l("Permintaan retur ini sudah diputuskan."))
    return order


def return_accept(*, request: ReturnRequest, actor: User) -> ReturnRequest:
    """Accept the return: the order becomes RETURNED (returned_at), every item is restocked
    (ledger reason "return"), the refund amount (the order total) is recorded and an order
    that was paid becomes `refund_pending` and its refund job is queued. The buyer gets the
    decision by email.

    Raises TransitionError (409) when the request was already decided, the actor is not the
    store's owner, or the order is no longer delivered."""
    order = _check_seller(request, actor)
    _decide(request, ReturnStatus.ACCEPTED, actor, refund_amount=order.total)
    order_transition(order=order, to=OrderStatus.RETURNED, actor=actor, side=Side.SELLER,
                     from_status=OrderStatus.DELIVERED, return_request=request, notify=False)
    refund = rowcount(db.session.execute(
        update(Order).where(Order.id == order.id, Order.payment_status == PaymentStatus.PAID)
        .values(payment_status=PaymentStatus.REFUND_PENDING)
        .execution_options(synchronize_session=False)
    ))
    if refund:
        set_committed_value(order, "payment_status", PaymentStatus.REFUND_PENDING)
        # Recorded and paid back through the gateway by the refund job, after commit.
        enqueue_after_commit("jobs.payments.refund_order", order.id, "return",
                             queue="default")
    _tell_buyer(request, order)
    log.info("return of order %s accepted (refund %s)", order.number, order.total)
    return request


def return_reject(*, request: ReturnRequest, actor: User, reason: str) -> ReturnRequest:
    """Reject the return with a reason the buyer reads (email). Raises OrderError (422,
    field `reject_reason`) without a reason, TransitionError (409) when already decided or
    the actor is not the store's owner."""
    order = _check_seller(request, actor)
    text = _clean_reason(reason, "reject_reason")
    _decide(request, ReturnStatus.REJECTED, actor, reject_reason=text)
    db.session.flush()
    _tell_buyer(request, order)
    log.info("return of order %s rejected", order.number)
    return request


def _tell_buyer(request: ReturnRequest, order: Order) -> None:
    buyer = order.buyer
    accepted = request.status == ReturnStatus.ACCEPTED
    subject = (_l("Retur pesanan %(number)s diterima", number=order.number) if accepted
               else _l("Retur pesanan %(number)s ditolak", number=order.number))
    mail_queue(to=buyer.email, template="return_decided", locale=buyer.locale,
               subject=subject, name=buyer.name, order=order, ret=request,
               accepted=accepted, link=public_url("orders.order_detail", number=order.number))
