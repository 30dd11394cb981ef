"""Retail-outlet payments (Alfamart, Indomaret: Midtrans `payment_type: cstore`).

Unit: the Midtrans charge body, the expiry, the sandbox's codes and notification bodies
(status codes, signature). From outside: Midtrans's published cstore samples signed and
posted over real HTTP to the live app's webhook (pending -> settlement, expire; a relabelled
pending refused), and the Midtrans adapter charging a fake Midtrans API over HTTP. Rules:
a buyer sees only their own payment code (web and API), an unknown method or an amount
above the cashier's limit is refused with a message and nothing written, and the grouped
method choice works as a plain form.
"""

from __future__ import annotations

import json
import re
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from app.accounts.models import User
from app.core.money import format_rupiah_shown
from app.extensions import db as _db
from app.maklon.models import MilestonePayment
from app.orders.models import Checkout, Order
from app.payments.gateways.base import (
    METHODS,
    expiry_minutes,
    midtrans_signature,
    notification_from_payload,
    status_code_documented,
)
from app.payments.gateways.midtrans import MidtransGateway
from app.payments.gateways.sandbox import SandboxGateway, sandbox_payload, sandbox_simulate
from app.payments.models import Invoice, Payment, PaymentEvent, PayStatus, SandboxTransaction
from app.payments.services import payment_charge, payment_of_checkout
from tests.conftest import log_in
from tests.factories import make_user
from tests.live import live_log_in, raw_request
from tests.maklon.factories import make_signed_request
from tests.orders.helpers import checkout_form
from tests.payments.midtrans_helpers import SERVER_KEY, FakeMidtrans, for_payment, notify, sample
from tests.payments.pay_helpers import (
    PRICE,
    make_shop,
    orders_of,
    payment_of,
    place,
    stock_of,
    transaction_of,
)
from tests.payments.test_midtrans_published import buy, count, orders, payment, send, stock


def sandbox_key(app) -> str:
    return app.config["PAYMENT_SANDBOX_SERVER_KEY"]


# Unit: charge body, expiry, codes, status mapping --------------------------------------------
@pytest.mark.parametrize("store", ["alfamart", "indomaret"])
def test_midtrans_charge_body_asks_for_a_cstore_payment_code(app, store):
    from app.core.clock import utcnow

    gateway = MidtransGateway(server_key=SERVER_KEY)
    with app.test_request_context():
        body = gateway.charge_body(
            reference="CO-20261207-000123", amount=44_000, method=store,
            expires_at=utcnow() + timedelta(minutes=expiry_minutes(store)),
            customer={"first_name": "Budi", "email": "budi@example.test", "phone": ""})
    assert body["payment_type"] == "cstore"
    assert body["transaction_details"] == {"order_id": "CO-20261207-000123",
                                           "gross_amount": 44_000}
    cstore = body["cstore"]
    assert cstore["store"] == store
    assert 0 < len(cstore["message"]) <= 20  # the cashier's screen label (String(20))
    if store == "alfamart":
        assert "CO-20261207-000123" in cstore["alfamart_free_text_1"]
        assert len(cstore["alfamart_free_text_1"]) <= 40  # a receipt row (String(40))
    else:
        assert "alfamart_free_text_1" not in cstore
    assert body["custom_expiry"]["unit"] == "minute"
    assert body["custom_expiry"]["expiry_duration"] in (1439, 1440)  # 24 h by default
    assert "bank_transfer" not in body and "phone" not in body["customer_details"]


def test_retail_outlets_have_their_own_expiry(app, monkeypatch):
    with app.app_context():
        assert expiry_minutes("alfamart") == expiry_minutes("indomaret") == 24 * 60
        monkeypatch.setitem(app.config, "PAYMENT_CSTORE_EXPIRY_MINUTES", 180)
        monkeypatch.setitem(app.config, "PAYMENT_EWALLET_EXPIRY_MINUTES", 7)
        assert expiry_minutes("alfamart") == 180 and expiry_minutes("indomaret") == 180
        assert expiry_minutes("gopay") == 7 and expiry_minutes("va_bca") == 24 * 60
    assert {m for m, spec in METHODS.items() if spec.kind == "cstore"} == {"alfamart",
                                                                         "indomaret"}


@pytest.mark.parametrize(("store", "digits"), [("alfamart", 16), ("indomaret", 12)])
def test_the_sandbox_issues_a_code_and_notifies_like_midtrans(app, db, store, digits):
    shop = make_shop()
    reference = place(shop, store)
    paid = payment_of(reference)
    assert re.fullmatch(rf"\d{{{digits}}}", paid.payment_code)
    tx = transaction_of(reference)
    assert (tx.payment_type, tx.store, tx.payment_code) == ("cstore", store, paid.payment_code)
    key = sandbox_key(app)
    pending = sandbox_payload(tx)
    # The published cstore body's fields, and nothing of a VA.
    assert set(sample(f"notification_cstore_{'indomaret' if store == 'indomaret' else 'alfamart'}"
                      "_settlement")) - {"settlement_time", "approval_code", "fraud_status"} \
        <= set(pending)
    assert (pending["payment_type"], pending["store"], pending["payment_code"],
            pending["status_code"], pending["transaction_status"]) == (
        "cstore", store, paid.payment_code, "201", "pending")
    gross = f"{paid.amount}.00"
    assert "va_numbers" not in pending and pending["gross_amount"] == gross
    assert pending["signature_key"] == midtrans_signature(reference, "201", gross, key)
    # Expired: the notification says 202 (as Midtrans's published one), a status answer 407.
    tx.transaction_status = "expire"
    assert sandbox_payload(tx)["status_code"] == "202"
    assert sandbox_payload(tx, answer=True)["status_code"] == "407"
    with app.test_request_context():
        assert SandboxGateway().status(reference).status_code == "407"
    # Every pair the sandbox sends is one Midtrans documents (base.STATUS_CODES).
    for status in ("pending", "settlement", "expire", "deny", "cancel"):
        body = sandbox_payload(tx, status)
        assert status_code_documented(status, body["status_code"]), status
        notification_from_payload("sandbox", body, key)  # signed correctly
    settled = sandbox_payload(tx, "settlement")
    assert ("approval_code" in settled) is (store == "indomaret")


# From outside: published samples over real HTTP ------------------------------------------------
@pytest.mark.parametrize("store", ["alfamart", "indomaret"])
def test_published_cstore_pending_then_settlement_pays_the_checkout(app, db, live_url, store):
    bought = buy(db, method=store)
    assert re.fullmatch(r"\d{12,16}", payment(db, bought).payment_code)
    key = sandbox_key(app)
    pending = for_payment("notification_cstore_indomaret_pending", order_id=bought.reference,
                          amount=bought.total, key=key, store=store)
    answer = send(db, live_url, "sandbox", pending)
    assert answer.status == 200, answer.text()
    assert payment(db, bought).status == PayStatus.PENDING
    settled = for_payment(f"notification_cstore_{store}_settlement",
                          order_id=bought.reference, amount=bought.total, key=key)
    assert settled["store"] == store and settled["payment_type"] == "cstore"
    answer = send(db, live_url, "sandbox", settled)
    assert answer.status == 200, answer.text()
    paid = payment(db, bought)
    assert paid.status == PayStatus.PAID and paid.paid_amount == bought.total
    assert [o.payment_status for o in orders(db, bought)] == ["paid", "paid"]
    assert count(db, Invoice) == 2
    # Delivered again (Midtrans retries): one event, nothing twice.
    assert send(db, live_url, "sandbox", settled).status == 200
    assert count(db, Invoice) == 2
    events = _db.session.scalars(select(PaymentEvent).order_by(PaymentEvent.id)).all()
    assert [(e.transaction_status, e.status_code, e.outcome, e.deliveries) for e in events] == [
        ("pending", "201", "ignored", 1), ("settlement", "200", "applied", 2)]
    assert events[1].payload["payment_code"] == settled["payment_code"]


def test_published_cstore_expiry_cancels_the_orders_and_restocks(app, db, live_url):
    bought = buy(db, method="alfamart")
    expire = for_payment("notification_cstore_alfamart_expire", order_id=bought.reference,
                         amount=bought.total, key=sandbox_key(app))
    assert expire["status_code"] == "202"
    answer = send(db, live_url, "sandbox", expire)
    assert answer.status == 200, answer.text()
    assert payment(db, bought).status == PayStatus.EXPIRED
    assert [o.status for o in orders(db, bought)] == ["cancelled", "cancelled"]
    assert [stock(db, v) for v in bought.variant_ids] == [10, 10]
    assert count(db, Invoice) == 0


def test_a_cstore_pending_relabelled_settlement_is_refused(app, db, live_url):
    bought = buy(db, method="indomaret")
    forged = for_payment("notification_cstore_indomaret_pending", order_id=bought.reference,
                         amount=bought.total, key=sandbox_key(app))
    forged["transaction_status"] = "settlement"  # not covered by the signature
    answer = send(db, live_url, "sandbox", forged)
    assert answer.status == 400 and "status_code" in answer.text()
    assert payment(db, bought).status == PayStatus.PENDING
    assert [o.payment_status for o in orders(db, bought)] == ["unpaid", "unpaid"]
    # And one signed with another key is forged outright.
    other = for_payment("notification_cstore_indomaret_settlement", order_id=bought.reference,
                        amount=bought.total, key="SB-Mid-server-someone-else")
    assert send(db, live_url, "sandbox", other).status == 401
    assert payment(db, bought).status == PayStatus.PENDING and count(db, Invoice) == 0


@pytest.fixture
def midtrans(app, monkeypatch):
    with FakeMidtrans() as fake:
        monkeypatch.setitem(app.config, "MIDTRANS_SERVER_KEY", SERVER_KEY)
        monkeypatch.setitem(app.config, "MIDTRANS_API_URL", fake.url)
        monkeypatch.setitem(app.config, "PAYMENT_GATEWAY", "midtrans")
        yield fake


def test_midtrans_charges_alfamart_over_http_and_its_settlement_is_confirmed(
        app, db, live_url, midtrans):
    shop = make_shop()
    reference = place(shop, "alfamart", charge=False)
    midtrans.answers[("POST", "/v2/charge")] = (200, {
        **sample("charge_cstore_alfamart"), "order_id": reference})
    assert payment_charge(payment_of(reference))
    _db.session.commit()
    [seen] = midtrans.requests_to("POST", "/v2/charge")
    assert seen.body["payment_type"] == "cstore" and seen.body["cstore"]["store"] == "alfamart"
    assert seen.headers["Authorization"].startswith("Basic ")
    charged = payment_of(reference)
    assert (charged.payment_code, charged.transaction_id) == (
        "8127740588870520", "d615df87-c96f-4f5c-9d35-2d740d54c1a9")
    amount = charged.amount
    midtrans.status_answer(reference, "status_settlement", amount=amount)
    _db.session.commit()  # SQLite: the live request must not wait for our read lock
    answer = notify(live_url, "midtrans", for_payment(
        "notification_cstore_alfamart_settlement", order_id=reference, amount=amount))
    assert answer.status == 200, answer.text()
    assert midtrans.requests_to("GET", f"/v2/{reference}/status")
    assert payment_of(reference).status == PayStatus.PAID
    assert [o.payment_status for o in orders_of(reference)] == ["paid"]


def test_a_midtrans_cstore_answer_without_a_payment_code_is_a_failed_charge(app, db, midtrans):
    shop = make_shop()
    reference = place(shop, "indomaret", charge=False)
    body = {**sample("charge_cstore_indomaret"), "order_id": reference}
    del body["payment_code"]
    midtrans.answers[("POST", "/v2/charge")] = (200, body)
    assert payment_charge(payment_of(reference)) is False
    _db.session.commit()
    failed = payment_of(reference)
    assert failed.charged_at is None and "payment_code" in failed.charge_error


# The pay page and access ---------------------------------------------------------------------
def test_the_pay_page_shows_the_code_store_amount_expiry_and_cashier_steps(app, db, client):
    shop = make_shop()
    reference = place(shop, "indomaret")
    code, amount = payment_of(reference).payment_code, payment_of(reference).amount
    log_in(client, shop.buyer_email)
    html = client.get(f"/checkout/{reference}").get_data(as_text=True)
    grouped = " ".join(code[i:i + 4] for i in range(0, len(code), 4))
    assert f'data-code="{code}">{grouped}</p>' in html
    assert 'data-testid="cstore-store">Indomaret<' in html
    assert f'data-testid="cstore-amount">{format_rupiah_shown(amount)}<' in html
    assert 'data-testid="cstore-expiry"' in html
    assert "Di kasir Indomaret" in html and f"kode pembayaran {grouped}" in html
    assert 'hx-get="/checkout/' in html or "hx-get=" in html  # the self-polling status block
    assert "js/pay-cstore.js" in html and "css/pay-cstore.css" in html
    # Paid: the status block (polled) says so and empties the instructions.
    sandbox_simulate(reference=reference, action="pay")
    _db.session.commit()
    assert payment_of(reference).status == PayStatus.PAID
    status = client.get(f"/checkout/{reference}/status", headers={"HX-Request": "true"})
    assert status.status_code == 286
    assert "Pembayaran diterima" in status.get_data(as_text=True)
    assert code not in client.get(f"/checkout/{reference}").get_data(as_text=True)


def _bearer(app, user_id: int) -> dict[str, str]:
    from tests.api.conftest import mint_tokens

    return {"Authorization": f"Bearer {mint_tokens(app, user_id)['access_token']}"}


def test_a_buyer_sees_only_their_own_payment_code(app, db, live_url):
    shop = make_shop()
    reference = place(shop, "alfamart")
    code = payment_of(reference).payment_code
    other = make_user(name="Sari Lain")
    owner_headers, other_headers = _bearer(app, shop.buyer_id), _bearer(app, other.id)
    other_email = other.email
    _db.session.commit()
    owner = live_log_in(live_url, shop.buyer_email)
    assert code in owner.get(f"/checkout/{reference}").text()
    intruder = live_log_in(live_url, other_email)
    page = intruder.get(f"/checkout/{reference}")
    assert page.status == 404 and code not in page.text()
    status = intruder.get(f"/checkout/{reference}/status")
    assert status.status == 404 and code not in status.text()
    path = f"/api/v1/payments/{reference}"
    api = raw_request(live_url, path, headers=other_headers)
    assert api.status == 404 and code not in api.text()
    anonymous = raw_request(live_url, path)
    assert anonymous.status == 401 and code not in anonymous.text()
    mine = json.loads(raw_request(live_url, path, headers=owner_headers).text())
    assert mine["method"] == "alfamart" and mine["store"] == "alfamart"
    assert mine["instructions"]["kind"] == "cstore"
    assert mine["instructions"]["payment_code"] == code
    assert mine["instructions"]["store_name"] == "Alfamart"
    assert mine["instructions"]["steps"][0]["title"].startswith("Di kasir Alfamart")


# Bad input -----------------------------------------------------------------------------------
def _cart(shop) -> None:
    """One unit of the shop's serum in the buyer's cart (committed)."""
    from app.orders.cart import cart_add

    cart_add(user=_db.session.get(User, shop.buyer_id), variant_id=shop.variant_id,
             quantity=1)
    _db.session.commit()


def _checkouts() -> int:
    return _db.session.scalar(select(func.count(Checkout.id))) or 0


@pytest.mark.parametrize("method", ["lawson", "cstore", "alfamart ", ""])
def test_an_unknown_store_is_refused_at_the_field_and_nothing_is_bought(db, client, method):
    shop = make_shop()
    _cart(shop)
    log_in(client, shop.buyer_email)
    form = {**checkout_form(client), "payment_method": method}
    response = client.post("/checkout", data=form)
    assert response.status_code == 422
    html = response.get_data(as_text=True)
    assert "Pilih metode pembayaran." in html
    assert 'class="pay-methods field-error"' in html
    assert _checkouts() == 0 and stock_of(shop) == 10
    assert _db.session.scalar(select(func.count(Payment.id))) == 0


def test_more_than_the_cashier_takes_is_refused_with_the_limit(app, db, client, monkeypatch):
    monkeypatch.setitem(app.config, "PAYMENT_CSTORE_MAX_AMOUNT", PRICE - 1)  # < any total
    shop = make_shop()
    _cart(shop)
    log_in(client, shop.buyer_email)
    page = client.get("/checkout").get_data(as_text=True)
    # Shown, but disabled with the reason; the other groups stay available.
    assert re.search(r'value="alfamart"[^>]*disabled', page)
    assert "Tidak tersedia untuk pembayaran di atas Rp 149.999" in page
    response = client.post("/checkout", data={**checkout_form(client),
                                              "payment_method": "alfamart"})
    assert response.status_code == 422
    html = response.get_data(as_text=True)
    assert "Pembayaran di gerai retail paling banyak Rp 149.999 sekali bayar" in html
    assert _checkouts() == 0 and stock_of(shop) == 10
    monkeypatch.setitem(app.config, "PAYMENT_CSTORE_MAX_AMOUNT", 5_000_000)
    ok = client.post("/checkout", data={**checkout_form(client), "payment_method": "alfamart"})
    assert ok.status_code == 303 and _checkouts() == 1


def test_the_api_refuses_an_unknown_store_and_an_amount_above_the_limit(app, db, live_url,
                                                                       monkeypatch):
    from app.accounts.models import Address
    from app.orders.cart import cart_add

    shop = make_shop()
    buyer = _db.session.get(User, shop.buyer_id)
    cart_add(user=buyer, variant_id=shop.variant_id, quantity=1)
    address_id = _db.session.scalar(select(Address.id).where(Address.user_id == buyer.id))
    _db.session.commit()
    headers = {**_bearer(app, buyer.id), "Content-Type": "application/json"}
    _db.session.commit()

    def post(method: str, key: str):
        return raw_request(live_url, "/api/v1/checkout", method="POST", body=json.dumps(
            {"address_id": address_id, "payment_method": method}).encode(),
            headers={**headers, "Idempotency-Key": key})

    unknown = post("lawson", "k" * 20)
    assert unknown.status == 422 and "payment_method" in unknown.text()
    monkeypatch.setitem(app.config, "PAYMENT_CSTORE_MAX_AMOUNT", 1000)
    over = post("indomaret", "m" * 20)
    assert over.status == 422, over.text()
    assert "gerai retail" in json.loads(over.text())["error"]["fields"]["payment_method"]
    assert _checkouts() == 0 and stock_of(shop) == 10
    _db.session.commit()
    monkeypatch.setitem(app.config, "PAYMENT_CSTORE_MAX_AMOUNT", 5_000_000)
    placed = post("indomaret", "n" * 20)
    assert placed.status == 201, placed.text()
    answer = json.loads(placed.text())["payment"]
    assert answer["store"] == "indomaret"
    assert re.fullmatch(r"\d{12}", answer["instructions"]["payment_code"])


def test_a_milestone_above_the_cashier_limit_is_refused(app, db, client, login_as,
                                                        monkeypatch):
    req = make_signed_request()
    dp = _db.session.scalars(select(MilestonePayment).where(
        MilestonePayment.request_id == req.id, MilestonePayment.kind == "dp")).one()
    monkeypatch.setitem(app.config, "PAYMENT_CSTORE_MAX_AMOUNT", dp.amount - 1)
    login_as(req.client)
    page = client.get(f"/maklon/{req.number}/pembayaran").get_data(as_text=True)
    assert 'data-testid="method-group-cstore"' in page
    response = client.post(f"/maklon/{req.number}/pembayaran/dp", data={"method": "indomaret"})
    assert response.status_code == 422
    assert "paling banyak" in response.get_data(as_text=True)
    assert _db.session.scalar(select(func.count(Payment.id))) == 0
    monkeypatch.setitem(app.config, "PAYMENT_CSTORE_MAX_AMOUNT", dp.amount)
    paid = client.post(f"/maklon/{req.number}/pembayaran/dp", data={"method": "indomaret"})
    assert paid.status_code == 303
    pay_page = client.get(paid.headers["Location"]).get_data(as_text=True)
    assert 'data-testid="payment-code"' in pay_page and "Di kasir Indomaret" in pay_page


# The grouped choice, as a plain form -------------------------------------------------------------
GROUP = re.compile(r'<fieldset class="pay-group pay-group-(\w+)"[^>]*>\s*<legend>([^<]+)</legend>')
OPTION = re.compile(r'<label class="pay-option[^"]*">\s*<input type="radio" '
                    r'name="(\w+)" value="(\w+)"[^>]*>\s*<span class="pay-mark pay-mark-\2" '
                    r'aria-hidden="true">([^<]+)</span>\s*<span class="pay-option-label">'
                    r'([^<]+)</span>')


def test_checkout_groups_the_methods_in_fieldsets_with_drawn_marks(db, client):
    shop = make_shop()
    _cart(shop)
    log_in(client, shop.buyer_email)
    html = client.get("/checkout").get_data(as_text=True)
    assert [(key, legend) for key, legend in GROUP.findall(html)] == [
        ("va", "Virtual Account"), ("ewallet", "E-wallet"), ("qris", "QRIS"),
        ("cstore", "Gerai retail")]
    options = OPTION.findall(html)
    assert {name for name, *_ in options} == {"payment_method"}
    assert [value for _, value, *_ in options] == [
        "va_bca", "va_bni", "va_bri", "va_mandiri", "va_permata", "gopay", "ovo", "dana",
        "shopeepay", "qris", "alfamart", "indomaret"]
    marks = {value: mark for _, value, mark, _ in options}
    assert marks["alfamart"] == "ALFA" and marks["indomaret"] == "INDO"
    assert len(set(marks.values())) == len(marks)  # each recognisable on its own
    choice = html.split('data-testid="method-choice"')[1].split('<dl class="totals">')[0]
    assert choice.count(" checked>") == 1 and 'value="va_bca" checked' in choice
    assert "<img" not in choice and "url(" not in choice  # drawn by us, no logo files
    # Without JavaScript the radio is just submitted with the form: Indomaret it is.
    response = client.post("/checkout", data={**checkout_form(client),
                                              "payment_method": "indomaret"})
    assert response.status_code == 303
    placed = _db.session.scalars(select(Order)).one()
    assert placed.checkout.payment_method == "indomaret"
    assert payment_of(placed.checkout.reference).payment_code


def test_the_milestone_choice_has_the_same_groups(db, client, login_as):
    req = make_signed_request()
    login_as(req.client)
    html = client.get(f"/maklon/{req.number}/pembayaran").get_data(as_text=True)
    assert [key for key, _ in GROUP.findall(html)] == ["va", "ewallet", "qris", "cstore"]
    assert {name for name, *_ in OPTION.findall(html)} == {"method"}
    assert "css/pay-cstore.css" in html


def test_sandbox_tx_of_a_cstore_payment_keeps_the_store(db):
    shop = make_shop()
    reference = place(shop, "alfamart")
    tx = _db.session.scalars(select(SandboxTransaction).where(
        SandboxTransaction.order_id == reference)).one()
    assert tx.store == "alfamart" and tx.payment_code == payment_of(reference).payment_code
    assert payment_of_checkout(orders_of(reference)[0].checkout_id).method == "alfamart"


def test_the_admin_ledger_shows_the_payment_code_and_filters_by_store(db, client, login_as):
    shop = make_shop()
    reference = place(shop, "indomaret")
    paid = payment_of(reference)
    payment_id, code = paid.id, paid.payment_code
    other = place(shop, "va_bca")
    _db.session.commit()
    login_as("admin")
    detail = client.get(f"/admin/pembayaran/{payment_id}").get_data(as_text=True)
    assert f'data-testid="ledger-payment-code">{code}<' in detail
    assert "Indomaret" in detail
    listing = client.get("/admin/pembayaran?metode=indomaret")
    assert listing.status_code == 200
    html = listing.get_data(as_text=True)
    assert reference in html and other not in html
