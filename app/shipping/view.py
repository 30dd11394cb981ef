"""What pages show of an order's shipping (buyer, seller, invoice, API): the courier and
service, the estimate, the AWB with the courier's tracking link, and the events: the
status changes we recorded plus the courier's manifest lines (when an aggregator is
configured). Reads only."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from flask_babel import lazy_gettext as _l
from flask_babel import ngettext
from sqlalchemy import select

from app.extensions import db
from app.shipping.couriers import SERVICES, tracking_url
from app.shipping.models import Shipment
from app.shipping.services import shipment_events, shipment_of, tracking_due


def etd_label(etd: str) -> str:
    """"0" → today; "2-3" → "2-3 hari"; "1" → "1 hari"."""
    low, _, high = (etd or "").partition("-")
    if not low.isdigit():
        return ""
    if low == "0" and not high:
        return str(_l("Tiba hari ini"))
    days = int(high) if high.isdigit() else int(low)
    span = f"{low}–{high}" if high and high != low else low
    return ngettext("%(span)s hari", "%(span)s hari", days, span=span)


def kg_label(grams: int) -> str:
    """Grams as kilograms the Indonesian way: 1250 → "1,25"."""
    text = f"{grams / 1000:.2f}".rstrip("0").rstrip(".")
    return text.replace(".", ",")


@dataclass
class ShippingEventView:
    occurred_at: datetime
    description: str
    location: str = ""


@dataclass
class OrderShipping:
    service: str  # "" for a store's flat cost
    courier: str
    service_label: str
    etd: str
    weight_grams: int
    cost: int
    awb: str
    tracking_url: str
    events: list[ShippingEventView] = field(default_factory=list)
    refreshable: bool = False  # the aggregator may know more than we show

    @property
    def name(self) -> str:
        return f"{self.courier} {self.service.split(':')[-1]}" if self.service else ""


_STATUS_EVENT = {
    "processing": _l("Pesanan diproses penjual"),
    "shipped": _l("Paket diserahkan ke kurir"),
    "delivered": _l("Paket diterima pembeli"),
}


def order_shipping(order, *, with_events: bool = True) -> OrderShipping:
    """The shipping of `order` as the order pages show it."""
    shipment = shipment_of(order.id)
    service = SERVICES.get(shipment.service) if shipment else None
    view = OrderShipping(
        service=shipment.service if shipment else "",
        courier=service.courier.name if service else "",
        service_label=str(service.label) if service else "",
        etd=shipment.etd if shipment else "", weight_grams=shipment.weight_grams
        if shipment else 0, cost=order.shipping_cost, awb=order.tracking_number or "",
        tracking_url=tracking_url(shipment.service, order.tracking_number)
        if shipment else "")
    if not with_events:
        return view
    events = [ShippingEventView(e.created_at, str(_STATUS_EVENT[e.to_status]))
              for e in order.events if e.to_status in _STATUS_EVENT]
    events += [ShippingEventView(e.occurred_at, e.description, e.location)
               for e in shipment_events(order.id)]
    view.events = sorted(events, key=lambda e: e.occurred_at)
    view.refreshable = tracking_due(shipment, view.awb)
    return view


def shipments_of(order_ids: list[int]) -> dict[int, Shipment]:
    """The shipments of many orders at once (lists, the API)."""
    if not order_ids:
        return {}
    rows = db.session.scalars(select(Shipment).where(Shipment.order_id.in_(order_ids)))
    return {row.order_id: row for row in rows}
