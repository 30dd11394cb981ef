"""Saved addresses (/me/addresses): any token holder manages their own, like the web's
/akun/alamat; buyer A's address is a 404 for everyone else (ownership in the query)."""

from __future__ import annotations

from tests.api.access import logged_in, mine
from tests.core.test_access_matrix import CUSTOMER, _fresh_address

ADDRESS = {"recipient": "Penerima Matriks", "phone": "081234567890",
           "street": "Jl. Matriks No. 1", "city": "Bandung", "province": "Jawa Barat",
           "postal_code": "40111"}

ACCESS = {
    "api.address_list": {"GET": logged_in(200)},
    # A valid body: every token holder saves one of their own.
    "api.address_add": {"POST": logged_in(201)},
    "api.address_get": {"GET": mine(CUSTOMER)},
    "api.address_change": {"PATCH": mine(CUSTOMER)},
    # A fresh address of A's each time: deleting one is a 204 once.
    "api.address_remove": {"DELETE": mine(CUSTOMER, 204)},
    "api.address_default": {"POST": mine(CUSTOMER)},
}

FRESH = {
    "api.address_remove": _fresh_address,
}

BODIES = {
    "api.address_add": ADDRESS,
    "api.address_change": {"city": "Bandung"},
}


def args(w) -> dict[str, dict]:
    address = {"address_id": w.address_id}
    return {key: address for key in ("api.address_get", "api.address_change",
                                     "api.address_default")}
