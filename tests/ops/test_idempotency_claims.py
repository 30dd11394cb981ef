"""An Idempotency-Key claimed by a request that died is free again within seconds."""

from __future__ import annotations

import hashlib
import json
from datetime import timedelta

from sqlalchemy import func, select

from app.api.models import IdempotencyRecord
from app.core.clock import utcnow
from app.orders.cart import cart_add
from app.orders.models import Checkout
from tests.api.conftest import api, error_code  # noqa: F401 - the `api` fixture
from tests.factories import make_address, make_product, make_user

KEY = "claim-of-a-dead-request-01"


def _arrange(db):
    seller = make_user(roles=("seller",))
    variant = make_product(store=seller.store, price=50_000, stock=5).variants[0]
    buyer = make_user()
    address = make_address(user=buyer)
    cart_add(user=buyer, variant_id=variant.id, quantity=1)
    db.session.commit()
    return buyer, address


def _dead_claim(db, buyer, body: dict, age: timedelta) -> None:
    """The claim a killed request leaves: the fingerprint of its request, no answer."""
    digest = hashlib.sha256()
    digest.update(b"POST")
    digest.update(b"\0/api/v1/checkout\0")
    digest.update(json.dumps(body).encode())
    db.session.add(IdempotencyRecord(user_id=buyer.id, key=KEY, method="POST",
                                     path="/api/v1/checkout", request_hash=digest.hexdigest(),
                                     created_at=utcnow() - age))
    db.session.commit()


def test_a_dead_requests_claim_is_taken_over_after_the_configured_seconds(
        db, api, app, monkeypatch):  # noqa: F811 - the imported fixture
    monkeypatch.setitem(app.config, "IDEMPOTENCY_CLAIM_SECONDS", 5)
    buyer, address = _arrange(db)
    body = {"address_id": address.id, "payment_method": "va_bca"}
    client = api(buyer)
    _dead_claim(db, buyer, body, timedelta(seconds=2))
    fresh = client.post("/api/v1/checkout", data=json.dumps(body),
                        content_type="application/json", headers={"Idempotency-Key": KEY})
    assert fresh.status_code == 409 and error_code(fresh) == "idempotency_in_progress"
    db.session.execute(IdempotencyRecord.__table__.update().values(
        created_at=utcnow() - timedelta(seconds=6)))
    db.session.commit()
    taken = client.post("/api/v1/checkout", data=json.dumps(body),
                        content_type="application/json", headers={"Idempotency-Key": KEY})
    assert taken.status_code == 201, taken.get_json()
    assert db.session.scalar(select(func.count()).select_from(Checkout)) == 1


def test_the_default_claim_window_is_seconds_not_minutes(app):
    assert 0 < app.config["IDEMPOTENCY_CLAIM_SECONDS"] <= 60
