"""Every state-changing route refuses a request without a CSRF token (400).

The routes are enumerated from `app.url_map`, so a new route is covered automatically.
"""

from __future__ import annotations

import pytest
from werkzeug.routing import Rule

from tests.conftest import log_in
from tests.factories import make_user

UNSAFE = {"POST", "PUT", "PATCH", "DELETE"}
# Routes that must accept calls from outside the site (payment webhooks, later) go here,
# each with the reason it is safe without a token.
CSRF_EXEMPT: dict[str, str] = {
    "payments.notify": "the gateway has no session; every notification must carry a valid "
                       "signature_key (tests/payments/test_webhook.py)",
    "notifications.telegram_webhook": "Telegram has no session; every update must carry the "
                                      "secret header (tests/crm/test_telegram.py)",
}


def _unsafe_rules(app) -> list[tuple[Rule, str]]:
    return sorted(
        ((rule, method) for rule in app.url_map.iter_rules()
         for method in rule.methods & UNSAFE if rule.endpoint not in CSRF_EXEMPT
         # The JSON API ignores cookies (Bearer tokens only), so it needs no CSRF token:
         # tests/api/test_auth.py proves a browser session is anonymous there.
         and not rule.endpoint.startswith("api.")),
        key=lambda pair: (pair[0].rule, pair[1]),
    )


def _fill(rule: Rule) -> str:
    values = {arg: 1 for arg in rule.arguments}
    return rule.build(values, append_unknown=False)[1]


def test_there_are_state_changing_routes_to_check(app):
    assert len(_unsafe_rules(app)) >= 8


@pytest.mark.parametrize("as_admin", [False, True], ids=["anonymous", "admin"])
def test_every_unsafe_route_without_csrf_token_answers_400(app, client, db, as_admin):
    if as_admin:
        user = make_user(roles=("admin",))
        db.session.commit()
        log_in(client, user.email)
    for rule, method in _unsafe_rules(app):
        url = _fill(rule)
        response = client.open(url, method=method, data={"email": "a@b.test"}, csrf=False)
        assert response.status_code == 400, f"{method} {url} answered {response.status_code}"
        assert "Formulir kedaluwarsa" in response.get_data(as_text=True)


def test_htmx_request_with_token_in_header_is_accepted(client):
    token = client.csrf_token()
    response = client.post("/bahasa", data={"lang": "en"}, csrf=False,
                           headers={"X-CSRFToken": token, "HX-Request": "true"})
    assert response.status_code == 204
    assert response.headers["HX-Redirect"] == "/"


def test_wrong_csrf_token_is_refused(client):
    response = client.post("/bahasa", data={"lang": "en", "csrf_token": "forged"}, csrf=False)
    assert response.status_code == 400
