"""Helpers for the order tests: read the checkout form as a browser would."""

from __future__ import annotations

import re

KEY_INPUT = re.compile(r'name="idempotency_key" value="([^"]*)"')
CHECKED_ADDRESS = re.compile(r'name="address_id" value="(\d+)" checked')


def checkout_form(client) -> dict[str, str]:
    """GET /checkout and return the form fields a browser would submit with "Bayar"."""
    page = client.get("/checkout").get_data(as_text=True)
    key = KEY_INPUT.search(page)
    address = CHECKED_ADDRESS.search(page)
    assert key and address, "the checkout page has no form to submit"
    return {"idempotency_key": key.group(1), "address_id": address.group(1),
            "payment_method": "va_bca"}
