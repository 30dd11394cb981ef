"""Payment tables: payments, every gateway notification, invoices and their counters,
refunds, and the sandbox gateway's own book.

A `Payment` pays one payable: a marketplace checkout or a maklon milestone (one foreign
key each; the owning domains register them as payable kinds, app.payments.signals). The
relationships to orders' tables are named by string: payments does not import orders.
Its `reference` is the `order_id` the gateway knows. Every notification received is a
`PaymentEvent`, unique per gateway event (`event_key`), so a notification delivered five
times is one row with `deliveries = 5`. An `Invoice` is issued per paid order (or
milestone) with a gapless number per issuing entity and year, drawn from
`InvoiceCounter` under a row lock. Money is whole Rupiah (BigInteger).
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum, nonmember
from typing import TYPE_CHECKING, Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    CheckConstraint,
    ForeignKey,
    Index,
    Integer,
    Numeric,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.accounts.models import User
from app.core.clock import UTCDateTime, utcnow
from app.extensions import Model

if TYPE_CHECKING:  # for the annotations only: the mapper resolves the names at configure time
    from app.orders.models import Checkout, Order


class PayStatus(StrEnum):
    """A payment's state on our side (the gateway's words are mapped onto these)."""

    PENDING = "pending"  # created; waiting for the buyer to pay
    PAID = "paid"  # settlement, or capture with fraud_status accept
    EXPIRED = "expired"
    CANCELLED = "cancelled"
    DENIED = "denied"
    REVIEW = "review"  # money arrived but not the amount asked: an admin decides
    REFUNDED = "refunded"  # the whole amount went back
    ALL = nonmember((PENDING, PAID, EXPIRED, CANCELLED, DENIED, REVIEW, REFUNDED))
    FINAL = nonmember((EXPIRED, CANCELLED, DENIED, REFUNDED))
    OPEN = nonmember((PENDING,))


class RefundStatus(StrEnum):
    PENDING = "pending"  # recorded; the gateway has not confirmed it yet
    DONE = "done"
    FAILED = "failed"  # the gateway refused; an admin retries
    ALL = nonmember((PENDING, DONE, FAILED))


class Payment(Model):
    """One payment asked of a buyer through a gateway (one per checkout)."""

    __tablename__ = "payments"
    __table_args__ = (
        Index("ix_payments_status_expires", "status", "expires_at"),
        Index("ix_payments_created", "created_at", "id"),
        Index("ix_payments_method_created", "method", "created_at"),
        CheckConstraint("amount > 0", name="amount_positive"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    # The gateway's `order_id`: our checkout reference (unique across payables).
    reference: Mapped[str] = mapped_column(String(50), unique=True)
    checkout_id: Mapped[int | None] = mapped_column(
        ForeignKey("checkouts.id", ondelete="RESTRICT"), unique=True, nullable=True)
    # Or a maklon milestone (several payments when one expired and the client paid again).
    milestone_id: Mapped[int | None] = mapped_column(
        ForeignKey("milestone_payments.id", ondelete="RESTRICT"), index=True, nullable=True)
    payer_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="RESTRICT"),
                                          index=True)
    gateway: Mapped[str] = mapped_column(String(20))  # sandbox | midtrans
    method: Mapped[str] = mapped_column(String(30))  # va_bca ... qris (checkout methods)
    amount: Mapped[int] = mapped_column(BigInteger)
    status: Mapped[str] = mapped_column(String(20), default=PayStatus.PENDING)
    # What the buyer needs, from the gateway's charge answer.
    transaction_id: Mapped[str] = mapped_column(String(80), default="")
    va_number: Mapped[str] = mapped_column(String(40), default="")
    bill_key: Mapped[str] = mapped_column(String(40), default="")  # Mandiri bill payment
    biller_code: Mapped[str] = mapped_column(String(20), default="")
    qr_string: Mapped[str] = mapped_column(Text, default="")
    deeplink_url: Mapped[str] = mapped_column(String(500), default="")
    # Alfamart / Indomaret: the code the buyer reads out at the cashier (the store is the
    # method's, `gateways.base.METHODS[method].store`).
    payment_code: Mapped[str] = mapped_column(String(40), default="", server_default="")
    charged_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    charge_error: Mapped[str] = mapped_column(String(300), default="")
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime())
    # What the gateway said arrived (settlement); differs from `amount` only when flagged.
    paid_amount: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    paid_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    # When it expired, was cancelled or denied: its unpaid orders are then cancelled, even
    # if money arriving later moves the payment on to review.
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    flag_reason: Mapped[str] = mapped_column(String(300), default="")  # for admin
    refunded_amount: Mapped[int] = mapped_column(BigInteger, default=0, server_default="0")
    last_checked_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, onupdate=utcnow)

    checkout: Mapped[Checkout | None] = relationship("Checkout")
    payer: Mapped[User] = relationship()
    events: Mapped[list[PaymentEvent]] = relationship(back_populates="payment",
                                                      order_by="PaymentEvent.id")
    refunds: Mapped[list[Refund]] = relationship(back_populates="payment",
                                                 order_by="Refund.id")


class PaymentEvent(Model):
    """One gateway notification as received (or a status lookup's answer), stored once."""

    __tablename__ = "payment_events"

    id: Mapped[int] = mapped_column(primary_key=True)
    # gateway + order_id + transaction_id + transaction_status + fraud_status + amount: the
    # same notification delivered again finds this row (deliveries += 1).
    event_key: Mapped[str] = mapped_column(String(64), unique=True)
    payment_id: Mapped[int | None] = mapped_column(
        ForeignKey("payments.id", ondelete="CASCADE"), index=True, nullable=True)
    gateway: Mapped[str] = mapped_column(String(20))
    source: Mapped[str] = mapped_column(String(20), default="notification")  # | status_check
    order_id: Mapped[str] = mapped_column(String(60))
    transaction_id: Mapped[str] = mapped_column(String(80), default="")
    transaction_status: Mapped[str] = mapped_column(String(30))
    fraud_status: Mapped[str] = mapped_column(String(20), default="")
    status_code: Mapped[str] = mapped_column(String(5), default="")
    gross_amount: Mapped[str] = mapped_column(String(30), default="")  # as received
    payment_type: Mapped[str] = mapped_column(String(30), default="")
    payload: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    # applied (changed the payment) | ignored (not a legal step from its state) | flagged
    outcome: Mapped[str] = mapped_column(String(20), default="")
    deliveries: Mapped[int] = mapped_column(Integer, default=1)
    received_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

    payment: Mapped[Payment | None] = relationship(back_populates="events")


class Refund(Model):
    """Money going back to a buyer for one order (an accepted return, a cancelled paid
    order)."""

    __tablename__ = "refunds"
    __table_args__ = (
        CheckConstraint("amount > 0", name="amount_positive"),
        # One refund per order and cause: recording it twice is a no-op.
        UniqueConstraint("order_id", "refund_key", name="uq_refunds_order_key"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    payment_id: Mapped[int] = mapped_column(ForeignKey("payments.id", ondelete="RESTRICT"),
                                            index=True)
    order_id: Mapped[int] = mapped_column(ForeignKey("orders.id", ondelete="RESTRICT"),
                                          index=True)
    refund_key: Mapped[str] = mapped_column(String(60))  # the gateway's idempotency key
    amount: Mapped[int] = mapped_column(BigInteger)
    reason: Mapped[str] = mapped_column(String(300), default="")
    status: Mapped[str] = mapped_column(String(20), default=RefundStatus.PENDING)
    gateway_reference: Mapped[str] = mapped_column(String(80), default="")
    error: Mapped[str] = mapped_column(String(300), default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    done_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)

    payment: Mapped[Payment] = relationship(back_populates="refunds")
    order: Mapped[Order] = relationship("Order")


class InvoiceCounter(Model):
    """The last invoice number issued per issuing entity and year (taken under a lock)."""

    __tablename__ = "invoice_counters"

    issuer: Mapped[str] = mapped_column(String(40), primary_key=True)  # "store:12"
    year: Mapped[int] = mapped_column(Integer, primary_key=True)
    last_number: Mapped[int] = mapped_column(Integer, default=0)


class Invoice(Model):
    """The invoice of one paid order: a gapless number per issuer and year and its PDF."""

    __tablename__ = "invoices"
    __table_args__ = (
        UniqueConstraint("issuer", "year", "sequence", name="uq_invoices_issuer_year_seq"),
        # The issuer's code is part of the number, so numbers are unique platform-wide.
        UniqueConstraint("number", name="uq_invoices_number"),
        Index("ix_invoices_created", "created_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    order_id: Mapped[int | None] = mapped_column(
        ForeignKey("orders.id", ondelete="RESTRICT"), unique=True, nullable=True)
    # Or a maklon milestone payment (issued by the platform company, issuer "maklon").
    milestone_id: Mapped[int | None] = mapped_column(
        ForeignKey("milestone_payments.id", ondelete="RESTRICT"), unique=True, nullable=True)
    issuer: Mapped[str] = mapped_column(String(40))
    year: Mapped[int] = mapped_column(Integer)
    sequence: Mapped[int] = mapped_column(Integer)
    number: Mapped[str] = mapped_column(String(40))  # INV/TK12/2026/000123
    # Amounts as printed (whole Rupiah).
    subtotal: Mapped[int] = mapped_column(BigInteger)
    shipping: Mapped[int] = mapped_column(BigInteger)
    total: Mapped[int] = mapped_column(BigInteger)
    pkp: Mapped[bool] = mapped_column(Boolean, default=False)
    ppn_rate: Mapped[Any] = mapped_column(Numeric(5, 2), default=0)  # percent, e.g. 12.00
    # The DPP fraction applied ("11/12"), so a copy printed later shows the same lines;
    # "" for a seller who is not PKP (and for rows issued before it was stored).
    dpp_fraction: Mapped[str] = mapped_column(String(20), default="", server_default="")
    dpp: Mapped[int] = mapped_column(BigInteger, default=0)
    ppn: Mapped[int] = mapped_column(BigInteger, default=0)
    payment_method: Mapped[str] = mapped_column(String(30), default="")
    paid_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    verification_code: Mapped[str] = mapped_column(String(40), unique=True)
    file_key: Mapped[str] = mapped_column(String(200), default="")
    sha256: Mapped[str] = mapped_column(String(64), default="")
    size: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

    order: Mapped[Order | None] = relationship("Order")


class SandboxTransaction(Model):
    """The sandbox gateway's own record of a charge (what Midtrans would know): the
    simulator changes it and notifies our webhook; status lookups read it."""

    __tablename__ = "sandbox_transactions"

    id: Mapped[int] = mapped_column(primary_key=True)
    transaction_id: Mapped[str] = mapped_column(String(80), unique=True)
    order_id: Mapped[str] = mapped_column(String(60), unique=True)
    payment_type: Mapped[str] = mapped_column(String(30))  # bank_transfer, echannel, ...
    bank: Mapped[str] = mapped_column(String(20), default="")
    gross_amount: Mapped[int] = mapped_column(BigInteger)
    paid_amount: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    transaction_status: Mapped[str] = mapped_column(String(30), default="pending")
    fraud_status: Mapped[str] = mapped_column(String(20), default="accept")
    va_number: Mapped[str] = mapped_column(String(40), default="")
    bill_key: Mapped[str] = mapped_column(String(40), default="")
    biller_code: Mapped[str] = mapped_column(String(20), default="")
    qr_string: Mapped[str] = mapped_column(Text, default="")
    store: Mapped[str] = mapped_column(String(20), default="", server_default="")  # cstore
    payment_code: Mapped[str] = mapped_column(String(40), default="", server_default="")
    refunded_amount: Mapped[int] = mapped_column(BigInteger, default=0)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime())
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, onupdate=utcnow)
