"""What happened to a payment, announced to the domain that sold what it pays for.

Payments is a lower layer: it knows how money moves (gateways, notifications, the status
table, refunds), not what the money buys. A domain that sells through it registers its
payable kind once, at blueprint registration, and connects its handlers to the signals
below with the kind's name as the sender (Indico's `signals` modules work this way):

    payable_kind_register("checkout", column="checkout_id", itemised_refunds=True,
                          items_of=checkout_items)
    payment_settled.connect(checkout_settled, sender="checkout", weak=False)

    payable_announce(payment_settled, payment)   # payments, in the settlement job

Payments tells the kind through the signals (news: something happened) and asks it
through the kind's hooks (questions: `page_of`, `items_of`); it never imports the domain.

Hooks of a PayableKind:

    page_of(payment)   the payer's page of what it pays for (the sandbox's "back" link)
    items_of(payment)  what it paid for, item by item (`PayableItem`: a checkout's orders):
                       the admin ledger lists them, a refund is recorded against one
                       (`Refund.order_id` names the item), the admins' notice of a refund
                       left to them names it, and the refund keys it lists are ours when
                       the gateway reports them. Required of a kind with itemised refunds.

Signals (keyword arguments besides `payment`):

    payment_settled    the payment is PAID (the gateway's settlement, or an admin accepted a
                       flagged payment); the job `jobs.payments.settled`. Handlers return
                       counts {"paid": n, "refunds": n}.
    payment_closed     it expired, was cancelled or denied (`expired`: True when it ran out
                       of time); the job `jobs.payments.closed`. Returns {"cancelled": n}.
    payment_refunded   all of its money went back at the gateway, outside Racik
                       (`gateway_reference`). A kind with `itemised_refunds` accounts the
                       money itself (a refund per order) and is told before the payment is
                       REFUNDED; any other kind is told after payments recorded the amount
                       and made the payment REFUNDED.
    payment_flagged    money arrived that does not match, or a settlement was reversed
                       (`reason`); admins are told by payments and decide. No kind needs to
                       act.

Signals of the kinds with itemised refunds (money goes back item by item, `Refund` rows):

    refund_done        a refund of one item is paid back (`refund`, its status before:
                       `previous`, `via`: "gateway" | "manual", `actor`: the admin or None),
                       told once, as soon as the refund row is done and before payments
                       adds it to the payment's `refunded_amount` (and makes the payment
                       REFUNDED when all of it went back); the kind audits it and follows
                       (checkout: the order is refunded, its buyer told).
    payment_review_refunded
                       an admin sent back all the money of a flagged payment (`reason`):
                       the payment is REFUNDED and its refund recorded on its first item;
                       what still waits for this payment is given up (checkout: its unpaid
                       pending orders are cancelled and restocked). Told before the refund
                       is paid through the gateway.

Every registered kind must have a handler for each of REQUIRED_NEWS, and a kind with
itemised refunds for each of ITEMISED_NEWS too (a test walks them).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from blinker import Namespace, Signal

from app.payments.models import Payment

_signals = Namespace()

payment_settled = _signals.signal("payment-settled", doc="A payment became PAID.")
payment_closed = _signals.signal(
    "payment-closed", doc="A payment expired, was cancelled or denied.")
payment_refunded = _signals.signal(
    "payment-refunded", doc="All of a payment's money went back at the gateway.")
payment_flagged = _signals.signal(
    "payment-flagged", doc="A payment needs an admin's decision (status review).")
refund_done = _signals.signal(
    "refund-done", doc="A refund of one item of a payment was paid back.")
payment_review_refunded = _signals.signal(
    "payment-review-refunded", doc="An admin sent the money of a flagged payment back.")

# What every payable kind must handle: without it the money would move and nothing follow.
REQUIRED_NEWS: tuple[Signal, ...] = (payment_settled, payment_closed, payment_refunded)
# And what a kind with itemised refunds must handle besides.
ITEMISED_NEWS: tuple[Signal, ...] = (refund_done, payment_review_refunded)


@dataclass(frozen=True)
class PayableItem:
    """One item of what a payment paid for, as its kind describes it (a checkout's order)."""

    id: int  # what a refund of it records as `Refund.order_id`
    number: str  # how admins know it: "RCK-20261122-000123"
    seller: str  # who sold it (the store's name)
    total: int  # whole Rupiah
    status: str  # its own status, as shown (translated)
    payment_status: str  # its payment status, as shown (translated)
    # Every refund_key Racik may send the gateway for it (those not recorded yet included).
    refund_keys: tuple[str, ...] = ()


@dataclass(frozen=True)
class PayableKind:
    """Something a payment can pay for, registered by the domain that sells it."""

    name: str  # the signals' sender: "checkout", "milestone"
    column: str  # the Payment column that names it: "checkout_id", "milestone_id"
    # The domain accounts a refund made at the gateway itself (checkout: a refund per order).
    itemised_refunds: bool = False
    # The page where the payer pays it, if it has its own (the sandbox's "back" link).
    page_of: Callable[[Payment], str] | None = None
    # What a payment of this kind paid for, item by item, in their order (see above).
    items_of: Callable[[Payment], list[PayableItem]] | None = None


_KINDS: dict[str, PayableKind] = {}


def payable_kind_register(name: str, *, column: str, itemised_refunds: bool = False,
                          page_of: Callable[[Payment], str] | None = None,
                          items_of: Callable[[Payment], list[PayableItem]] | None = None
                          ) -> PayableKind:
    """Register (again: the same) payable kind. Raises ValueError for a column that
    Payment does not have, itemised refunds without `items_of`, or a second, different
    registration of `name`."""
    if column not in Payment.__table__.columns:
        raise ValueError(f"Payment has no column {column!r} for payable kind {name!r}")
    if itemised_refunds and items_of is None:
        raise ValueError(f"payable kind {name!r} has itemised refunds but no items_of")
    kind = PayableKind(name=name, column=column, itemised_refunds=itemised_refunds,
                       page_of=page_of, items_of=items_of)
    if _KINDS.setdefault(name, kind) != kind:
        raise ValueError(f"payable kind {name!r} registered twice, differently")
    return kind


def payable_kinds() -> tuple[PayableKind, ...]:
    return tuple(_KINDS.values())


def payable_kind_of(payment: Payment) -> PayableKind | None:
    """The registered kind `payment` pays for (its column that is set), or None."""
    for kind in _KINDS.values():
        if getattr(payment, kind.column) is not None:
            return kind
    return None


def payable_page(payment: Payment) -> str:
    """The payer's page of what `payment` pays for, "" when its kind has none."""
    kind = payable_kind_of(payment)
    return kind.page_of(payment) if kind is not None and kind.page_of is not None else ""


def payable_items(payment: Payment) -> list[PayableItem]:
    """What `payment` paid for, item by item, as its kind describes it ([] when its kind
    does not itemise: a maklon milestone)."""
    kind = payable_kind_of(payment)
    return kind.items_of(payment) if kind is not None and kind.items_of is not None else []


def payable_announce(signal: Signal, payment: Payment, **news: Any) -> list[Any]:
    """Send `signal` for `payment` to the handlers of its kind; their return values (none
    for a payment of no registered kind)."""
    kind = payable_kind_of(payment)
    if kind is None:
        return []
    return [result for _receiver, result in signal.send(kind.name, payment=payment, **news)]


def counts_sum(results: list[Any], **zero: int) -> dict[str, int]:
    """Handlers' count dicts added up, starting from `zero` (the keys always present)."""
    total = dict(zero)
    for result in results:
        for key, value in (result or {}).items():
            total[key] = total.get(key, 0) + int(value)
    return total
