"""Shipping writes and the checkout's shipping plan.

- `store_couriers_set`: the services a store offers (store settings).
- `shipping_plan`: for each store of a cart, the services it offers priced for the
  parcel's weight from the store's city to the address' city, and the one chosen (the
  buyer's pick when it is still offered, else the cheapest). The checkout shows it and
  `checkout_place` recomputes it: a cost sent by the client is never read.
- `shipments_record`: the chosen service, weight, cost and estimate of each placed order.
- `awb_check`: the seller's air-waybill number, loosely checked against the courier.
- `tracking_refresh`: the aggregator's manifest of a shipped order, kept as events (a job).
- `rate_update`: an admin's edit of one row of the rate table.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import timedelta
from typing import TYPE_CHECKING

from flask_babel import lazy_gettext as _l
from sqlalchemy import delete, select

from app.audit.services import ACTIONS, audit_record
from app.core.clock import utcnow
from app.core.db import add_once
from app.core.queue import enqueue_after_commit
from app.extensions import db
from app.shipping.couriers import SERVICES, awb_normalise, awb_problem
from app.shipping.models import Shipment, ShipmentEvent, ShippingRate, StoreCourier
from app.shipping.rates import Quote, aggregator, rates_quote

if TYPE_CHECKING:
    from app.accounts.models import Store, User
    from app.orders.cart import CartView, StoreGroup

log = logging.getLogger(__name__)

# Our audit actions, registered here so the audit module needs no edit for them.
ACTIONS.setdefault("store.couriers", _l("Kurir toko diubah"))
ACTIONS.setdefault("shipping.rate", _l("Tarif ongkos kirim diubah"))

TRACKING_STALE = timedelta(minutes=30)
MAX_PRICE_PER_KG = 10_000_000
MAX_ETD_DAYS = 60


class ShippingError(Exception):
    """A shipping rule refused the request; `field` names the form field, `code` the rule
    (courier_unavailable, courier_required, awb_invalid, rate_invalid)."""

    def __init__(self, message: object, *, field: str = "", code: str = "shipping_refused"):
        super().__init__(str(message))
        self.message = str(message)
        self.field = field
        self.code = code


def store_services(store_id: int) -> list[str]:
    """The services a store offers, in the catalogue's order."""
    have = set(db.session.scalars(select(StoreCourier.service)
                                  .where(StoreCourier.store_id == store_id)))
    return [key for key in SERVICES if key in have]


def stores_with_couriers(store_ids: list[int]) -> set[int]:
    """Which of these stores ship with couriers (one query)."""
    if not store_ids:
        return set()
    return set(db.session.scalars(select(StoreCourier.store_id).distinct()
                                  .where(StoreCourier.store_id.in_(store_ids))))


def store_couriers_set(*, store: Store, services: list[str], actor: User) -> list[str]:
    """Make the store offer exactly `services` (unknown keys are refused). Flushes."""
    unknown = [s for s in services if s not in SERVICES]
    if unknown:
        raise ShippingError(_l("Layanan kurir tidak dikenal."), field="services",
                            code="courier_unknown")
    before = store_services(store.id)
    wanted = [key for key in SERVICES if key in set(services)]
    db.session.execute(delete(StoreCourier).where(StoreCourier.store_id == store.id,
                                                  StoreCourier.service.not_in(wanted)))
    for key in wanted:
        if key not in before:
            # A double submit in another tab may insert the same row first: keep that one.
            def existing(key: str = key) -> StoreCourier | None:
                return db.session.scalars(select(StoreCourier).where(
                    StoreCourier.store_id == store.id, StoreCourier.service == key)).first()

            add_once(StoreCourier(store_id=store.id, service=key), existing)
    db.session.flush()
    if before != wanted:
        audit_record("store.couriers", actor=actor, object_type="store", object_id=store.id,
                     before={"services": before}, after={"services": wanted})
    return wanted


@dataclass
class StoreShipping:
    """One store's part of the shipping plan."""

    store: Store
    grams: int
    offered: list[str]  # empty: the store ships at its flat cost
    quotes: list[Quote] = field(default_factory=list)
    chosen: Quote | None = None
    problem: str = ""  # non-empty: the buyer cannot check this store out as chosen
    problem_code: str = ""  # courier_required, courier_unavailable, address_required

    @property
    def flat(self) -> bool:
        return not self.offered

    @property
    def cost(self) -> int:
        if self.flat:
            return self.store.shipping_cost
        return self.chosen.cost if self.chosen else 0


@dataclass
class ShippingPlan:
    stores: dict[int, StoreShipping]

    @property
    def total(self) -> int:
        return sum(s.cost for s in self.stores.values())

    @property
    def problems(self) -> list[StoreShipping]:
        return [s for s in self.stores.values() if s.problem]

    def of(self, group: StoreGroup) -> StoreShipping:
        return self.stores[group.store.id]


def parcel_grams(group: StoreGroup) -> int:
    return sum(line.variant.weight_grams * line.item.quantity for line in group.lines)


def shipping_plan(cart: CartView, *, destination_city: str | None,
                  choices: dict[int, str] | None = None, strict: bool = False
                  ) -> ShippingPlan:
    """Price each store's parcel (see the module docstring). With `strict` (placing the
    checkout) a store whose chosen service is missing or no longer offered gets a
    `problem` instead of the cheapest."""
    choices = choices or {}
    plan: dict[int, StoreShipping] = {}
    for group in cart.groups:
        store = group.store
        entry = StoreShipping(store=store, grams=parcel_grams(group),
                              offered=store_services(store.id))
        plan[store.id] = entry
        if entry.flat:
            continue
        if not destination_city:
            entry.problem = str(_l("Pilih alamat pengiriman untuk melihat ongkos kirim."))
            entry.problem_code = "address_required"
            continue
        entry.quotes = rates_quote(origin=store.location, destination=destination_city,
                                   grams=entry.grams, services=entry.offered)
        wanted = choices.get(store.id, "")
        picked = next((q for q in entry.quotes if q.service == wanted), None)
        if picked is None and strict:
            if not wanted:
                entry.problem = str(_l("Pilih kurir untuk pesanan dari %(store)s.",
                                       store=store.name))
                entry.problem_code = "courier_required"
            else:
                name = SERVICES[wanted].name if wanted in SERVICES else wanted
                entry.problem = str(_l(
                    "Kurir %(courier)s tidak tersedia lagi untuk pesanan dari %(store)s ke "
                    "alamat ini. Pilih kurir lain.", courier=name, store=store.name))
                entry.problem_code = "courier_unavailable"
        elif picked is None and entry.quotes:
            picked = entry.quotes[0]
        if picked is None and not entry.problem:
            entry.problem = str(_l("Tidak ada kurir %(store)s yang melayani alamat ini.",
                                   store=store.name))
            entry.problem_code = "courier_unavailable"
        entry.chosen = picked
    return ShippingPlan(plan)


def shipment_record(*, order_id: int, entry: StoreShipping) -> Shipment | None:
    """Keep what the plan chose for a placed order (nothing for a flat-cost store)."""
    if entry.chosen is None:
        return None
    shipment = Shipment(order_id=order_id, service=entry.chosen.service,
                        weight_grams=entry.grams, cost=entry.chosen.cost,
                        etd=entry.chosen.etd, source=entry.chosen.source)
    db.session.add(shipment)
    return shipment


def shipment_of(order_id: int) -> Shipment | None:
    return db.session.scalars(select(Shipment).where(Shipment.order_id == order_id)).first()


def awb_check(*, order_id: int, awb: str) -> str:
    """The seller's AWB for shipping an order, normalised (upper case, no spaces). For an
    order sent with a courier it is required and must look like that courier's numbers;
    raises ShippingError(field="tracking_number") otherwise."""
    shipment = shipment_of(order_id)
    if shipment is None:
        return (awb or "").strip()
    number = awb_normalise(awb)
    problem = awb_problem(shipment.service, number)
    if problem:
        raise ShippingError(problem, field="tracking_number", code="awb_invalid")
    return number


def shipment_events(order_id: int) -> list[ShipmentEvent]:
    return list(db.session.scalars(select(ShipmentEvent).where(
        ShipmentEvent.order_id == order_id).order_by(ShipmentEvent.occurred_at,
                                                     ShipmentEvent.id)))


def tracking_due(shipment: Shipment | None, awb: str) -> bool:
    """Whether the manifest should be asked for again (configured, shipped, not lately)."""
    if shipment is None or not awb or aggregator() is None:
        return False
    return shipment.tracked_at is None or utcnow() - shipment.tracked_at > TRACKING_STALE


def tracking_refresh(*, order_id: int, awb: str) -> int:
    """Ask the aggregator for the manifest of `awb` and keep the lines not yet kept;
    returns how many were added. Raises RateSourceError when the API fails (the job
    retries). Flushes."""
    shipment = shipment_of(order_id)
    source = aggregator()
    if shipment is None or source is None or not awb:
        return 0
    shipment.tracked_at = utcnow()
    events = source.track(awb=awb, courier=shipment.service.split(":")[0])
    have = {(e.occurred_at, e.description) for e in shipment_events(order_id)}
    added = 0
    for event in events:
        if (event.occurred_at, event.description) in have:
            continue
        db.session.add(ShipmentEvent(order_id=order_id, code=event.code,
                                     description=event.description, location=event.location,
                                     occurred_at=event.occurred_at))
        have.add((event.occurred_at, event.description))
        added += 1
    db.session.flush()
    return added


def rate_update(*, rate: ShippingRate, price_per_kg: int | None, etd_min: int | None,
                etd_max: int | None, active: bool, actor: User) -> ShippingRate:
    """An admin's edit of one rate row; raises ShippingError(code="rate_invalid")."""
    if price_per_kg is None or not 0 < price_per_kg <= MAX_PRICE_PER_KG:
        raise ShippingError(_l("Isi harga per kg, lebih dari Rp 0."), field="price_per_kg",
                            code="rate_invalid")
    if etd_min is None or etd_max is None or not 0 <= etd_min <= etd_max <= MAX_ETD_DAYS:
        raise ShippingError(_l("Perkiraan hari: dari 0 sampai %(max)s, dan \"dari\" tidak "
                               "lebih dari \"sampai\".", max=MAX_ETD_DAYS), field="etd",
                            code="rate_invalid")
    before = {"price_per_kg": rate.price_per_kg, "etd_min": rate.etd_min,
              "etd_max": rate.etd_max, "active": rate.active}
    rate.price_per_kg, rate.etd_min, rate.etd_max, rate.active = (
        price_per_kg, etd_min, etd_max, active)
    db.session.flush()
    after = {"price_per_kg": price_per_kg, "etd_min": etd_min, "etd_max": etd_max,
             "active": active}
    if before != after:
        audit_record("shipping.rate", actor=actor, object_type="shipping_rate",
                     object_id=rate.id, before=before, after=after)
    return rate


def shipment_shipped(*, order_id: int, awb: str) -> None:
    """The order left with `awb`: ask the aggregator for its manifest after commit (a job;
    nothing when no aggregator is configured or the order has no courier)."""
    if awb and aggregator() is not None and shipment_of(order_id) is not None:
        enqueue_after_commit("jobs.shipping.track", order_id, retries=2, timeout=30)

