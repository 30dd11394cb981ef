"""The sandbox simulator (`/sandbox/bayar/<reference>`): each action changes the sandbox's
book and, through its signed notification delivered to our webhook after commit, the
payment and the orders; repeated and out-of-order notifications change things once; bad
input is a 422 that changes nothing; the page does not exist when the sandbox is off."""

from __future__ import annotations

import threading

import pytest
from sqlalchemy import select

from app.core.models import EmailOutbox
from app.extensions import db as _db
from app.inventory.models import StockMovement
from app.payments.models import PaymentEvent, PayStatus
from tests.conftest import log_in
from tests.factories import make_user
from tests.payments.pay_helpers import (
    count,
    events_of,
    make_shop,
    orders_of,
    payment_of,
    place,
    stock_of,
    transaction_of,
)

TOTAL = 165_000


@pytest.fixture
def shop(db):
    return make_shop(stock=10)


def _tester(client, role: str = "staff") -> None:
    user = make_user(roles=(role,))
    _db.session.commit()
    log_in(client, user.email)


def _state(reference: str) -> dict:
    """Everything a refused simulation must leave as it was."""
    tx, payment = transaction_of(reference), payment_of(reference)
    return {"tx": (tx.transaction_status, tx.paid_amount), "payment": payment.status,
            "orders": [(o.status, o.payment_status) for o in orders_of(reference)],
            "events": count(PaymentEvent.id), "mail": count(EmailOutbox.id)}


def test_simulator_shows_the_sandbox_transaction_and_the_banner(client, db, shop):
    reference = place(shop, "va_bni")
    tx = transaction_of(reference)
    _tester(client)
    response = client.get(f"/sandbox/bayar/{reference}")
    body = response.get_data(as_text=True)
    assert response.status_code == 200
    assert "Mode sandbox — tidak ada uang sungguhan" in body
    assert f"<dd>{reference}</dd>" in body and tx.transaction_id in body
    assert 'data-testid="sandbox-amount">Rp\u00a0165.000<' in body
    assert "bank_transfer · BNI" in body
    assert " ".join(tx.va_number[i:i + 4] for i in range(0, 16, 4)) in body
    assert 'data-testid="sandbox-status">Menunggu pembayaran<' in body
    for label in ("Bayar Rp\u00a0165.000", "Bayar dengan jumlah lain", "Kedaluwarsa", "Tolak",
                  "Batalkan", "kirim notifikasi dua kali",
                  "kirim 'pending' terlambat (urutan acak)"):
        assert label in body


def test_simulator_as_the_wallet_app_names_the_wallet_and_shows_a_qris_code(client, db, shop):
    gopay, qris = place(shop, "gopay"), place(shop, "qris")
    log_in(client, shop.buyer_email)
    body = client.get(f"/sandbox/bayar/{gopay}?app=gopay").get_data(as_text=True)
    assert "<h1>GoPay (simulasi)</h1>" in body
    body = client.get(f"/sandbox/bayar/{qris}").get_data(as_text=True)
    assert 'data-testid="sandbox-qr"' in body and "<svg" in body


def test_pay_settles_the_book_the_payment_and_the_orders_and_sends_the_payer_back(
        client, db, shop):
    reference = place(shop)
    log_in(client, shop.buyer_email)
    response = client.post(f"/sandbox/bayar/{reference}", data={"action": "pay"})
    assert response.status_code == 303
    assert response.headers["Location"].endswith(f"/checkout/{reference}")
    tx, payment = transaction_of(reference), payment_of(reference)
    assert (tx.transaction_status, tx.paid_amount) == ("settlement", TOTAL)
    assert (payment.status, payment.paid_amount) == (PayStatus.PAID, TOTAL)
    assert [(o.status, o.payment_status) for o in orders_of(reference)] == [
        ("pending", "paid")]
    events = events_of(reference)
    assert [(e.transaction_status, e.gross_amount, e.outcome, e.deliveries)
            for e in events] == [("settlement", "165000.00", "applied", 1)]
    page = client.get(response.headers["Location"]).get_data(as_text=True)
    assert "Pembayaran diterima" in page
    assert f"Simulasi terkirim: transaksi {reference} sekarang Dibayar." in page


def test_a_tester_who_is_not_the_payer_stays_on_the_simulator(client, db, shop):
    reference = place(shop)
    _tester(client, "admin")
    response = client.post(f"/sandbox/bayar/{reference}", data={"action": "pay"})
    assert response.status_code == 303
    assert response.headers["Location"].endswith(f"/sandbox/bayar/{reference}")
    body = client.get(response.headers["Location"]).get_data(as_text=True)
    assert f"Simulasi terkirim: transaksi {reference} sekarang Dibayar." in body
    assert 'data-testid="sandbox-status">Dibayar<' in body
    assert "Transaksi ini sudah selesai" in body and 'name="action"' not in body
    assert payment_of(reference).status == PayStatus.PAID


def test_expire_cancels_the_orders_and_puts_the_stock_back(client, db, shop):
    reference = place(shop, quantity=3)
    assert stock_of(shop) == 7
    _tester(client)
    assert client.post(f"/sandbox/bayar/{reference}",
                       data={"action": "expire"}).status_code == 303
    assert transaction_of(reference).transaction_status == "expire"
    assert payment_of(reference).status == PayStatus.EXPIRED
    assert [(o.status, o.payment_status) for o in orders_of(reference)] == [
        ("cancelled", "unpaid")]
    assert stock_of(shop) == 10
    order = orders_of(reference)[0]
    reasons = _db.session.scalars(select(StockMovement.reason).where(
        StockMovement.reference == order.number, StockMovement.delta > 0)).all()
    assert reasons == ["expire"]
    assert [(e.transaction_status, e.status_code, e.outcome) for e in events_of(reference)
            ] == [("expire", "202", "applied")]


@pytest.mark.parametrize(("action", "tx_status", "status"), [
    ("deny", "deny", PayStatus.DENIED), ("cancel", "cancel", PayStatus.CANCELLED)])
def test_deny_and_cancel_close_the_payment_and_cancel_the_orders(
        client, db, shop, action, tx_status, status):
    reference = place(shop, "gopay")
    _tester(client)
    assert client.post(f"/sandbox/bayar/{reference}",
                       data={"action": action}).status_code == 303
    assert transaction_of(reference).transaction_status == tx_status
    assert payment_of(reference).status == status
    assert [o.status for o in orders_of(reference)] == ["cancelled"]
    assert stock_of(shop) == 10


@pytest.mark.parametrize(("typed", "paid"), [("100000", 100_000), ("200.000", 200_000)])
def test_paying_another_amount_is_recorded_and_flagged_for_admin(
        client, db, shop, typed, paid):
    reference = place(shop)
    _tester(client)
    response = client.post(f"/sandbox/bayar/{reference}",
                           data={"action": "pay_other", "amount": typed})
    assert response.status_code == 303
    tx, payment = transaction_of(reference), payment_of(reference)
    assert (tx.transaction_status, tx.paid_amount) == ("settlement", paid)
    assert (payment.status, payment.paid_amount) == (PayStatus.REVIEW, paid)
    assert payment.flag_reason.startswith("Dibayar Rp ")
    # Not accepted: the orders stay unpaid (the seller cannot process them).
    assert [(o.status, o.payment_status) for o in orders_of(reference)] == [
        ("pending", "unpaid")]
    assert [(e.gross_amount, e.outcome) for e in events_of(reference)] == [
        (f"{paid}.00", "flagged")]


def test_twice_and_out_of_order_notifications_change_the_payment_once(client, db, shop):
    reference = place(shop)
    _tester(client)
    response = client.post(f"/sandbox/bayar/{reference}", data={
        "action": "pay", "twice": "1", "out_of_order": "1"})
    assert response.status_code == 303
    # Delivered: settlement, settlement, pending (late), pending (late).
    assert [(e.transaction_status, e.outcome, e.deliveries) for e in events_of(reference)
            ] == [("settlement", "applied", 2), ("pending", "ignored", 2)]
    assert payment_of(reference).status == PayStatus.PAID
    assert [o.payment_status for o in orders_of(reference)] == ["paid"]
    received = _db.session.scalars(select(EmailOutbox).where(
        EmailOutbox.template == "payment_received")).all()
    assert len(received) == 1


def test_a_late_pending_alone_after_settlement_is_stored_and_ignored(client, db, shop):
    reference = place(shop)
    _tester(client)
    client.post(f"/sandbox/bayar/{reference}", data={"action": "pay", "out_of_order": "1"})
    assert [(e.transaction_status, e.outcome, e.deliveries) for e in events_of(reference)
            ] == [("settlement", "applied", 1), ("pending", "ignored", 1)]
    assert payment_of(reference).status == PayStatus.PAID


@pytest.mark.parametrize(("data", "message"), [
    ({}, "Pilih salah satu tindakan simulasi."),
    ({"action": "refund"}, "Pilih salah satu tindakan simulasi."),
    ({"action": "pay_other", "amount": ""}, "Isi jumlah yang dibayarkan."),
    ({"action": "pay_other", "amount": "abc"}, "bilangan bulat lebih dari 0"),
    ({"action": "pay_other", "amount": "0"}, "bilangan bulat lebih dari 0"),
    ({"action": "pay_other", "amount": "-5000"}, "bilangan bulat lebih dari 0"),
    ({"action": "pay_other", "amount": "150000,50"}, "bilangan bulat lebih dari 0"),
    ({"action": "pay_other", "amount": "1" + "0" * 13}, "bilangan bulat lebih dari 0"),
])
def test_bad_input_is_422_with_the_message_and_changes_nothing(client, db, shop, data,
                                                                message):
    reference = place(shop)
    before = _state(reference)
    _tester(client)
    response = client.post(f"/sandbox/bayar/{reference}", data=data)
    body = response.get_data(as_text=True)
    assert response.status_code == 422
    assert message in body
    if data.get("action") == "pay_other":
        assert 'id="amount-errors"' in body and 'aria-invalid="true"' in body
        assert f'value="{data["amount"]}"' in body
    assert _state(reference) == before


def test_a_transaction_no_longer_pending_cannot_be_simulated_again(client, db, shop):
    reference = place(shop)
    _tester(client)
    client.post(f"/sandbox/bayar/{reference}", data={"action": "pay"})
    before = _state(reference)
    for action in ("pay", "expire", "deny", "cancel"):
        response = client.post(f"/sandbox/bayar/{reference}", data={"action": action})
        assert response.status_code == 422
        assert ("Transaksi ini sudah berstatus Dibayar; hanya transaksi yang menunggu "
                "pembayaran dapat disimulasikan.") in response.get_data(as_text=True)
    assert _state(reference) == before


def test_unknown_or_uncharged_transactions_are_404(client, db, shop):
    uncharged = place(shop, charge=False)
    _tester(client)
    for url in (f"/sandbox/bayar/{uncharged}", "/sandbox/bayar/CO-20260101-999999"):
        assert client.get(url).status_code == 404
        assert client.post(url, data={"action": "pay"}).status_code == 404


def test_anonymous_users_are_sent_to_log_in(client, db, shop):
    reference = place(shop)
    response = client.get(f"/sandbox/bayar/{reference}")
    assert response.status_code == 302 and "/masuk" in response.headers["Location"]


def test_with_the_sandbox_off_the_simulator_does_not_exist(app, client, db, shop,
                                                          monkeypatch):
    reference = place(shop)
    before = _state(reference)
    monkeypatch.setitem(app.config, "PAYMENT_SANDBOX_ENABLED", False)
    assert client.get(f"/sandbox/bayar/{reference}").status_code == 404  # anonymous too
    _tester(client, "admin")
    assert client.get(f"/sandbox/bayar/{reference}").status_code == 404
    assert client.post(f"/sandbox/bayar/{reference}",
                       data={"action": "pay"}).status_code == 404
    assert _state(reference) == before


def test_production_config_turns_the_simulator_off():
    from app.config import ProductionConfig

    assert ProductionConfig.PAYMENT_SANDBOX_ENABLED is False


def test_simultaneous_simulator_clicks_change_the_transaction_once(app, db, shop, make_client):
    """Four testers press at the same moment (two "Bayar", two "Kedaluwarsa"): one wins,
    the others are told the transaction is no longer pending; one notification applied."""
    reference = place(shop)
    actions = ["pay", "expire", "pay", "expire"]
    clients = []
    for _ in actions:
        client = make_client()
        _tester(client)
        clients.append((client, client.csrf_token()))
    barrier = threading.Barrier(len(actions))
    answers: list = [None] * len(actions)

    def press(index: int) -> None:
        client, token = clients[index]
        barrier.wait()
        response = client.open(f"/sandbox/bayar/{reference}", method="POST", csrf=False,
                               data={"action": actions[index], "csrf_token": token})
        answers[index] = response.status_code

    threads = [threading.Thread(target=press, args=(i,)) for i in range(len(actions))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert sorted(answers) == [303, 422, 422, 422]
    winner = actions[answers.index(303)]
    expected = {"pay": ("settlement", PayStatus.PAID), "expire": ("expire", PayStatus.EXPIRED)}
    assert (transaction_of(reference).transaction_status,
            payment_of(reference).status) == expected[winner]
    assert [(e.outcome, e.deliveries) for e in events_of(reference)] == [("applied", 1)]
