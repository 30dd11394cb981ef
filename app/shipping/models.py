"""Shipping tables: the rate table, the couriers a store offers, an order's shipment (the
service, weight and estimate chosen at checkout) and its tracking events.

The order keeps its cost in `Order.shipping_cost` and its air-waybill number in
`Order.tracking_number`; `Shipment` adds what the courier choice brought.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import (
    BigInteger,
    Boolean,
    CheckConstraint,
    ForeignKey,
    Index,
    Integer,
    SmallInteger,
    String,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from app.core.clock import UTCDateTime, utcnow
from app.extensions import Model


class ShippingRate(Model):
    """The built-in rate source: a service's price per started kilogram from one zone to
    another, and its estimate in days (etd_min to etd_max; 0 is the same day)."""

    __tablename__ = "shipping_rates"
    __table_args__ = (
        UniqueConstraint("service", "origin_zone", "dest_zone", name="uq_shipping_rates_route"),
        CheckConstraint("price_per_kg > 0", name="price_positive"),
        CheckConstraint("etd_min >= 0 AND etd_max >= etd_min", name="etd_range"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    service: Mapped[str] = mapped_column(String(30))  # "jne:REG"
    origin_zone: Mapped[str] = mapped_column(String(20))
    dest_zone: Mapped[str] = mapped_column(String(20))
    price_per_kg: Mapped[int] = mapped_column(BigInteger)
    etd_min: Mapped[int] = mapped_column(SmallInteger)
    etd_max: Mapped[int] = mapped_column(SmallInteger)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, onupdate=utcnow)


class StoreCourier(Model):
    """A service a store ships with (a store without any ships at its flat cost)."""

    __tablename__ = "store_couriers"
    __table_args__ = (UniqueConstraint("store_id", "service", name="uq_store_couriers"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    store_id: Mapped[int] = mapped_column(ForeignKey("stores.id", ondelete="CASCADE"),
                                          index=True)
    service: Mapped[str] = mapped_column(String(30))


class Shipment(Model):
    """What the buyer chose for one order at checkout, priced by the server then."""

    __tablename__ = "shipments"

    id: Mapped[int] = mapped_column(primary_key=True)
    order_id: Mapped[int] = mapped_column(ForeignKey("orders.id", ondelete="CASCADE"),
                                          unique=True)
    service: Mapped[str] = mapped_column(String(30))
    weight_grams: Mapped[int] = mapped_column(Integer)
    cost: Mapped[int] = mapped_column(BigInteger)
    etd: Mapped[str] = mapped_column(String(20), default="")  # "2-3" days, "0" same day
    source: Mapped[str] = mapped_column(String(20), default="table")  # table | aggregator
    # The last time the aggregator's manifest was asked for (None: never).
    tracked_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class ShipmentEvent(Model):
    """One line of the courier's manifest for an order (from the aggregator), kept once."""

    __tablename__ = "shipment_events"
    __table_args__ = (
        UniqueConstraint("order_id", "occurred_at", "description",
                         name="uq_shipment_events_line"),
        Index("ix_shipment_events_order_time", "order_id", "occurred_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    order_id: Mapped[int] = mapped_column(ForeignKey("orders.id", ondelete="CASCADE"))
    code: Mapped[str] = mapped_column(String(30), default="")
    description: Mapped[str] = mapped_column(String(300))
    location: Mapped[str] = mapped_column(String(120), default="")
    occurred_at: Mapped[datetime] = mapped_column(UTCDateTime())
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
