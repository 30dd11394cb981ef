"""Shipping in the API: what each store of the cart would cost to ship with each of its
couriers (the web checkout's courier section), and the shapes orders and checkouts show.

    GET    /cart/shipping-rates        per store of the caller's cart: its services with
                                       cost and etd for the address (default: the default
                                       address), cheapest first, or its flat cost

POST /checkout takes `couriers: [{store_id, service}]` (app/api/routes/cart.py); the cost
is computed by the server at placement (app.shipping.services.shipping_plan).
"""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Literal

from flask import abort
from flask_login import current_user
from pydantic import Field

from app.accounts.addresses import address_default, address_owned
from app.accounts.models import RoleName
from app.api import bp
from app.api.schemas import Id, Input, Output, StoreRef
from app.api.spec import operation
from app.orders.cart import cart_view
from app.shipping.couriers import SERVICES
from app.shipping.rates import Quote
from app.shipping.services import shipping_plan
from app.shipping.view import order_shipping

TAG_SHIPPING = "Keranjang"  # a question about the cart (fuzzed with it)
# A choice built at import time from a table: pydantic reads the Literal at run time, a
# type checker sees the str it is.
if TYPE_CHECKING:
    ServiceName = str
else:
    ServiceName = Literal[tuple(SERVICES)]


class CourierChoiceIn(Input):
    store_id: Id
    service: ServiceName = Field(description="A service the store offers, e.g. jne:REG.")


class RateOut(Output):
    service: str = Field(description="courier:SERVICE, e.g. jne:REG.")
    courier: str
    name: str
    label: str
    cost: int = Field(description="Whole Rupiah, for the store's parcel.")
    etd: str = Field(description="Estimated days: \"2-3\", \"1\"; \"0\" is the same day.")
    source: Literal["table", "aggregator"]


class StoreRatesOut(Output):
    store: StoreRef
    weight_grams: int
    flat: bool = Field(description="The store offers no couriers: it ships at flat_cost.")
    flat_cost: int
    services: list[RateOut]
    cheapest: str | None = Field(description="The service the web checkout preselects.")
    problem: str | None = Field(description="Why this store cannot be checked out now.")


class ShippingRatesOut(Output):
    address_id: int | None
    stores: list[StoreRatesOut]
    shipping_total: int = Field(description="With the cheapest service of each store.")


class ShippingRatesQuery(Input):
    address_id: Id | None = Field(default=None, description="One of the caller's "
                                                            "addresses (default: the "
                                                            "default address).")


class ShippingEventOut(Output):
    occurred_at: datetime
    description: str
    location: str


class OrderShippingOut(Output):
    """How the order travels: the courier chosen at checkout, its cost, the AWB."""

    service: str | None = Field(description="courier:SERVICE; null: the store's flat cost.")
    courier: str | None
    etd: str | None
    weight_grams: int | None
    cost: int
    awb: str | None
    tracking_url: str | None = Field(description="The courier's public tracking page.")
    events: list[ShippingEventOut]


def _rate(quote: Quote) -> RateOut:
    return RateOut(service=quote.service, courier=quote.info.courier.name, name=quote.name,
                   label=str(quote.info.label), cost=quote.cost, etd=quote.etd,
                   source=quote.source)


def order_shipping_out(order, *, with_events: bool = True) -> OrderShippingOut:
    view = order_shipping(order, with_events=with_events)
    return OrderShippingOut(
        service=view.service or None, courier=view.courier or None, etd=view.etd or None,
        weight_grams=view.weight_grams or None, cost=view.cost, awb=view.awb or None,
        tracking_url=view.tracking_url or None,
        events=[ShippingEventOut(occurred_at=e.occurred_at, description=e.description,
                                 location=e.location) for e in view.events])


@operation(bp, "/cart/shipping-rates", "GET", tag=TAG_SHIPPING,
           summary="Shipping rates for the cart, per store", query=ShippingRatesQuery,
           response=ShippingRatesOut, roles=(RoleName.CUSTOMER,), errors=(404,))
def shipping_rates(query: ShippingRatesQuery):
    """404: address_id is not one of the caller's addresses."""
    if query.address_id is not None:
        address = address_owned(user=current_user, address_id=query.address_id)
        if address is None:
            abort(404)
    else:
        address = address_default(current_user.id)
    cart = cart_view(current_user.id)
    plan = shipping_plan(cart, destination_city=address.city if address else None)
    stores = []
    for group in cart.groups:
        entry = plan.of(group)
        stores.append(StoreRatesOut(
            store=StoreRef(id=group.store.id, name=group.store.name, slug=group.store.slug),
            weight_grams=entry.grams, flat=entry.flat, flat_cost=group.store.shipping_cost,
            services=[_rate(q) for q in entry.quotes],
            cheapest=entry.quotes[0].service if entry.quotes else None,
            problem=entry.problem or None))
    return ShippingRatesOut(address_id=address.id if address else None, stores=stores,
                            shipping_total=plan.total)
