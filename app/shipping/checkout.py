"""The checkout page's shipping: the courier choices read from its form and the plan it
shows (priced by the server; the page's totals come from here, the placement recomputes
them in `checkout_place`)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from app.accounts.models import Address
from app.core.forms import parse_int
from app.shipping.couriers import SERVICES
from app.shipping.services import ShippingPlan, shipping_plan

if TYPE_CHECKING:  # a type only: shipping sits below orders
    from app.orders.cart import CartView


def courier_choices(form: Mapping[str, str]) -> dict[int, str]:
    """`courier-<store id>` fields → {store id: service}; unknown services are dropped
    (the plan then says the store needs a choice)."""
    choices: dict[int, str] = {}
    for key, value in form.items():
        if not key.startswith("courier-"):
            continue
        store_id = parse_int(key.removeprefix("courier-"))
        if store_id is not None and value in SERVICES:
            choices[store_id] = value
    return choices


def plan_for_page(cart: CartView, addresses: list[Address], chosen: dict[str, Any]
                  ) -> ShippingPlan:
    """The plan for the address the page has selected (the buyer's own addresses only)."""
    address = next((a for a in addresses if a.id == chosen.get("address_id")), None)
    return shipping_plan(cart, destination_city=address.city if address else None,
                         choices=chosen.get("couriers") or {})
