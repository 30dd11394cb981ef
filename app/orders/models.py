"""Order tables: the cart, checkouts, orders and their items, status history, reviews and
return requests.

One buyer action ("Bayar") is one `Checkout` (one payment) that holds one `Order` per store.
An `OrderItem` is a snapshot: product name, options, SKU and unit price as they were at
checkout, so later edits of the product never change an order. Money is whole Rupiah.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum, nonmember
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    CheckConstraint,
    ForeignKey,
    Index,
    Integer,
    SmallInteger,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.accounts.models import Store, User
from app.catalog.models import Product, Variant
from app.core.clock import UTCDateTime, utcnow
from app.extensions import Model


class OrderStatus(StrEnum):
    PENDING = "pending"
    PROCESSING = "processing"
    SHIPPED = "shipped"
    DELIVERED = "delivered"
    CANCELLED = "cancelled"
    RETURNED = "returned"
    ALL = nonmember((PENDING, PROCESSING, SHIPPED, DELIVERED, CANCELLED, RETURNED))
    FINAL = nonmember((DELIVERED, CANCELLED, RETURNED))  # nothing more happens without a return


class PaymentStatus(StrEnum):
    UNPAID = "unpaid"
    PAID = "paid"
    REFUND_PENDING = "refund_pending"  # a return was accepted; the payments issue refunds
    REFUNDED = "refunded"
    ALL = nonmember((UNPAID, PAID, REFUND_PENDING, REFUNDED))


class ReturnStatus(StrEnum):
    REQUESTED = "requested"
    ACCEPTED = "accepted"
    REJECTED = "rejected"
    ALL = nonmember((REQUESTED, ACCEPTED, REJECTED))


class CartItem(Model):
    """One line of a buyer's cart: a variant and a quantity (a cart is a user's lines)."""

    __tablename__ = "cart_items"
    __table_args__ = (
        UniqueConstraint("user_id", "variant_id", name="uq_cart_items_user_variant"),
        CheckConstraint("quantity > 0", name="quantity_positive"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    variant_id: Mapped[int] = mapped_column(ForeignKey("variants.id", ondelete="CASCADE"))
    quantity: Mapped[int] = mapped_column(Integer)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, onupdate=utcnow)

    variant: Mapped[Variant] = relationship()


class Checkout(Model):
    """One press of "Bayar": one payment for the orders of every store in the cart."""

    __tablename__ = "checkouts"
    __table_args__ = (
        # The form's idempotency key: a double submit finds the first checkout.
        UniqueConstraint("buyer_id", "idempotency_key", name="uq_checkouts_buyer_key"),
        Index("ix_checkouts_buyer_created", "buyer_id", "created_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    reference: Mapped[str] = mapped_column(String(40), unique=True)  # CO-20261122-000045
    buyer_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="RESTRICT"))
    idempotency_key: Mapped[str] = mapped_column(String(64))
    payment_method: Mapped[str] = mapped_column(String(30))
    payment_status: Mapped[str] = mapped_column(String(20), default=PaymentStatus.UNPAID)
    subtotal: Mapped[int] = mapped_column(BigInteger)
    shipping_total: Mapped[int] = mapped_column(BigInteger)
    total: Mapped[int] = mapped_column(BigInteger)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

    buyer: Mapped[User] = relationship()
    orders: Mapped[list[Order]] = relationship(back_populates="checkout", order_by="Order.id")


class Order(Model):
    """The part of a checkout that one store fulfils."""

    __tablename__ = "orders"
    __table_args__ = (
        Index("ix_orders_buyer_created", "buyer_id", "created_at", "id"),
        Index("ix_orders_buyer_status_created", "buyer_id", "status", "created_at", "id"),
        Index("ix_orders_store_created", "store_id", "created_at", "id"),
        Index("ix_orders_store_status_created", "store_id", "status", "created_at", "id"),
        Index("ix_orders_store_delivered", "store_id", "delivered_at"),
        CheckConstraint("total >= 0", name="total_not_negative"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    number: Mapped[str] = mapped_column(String(40), unique=True)  # RCK-20261122-000123
    checkout_id: Mapped[int] = mapped_column(ForeignKey("checkouts.id", ondelete="RESTRICT"),
                                             index=True)
    store_id: Mapped[int] = mapped_column(ForeignKey("stores.id", ondelete="RESTRICT"))
    buyer_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="RESTRICT"))
    status: Mapped[str] = mapped_column(String(20), default=OrderStatus.PENDING)
    payment_status: Mapped[str] = mapped_column(String(20), default=PaymentStatus.UNPAID)
    subtotal: Mapped[int] = mapped_column(BigInteger)
    shipping_cost: Mapped[int] = mapped_column(BigInteger)
    total: Mapped[int] = mapped_column(BigInteger)
    item_count: Mapped[int] = mapped_column(Integer, default=0)  # units, for lists
    # Snapshot of the address at checkout: recipient, phone, street, city, province,
    # postal_code (a later edit of the saved address does not move a parcel).
    shipping_address: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    note: Mapped[str] = mapped_column(String(300), default="")  # the buyer's note to the store
    tracking_number: Mapped[str] = mapped_column(String(60), default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, onupdate=utcnow)
    processing_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    shipped_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    # The completion date: revenue counts an order on the day it was delivered.
    delivered_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    cancelled_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    returned_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)

    checkout: Mapped[Checkout] = relationship(back_populates="orders")
    store: Mapped[Store] = relationship()
    buyer: Mapped[User] = relationship()
    items: Mapped[list[OrderItem]] = relationship(back_populates="order",
                                                  order_by="OrderItem.id")
    events: Mapped[list[OrderEvent]] = relationship(back_populates="order",
                                                    order_by="OrderEvent.id")


class OrderItem(Model):
    """A snapshot of one cart line at checkout."""

    __tablename__ = "order_items"
    __table_args__ = (
        CheckConstraint("quantity > 0", name="quantity_positive"),
        Index("ix_order_items_product", "product_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    order_id: Mapped[int] = mapped_column(ForeignKey("orders.id", ondelete="CASCADE"),
                                          index=True)
    # Kept for restocking and reviews; products are archived, never deleted, in practice.
    variant_id: Mapped[int | None] = mapped_column(
        ForeignKey("variants.id", ondelete="SET NULL"), nullable=True)
    product_id: Mapped[int | None] = mapped_column(
        ForeignKey("products.id", ondelete="SET NULL"), nullable=True)
    product_name: Mapped[str] = mapped_column(String(150))
    options: Mapped[dict[str, str]] = mapped_column(JSON, default=dict)
    sku: Mapped[str] = mapped_column(String(64))
    unit_price: Mapped[int] = mapped_column(BigInteger)
    quantity: Mapped[int] = mapped_column(Integer)
    line_total: Mapped[int] = mapped_column(BigInteger)

    order: Mapped[Order] = relationship(back_populates="items")
    variant: Mapped[Variant | None] = relationship()
    product: Mapped[Product | None] = relationship()

    @property
    def options_label(self) -> str:
        return ", ".join(f"{k}: {v}" for k, v in self.options.items())


class OrderEvent(Model):
    """The status history: who moved the order from where to where, and when."""

    __tablename__ = "order_events"

    id: Mapped[int] = mapped_column(primary_key=True)
    order_id: Mapped[int] = mapped_column(ForeignKey("orders.id", ondelete="CASCADE"),
                                          index=True)
    from_status: Mapped[str | None] = mapped_column(String(20), nullable=True)  # None: created
    to_status: Mapped[str] = mapped_column(String(20))
    actor_id: Mapped[int | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL"), nullable=True)  # None: the system
    note: Mapped[str] = mapped_column(String(300), default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

    order: Mapped[Order] = relationship(back_populates="events")
    actor: Mapped[User | None] = relationship()


class Review(Model):
    """A verified buyer's rating of a product, once per buyer and product, after delivery."""

    __tablename__ = "reviews"
    __table_args__ = (
        UniqueConstraint("buyer_id", "product_id", name="uq_reviews_buyer_product"),
        CheckConstraint("rating BETWEEN 1 AND 5", name="rating_range"),
        Index("ix_reviews_product_created", "product_id", "created_at", "id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    product_id: Mapped[int] = mapped_column(ForeignKey("products.id", ondelete="CASCADE"))
    store_id: Mapped[int] = mapped_column(ForeignKey("stores.id", ondelete="CASCADE"),
                                          index=True)
    order_id: Mapped[int] = mapped_column(ForeignKey("orders.id", ondelete="CASCADE"),
                                          index=True)
    buyer_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    rating: Mapped[int] = mapped_column(SmallInteger)
    comment: Mapped[str] = mapped_column(Text, default="")
    reply: Mapped[str] = mapped_column(Text, default="")  # the seller's one reply
    replied_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

    product: Mapped[Product] = relationship()
    buyer: Mapped[User] = relationship()
    order: Mapped[Order] = relationship()


class ReturnRequest(Model):
    """A buyer's request to return a delivered order (within the return window)."""

    __tablename__ = "return_requests"

    id: Mapped[int] = mapped_column(primary_key=True)
    order_id: Mapped[int] = mapped_column(ForeignKey("orders.id", ondelete="CASCADE"),
                                          unique=True)  # one return per order
    buyer_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    store_id: Mapped[int] = mapped_column(ForeignKey("stores.id", ondelete="CASCADE"),
                                          index=True)
    reason: Mapped[str] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(20), default=ReturnStatus.REQUESTED)
    reject_reason: Mapped[str] = mapped_column(Text, default="")
    # Recorded when accepted; the payments issue pays it back.
    refund_amount: Mapped[int] = mapped_column(BigInteger, default=0)
    decided_by_id: Mapped[int | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL"), nullable=True)
    decided_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

    order: Mapped[Order] = relationship()
