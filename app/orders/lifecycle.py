"""The order lifecycle: one table of allowed status changes and who may make each.

    pending    -> processing   the seller accepts the order
    processing -> shipped      the seller ships it (optionally with a tracking number, "resi")
    shipped    -> delivered    the buyer confirms receipt (the completion date of revenue)
    pending    -> cancelled    the buyer, the seller (with a reason) or the system (payment
                               expiry); the stock goes back, the units sold come off
    delivered  -> returned     the seller, only by accepting the buyer's return request
                               (`app.orders.returns.return_accept`)

`order_transition` checks the table, then applies the change with a conditional UPDATE
(`... WHERE id = :id AND status = :from`): when two requests race (a double click, two tabs)
only one row update succeeds and the other gets TransitionError, so nothing is applied
twice. Every change writes an OrderEvent (who, when, note) and an "order.status" audit row,
stamps the order's `<status>_at`
and queues the buyer's email in the buyer's language. Services flush, never commit.
"""

from __future__ import annotations

import logging
from collections import defaultdict
from datetime import datetime
from enum import StrEnum
from typing import TYPE_CHECKING, Any

from flask_babel import lazy_gettext as _l
from sqlalchemy import case, select, update
from sqlalchemy.orm.attributes import set_committed_value

from app.accounts.models import Store, User
from app.audit.services import audit_record
from app.catalog.models import Product, Variant
from app.catalog.stock import stock_change
from app.core.clock import utcnow
from app.core.db import rowcount
from app.core.http import app_path, public_url
from app.core.mail import mail_queue
from app.core.notices import N_, notice_kind, notice_send
from app.core.queue import enqueue_after_commit
from app.extensions import db
from app.inventory.models import StockReason
from app.orders.models import Order, OrderEvent, OrderStatus, PaymentStatus, ReturnStatus
from app.shipping.services import ShippingError, awb_check, shipment_shipped

if TYPE_CHECKING:
    from app.orders.models import ReturnRequest

log = logging.getLogger(__name__)

TRACKING_NUMBER_MAX = 60
NOTE_MAX = 300  # OrderEvent.note


class Side(StrEnum):
    """Who acts on an order: its buyer, the owner of its store, or the system (jobs)."""

    BUYER = "buyer"
    SELLER = "seller"
    SYSTEM = "system"


ORDER_STATUS_LABELS: dict[str, Any] = {
    OrderStatus.PENDING: _l("Menunggu diproses"),
    OrderStatus.PROCESSING: _l("Diproses"),
    OrderStatus.SHIPPED: _l("Dikirim"),
    OrderStatus.DELIVERED: _l("Selesai"),
    OrderStatus.CANCELLED: _l("Dibatalkan"),
    OrderStatus.RETURNED: _l("Dikembalikan"),
}

# The order's payment status as buyers, sellers, the admin ledger and the reports show it.
ORDER_PAYMENT_LABELS: dict[str, Any] = {
    PaymentStatus.UNPAID: _l("Belum dibayar"),
    PaymentStatus.PAID: _l("Lunas"),
    PaymentStatus.REFUND_PENDING: _l("Menunggu pengembalian dana"),
    PaymentStatus.REFUNDED: _l("Dana dikembalikan"),
}

# (from, to) -> the sides allowed to make that change. Anything not listed is refused.
TRANSITIONS: dict[tuple[str, str], frozenset[str]] = {
    (OrderStatus.PENDING, OrderStatus.PROCESSING): frozenset({Side.SELLER}),
    (OrderStatus.PROCESSING, OrderStatus.SHIPPED): frozenset({Side.SELLER}),
    (OrderStatus.SHIPPED, OrderStatus.DELIVERED): frozenset({Side.BUYER}),
    (OrderStatus.PENDING, OrderStatus.CANCELLED): frozenset(
        {Side.BUYER, Side.SELLER, Side.SYSTEM}),
    # Only through an accepted return request (see `order_transition`).
    (OrderStatus.DELIVERED, OrderStatus.RETURNED): frozenset({Side.SELLER}),
}

# The seller's "next step" button: from -> to.
SELLER_NEXT: dict[str, str] = {
    OrderStatus.PENDING: OrderStatus.PROCESSING,
    OrderStatus.PROCESSING: OrderStatus.SHIPPED,
}
SELLER_NEXT_LABELS: dict[str, Any] = {
    OrderStatus.PENDING: _l("Proses pesanan"),
    OrderStatus.PROCESSING: _l("Tandai dikirim"),
}

# The timestamp column each status stamps.
STATUS_TIMESTAMPS: dict[str, str] = {
    OrderStatus.PROCESSING: "processing_at",
    OrderStatus.SHIPPED: "shipped_at",
    OrderStatus.DELIVERED: "delivered_at",
    OrderStatus.CANCELLED: "cancelled_at",
    OrderStatus.RETURNED: "returned_at",
}

ORDER_CANCELLED_NOTICE = "order_cancelled_by_buyer"
ORDER_DELIVERED_NOTICE = "order_delivered"
notice_kind(ORDER_CANCELLED_NOTICE, N_("Pesanan %(number)s dibatalkan oleh pembeli."))
notice_kind(ORDER_DELIVERED_NOTICE, N_("Pesanan %(number)s sudah diterima pembeli."))


class OrderError(Exception):
    """Bad input for an order action (HTTP 422); `field` names the form field."""

    def __init__(self, message: object, *, field: str = ""):
        super().__init__(str(message))
        self.message = str(message)
        self.field = field


class TransitionError(OrderError):
    """A status change the table forbids, or one that lost a race (HTTP 409). Nothing was
    changed."""


def order_sides(order: Order, actor: User | None) -> set[str]:
    """The sides `actor` may act on for this order (a seller may buy from their own store)."""
    if actor is None:
        return {Side.SYSTEM}
    sides: set[str] = set()
    if order.buyer_id == actor.id:
        sides.add(Side.BUYER)
    owner_id = db.session.scalar(select(Store.owner_id).where(Store.id == order.store_id))
    if owner_id == actor.id:
        sides.add(Side.SELLER)
    return sides


def order_allowed(order: Order, to: str, side: str) -> bool:
    """True when TRANSITIONS lets `side` move the order from its status to `to` (for
    showing buttons; `order_transition` decides)."""
    return side in TRANSITIONS.get((order.status, to), frozenset())


def _refuse(order: Order, to: str, current: str) -> TransitionError:
    if to == OrderStatus.CANCELLED and current != OrderStatus.PENDING:
        return TransitionError(_l(
            "Pesanan %(number)s berstatus %(current)s dan tidak dapat dibatalkan lagi. "
            "Pembatalan hanya bisa selama pesanan menunggu diproses.",
            number=order.number, current=ORDER_STATUS_LABELS[current]))
    return TransitionError(_l(
        "Pesanan %(number)s berstatus %(current)s dan tidak dapat diubah menjadi "
        "%(target)s.", number=order.number, current=ORDER_STATUS_LABELS[current],
        target=ORDER_STATUS_LABELS.get(to, to)))


def order_transition(*, order: Order, to: str, actor: User | None, side: str | None = None,
                     from_status: str | None = None, note: str = "",
                     tracking_number: str = "", return_request: ReturnRequest | None = None,
                     notify: bool = True, stock_reason: str = StockReason.CANCEL
                     ) -> OrderEvent:
    """Move `order` to status `to` on behalf of `actor` (None: the system).

    `side` says in which capacity the actor acts (buyer or seller; inferred when omitted).
    `from_status` is the status the user saw: when the order has moved on since (a double
    click), the change is refused. `tracking_number` (max 60) goes with shipped; RETURNED
    needs the accepted `return_request`. The seller cannot process an order that is not
    paid, nor ship one whose money went back. Cancelling restocks every item (ledger
    reason `stock_reason`: "cancel", or "expire" when the payment expired) and takes the
    units off `Product.sold_count`; returning does the same with reason "return".
    Cancelling a paid order queues its refund. Queues the buyer's `order_status` email
    unless `notify` is False.

    Raises TransitionError (409) for a change the table forbids for this actor, a stale
    `from_status`, or a concurrent change; OrderError (422) for a bad tracking number.
    """
    current = order.status
    acting = _acting_side(order=order, to=to, actor=actor, side=side, from_status=from_status)
    _check_preconditions(order=order, to=to, return_request=return_request)
    tracking_number = _checked_tracking_number(order=order, to=to,
                                               tracking_number=tracking_number)
    note = (note or "").strip()[:NOTE_MAX]
    now = _status_write(order=order, current=current, to=to, tracking_number=tracking_number)

    event = OrderEvent(order_id=order.id, from_status=current, to_status=to,
                       actor_id=actor.id if actor else None, note=note, created_at=now)
    db.session.add(event)
    after: dict[str, object] = {"status": to, "side": acting}
    if tracking_number:
        after["tracking_number"] = tracking_number
    audit_record("order.status", actor=actor, object_type="order", object_id=order.number,
                 before={"status": current}, after=after, note=note)
    _stock_and_money_after(order=order, to=to, actor=actor, stock_reason=stock_reason)
    db.session.flush()
    if to == OrderStatus.SHIPPED:
        shipment_shipped(order_id=order.id, awb=tracking_number)
    if notify:
        _tell_buyer(order, to, note)
    if acting == Side.BUYER and to in (OrderStatus.CANCELLED, OrderStatus.DELIVERED):
        _tell_seller(order, to)
    log.info("order %s: %s -> %s by %s (%s)", order.number, current, to,
             actor.id if actor else "system", acting)
    return event


def _acting_side(*, order: Order, to: str, actor: User | None, side: str | None,
                 from_status: str | None) -> str:
    """The side in which `actor` may move `order` to `to` (seller first, then buyer, then
    the system). Raises TransitionError for a stale `from_status`, a move the table
    forbids, or one this actor may not make."""
    current = order.status
    if from_status is not None and from_status != current:
        raise TransitionError(_l("Pesanan %(number)s sudah berstatus %(current)s. Muat "
                                 "ulang halaman untuk melihat keadaan terbaru.",
                                 number=order.number, current=ORDER_STATUS_LABELS[current]))
    allowed = TRANSITIONS.get((current, to))
    if allowed is None:
        raise _refuse(order, to, current)
    sides = order_sides(order, actor)
    if side is not None:
        sides &= {side}
    acting = next((s for s in (Side.SELLER, Side.BUYER, Side.SYSTEM) if s in sides & allowed),
                  None)
    if acting is None:
        if to == OrderStatus.CANCELLED and Side.SELLER in sides:
            raise TransitionError(_l("Penjual hanya dapat membatalkan pesanan yang masih "
                                     "menunggu diproses."))
        raise TransitionError(_l("Anda tidak dapat mengubah pesanan %(number)s menjadi "
                                 "%(target)s.", number=order.number,
                                 target=ORDER_STATUS_LABELS[to]))
    return acting


def _check_preconditions(*, order: Order, to: str,
                         return_request: ReturnRequest | None) -> None:
    """Processing and shipping need the money; returning needs an accepted return request.
    Raises TransitionError."""
    if to == OrderStatus.PROCESSING and order.payment_status != PaymentStatus.PAID:
        raise TransitionError(_l("Pesanan %(number)s belum dibayar. Pesanan diproses setelah "
                                 "pembayaran pembeli diterima.", number=order.number))
    if to == OrderStatus.SHIPPED and order.payment_status != PaymentStatus.PAID:
        # Its money went back to the buyer (a refund at the gateway): nothing is shipped.
        raise TransitionError(_l("Dana pesanan %(number)s sudah dikembalikan ke pembeli; "
                                 "pesanan ini tidak dapat dikirim.", number=order.number))
    if to == OrderStatus.RETURNED and (
            return_request is None or return_request.order_id != order.id
            or return_request.status != ReturnStatus.ACCEPTED):
        raise TransitionError(_l("Pesanan hanya dapat dikembalikan melalui permintaan retur "
                                 "yang diterima penjual."))


def _checked_tracking_number(*, order: Order, to: str, tracking_number: str) -> str:
    """The tracking number that goes with a move to shipped (empty for any other move), in
    the shape of the courier chosen at checkout. Raises OrderError (422)."""
    tracking_number = (tracking_number or "").strip()
    if tracking_number and to != OrderStatus.SHIPPED:
        tracking_number = ""
    if len(tracking_number) > TRACKING_NUMBER_MAX:
        raise OrderError(_l("Nomor resi maksimal %(max)s karakter.", max=TRACKING_NUMBER_MAX),
                         field="tracking_number")
    if to == OrderStatus.SHIPPED:
        try:  # sent with a courier chosen at checkout: its AWB, in its shape (required)
            tracking_number = awb_check(order_id=order.id, awb=tracking_number)
        except ShippingError as error:
            raise OrderError(error.message, field="tracking_number") from None
    return tracking_number


def _status_write(*, order: Order, current: str, to: str, tracking_number: str) -> datetime:
    """Writes the new status only if the order is still `current`; returns the time of the
    change. Raises TransitionError when somebody else moved the order in between."""
    now = utcnow()
    values: dict[str, object] = {"status": to, "updated_at": now, STATUS_TIMESTAMPS[to]: now}
    if tracking_number:
        values["tracking_number"] = tracking_number
    applied = rowcount(db.session.execute(
        update(Order).where(Order.id == order.id, Order.status == current).values(**values)
        .execution_options(synchronize_session=False)))
    if applied != 1:
        # Somebody else moved the order between our read and our write.
        latest = db.session.scalar(select(Order.status).where(Order.id == order.id))
        raise TransitionError(_l(
            "Pesanan %(number)s baru saja diubah menjadi %(current)s. Muat ulang halaman "
            "untuk melihat keadaan terbaru.", number=order.number,
            current=ORDER_STATUS_LABELS.get(latest or current, latest)))
    for key, value in values.items():
        set_committed_value(order, key, value)
    return now


def _stock_and_money_after(*, order: Order, to: str, actor: User | None,
                           stock_reason: str) -> None:
    """A cancelled order puts its stock back (and queues the refund of a paid one); a
    returned one puts it back as a return."""
    if to == OrderStatus.CANCELLED:
        _put_back(order, actor, stock_reason)
        if order.payment_status == PaymentStatus.PAID:
            _refund_cancelled(order)
    elif to == OrderStatus.RETURNED:
        _put_back(order, actor, StockReason.RETURN)


def order_cancel(*, order: Order, actor: User | None, side: str | None = None,
                 reason: str = "", from_status: str | None = None,
                 stock_reason: str = StockReason.CANCEL) -> OrderEvent:
    """Cancel a pending order and put its stock back. The seller must give a reason (the
    buyer reads it). Raises TransitionError (409) once the order is past pending or for an
    actor who may not cancel it, OrderError (422) for a seller without a reason."""
    reason = (reason or "").strip()
    if side is None:
        sides = order_sides(order, actor)
        side = Side.BUYER if Side.BUYER in sides else (
            Side.SELLER if Side.SELLER in sides else Side.SYSTEM)
    if side == Side.SELLER and order.status == OrderStatus.PENDING:
        if not reason:
            raise OrderError(_l("Tulis alasan pembatalan untuk pembeli."), field="reason")
        if len(reason) > NOTE_MAX:
            raise OrderError(_l("Maksimal %(max)d karakter.", max=NOTE_MAX), field="reason")
    return order_transition(order=order, to=OrderStatus.CANCELLED, actor=actor, side=side,
                            note=reason, from_status=from_status, stock_reason=stock_reason)


def order_advance(*, order: Order, actor: User, from_status: str,
                  tracking_number: str = "") -> OrderEvent:
    """The seller's next step from `from_status` (the status the seller saw): pending ->
    processing, processing -> shipped. Raises TransitionError (409) when the order is no
    longer in `from_status` (a double click) or has no next step for the seller."""
    to = SELLER_NEXT.get(from_status)
    if to is None:
        raise TransitionError(_l("Pesanan %(number)s tidak memiliki langkah berikutnya untuk "
                                 "penjual.", number=order.number))
    return order_transition(order=order, to=to, actor=actor, side=Side.SELLER,
                            from_status=from_status, tracking_number=tracking_number)


def order_confirm(*, order: Order, actor: User) -> OrderEvent:
    """The buyer confirms receipt of a shipped order (delivered_at: the completion date).
    Raises TransitionError (409) unless the order is shipped and the actor its buyer."""
    return order_transition(order=order, to=OrderStatus.DELIVERED, actor=actor,
                            side=Side.BUYER)


def _put_back(order: Order, actor: User | None, reason: str) -> None:
    """Restock every item and take its units off the product's sold count, in (product,
    variant) order like checkout, so concurrent stock changes lock rows in one order."""
    items = sorted((item for item in order.items if item.variant_id is not None),
                   key=lambda item: (item.product_id or 0, item.variant_id or 0))
    units: dict[int, int] = defaultdict(int)
    for item in items:
        variant = db.session.get(Variant, item.variant_id)
        if variant is None:
            continue
        stock_change(variant=variant, delta=item.quantity, reason=reason, actor=actor,
                     reference=order.number)
        units[variant.product_id] += item.quantity
    for product_id, count in sorted(units.items()):
        db.session.execute(
            update(Product).where(Product.id == product_id)
            .values(sold_count=case((Product.sold_count >= count, Product.sold_count - count),
                                    else_=0))
            .execution_options(synchronize_session=False))


def _refund_cancelled(order: Order) -> None:
    """A paid order was cancelled: its money goes back (the refund job records and
    executes it through the gateway)."""
    db.session.execute(update(Order).where(Order.id == order.id)
                       .values(payment_status=PaymentStatus.REFUND_PENDING)
                       .execution_options(synchronize_session=False))
    set_committed_value(order, "payment_status", PaymentStatus.REFUND_PENDING)
    enqueue_after_commit("jobs.payments.refund_order", order.id, "cancelled", queue="default")


def _tell_buyer(order: Order, to: str, note: str) -> None:
    buyer = order.buyer
    mail_queue(to=buyer.email, template="order_status", locale=buyer.locale,
               subject=_l("Pesanan %(number)s: %(status)s", number=order.number,
                          status=ORDER_STATUS_LABELS[to]),
               name=buyer.name, order=order, status=to, status_label=ORDER_STATUS_LABELS[to],
               note=note, link=public_url("orders.order_detail", number=order.number))


def _tell_seller(order: Order, to: str) -> None:
    store = order.store
    kind = ORDER_CANCELLED_NOTICE if to == OrderStatus.CANCELLED else ORDER_DELIVERED_NOTICE
    notice_send(user_id=store.owner_id, kind=kind, params={"number": order.number},
                link=app_path("orders.seller_order", number=order.number))
