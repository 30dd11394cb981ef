"""Rate limits on the public entry points (issue #9, hardening): login, registration,
password reset, the public lead form and the payment webhook. Each is a config key; one
more request than the limit answers 429 with the friendly page (or its htmx fragment) and
does nothing."""

from __future__ import annotations

import pytest
from limits import parse
from sqlalchemy import func, select

from app.accounts.models import User

# (path, config key, form data, is the webhook). The forms are sent empty or invalid: every
# POST counts toward these per-IP limits (login counts failed attempts only: an empty form
# is one).
LIMITED = [
    ("/masuk", "LOGIN_LIMIT_PER_IP", {}, False),
    ("/daftar", "REGISTER_LIMIT_PER_IP", {}, False),
    ("/lupa-kata-sandi", "RESET_LIMIT_PER_IP", {}, False),
    ("/ajukan-maklon", "INTEREST_LIMIT_PER_IP", {}, False),
    ("/payments/notify/sandbox", "WEBHOOK_LIMIT_PER_IP", None, True),
]


def _post(client, path: str, data, webhook: bool, **kwargs):
    if webhook:
        return client.post(path, json={"order_id": "junk"}, csrf=False, **kwargs)
    return client.post(path, data=data, **kwargs)


@pytest.mark.parametrize(("path", "key", "data", "webhook"), LIMITED,
                         ids=[row[1] for row in LIMITED])
def test_one_request_over_the_limit_gets_the_friendly_429_page(client, app, monkeypatch,
                                                               path, key, data, webhook):
    monkeypatch.setitem(app.config, key, "3 per hour")
    for _ in range(3):
        assert _post(client, path, data, webhook).status_code in (400, 401, 422)
    blocked = _post(client, path, data, webhook)
    html = blocked.get_data(as_text=True)
    assert blocked.status_code == 429
    assert "Coba lagi dalam 60 menit." in html
    assert 59 * 60 < int(blocked.headers["Retry-After"]) <= 60 * 60
    assert "<html" in html  # the whole friendly page, not a bare error
    if not webhook:
        assert client.get(path).status_code == 200  # reading the form is never limited


def test_limited_htmx_form_gets_the_fragment(client, app, monkeypatch):
    monkeypatch.setitem(app.config, "REGISTER_LIMIT_PER_IP", "1 per hour")
    client.post("/daftar", data={})
    blocked = client.post("/daftar", data={}, headers={"HX-Request": "true"})
    html = blocked.get_data(as_text=True)
    assert blocked.status_code == 429
    assert "<html" not in html and "Coba lagi dalam 60 menit." in html


def test_registration_over_the_limit_creates_no_account(client, db, app, monkeypatch):
    monkeypatch.setitem(app.config, "REGISTER_LIMIT_PER_IP", "2 per hour")
    for n in range(3):
        response = client.post("/daftar", data={
            "name": f"Pendaftar {n}", "email": f"baru{n}@example.test",
            "password": "kopi-susu-gula-aren-42", "password_confirm": "kopi-susu-gula-aren-42",
            "account_type": "customer", "terms": "y"})
        client.post("/keluar")
        assert response.status_code == (303 if n < 2 else 429)
    emails = set(db.session.scalars(select(User.email)))
    assert emails == {"baru0@example.test", "baru1@example.test"}


def test_the_limit_is_per_address(client, make_client, app, monkeypatch):
    monkeypatch.setitem(app.config, "REGISTER_LIMIT_PER_IP", "1 per hour")
    client.post("/daftar", data={}, environ_base={"REMOTE_ADDR": "203.0.113.1"})
    assert client.post("/daftar", data={}, environ_base={"REMOTE_ADDR": "203.0.113.1"}
                       ).status_code == 429
    assert client.post("/daftar", data={}, environ_base={"REMOTE_ADDR": "203.0.113.2"}
                       ).status_code == 422


def test_defaults_are_strict_for_forms_and_generous_for_the_webhook(app):
    def per_hour(key: str) -> float:
        item = parse(app.config[key])
        return item.amount * 3600 / item.get_expiry()

    assert app.config["REGISTER_LIMIT_PER_IP"] == "10 per hour"
    assert app.config["INTEREST_LIMIT_PER_IP"] == "5 per hour"
    assert app.config["WEBHOOK_LIMIT_PER_IP"] == "600 per minute"
    # A gateway retrying every payment of a busy hour from one address stays far below it.
    assert per_hour("WEBHOOK_LIMIT_PER_IP") == 36_000


def test_a_paid_checkout_still_reaches_the_webhook_under_the_default_limit(client, db):
    """The suite's sandbox payments go through the limited webhook: its default lets them."""
    from tests.factories import make_order, make_product, make_user

    seller = make_user(roles=("seller",))
    buyer = make_user()
    order = make_order(buyer=buyer, variant=make_product(store=seller.store).variants[0],
                       paid=True)
    db.session.commit()
    assert order.payment_status == "paid"
    assert db.session.scalar(select(func.count(User.id))) == 2
