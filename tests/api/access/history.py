"""Own history (tests/api/test_history.py): the client's company's maklon history, the
seller's store's orders. No object in the URL: the owner comes from the token."""

from __future__ import annotations

from tests.api.access import only

ACCESS = {
    "api.maklon_history": {"GET": only({"client"})},
    "api.seller_history": {"GET": only({"seller"})},
}


def args(w) -> dict:
    return {}
