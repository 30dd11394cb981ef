"""Shipping: the cart's shipping rates are the caller's own cart (customers only, like the
web checkout's courier section)."""

from __future__ import annotations

from tests.api.access import only

ACCESS = {
    "api.shipping_rates": {"GET": only({"customer"})},
}


def args(w) -> dict[str, dict]:
    return {}
