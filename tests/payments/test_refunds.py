"""Refunds: an accepted return or a cancelled paid order is refunded once, for the exact
amount, through the payment's gateway (the sandbox pays at once); a gateway that refuses or
cannot refund leaves it to an admin, who marks it paid out by hand once."""

from __future__ import annotations

from unittest.mock import patch

import pytest
from flask import render_template
from sqlalchemy import func, select

from app.accounts.models import User
from app.catalog.models import Variant
from app.core.models import Notice
from app.extensions import db as _db
from app.orders.lifecycle import order_cancel
from app.orders.models import Order
from app.orders.refunds import order_refund
from app.payments.gateways.base import GatewayError
from app.payments.models import Payment, Refund, SandboxTransaction
from app.payments.refunds import refunds_of_order
from app.payments.services import payment_of_checkout
from tests.conftest import log_in
from tests.factories import make_checkout, make_product, make_user, pay_checkout
from tests.orders.lifecycle_helpers import emails, get_order, make_shop, move_to, place_order

REFUSE = "app.payments.gateways.sandbox.SandboxGateway.refund"


@pytest.fixture
def shop(db):
    return make_shop(price=150_000)


@pytest.fixture
def admin(db) -> str:
    user = make_user(roles=("admin",), name="Admin Keuangan")
    _db.session.commit()
    return user.email


def _refunds() -> list[Refund]:
    _db.session.expire_all()
    return list(_db.session.scalars(select(Refund).order_by(Refund.id)))


def _payment(order: Order) -> Payment:
    _db.session.expire_all()
    return payment_of_checkout(order.checkout_id)


def _sandbox(payment: Payment) -> SandboxTransaction:
    return _db.session.scalars(select(SandboxTransaction).where(
        SandboxTransaction.order_id == payment.reference)).one()


def _return_accepted(client, make_client, shop, number: str) -> None:
    log_in(client, shop.buyer_email)
    assert client.post(f"/pesanan/{number}/retur",
                       data={"reason": "Botol pecah saat diterima"}).status_code == 303
    seller = make_client()
    log_in(seller, shop.seller_email)
    assert seller.post(f"/seller/pesanan/{number}/retur/terima").status_code == 303


def test_accepted_return_of_a_paid_order_is_refunded_once_for_the_exact_amount(
        client, make_client, db, shop):
    number = place_order(shop, quantity=2)
    move_to(number, "delivered")
    order = get_order(number)
    assert order.total == 2 * 150_000 + order.shipping_cost

    _return_accepted(client, make_client, shop, number)

    [refund] = _refunds()
    assert refund.order_id == order.id and refund.amount == order.total
    assert refund.refund_key == f"{number}-return" and refund.status == "done"
    assert refund.done_at is not None and refund.gateway_reference == f"RF-{number}-return"
    assert get_order(number).payment_status == "refunded"
    payment = _payment(order)
    assert payment.refunded_amount == order.total
    assert payment.status == "refunded"  # its only order went back whole
    tx = _sandbox(payment)
    assert tx.refunded_amount == order.total and tx.transaction_status == "refund"
    [mail] = emails("refund_done")
    assert mail.to_address == shop.buyer_email
    assert number in mail.subject
    amount = f"Rp\u00a0{order.total:,}".replace(",", ".")
    assert amount in mail.body_text and f"/pesanan/{number}" in mail.body_text
    assert _db.session.scalar(select(func.count(Notice.id)).where(
        Notice.user_id == shop.buyer_id, Notice.kind == "refund_done")) == 1


def test_running_the_refund_job_twice_records_and_pays_once(client, make_client, db, shop):
    number = place_order(shop)
    move_to(number, "delivered")
    _return_accepted(client, make_client, shop, number)
    order = get_order(number)

    again = order_refund(order.id, "return")
    _db.session.commit()

    [refund] = _refunds()
    assert again == {"refund": refund.id, "status": "done"}
    payment = _payment(order)
    assert payment.refunded_amount == order.total
    assert _sandbox(payment).refunded_amount == order.total
    assert len(emails("refund_done")) == 1


def test_refund_job_for_an_order_that_owes_nothing_records_nothing(db, shop):
    order = get_order(place_order(shop))  # paid, not cancelled or returned
    assert order_refund(order.id, "cancelled") == {"refund": None, "status": "skipped"}
    _db.session.commit()
    assert _refunds() == []
    with pytest.raises(ValueError):
        order_refund(order.id, "whatever")


def test_buyer_cancelling_a_paid_pending_order_gets_the_money_back(client, db, shop):
    number = place_order(shop)
    log_in(client, shop.buyer_email)
    assert client.post(f"/pesanan/{number}/batal").status_code == 303

    order = get_order(number)
    assert order.status == "cancelled" and order.payment_status == "refunded"
    [refund] = _refunds()
    assert refund.refund_key == f"{number}-cancelled"
    assert refund.amount == order.total and refund.status == "done"
    assert _payment(order).status == "refunded"
    assert len(emails("refund_done")) == 1


def test_an_order_cancelled_before_its_checkout_was_paid_is_refunded_when_paid(db, shop):
    buyer = _db.session.get(User, shop.buyer_id)
    variant = _db.session.get(Variant, shop.variant_id)
    checkout = make_checkout(buyer=buyer, lines=[(variant, 1)])
    _db.session.commit()
    order = checkout.orders[0]
    number = order.number
    order_cancel(order=order, actor=buyer)
    _db.session.commit()
    assert _refunds() == []

    pay_checkout(checkout)  # the money arrives anyway

    [refund] = _refunds()
    assert refund.refund_key == f"{number}-cancelled" and refund.status == "done"
    assert get_order(number).payment_status == "refunded"
    assert _payment(get_order(number)).status == "refunded"


def test_payment_is_refunded_only_when_all_its_orders_are(db):
    buyer = make_user(name="Budi Pembeli")
    stores = [make_user(roles=("seller",), store_name=f"Toko {n}").store for n in "AB"]
    variants = [make_product(store=store, name=f"Sabun {store.name}", price=price).variants[0]
                for store, price in zip(stores, (100_000, 70_000), strict=True)]
    checkout = make_checkout(buyer=buyer, lines=[(variants[0], 1), (variants[1], 2)])
    _db.session.commit()
    pay_checkout(checkout)
    first, second = (get_order(o.number) for o in checkout.orders)

    order_cancel(order=first, actor=buyer)
    _db.session.commit()
    payment = _payment(first)
    assert payment.refunded_amount == first.total
    assert payment.status == "paid"
    assert get_order(second.number).payment_status == "paid"

    order_cancel(order=get_order(second.number), actor=buyer)
    _db.session.commit()
    payment = _payment(first)
    assert payment.refunded_amount == first.total + second.total == payment.amount
    assert payment.status == "refunded"
    assert [r.amount for r in _refunds()] == [first.total, second.total]
    assert len(emails("refund_done")) == 2


def test_gateway_refusal_leaves_the_refund_failed_and_admin_marks_it_done_once(
        client, make_client, db, shop, admin):
    number = place_order(shop)
    with patch(REFUSE, side_effect=GatewayError("412: merchant balance too low")):
        log_in(client, shop.buyer_email)
        assert client.post(f"/pesanan/{number}/batal").status_code == 303

    [refund] = _refunds()
    assert refund.status == "failed" and refund.error == "412: merchant balance too low"
    assert refund.done_at is None
    order = get_order(number)
    assert order.payment_status == "refund_pending"
    assert _payment(order).refunded_amount == 0 and _payment(order).status == "paid"
    assert emails("refund_done") == []
    admin_user = _db.session.scalars(select(User).where(User.email == admin)).one()
    assert _db.session.scalar(select(func.count(Notice.id)).where(
        Notice.user_id == admin_user.id, Notice.kind == "refund_manual")) == 1

    staff = make_client()
    log_in(staff, admin)
    page = staff.get(f"/admin/pembayaran/{refund.payment_id}").get_data(as_text=True)
    assert "merchant balance too low" in page and "Tandai sudah ditransfer" in page
    done = staff.post(f"/admin/pembayaran/pengembalian/{refund.id}/sudah-ditransfer")
    assert done.status_code == 303
    assert done.headers["Location"] == f"/admin/pembayaran/{refund.payment_id}"
    [refund] = _refunds()
    assert refund.status == "done" and refund.error == ""
    assert refund.gateway_reference == f"manual:{admin_user.id}"
    assert get_order(number).payment_status == "refunded"
    payment = _payment(order)
    assert payment.refunded_amount == order.total and payment.status == "refunded"
    assert _sandbox(payment).refunded_amount == 0  # paid out by hand, not by the gateway
    assert len(emails("refund_done")) == 1

    twice = staff.post(f"/admin/pembayaran/pengembalian/{refund.id}/sudah-ditransfer")
    assert twice.status_code == 409
    assert _payment(order).refunded_amount == order.total
    assert len(emails("refund_done")) == 1


def test_admin_retry_after_a_refusal_pays_through_the_gateway(client, make_client, db, shop,
                                                              admin):
    number = place_order(shop)
    with patch(REFUSE, side_effect=GatewayError("503: try later")):
        log_in(client, shop.buyer_email)
        client.post(f"/pesanan/{number}/batal")
    [refund] = _refunds()
    staff = make_client()
    log_in(staff, admin)

    with patch(REFUSE, side_effect=GatewayError("503: still down")):
        again = staff.post(f"/admin/pembayaran/pengembalian/{refund.id}/coba-lagi")
    assert again.status_code == 303
    assert _refunds()[0].status == "failed" and _refunds()[0].error == "503: still down"

    assert staff.post(f"/admin/pembayaran/pengembalian/{refund.id}/coba-lagi").status_code == 303
    [refund] = _refunds()
    assert refund.status == "done" and refund.gateway_reference == f"RF-{number}-cancelled"
    payment = _payment(get_order(number))
    assert _sandbox(payment).refunded_amount == refund.amount == payment.refunded_amount
    assert staff.post(f"/admin/pembayaran/pengembalian/{refund.id}/coba-lagi").status_code == 409
    assert _sandbox(_payment(get_order(number))).refunded_amount == refund.amount


def test_a_bank_transfer_paid_through_midtrans_waits_for_a_manual_payout(db, shop):
    number = place_order(shop)
    order = get_order(number)
    payment = _payment(order)
    payment.gateway = "midtrans"  # a VA: Midtrans cannot refund it through the API
    order_cancel(order=order, actor=_db.session.get(User, shop.buyer_id))
    with patch("app.payments.gateways.midtrans.MidtransGateway.refund") as gateway_refund:
        _db.session.commit()
    gateway_refund.assert_not_called()
    [refund] = _refunds()
    assert refund.status == "pending" and "transfer manual" in refund.error
    assert get_order(number).payment_status == "refund_pending"


def test_order_pages_partial_lists_refunds_with_amount_status_and_date(app, db, shop):
    number = place_order(shop)
    order = get_order(number)
    order_cancel(order=order, actor=_db.session.get(User, shop.buyer_id))
    _db.session.commit()
    [view] = refunds_of_order(order.id)
    assert (view.amount, view.status) == (order.total, "done")
    with app.test_request_context():
        html = render_template("payments/_refunds.html", refunds=[view])
    assert f"Rp\u00a0{order.total:,}".replace(",", ".") in html
    assert "Dana sudah dikembalikan" in html and "Pesanan dibatalkan setelah dibayar" in html
    with app.test_request_context():
        assert render_template("payments/_refunds.html", refunds=[]).strip() == ""


# --- concurrency ----------------------------------------------------------------------------


def test_two_refund_jobs_at_once_record_and_pay_once(app, db, shop):
    """Two workers run the same refund job at the same moment (an RQ retry racing the
    first run): one Refund row, one gateway refund, one email."""
    import threading

    from sqlalchemy import update

    from app.core.queue import execute_job

    number = place_order(shop)
    order = get_order(number)
    order_id, total = order.id, order.total
    # The state return_accept leaves, without queueing its job (we run it twice below).
    _db.session.execute(update(Order).where(Order.id == order.id)
                        .values(payment_status="refund_pending"))
    _db.session.execute(update(Order).where(Order.id == order.id).values(status="cancelled"))
    _db.session.commit()  # and hold no SQLite lock while the workers run
    barrier = threading.Barrier(2)
    results: list = []

    def run() -> None:
        barrier.wait()
        results.append(execute_job(app, "jobs.payments.refund_order", (order_id, "cancelled"),
                                   {}, reraise=False))

    threads = [threading.Thread(target=run) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)

    [refund] = _refunds()
    assert refund.status == "done" and refund.amount == total
    assert sorted(r["status"] for r in results) == ["done", "done"]
    payment = _payment(get_order(number))
    assert payment.refunded_amount == total
    assert _sandbox(payment).refunded_amount == total
    assert len(emails("refund_done")) == 1


def test_two_admins_marking_the_same_refund_done_change_it_once(client, make_client, db,
                                                               shop, admin):
    import threading

    number = place_order(shop)
    with patch(REFUSE, side_effect=GatewayError("412: refused")):
        log_in(client, shop.buyer_email)
        client.post(f"/pesanan/{number}/batal")
    [refund] = _refunds()
    url = f"/admin/pembayaran/pengembalian/{refund.id}/sudah-ditransfer"
    admins = [make_client(), make_client()]
    tokens = []
    for browser in admins:
        log_in(browser, admin)
        tokens.append(browser.csrf_token())
    barrier = threading.Barrier(2)
    statuses: list[int] = []

    def click(index: int) -> None:
        barrier.wait()
        response = admins[index].open(url, method="POST", csrf=False,
                                      data={"csrf_token": tokens[index]})
        statuses.append(response.status_code)

    threads = [threading.Thread(target=click, args=(i,)) for i in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)

    assert sorted(statuses) == [303, 409]
    order = get_order(number)
    assert order.payment_status == "refunded"
    assert _payment(order).refunded_amount == order.total
    assert len(emails("refund_done")) == 1
