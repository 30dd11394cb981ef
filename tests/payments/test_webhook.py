"""The webhook and the payment states: signed notifications only, each stored once, only
legal transitions, and what a payment's fate does to its orders (paid, or cancelled and
restocked), including repeated, out-of-order, forged, short and late notifications, the
reconciliation job, and concurrent deliveries."""

from __future__ import annotations

import threading
from dataclasses import dataclass
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from app.accounts.models import User
from app.catalog.models import Variant
from app.core.clock import to_wib, utcnow
from app.core.models import EmailOutbox, Notice
from app.extensions import db as _db
from app.inventory.models import StockMovement
from app.orders.models import Checkout, Order
from app.payments.gateways.base import midtrans_signature
from app.payments.gateways.sandbox import sandbox_payload, sandbox_transaction
from app.payments.models import (
    Invoice,
    Payment,
    PaymentEvent,
    PayStatus,
    SandboxTransaction,
)
from app.payments.services import payment_charge, payment_of_checkout, payments_reconcile
from tests.conftest import log_in
from tests.factories import make_checkout, make_product, make_user

URL = "/payments/notify/sandbox"


@dataclass
class Bought:
    checkout_id: int
    reference: str
    buyer_email: str
    seller_email: str
    variant_ids: list[int]
    total: int


@pytest.fixture
def bought(app, db) -> Bought:
    """A checkout of two stores (2 + 1 units), charged at the sandbox, committed."""
    buyer = make_user(name="Budi Pembeli")
    stores = [make_user(roles=("seller",), store_name=f"Toko {n}") for n in ("A", "B")]
    admin = make_user(roles=("admin",))
    products = [make_product(store=s.store, name=f"Serum {i}", price=50_000 + 10_000 * i,
                             stock=10) for i, s in enumerate(stores)]
    checkout = make_checkout(buyer=buyer, lines=[(products[0].variants[0], 2),
                                                 (products[1].variants[0], 1)])
    payment_charge(payment_of_checkout(checkout.id))
    db.session.commit()
    assert admin.id
    return Bought(checkout_id=checkout.id, reference=checkout.reference,
                  buyer_email=buyer.email, seller_email=stores[0].email,
                  variant_ids=[p.variants[0].id for p in products], total=checkout.total)


def notice(status: str, *, amount: int | None = None, key: str | None = None,
           reference: str | None = None, bought: Bought | None = None) -> dict:
    """A sandbox notification for the checkout's transaction at `status`, signed."""
    tx = sandbox_transaction(reference or bought.reference)
    if amount is not None:
        tx.paid_amount = amount
    payload = sandbox_payload(tx, status)
    _db.session.rollback()  # the paid_amount above is only for building the payload
    if key is not None:
        payload["signature_key"] = midtrans_signature(
            payload["order_id"], payload["status_code"], payload["gross_amount"], key)
    return payload


def post(client, payload) -> int:
    return client.post(URL, json=payload, csrf=False).status_code


def payment(bought: Bought) -> Payment:
    _db.session.expire_all()
    return _db.session.scalars(select(Payment).where(
        Payment.checkout_id == bought.checkout_id)).one()


def orders(bought: Bought) -> list[Order]:
    _db.session.expire_all()
    return list(_db.session.scalars(select(Order).where(
        Order.checkout_id == bought.checkout_id).order_by(Order.id)))


def count(model, *where) -> int:
    return _db.session.scalar(select(func.count()).select_from(model).where(*where)) or 0


def emails(template: str) -> int:
    return count(EmailOutbox, EmailOutbox.template == template)


def test_settlement_marks_every_order_paid_and_tells_buyer_and_sellers(client, bought):
    assert emails("invoice") == 0
    assert post(client, notice("settlement", bought=bought)) == 200
    paid = payment(bought)
    assert paid.status == PayStatus.PAID and paid.paid_amount == bought.total
    assert paid.paid_at is not None
    assert [o.payment_status for o in orders(bought)] == ["paid", "paid"]
    assert [o.status for o in orders(bought)] == ["pending", "pending"]
    checkout = _db.session.get(Checkout, bought.checkout_id)
    assert checkout.payment_status == "paid"
    assert emails("payment_received") == 1
    assert count(Notice, Notice.kind == "order_paid") == 2


def test_the_same_settlement_five_times_and_out_of_order_changes_once(client, bought):
    settled = notice("settlement", bought=bought)
    late_pending = notice("pending", bought=bought)
    deliveries = [settled, late_pending, settled, settled, late_pending, settled, settled]
    assert [post(client, p) for p in deliveries] == [200] * 7
    events = list(_db.session.scalars(select(PaymentEvent).order_by(PaymentEvent.id)))
    assert [(e.transaction_status, e.deliveries, e.outcome) for e in events] == [
        ("settlement", 5, "applied"), ("pending", 2, "ignored")]
    assert payment(bought).status == PayStatus.PAID
    assert emails("payment_received") == 1
    assert count(Notice, Notice.kind == "order_paid") == 2
    assert [o.payment_status for o in orders(bought)] == ["paid", "paid"]
    # One invoice per order (two stores: each numbers from 1), one invoice email each.
    invoices = list(_db.session.scalars(select(Invoice).order_by(Invoice.order_id)))
    assert [(i.order_id, i.number) for i in invoices] == [
        (o.id, f"INV/TK{o.store_id}/{to_wib(o.created_at).year}/000001")
        for o in orders(bought)]
    assert emails("invoice") == 2


def test_a_pending_before_the_settlement_is_stored_and_changes_nothing(client, bought):
    assert post(client, notice("pending", bought=bought)) == 200
    assert payment(bought).status == PayStatus.PENDING
    assert post(client, notice("settlement", bought=bought)) == 200
    assert payment(bought).status == PayStatus.PAID


def snapshot(bought: Bought) -> dict:
    _db.session.expire_all()
    pay = payment(bought)
    return {
        "payment": (pay.status, pay.paid_amount, pay.flag_reason),
        "events": count(PaymentEvent),
        "orders": [(o.status, o.payment_status) for o in orders(bought)],
        "stock": [_db.session.get(Variant, v).stock for v in bought.variant_ids],
        "emails": count(EmailOutbox),
    }


@pytest.mark.parametrize("forge", ["wrong key", "tampered amount", "unsigned", "other order"])
def test_a_forged_notification_answers_401_and_changes_nothing(client, bought, forge):
    before = snapshot(bought)
    payload = notice("settlement", bought=bought)
    if forge == "wrong key":
        payload = notice("settlement", bought=bought, key="SB-attacker-key")
    elif forge == "tampered amount":
        payload["gross_amount"] = "1.00"
    elif forge == "unsigned":
        payload["signature_key"] = "0" * 128
    else:  # a valid signature of another order_id, pasted onto ours
        payload["order_id"] = "CO-20990101-999999"
    assert post(client, payload) == 401
    assert snapshot(bought) == before


@pytest.mark.parametrize("body", ["not json", "[]", "{}", '{"order_id": 5}'])
def test_a_malformed_notification_answers_400_and_changes_nothing(client, bought, body):
    before = snapshot(bought)
    response = client.post(URL, data=body, content_type="application/json", csrf=False)
    assert response.status_code == 400
    assert snapshot(bought) == before


def test_the_sandbox_webhook_does_not_exist_when_the_sandbox_is_off(app, client, bought):
    app.config["PAYMENT_SANDBOX_ENABLED"] = False
    try:
        assert post(client, notice("settlement", bought=bought)) == 404
    finally:
        app.config["PAYMENT_SANDBOX_ENABLED"] = True
    assert payment(bought).status == PayStatus.PENDING


def test_an_unknown_gateway_is_404(client, bought):
    assert client.post("/payments/notify/paypal", json={}, csrf=False).status_code == 404


def test_a_signed_notification_for_an_unknown_order_is_stored_and_answered_200(client, bought):
    payload = notice("settlement", bought=bought)
    payload["order_id"] = "CO-20990101-000777"
    payload["signature_key"] = midtrans_signature(
        payload["order_id"], payload["status_code"], payload["gross_amount"],
        client.application.config["PAYMENT_SANDBOX_SERVER_KEY"])
    assert post(client, payload) == 200
    event = _db.session.scalars(select(PaymentEvent)).one()
    assert (event.payment_id, event.outcome) == (None, "unknown")
    assert payment(bought).status == PayStatus.PENDING


def ledger_sum(variant_id: int, reason: str) -> int:
    return _db.session.scalar(select(func.coalesce(func.sum(StockMovement.delta), 0)).where(
        StockMovement.variant_id == variant_id, StockMovement.reason == reason))


@pytest.mark.parametrize("status,expected", [
    ("expire", PayStatus.EXPIRED), ("deny", PayStatus.DENIED),
    ("cancel", PayStatus.CANCELLED)])
def test_expiry_or_denial_cancels_and_restocks_every_order(client, bought, status, expected):
    assert [_db.session.get(Variant, v).stock for v in bought.variant_ids] == [8, 9]
    assert post(client, notice(status, bought=bought)) == 200
    assert payment(bought).status == expected
    assert [(o.status, o.payment_status) for o in orders(bought)] == [
        ("cancelled", "unpaid"), ("cancelled", "unpaid")]
    assert [_db.session.get(Variant, v).stock for v in bought.variant_ids] == [10, 10]
    assert [ledger_sum(v, "expire") for v in bought.variant_ids] == [2, 1]
    assert [ledger_sum(v, "cancel") for v in bought.variant_ids] == [0, 0]
    # A settlement after that is not accepted silently: flagged for an admin.
    assert post(client, notice("settlement", bought=bought)) == 200
    flagged = payment(bought)
    assert flagged.status == PayStatus.REVIEW
    assert "setelah pembayaran ditutup" in flagged.flag_reason
    assert [o.status for o in orders(bought)] == ["cancelled", "cancelled"]
    assert [_db.session.get(Variant, v).stock for v in bought.variant_ids] == [10, 10]


def test_an_order_the_buyer_cancelled_meanwhile_is_not_cancelled_twice(client, bought):
    log_in(client, bought.buyer_email)
    first = orders(bought)[0]
    assert client.post(f"/pesanan/{first.number}/batal").status_code == 303
    assert post(client, notice("expire", bought=bought)) == 200
    assert [o.status for o in orders(bought)] == ["cancelled", "cancelled"]
    assert [_db.session.get(Variant, v).stock for v in bought.variant_ids] == [10, 10]
    assert [ledger_sum(v, "cancel") for v in bought.variant_ids] == [2, 0]
    assert [ledger_sum(v, "expire") for v in bought.variant_ids] == [0, 1]


@pytest.mark.parametrize("delta", [-1, +5_000])
def test_a_partial_or_over_payment_is_flagged_for_admin_and_never_accepted(client, bought,
                                                                          delta):
    assert post(client, notice("settlement", bought=bought, amount=bought.total + delta)) == 200
    flagged = payment(bought)
    assert flagged.status == PayStatus.REVIEW
    assert flagged.paid_amount == bought.total + delta
    assert flagged.flag_reason.startswith("Dibayar Rp ")
    assert [o.payment_status for o in orders(bought)] == ["unpaid", "unpaid"]
    assert emails("payment_received") == 0
    assert count(Notice, Notice.kind == "payment_review") == 1  # the one admin


def test_the_seller_cannot_process_an_unpaid_order_but_can_once_paid(client, make_client,
                                                                     bought):
    seller = make_client()
    log_in(seller, bought.seller_email)
    number = orders(bought)[0].number
    refused = seller.post(f"/seller/pesanan/{number}/lanjut", data={"dari": "pending"})
    assert refused.status_code == 409
    assert "belum dibayar" in refused.get_data(as_text=True)
    assert orders(bought)[0].status == "pending"
    assert post(client, notice("settlement", bought=bought)) == 200
    done = seller.post(f"/seller/pesanan/{number}/lanjut", data={"dari": "pending"})
    assert done.status_code == 303
    assert orders(bought)[0].status == "processing"


def past_expiry(bought: Bought) -> None:
    past = utcnow() - timedelta(minutes=10)
    pay = payment(bought)
    pay.expires_at = past
    tx = sandbox_transaction(bought.reference)
    tx.expires_at = past
    _db.session.commit()


def test_reconciliation_expires_a_payment_whose_notification_never_came(app, bought):
    past_expiry(bought)
    assert payments_reconcile() == {"checked": 1, "changed": 1, "failed": 0}
    assert payment(bought).status == PayStatus.EXPIRED
    assert [o.status for o in orders(bought)] == ["cancelled", "cancelled"]
    event = _db.session.scalars(select(PaymentEvent)).one()
    assert (event.source, event.transaction_status) == ("status_check", "expire")
    assert payments_reconcile() == {"checked": 0, "changed": 0, "failed": 0}


def test_reconciliation_finds_a_settlement_whose_notification_was_lost(app, bought):
    tx = sandbox_transaction(bought.reference)
    tx.transaction_status, tx.paid_amount = "settlement", tx.gross_amount
    _db.session.commit()
    past_expiry(bought)
    assert payments_reconcile()["changed"] == 1
    assert payment(bought).status == PayStatus.PAID
    assert [o.payment_status for o in orders(bought)] == ["paid", "paid"]


def test_reconciliation_leaves_payments_before_their_expiry_alone(app, bought):
    assert payments_reconcile() == {"checked": 0, "changed": 0, "failed": 0}
    assert payment(bought).status == PayStatus.PENDING


def test_a_never_charged_payment_past_expiry_is_expired_without_asking(app, bought):
    _db.session.execute(SandboxTransaction.__table__.delete())
    pay = payment(bought)
    pay.charged_at = None
    _db.session.commit()
    past_expiry_payment_only = utcnow() - timedelta(minutes=10)
    pay = payment(bought)
    pay.expires_at = past_expiry_payment_only
    _db.session.commit()
    assert payments_reconcile() == {"checked": 1, "changed": 1, "failed": 0}
    assert payment(bought).status == PayStatus.EXPIRED


def test_concurrent_deliveries_of_settlement_and_expiry_change_the_payment_once(
        app, make_client, bought):
    """Eight deliveries at once (the same settlement five times, an expiry three times,
    each on its own connection): exactly one final state, one event row per status, and the
    orders consistent with that state."""
    settled = notice("settlement", bought=bought)
    expired = notice("expire", bought=bought)
    payloads = [settled] * 5 + [expired] * 3
    statuses: list[int] = []
    errors: list[BaseException] = []
    barrier = threading.Barrier(len(payloads))

    def deliver(payload: dict) -> None:
        try:
            with make_client() as own:
                barrier.wait()
                statuses.append(own.post(URL, json=payload, csrf=False).status_code)
        except BaseException as error:  # reported below, not lost in the thread
            errors.append(error)

    threads = [threading.Thread(target=deliver, args=(p,)) for p in payloads]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert errors == []
    assert sorted(statuses) == [200] * 8
    final = payment(bought).status
    assert final in (PayStatus.PAID, PayStatus.EXPIRED, PayStatus.REVIEW)
    events = {e.transaction_status: e for e in _db.session.scalars(select(PaymentEvent))}
    assert events["settlement"].deliveries == 5 and events["expire"].deliveries == 3
    assert sorted(e.outcome for e in events.values()) in (
        ["applied", "ignored"], ["applied", "flagged"])
    stock = [_db.session.get(Variant, v).stock for v in bought.variant_ids]
    if final == PayStatus.PAID:  # settlement first; the expiry was ignored
        assert [o.payment_status for o in orders(bought)] == ["paid", "paid"]
        assert stock == [8, 9]
    else:  # expiry first; the settlement arrived after and was flagged for an admin
        assert final == PayStatus.REVIEW
        assert [o.status for o in orders(bought)] == ["cancelled", "cancelled"]
        assert stock == [10, 10]
    assert emails("payment_received") == (1 if final == PayStatus.PAID else 0)


def test_the_buyer_of_the_payment_is_recorded(bought):
    pay = payment(bought)
    buyer = _db.session.scalars(select(User).where(User.email == bought.buyer_email)).one()
    assert (pay.payer_id, pay.amount, pay.method, pay.gateway) == (
        buyer.id, bought.total, "va_bca", "sandbox")
    assert pay.reference == bought.reference
    assert timedelta(hours=23, minutes=59) < pay.expires_at - pay.created_at <= timedelta(
        hours=24)
    assert pay.va_number.startswith("70012") and len(pay.va_number) == 16
