"""Authentication and the docs: who may log in, refresh, log out, read /me."""

from __future__ import annotations

from tests.api.access import everyone, logged_in

ACCESS = {
    "api.openapi_json": {"GET": everyone(200)},
    "api.docs": {"GET": everyone(200)},
    # An empty body is a 422 for everyone (credentials are the body).
    "api.login": {"POST": everyone(422)},
    "api.refresh": {"POST": everyone(422)},
    "api.me": {"GET": logged_in(200)},
    "api.me_password": {"POST": logged_in(422)},
    # Last (see LAST in the test): it ends the actor's token.
    "api.logout": {"POST": logged_in(204)},
}


def args(w) -> dict[str, dict]:
    return {}
