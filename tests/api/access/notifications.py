"""My notification switches (/me/notifications): any token holder, their own only (the
caller is the object: there is nothing of anyone else's to name)."""

from __future__ import annotations

from tests.api.access import logged_in

ACCESS = {
    "api.notifications_get": {"GET": logged_in(200)},
    # An empty list changes nothing: every token holder may send it.
    "api.notifications_put": {"PUT": logged_in(200)},
}

FRESH: dict = {}

BODIES = {"api.notifications_put": {"switches": []}}


def args(w) -> dict[str, dict]:
    return {}
