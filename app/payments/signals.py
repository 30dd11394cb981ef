"""What happened to a payment, announced to the domain that sold what it pays for.

Payments is a lower layer: it knows how money moves (gateways, notifications, the status
table, refunds), not what the money buys. A domain that sells through it registers its
payable kind once, at blueprint registration, and connects its handlers to the signals
below with the kind's name as the sender (Indico's `signals` modules work this way):

    payable_kind_register("checkout", column="checkout_id", itemised_refunds=True)
    payment_settled.connect(checkout_settled, sender="checkout", weak=False)

    payable_announce(payment_settled, payment)   # payments, in the settlement job

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

Every registered kind must have a handler for each of REQUIRED_NEWS (a test walks them).
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

# What every payable kind must handle: without it the money would move and nothing follow.
REQUIRED_NEWS: tuple[Signal, ...] = (payment_settled, payment_closed, payment_refunded)


@dataclass(frozen=True)
class PayableKind:
    """Something a payment can pay for, registered by the domain that sells it."""

    name: str  # the signals' sender: "checkout", "milestone"
    column: str  # the Payment column that names it: "checkout_id", "milestone_id"
    # The domain accounts a refund made at the gateway itself (checkout: a refund per order).
    itemised_refunds: bool = False
    # The page where the payer pays it, if it has its own (the sandbox's "back" link).
    page_of: Callable[[Payment], str] | None = None


_KINDS: dict[str, PayableKind] = {}


def payable_kind_register(name: str, *, column: str, itemised_refunds: bool = False,
                          page_of: Callable[[Payment], str] | None = None) -> PayableKind:
    """Register (again: the same) payable kind. Raises ValueError for a column that
    Payment does not have, or a second, different registration of `name`."""
    if column not in Payment.__table__.columns:
        raise ValueError(f"Payment has no column {column!r} for payable kind {name!r}")
    kind = PayableKind(name=name, column=column, itemised_refunds=itemised_refunds,
                       page_of=page_of)
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
