"""One way to charge a payment from a request (`payment_charge_committed`): the payment row
is committed before the gateway is called, and the gateway's answer is committed after."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from sqlalchemy import create_engine, select, text
from sqlalchemy.pool import NullPool

from app.extensions import db as _db
from app.orders.models import Checkout
from app.payments.gateways.sandbox import SandboxGateway
from app.payments.services import payment_charge_committed, payment_of_checkout
from tests.payments.pay_helpers import make_shop, payment_of, place

APP = Path(__file__).resolve().parents[2] / "app"


@pytest.fixture
def shop(db):
    return make_shop()


def _reader():
    return create_engine(_db.engine.url, poolclass=NullPool).connect()


def _seen_elsewhere(reference: str) -> dict:
    """The payment row as another connection sees it (committed state only; a plain
    engine: a reader, not the app's BEGIN IMMEDIATE writer)."""
    with _reader() as other:
        row = other.execute(text("SELECT status, flag_reason FROM payments "
                                 "WHERE reference = :r"), {"r": reference}).first()
    return {"exists": row is not None, "flag_reason": row[1] if row else None}


def test_the_payment_is_committed_before_the_gateway_is_asked(db, shop, monkeypatch):
    reference = place(shop, charge=False)
    payment = payment_of(reference)
    payment.flag_reason = "written by the caller"  # the caller's uncommitted write
    seen: list[dict] = []
    real = SandboxGateway.charge

    def charge(self, **kwargs):
        seen.append(_seen_elsewhere(kwargs["reference"]))
        return real(self, **kwargs)

    monkeypatch.setattr(SandboxGateway, "charge", charge)
    assert payment_charge_committed(payment) is True
    assert seen == [{"exists": True, "flag_reason": "written by the caller"}]
    # ... and the gateway's answer is committed too.
    with _reader() as other:
        charged_at = other.execute(text("SELECT charged_at FROM payments WHERE reference = :r"),
                                   {"r": reference}).scalar_one()
    assert charged_at is not None


def test_a_locked_retry_charges_before_committing(db, shop, monkeypatch):
    """A retry holds the payment's row lock: nothing is committed before the call (two
    retries never charge twice), the answer is committed after it."""
    reference = place(shop, charge=False)
    payment = payment_of(reference)
    payment.flag_reason = "not yet"
    seen: list[dict] = []
    real = SandboxGateway.charge

    def charge(self, **kwargs):
        seen.append(_seen_elsewhere(kwargs["reference"]))
        return real(self, **kwargs)

    monkeypatch.setattr(SandboxGateway, "charge", charge)
    assert payment_charge_committed(payment, locked=True) is True
    assert seen == [{"exists": True, "flag_reason": ""}]
    assert _seen_elsewhere(reference)["flag_reason"] == "not yet"


def test_a_charged_payment_is_not_charged_again(db, shop, monkeypatch):
    reference = place(shop)
    calls: list[str] = []
    monkeypatch.setattr(SandboxGateway, "charge", lambda self, **kw: calls.append(kw))
    assert payment_charge_committed(payment_of(reference)) is True
    assert calls == []


def test_no_payment_still_commits_the_callers_work(db, shop):
    reference = place(shop, charge=False)
    checkout = db.session.scalars(select(Checkout).where(Checkout.reference == reference)).one()
    payment_of_checkout(checkout.id).flag_reason = "kept"
    assert payment_charge_committed(None) is False
    assert _seen_elsewhere(reference)["flag_reason"] == "kept"


def test_no_route_charges_the_gateway_by_hand():
    """Web and API checkout, milestone payments, the pay page and the API retry all go
    through payment_charge_committed: nobody else calls payment_charge then commits."""
    callers = []
    for path in APP.rglob("*.py"):
        if path.name == "demo.py" or path == APP / "payments" / "services.py":
            continue
        if re.search(r"\bpayment_charge\(", path.read_text()):
            callers.append(str(path.relative_to(APP)))
    assert callers == []
