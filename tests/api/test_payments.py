"""Payments through the API: a payment's status and instructions (the buyer's checkout
payment, a maklon milestone payment of a request the caller may see), and asking the
gateway again after a failed charge."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select, update

from app.core.clock import utcnow
from app.extensions import db as _db
from app.maklon.milestones import milestone_payment_start
from app.maklon.models import MilestonePayment
from app.payments.models import Payment
from app.payments.services import payment_charge, payment_of_checkout
from tests.api.conftest import error_code
from tests.factories import make_address, make_checkout, make_product, make_user
from tests.maklon.factories import make_company, make_maklon_client, make_signed_request
from tests.payments.test_pay_page import _fail_charges


def _placed(db, *, charge: bool = True, method: str = "va_bca"):
    seller = make_user(roles=("seller",))
    variant = make_product(store=seller.store, price=75_000).variants[0]
    buyer = make_user()
    make_address(user=buyer)
    checkout = make_checkout(buyer=buyer, lines=[(variant, 2)], payment_method=method)
    db.session.commit()
    if charge:
        payment_charge(payment_of_checkout(checkout.id))
        db.session.commit()
    return buyer, checkout.reference


def _payment(reference: str) -> Payment:
    _db.session.expire_all()
    return _db.session.scalars(select(Payment).where(Payment.reference == reference)).one()


def test_buyer_reads_the_status_and_instructions_of_their_payment(db, api):
    buyer, reference = _placed(db)
    response = api(buyer).get(f"/api/v1/payments/{reference}")
    assert response.status_code == 200
    payment = response.get_json()
    assert payment["reference"] == reference and payment["checkout_reference"] == reference
    assert payment["amount"] == 150_000 and payment["method"] == "va_bca"
    assert payment["status"] == "pending" and payment["status_label"] == "Menunggu pembayaran"
    assert payment["charged"] is True and payment["final"] is False
    assert payment["milestone"] is None and payment["paid_at"] is None
    assert payment["instructions"]["va_number"] == _payment(reference).va_number
    assert response.headers["ETag"]
    again = api(buyer).get(f"/api/v1/payments/{reference}",
                           headers={"If-None-Match": response.headers["ETag"]})
    assert again.status_code == 304


def test_nobody_else_finds_a_buyers_payment(db, api):
    _buyer, reference = _placed(db)
    for other in (make_user(), make_user(roles=("seller",)), make_user(roles=("staff",)),
                  make_user(roles=("admin",))):
        db.session.commit()
        response = api(other).get(f"/api/v1/payments/{reference}")
        assert response.status_code == 404 and error_code(response) == "not_found"
    assert api().get(f"/api/v1/payments/{reference}").status_code == 401


def test_a_maklon_client_reads_their_milestone_payment_and_another_company_does_not(db, api):
    client_a = make_maklon_client(company=make_company(name="PT Bayar A"))
    client_b = make_maklon_client(company=make_company(name="PT Bayar B"))
    staff = make_user(roles=("staff",))
    signed = make_signed_request(client=client_a)
    dp = db.session.scalars(select(MilestonePayment).where(
        MilestonePayment.request_id == signed.id, MilestonePayment.kind == "dp")).one()
    payment, _ = milestone_payment_start(milestone=dp, payer=client_a, method="va_bni")
    db.session.commit()
    payment_charge(payment)
    db.session.commit()
    reference = payment.reference

    response = api(client_a).get(f"/api/v1/payments/{reference}")
    assert response.status_code == 200
    body = response.get_json()
    assert body["milestone"] == {"request_number": signed.number, "kind": "dp", "label": "DP"}
    assert body["checkout_reference"] is None
    assert body["instructions"]["bank_name"] == "BNI"
    # Maklon staff see every request's payments, as on the web's milestone payment page.
    assert api(staff).get(f"/api/v1/payments/{reference}").status_code == 200
    assert api(client_b).get(f"/api/v1/payments/{reference}").status_code == 404
    # A milestone payment is not a checkout's: no retry through the checkout address.
    retry = api(client_a).post(f"/api/v1/checkouts/{reference}/payment")
    assert retry.status_code == 403


def test_retry_after_a_failed_charge_charges_the_payment(db, api, monkeypatch):
    buyer, reference = _placed(db, charge=False)
    calls = _fail_charges(monkeypatch, times=0)
    response = api(buyer).post(f"/api/v1/checkouts/{reference}/payment")
    assert response.status_code == 200
    assert response.get_json()["charged"] is True
    assert response.get_json()["instructions"]["kind"] == "va"
    assert _payment(reference).charged_at is not None
    # Pressed again: answered as it is, the gateway is not asked again.
    again = api(buyer).post(f"/api/v1/checkouts/{reference}/payment")
    assert again.status_code == 200 and again.get_json()["charged"] is True
    assert calls == [reference]


def test_retry_while_the_gateway_still_fails_answers_charged_false(db, api, monkeypatch):
    buyer, reference = _placed(db, charge=False)
    _fail_charges(monkeypatch, times=5)
    response = api(buyer).post(f"/api/v1/checkouts/{reference}/payment")
    assert response.status_code == 200
    assert response.get_json()["charged"] is False
    assert response.get_json()["instructions"] is None
    assert _payment(reference).charge_error == "503: gateway unavailable"


def test_retry_with_the_same_idempotency_key_asks_the_gateway_once(db, api, monkeypatch):
    buyer, reference = _placed(db, charge=False)
    calls = _fail_charges(monkeypatch, times=0)
    client = api(buyer)
    headers = {"Idempotency-Key": "retry-once-please"}
    first = client.post(f"/api/v1/checkouts/{reference}/payment", headers=headers)
    second = client.post(f"/api/v1/checkouts/{reference}/payment", headers=headers)
    assert first.status_code == second.status_code == 200
    assert second.headers["Idempotent-Replayed"] == "true"
    assert second.get_json() == first.get_json()
    assert calls == [reference]


def test_retry_after_the_deadline_is_a_409_and_asks_nothing(db, api, monkeypatch):
    buyer, reference = _placed(db, charge=False)
    calls = _fail_charges(monkeypatch, times=0)
    db.session.execute(update(Payment).where(Payment.reference == reference).values(
        expires_at=utcnow() - timedelta(minutes=1)))
    db.session.commit()
    response = api(buyer).post(f"/api/v1/checkouts/{reference}/payment")
    assert response.status_code == 409 and error_code(response) == "payment_closed"
    assert "Batas waktu pembayaran ini sudah lewat." in response.get_json()["error"]["message"]
    assert calls == [] and _payment(reference).charged_at is None


def test_retry_of_a_payment_no_longer_pending_is_a_409(db, api):
    buyer, reference = _placed(db, charge=False)
    db.session.execute(update(Payment).where(Payment.reference == reference).values(
        status="cancelled"))
    db.session.commit()
    response = api(buyer).post(f"/api/v1/checkouts/{reference}/payment")
    assert response.status_code == 409 and error_code(response) == "payment_closed"


def test_buyer_cannot_retry_another_buyers_payment(db, api, monkeypatch):
    _owner, reference = _placed(db, charge=False)
    calls = _fail_charges(monkeypatch, times=0)
    other = make_user()
    db.session.commit()
    response = api(other).post(f"/api/v1/checkouts/{reference}/payment")
    assert response.status_code == 404 and error_code(response) == "not_found"
    assert calls == [] and _payment(reference).charged_at is None


def test_a_seller_without_the_customer_role_cannot_retry(db, api):
    _owner, reference = _placed(db, charge=False)
    seller = make_user(roles=("seller",))
    db.session.commit()
    response = api(seller).post(f"/api/v1/checkouts/{reference}/payment")
    assert response.status_code == 403
