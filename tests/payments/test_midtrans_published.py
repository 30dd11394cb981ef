"""The gateway's world, from outside: Midtrans's published notification and status bodies
(tests/payments/midtrans_samples/) posted over real HTTP to the webhook of the live app,
and the Midtrans adapter talking over real HTTP to a fake Midtrans API server. Each test
asserts what the database then holds (payment, orders, milestone, refunds, invoices)."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import timedelta

import pytest
from sqlalchemy import func, select, update

from app.accounts.models import User
from app.audit.models import AuditEntry
from app.catalog.models import Variant
from app.core.clock import utcnow
from app.core.models import Notice
from app.maklon.models import MilestonePayment, MilestoneStatus
from app.orders.lifecycle import TransitionError, order_advance
from app.orders.models import Order
from app.payments.gateways.midtrans import MidtransGateway
from app.payments.models import (
    Invoice,
    Payment,
    PaymentEvent,
    PayStatus,
    Refund,
    SandboxTransaction,
)
from app.payments.services import payment_charge, payment_of_checkout, payments_reconcile
from tests.factories import make_checkout, make_product, make_user
from tests.payments.midtrans_helpers import SERVER_KEY, FakeMidtrans, for_payment, notify, sample


@dataclass
class Bought:
    reference: str
    checkout_id: int
    total: int
    order_totals: list[int]
    variant_ids: list[int]
    seller_ids: list[int]
    buyer_id: int
    admin_id: int


@pytest.fixture
def midtrans(app, monkeypatch) -> Iterator[FakeMidtrans]:
    """A fake Midtrans API on a free port; the app's Midtrans adapter points at it and new
    payments are charged through Midtrans."""
    with FakeMidtrans() as fake:
        monkeypatch.setitem(app.config, "MIDTRANS_SERVER_KEY", SERVER_KEY)
        monkeypatch.setitem(app.config, "MIDTRANS_API_URL", fake.url)
        monkeypatch.setitem(app.config, "PAYMENT_GATEWAY", "midtrans")
        yield fake


def buy(db, *, method: str = "va_bca", fake: FakeMidtrans | None = None) -> Bought:
    """A checkout of two stores (2 + 1 units), charged at the configured gateway (the fake
    Midtrans answers the published charge body), committed."""
    buyer = make_user(name="Budi Pembeli")
    stores = [make_user(roles=("seller",), store_name=f"Toko {n}") for n in ("A", "B")]
    admin = make_user(roles=("admin",))
    products = [make_product(store=s.store, name=f"Serum {i}", price=50_000 + 10_000 * i,
                             stock=10) for i, s in enumerate(stores)]
    checkout = make_checkout(buyer=buyer, lines=[(products[0].variants[0], 2),
                                                 (products[1].variants[0], 1)],
                             payment_method=method)
    db.session.commit()
    if fake is not None:
        name = "charge_echannel" if method == "va_mandiri" else "charge_bank_transfer_bca"
        fake.answers[("POST", "/v2/charge")] = (200, {
            **sample(name), "order_id": checkout.reference})
    assert payment_charge(payment_of_checkout(checkout.id))
    db.session.commit()
    orders = sorted(checkout.orders, key=lambda o: o.id)
    return Bought(reference=checkout.reference, checkout_id=checkout.id,
                  total=checkout.total, order_totals=[o.total for o in orders],
                  variant_ids=[p.variants[0].id for p in products],
                  seller_ids=[s.id for s in stores], buyer_id=buyer.id, admin_id=admin.id)


def send(db, live_url: str, gateway: str, payload: dict):
    """Post a notification to the live app's webhook. The test's own transaction ends
    first: outside a request a transaction takes SQLite's write lock at BEGIN, and the
    live server's request would wait for it."""
    db.session.commit()
    return notify(live_url, gateway, payload)


def sandbox_key(app) -> str:
    return app.config["PAYMENT_SANDBOX_SERVER_KEY"]


def payment(db, bought: Bought) -> Payment:
    db.session.expire_all()
    return db.session.scalars(select(Payment).where(
        Payment.checkout_id == bought.checkout_id)).one()


def orders(db, bought: Bought) -> list[Order]:
    db.session.expire_all()
    return list(db.session.scalars(select(Order).where(
        Order.checkout_id == bought.checkout_id).order_by(Order.id)))


def count(db, model, *where) -> int:
    return db.session.scalar(select(func.count()).select_from(model).where(*where)) or 0


def stock(db, variant_id: int) -> int:
    db.session.expire_all()
    return db.session.scalar(select(Variant.stock).where(Variant.id == variant_id))


def settle_sandbox(app, db, live_url, bought: Bought) -> None:
    """The published bank-transfer settlement about our checkout, signed with the sandbox
    key, posted to the sandbox webhook: the payment is paid, invoices issued."""
    # What the sandbox gateway itself knows: paid (so it can refund it later).
    db.session.execute(update(SandboxTransaction).where(
        SandboxTransaction.order_id == bought.reference).values(
        transaction_status="settlement", paid_amount=bought.total))
    answer = send(db, live_url, "sandbox", for_payment(
        "notification_bank_transfer_settlement", order_id=bought.reference,
        amount=bought.total, key=sandbox_key(app)))
    assert answer.status == 200, answer.text()
    assert payment(db, bought).status == PayStatus.PAID


# Item 2: a signed status_code must go with its transaction_status -------------------------
@pytest.mark.parametrize("genuine", ["notification_bank_transfer_pending",
                                     "notification_bank_transfer_expire"])
def test_a_pending_or_expire_notification_relabelled_settlement_is_rejected(
        app, db, live_url, genuine):
    bought = buy(db)
    # A genuine, correctly signed 201 (pending) or 202 (expire) notification ...
    forged = for_payment(genuine, order_id=bought.reference, amount=bought.total,
                         key=sandbox_key(app))
    assert forged["status_code"] in ("201", "202")
    # ... with only the unsigned transaction_status changed.
    forged["transaction_status"] = "settlement"
    answer = send(db, live_url, "sandbox", forged)
    assert answer.status == 400
    assert "status_code" in answer.text()
    paid = payment(db, bought)
    assert paid.status == PayStatus.PENDING and paid.paid_amount is None
    assert [o.payment_status for o in orders(db, bought)] == ["unpaid", "unpaid"]
    assert count(db, Invoice) == 0
    events = db.session.scalars(select(PaymentEvent)).all()
    assert [(e.transaction_status, e.status_code, e.outcome) for e in events] == [
        ("settlement", forged["status_code"], "rejected")]
    # Delivered again: still refused, still one event.
    assert send(db, live_url, "sandbox", forged).status == 400
    assert count(db, PaymentEvent) == 1 and payment(db, bought).status == PayStatus.PENDING


def test_the_documented_pairs_are_accepted(app, db, live_url):
    bought = buy(db)
    pending = for_payment("notification_bank_transfer_pending", order_id=bought.reference,
                          amount=bought.total, key=sandbox_key(app))
    assert send(db, live_url, "sandbox", pending).status == 200
    expire = for_payment("notification_bank_transfer_expire", order_id=bought.reference,
                         amount=bought.total, key=sandbox_key(app))
    assert send(db, live_url, "sandbox", expire).status == 200
    assert payment(db, bought).status == PayStatus.EXPIRED
    assert [o.status for o in orders(db, bought)] == ["cancelled", "cancelled"]


def test_midtrans_settlement_is_confirmed_by_status_and_the_status_answer_wins(
        app, db, live_url, midtrans):
    bought = buy(db, fake=midtrans)
    midtrans.status_answer(bought.reference, "status_pending", amount=bought.total)
    settled = for_payment("notification_bank_transfer_settlement",
                          order_id=bought.reference, amount=bought.total)
    answer = send(db, live_url, "midtrans", settled)
    assert answer.status == 200
    # Midtrans says it is still pending: nothing is paid, no invoice.
    assert midtrans.requests_to("GET", f"/v2/{bought.reference}/status")
    assert payment(db, bought).status == PayStatus.PENDING
    assert [o.payment_status for o in orders(db, bought)] == ["unpaid", "unpaid"]
    assert count(db, Invoice) == 0
    # Once Midtrans's status says settlement, the same notification pays.
    midtrans.status_answer(bought.reference, "status_settlement", amount=bought.total)
    again = dict(settled, transaction_time="2020-01-09 18:30:00")
    assert send(db, live_url, "midtrans", again).status == 200
    assert payment(db, bought).status == PayStatus.PAID
    assert [o.payment_status for o in orders(db, bought)] == ["paid", "paid"]
    assert count(db, Invoice) == 2


def test_midtrans_unreachable_for_confirmation_answers_503_and_stores_nothing(
        app, db, live_url, midtrans):
    bought = buy(db, fake=midtrans)
    midtrans.answers[("GET", f"/v2/{bought.reference}/status")] = (
        500, {"status_code": "500", "status_message": "Internal server error"})
    answer = send(db, live_url, "midtrans", for_payment(
        "notification_bank_transfer_settlement", order_id=bought.reference,
        amount=bought.total))
    assert answer.status == 503
    assert count(db, PaymentEvent) == 0
    assert payment(db, bought).status == PayStatus.PENDING and count(db, Invoice) == 0


@pytest.mark.parametrize("name", ["notification_qris_settlement",
                                  "notification_gopay_settlement",
                                  "notification_shopeepay_settlement",
                                  "notification_echannel_settlement"])
def test_every_published_settlement_pays_once_confirmed(app, db, live_url, midtrans, name):
    bought = buy(db, fake=midtrans)
    midtrans.status_answer(bought.reference, "status_settlement", amount=bought.total)
    answer = send(db, live_url, "midtrans", for_payment(name, order_id=bought.reference,
                                                      amount=bought.total))
    assert answer.status == 200, answer.text()
    assert midtrans.requests_to("GET", f"/v2/{bought.reference}/status")  # confirmed first
    assert payment(db, bought).status == PayStatus.PAID
    assert count(db, Invoice) == 2


# Item 3: 407 (expired) and 404 (unknown) status answers ------------------------------------
def test_the_adapter_reads_the_published_407_expired_answer_over_http(app, midtrans):
    midtrans.status_answer("RCK-1", "status_expire", amount=44_000)
    with app.app_context():
        note = MidtransGateway.from_config(app.config).status("RCK-1")
    assert (note.transaction_status, note.status_code, note.amount) == ("expire", "407",
                                                                        44_000)
    seen = midtrans.requests_to("GET", "/v2/RCK-1/status")
    assert seen and seen[0].headers["Authorization"].startswith("Basic ")


def test_the_adapter_raises_transaction_not_found_for_the_published_404(app, midtrans):
    from app.payments.gateways import base

    not_found = getattr(base, "TransactionNotFound", None)
    assert not_found is not None, "the adapter has no distinct not-found error"
    with app.app_context(), pytest.raises(not_found):
        MidtransGateway.from_config(app.config).status("RCK-unknown")


def test_a_settlement_notification_of_a_transaction_midtrans_says_expired_expires_it(
        app, db, live_url, midtrans):
    bought = buy(db, fake=midtrans)
    midtrans.status_answer(bought.reference, "status_expire", amount=bought.total)
    answer = send(db, live_url, "midtrans", for_payment(
        "notification_bank_transfer_settlement", order_id=bought.reference,
        amount=bought.total))
    assert answer.status == 200
    assert payment(db, bought).status == PayStatus.EXPIRED
    assert [o.status for o in orders(db, bought)] == ["cancelled", "cancelled"]
    assert [stock(db, v) for v in bought.variant_ids] == [10, 10]
    assert count(db, Invoice) == 0


def _past_expiry(db, bought: Bought) -> None:
    db.session.execute(update(Payment).where(Payment.checkout_id == bought.checkout_id)
                       .values(expires_at=utcnow() - timedelta(hours=1)))
    db.session.commit()


def test_reconciliation_learns_of_an_expiry_from_midtrans_407(app, db, midtrans):
    bought = buy(db, fake=midtrans)
    _past_expiry(db, bought)
    midtrans.status_answer(bought.reference, "status_expire", amount=bought.total)
    assert payments_reconcile()["changed"] == 1
    db.session.commit()
    assert payment(db, bought).status == PayStatus.EXPIRED
    assert [o.status for o in orders(db, bought)] == ["cancelled", "cancelled"]
    assert [stock(db, v) for v in bought.variant_ids] == [10, 10]


def test_reconciliation_expires_a_payment_midtrans_does_not_know(app, db, midtrans):
    bought = buy(db, fake=midtrans)
    _past_expiry(db, bought)  # no status answer: the fake answers the published 404
    result = payments_reconcile()
    db.session.commit()
    assert result == {"checked": 1, "changed": 1, "failed": 0}
    assert payment(db, bought).status == PayStatus.EXPIRED
    assert [o.status for o in orders(db, bought)] == ["cancelled", "cancelled"]


# Item 4: a refund at the gateway refunds what the payment paid for -------------------------
def test_a_refund_notification_refunds_and_cancels_the_orders(app, db, live_url):
    bought = buy(db)
    settle_sandbox(app, db, live_url, bought)
    assert count(db, Invoice) == 2
    # The seller of the first store already accepted (processing) its order.
    first = orders(db, bought)[0]
    order_advance(order=first, actor=db.session.get(User, bought.seller_ids[0]),
                  from_status="pending")
    db.session.commit()
    answer = send(db, live_url, "sandbox", for_payment(
        "notification_gopay_refund", order_id=bought.reference, amount=bought.total,
        key=sandbox_key(app)))
    assert answer.status == 200, answer.text()
    refunded = payment(db, bought)
    assert refunded.status == PayStatus.REFUNDED
    assert refunded.refunded_amount == bought.total
    rows = orders(db, bought)
    assert [o.payment_status for o in rows] == ["refunded", "refunded"]
    # The pending order is cancelled and restocked; the processing one cannot ship.
    assert [o.status for o in rows] == ["processing", "cancelled"]
    assert stock(db, bought.variant_ids[1]) == 10
    with pytest.raises(TransitionError):
        order_advance(order=rows[0], actor=db.session.get(User, bought.seller_ids[0]),
                      from_status="processing")
    db.session.rollback()
    refunds = db.session.scalars(select(Refund).order_by(Refund.id)).all()
    assert [(r.amount, r.status) for r in refunds] == [
        (t, "done") for t in bought.order_totals]
    assert count(db, AuditEntry, AuditEntry.action == "refund.done") == 2
    assert count(db, Notice, Notice.kind == "refund_done",
                 Notice.user_id == bought.buyer_id) == 2
    assert count(db, Notice, Notice.kind == "refund_gateway_seller") == 2
    assert count(db, Invoice) == 2  # the invoices stay: they are read, never rewritten
    # Delivered again: nothing more.
    assert send(db, live_url, "sandbox", for_payment(
        "notification_gopay_refund", order_id=bought.reference, amount=bought.total,
        key=sandbox_key(app))).status == 200
    assert count(db, Refund) == 2 and payment(db, bought).refunded_amount == bought.total


def test_a_refund_notification_of_our_own_refund_is_not_counted_twice(app, db, live_url):
    bought = buy(db)
    settle_sandbox(app, db, live_url, bought)
    # The buyer cancels the second (still pending, paid) order: Racik refunds it itself.
    from app.orders.lifecycle import order_cancel

    second = orders(db, bought)[1]
    order_cancel(order=second, actor=db.session.get(User, bought.buyer_id))
    db.session.commit()
    assert payment(db, bought).refunded_amount == bought.order_totals[1]
    ours = db.session.scalars(select(Refund)).one()
    # Midtrans then notifies that partial refund, listing our refund_key.
    partial = for_payment("notification_gopay_partial_refund", order_id=bought.reference,
                          amount=bought.total, key=sandbox_key(app))
    partial["refund_amount"] = f"{bought.order_totals[1]}.00"
    partial["refunds"][0].update(refund_key=ours.refund_key,
                                 refund_amount=f"{bought.order_totals[1]}.00")
    from tests.payments.midtrans_helpers import signed

    assert send(db, live_url, "sandbox", signed(partial, sandbox_key(app))).status == 200
    paid = payment(db, bought)
    assert paid.status == PayStatus.PAID
    assert paid.refunded_amount == bought.order_totals[1]
    assert [o.payment_status for o in orders(db, bought)] == ["paid", "refunded"]
    assert count(db, Refund) == 1


def test_a_midtrans_refund_of_a_milestone_makes_it_unpaid_again(app, db, live_url, midtrans):
    from tests.maklon.factories import make_signed_request

    request = make_signed_request()
    milestone = db.session.scalars(select(MilestonePayment).where(
        MilestonePayment.request_id == request.id, MilestonePayment.kind == "dp")).one()
    from app.maklon.milestones import milestone_payment_start

    pay, _ = milestone_payment_start(milestone=milestone, payer=request.client,
                                     method="gopay")
    db.session.commit()
    midtrans.answers[("POST", "/v2/charge")] = (200, {
        **sample("charge_bank_transfer_bca"), "order_id": pay.reference})
    assert payment_charge(pay)
    db.session.commit()
    reference, amount = pay.reference, pay.amount
    midtrans.status_answer(reference, "status_settlement", amount=amount)
    assert send(db, live_url, "midtrans", for_payment(
        "notification_gopay_settlement", order_id=reference, amount=amount)).status == 200
    db.session.expire_all()
    assert db.session.get(MilestonePayment, milestone.id).status == MilestoneStatus.PAID
    assert count(db, Invoice) == 1
    midtrans.status_answer(reference, "status_refund", amount=amount)
    assert send(db, live_url, "midtrans", for_payment(
        "notification_gopay_refund", order_id=reference, amount=amount)).status == 200
    db.session.expire_all()
    refunded = db.session.scalars(select(Payment).where(Payment.reference == reference)).one()
    assert refunded.status == PayStatus.REFUNDED and refunded.refunded_amount == amount
    again = db.session.get(MilestonePayment, milestone.id)
    assert again.status == MilestoneStatus.UNPAID and again.paid_at is None
    assert count(db, AuditEntry, AuditEntry.action == "maklon.milestone_refunded") == 1
    assert count(db, Notice, Notice.kind == "milestone_refunded",
                 Notice.user_id == request.client_id) == 1
    assert count(db, Invoice) == 1


# Item 5: Mandiri reverses a settlement to deny ----------------------------------------------
def test_a_mandiri_deny_after_settlement_flags_the_payment_for_review(
        app, db, live_url, midtrans):
    bought = buy(db, method="va_mandiri", fake=midtrans)
    midtrans.status_answer(bought.reference, "status_settlement", amount=bought.total,
                           payment_type="echannel")
    assert send(db, live_url, "midtrans", for_payment(
        "notification_echannel_settlement", order_id=bought.reference,
        amount=bought.total)).status == 200
    assert payment(db, bought).status == PayStatus.PAID
    midtrans.status_answer(bought.reference, "status_deny", amount=bought.total)
    answer = send(db, live_url, "midtrans", for_payment(
        "notification_echannel_deny", order_id=bought.reference, amount=bought.total))
    assert answer.status == 200
    flagged = payment(db, bought)
    assert flagged.status == PayStatus.REVIEW
    assert "deny" in flagged.flag_reason
    # Nothing is undone on its own: the orders stay paid, the invoices stay.
    assert [o.payment_status for o in orders(db, bought)] == ["paid", "paid"]
    assert count(db, Invoice) == 2
    assert count(db, Notice, Notice.kind == "payment_review",
                 Notice.user_id == bought.admin_id) == 1
    assert count(db, AuditEntry, AuditEntry.action == "payment.status",
                 AuditEntry.object_id == bought.reference) == 2


# Item 6: review -> paid only by an admin ----------------------------------------------------
def test_a_flagged_payment_stays_in_review_when_a_correct_settlement_follows(
        app, db, live_url, client):
    bought = buy(db)
    short = for_payment("notification_bank_transfer_settlement", order_id=bought.reference,
                        amount=bought.total - 1_000, key=sandbox_key(app))
    assert send(db, live_url, "sandbox", short).status == 200
    assert payment(db, bought).status == PayStatus.REVIEW
    right = for_payment("notification_bank_transfer_settlement", order_id=bought.reference,
                        amount=bought.total, key=sandbox_key(app),
                        transaction_id="second-transfer")
    assert send(db, live_url, "sandbox", right).status == 200
    flagged = payment(db, bought)
    assert flagged.status == PayStatus.REVIEW
    assert [o.payment_status for o in orders(db, bought)] == ["unpaid", "unpaid"]
    assert count(db, Invoice) == 0
    # The admin's page says so.
    from tests.conftest import log_in

    admin = db.session.get(User, bought.admin_id)
    log_in(client, admin.email)
    page = client.get(f"/admin/pembayaran/{flagged.id}")
    assert page.status_code == 200
    assert "hanya menjadi lunas lewat keputusan admin" in page.get_data(as_text=True)


# Item 7: Mandiri's bill_info limits ---------------------------------------------------------
def test_a_mandiri_charge_sends_bill_info_within_mandiris_limits(app, db, midtrans):
    bought = buy(db, method="va_mandiri", fake=midtrans)
    charges = midtrans.requests_to("POST", "/v2/charge")
    assert len(charges) == 1
    echannel = charges[0].body["echannel"]
    assert echannel["bill_info2"] == bought.reference
    for index in range(1, 9):
        value = echannel.get(f"bill_info{index}")
        if value is not None:
            assert len(value) <= (10 if index % 2 else 30), (index, value)
    assert echannel["bill_info1"]
    assert payment(db, bought).bill_key == sample("charge_echannel")["bill_key"]


def test_bill_info_is_cut_to_10_character_labels_and_30_character_values():
    from app.payments.gateways.midtrans import bill_info

    info = bill_info(("Pembayaran pesanan:", "CO-20261122-000045 Toko Cantik Sejahtera"),
                     ("Pembeli:", "Ñoviyanti Rahmawati Kusumaningrum"))
    assert info == {"bill_info1": "Pembayaran", "bill_info2": "CO-20261122-000045 Toko Cantik",
                    "bill_info3": "Pembeli:", "bill_info4": "Noviyanti Rahmawati Kusumaning"}
    assert all(len(v) <= (10 if int(k[-1]) % 2 else 30) for k, v in info.items())


def test_part_of_a_payment_refunded_outside_racik_is_recorded_and_admins_told(
        app, db, live_url):
    bought = buy(db)
    settle_sandbox(app, db, live_url, bought)
    partial = for_payment("notification_gopay_partial_refund", order_id=bought.reference,
                          amount=bought.total, key=sandbox_key(app))
    partial["refund_amount"] = "4000.00"
    partial["refunds"][0]["refund_amount"] = "4000.00"
    from tests.payments.midtrans_helpers import signed

    assert send(db, live_url, "sandbox", signed(partial, sandbox_key(app))).status == 200
    paid = payment(db, bought)
    assert paid.status == PayStatus.PAID and paid.refunded_amount == 4_000
    # Which order it was for is not known: the orders stay as they are, an admin looks.
    assert [o.payment_status for o in orders(db, bought)] == ["paid", "paid"]
    assert count(db, Notice, Notice.kind == "refund_gateway_partial",
                 Notice.user_id == bought.admin_id) == 1
    assert count(db, AuditEntry, AuditEntry.action == "payment.gateway_refund") == 1
    # Delivered again: counted once.
    assert send(db, live_url, "sandbox", signed(partial, sandbox_key(app))).status == 200
    assert payment(db, bought).refunded_amount == 4_000
