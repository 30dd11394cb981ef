"""The buyer's payment page: instructions per method (VA, Mandiri bill, e-wallet, QRIS drawn
as inline SVG), the countdown, the self-polling status block (200 while pending, 286 once
final, 304 when unchanged), the retry after a failed charge, who may see it, and the order
pages' payment state (the seller cannot process an unpaid order)."""

from __future__ import annotations

import re
import threading
from datetime import timedelta

import pytest
from sqlalchemy import select, update

from app.core.clock import to_wib, utcnow
from app.core.models import EmailOutbox
from app.core.qr import QUIET_ZONE, qr_matrix, qr_path, qr_svg
from app.core.templating import wib_datetime
from app.extensions import db as _db
from app.orders.models import Order
from app.payments.gateways.base import GatewayError
from app.payments.gateways.sandbox import SandboxGateway, sandbox_simulate
from app.payments.models import Payment, PayStatus
from app.payments.pay_page import group_digits
from tests.conftest import log_in
from tests.factories import make_user, pay_checkout
from tests.orders.helpers import checkout_form
from tests.payments.pay_helpers import (
    PRICE,
    SHIPPING,
    count,
    make_shop,
    orders_of,
    payment_of,
    place,
)

HX = {"HX-Request": "true"}
TOTAL = "Rp 165.000"  # 150.000 + 15.000 shipping
TOTAL_SHOWN = "Rp\u00a0165.000"  # as the rupiah filter shows it (non-breaking space)


@pytest.fixture
def shop(db):
    return make_shop()


def _page(client, reference: str) -> str:
    response = client.get(f"/checkout/{reference}")
    assert response.status_code == 200
    return response.get_data(as_text=True)


def _deadline_text(app, payment: Payment) -> str:
    """The deadline as the page writes it (Indonesian, WIB): `1 Des 2026, 17.25 WIB`."""
    with app.test_request_context():
        text = wib_datetime(payment.expires_at)
    local = to_wib(payment.expires_at)
    assert re.fullmatch(rf"{local.day} \w{{3}} {local.year}, {local:%H.%M} WIB", text)
    return text


# --- instructions per method -----------------------------------------------------------------

@pytest.mark.parametrize(("method", "bank", "prefix"), [
    ("va_bca", "BCA", "70012"), ("va_bni", "BNI", "8808"), ("va_bri", "BRI", "26215"),
    ("va_permata", "Permata", "8778")])
def test_va_page_shows_bank_grouped_number_amount_steps_and_countdown(
        client, db, shop, method, bank, prefix):
    reference = place(shop, method)
    payment = payment_of(reference)
    log_in(client, shop.buyer_email)
    body = _page(client, reference)
    number = payment.va_number
    assert len(number) == 16 and number.startswith(prefix)
    shown = re.search(r'data-testid="va-number">([^<]+)<', body).group(1)
    assert shown == group_digits(number) == " ".join(
        [number[0:4], number[4:8], number[8:12], number[12:16]])
    assert f"Nomor virtual account {bank}" in body
    assert f'data-testid="pay-amount">{TOTAL_SHOWN}<' in body
    assert f"Lewat ATM {bank}" in body
    assert f"Masukkan nomor virtual account {group_digits(number)}." in body
    assert f"Periksa jumlah {TOTAL}, lalu masukkan PIN Anda." in body
    # VA: 24 hours from now, shown in WIB; rendered a few seconds after the charge.
    assert f"Bayar sebelum {_deadline_text(client.application, payment)} · " in body
    assert "sisa 23 jam 59 menit" in body
    main = body.split('id="main"', 1)[1]  # the header's icons are SVG too
    assert 'data-testid="bill-key"' not in body and "<svg" not in main


def test_mandiri_bill_page_shows_biller_code_bill_key_and_steps(client, db, shop):
    reference = place(shop, "va_mandiri")
    payment = payment_of(reference)
    log_in(client, shop.buyer_email)
    body = _page(client, reference)
    assert payment.biller_code == "70012" and re.fullmatch(r"\d{12}", payment.bill_key)
    assert 'data-testid="biller-code">70012<' in body
    assert f'data-testid="bill-key">{group_digits(payment.bill_key)}<' in body
    assert "Masukkan kode perusahaan 70012." in body
    assert f"Masukkan kode bayar {group_digits(payment.bill_key)}." in body
    assert 'data-testid="va-number"' not in body


@pytest.mark.parametrize(("method", "wallet"), [
    ("gopay", "GoPay"), ("ovo", "OVO"), ("dana", "DANA"), ("shopeepay", "ShopeePay")])
def test_ewallet_page_has_a_big_open_button_to_the_deeplink(client, db, shop, method, wallet):
    reference = place(shop, method)
    payment = payment_of(reference)
    log_in(client, shop.buyer_email)
    body = _page(client, reference)
    # In the sandbox the "wallet app" is the simulator page.
    assert payment.deeplink_url == f"/sandbox/bayar/{reference}?app={method}"
    link = re.search(r'<a class="button button-wide pay-open" href="([^"]+)" '
                     r'data-testid="ewallet-open">([^<]+)</a>', body)
    assert link.group(1) == f"/sandbox/bayar/{reference}?app={method}"
    assert link.group(2) == f"Buka {wallet}"
    # E-wallet: 15 minutes.
    assert "sisa 14 menit" in body


def test_qris_page_draws_the_qr_as_inline_svg_with_a_text_alternative(client, db, shop):
    reference = place(shop, "qris")
    payment = payment_of(reference)
    log_in(client, shop.buyer_email)
    body = _page(client, reference)
    svg = re.search(r'<svg [^>]*data-testid="qr-code">.*?</svg>', body, re.S).group(0)
    assert 'aria-label="Kode QR QRIS untuk membayar Rp 165.000"' in svg
    assert "<title>Kode QR QRIS untuk membayar Rp 165.000</title>" in svg
    assert f'd="{qr_path(qr_matrix(payment.qr_string))}"' in svg
    assert f'data-testid="qr-text">{payment.qr_string}<' in body
    assert "<img" not in re.search(r'id="pay-instructions".*?</div>', body, re.S).group(0)
    assert "sisa 14 menit" in body


def test_qr_svg_draws_exactly_the_encoder_matrix_with_a_quiet_zone():
    text = "00020101021226380019ID.CO.RACIK.SANDBOX5204599953033605406165000"
    matrix = qr_matrix(text)
    size = len(matrix)
    assert (size - 17) % 4 == 0 and all(len(row) == size for row in matrix)
    # The three finder patterns: a 7x7 ring with a 3x3 core.
    finder = [[r in (0, 6) or c in (0, 6) or (2 <= r <= 4 and 2 <= c <= 4)
               for c in range(7)] for r in range(7)]
    for top, left in ((0, 0), (0, size - 7), (size - 7, 0)):
        assert [row[left:left + 7] for row in matrix[top:top + 7]] == finder
    svg = str(qr_svg(text, label="QR <uji>"))
    side = size + 2 * QUIET_ZONE
    assert f'viewBox="0 0 {side} {side}"' in svg and 'aria-label="QR &lt;uji&gt;"' in svg
    # Read the path back into modules: the same matrix, shifted by the quiet zone.
    drawn = [[False] * size for _ in range(size)]
    for x, y, width in re.findall(r"M(\d+) (\d+)h(\d+)v1h-\d+z", svg):
        for column in range(int(x), int(x) + int(width)):
            drawn[int(y) - QUIET_ZONE][column - QUIET_ZONE] = True
    assert drawn == matrix


def test_payment_page_links_the_simulator_only_when_the_sandbox_is_on(
        app, client, db, shop, monkeypatch):
    reference = place(shop)
    log_in(client, shop.buyer_email)
    body = _page(client, reference)
    assert (f'<a href="/sandbox/bayar/{reference}" data-testid="sandbox-link">'
            "Simulasikan pembayaran (sandbox)</a>") in body
    monkeypatch.setitem(app.config, "PAYMENT_SANDBOX_ENABLED", False)
    assert "Simulasikan pembayaran" not in _page(client, reference)


def test_without_javascript_the_page_carries_the_status_block_and_a_reload_link(
        client, db, shop):
    reference = place(shop)
    log_in(client, shop.buyer_email)
    body = _page(client, reference)
    block = re.search(r'<section id="pay-status".*?</section>', body, re.S).group(0)
    assert "Menunggu pembayaran" in block
    assert f'<form method="get" action="/checkout/{reference}">' in block
    assert 'data-testid="pay-refresh">Periksa status</button>' in block


# --- the status block ----------------------------------------------------------------------

def test_status_block_polls_every_5s_while_pending_and_answers_304_when_unchanged(
        client, db, shop):
    reference = place(shop)
    log_in(client, shop.buyer_email)
    response = client.get(f"/checkout/{reference}/status", headers=HX)
    body = response.get_data(as_text=True)
    assert response.status_code == 200
    assert (f'hx-get="/checkout/{reference}/status" hx-trigger="every 5s" '
            'hx-swap="outerHTML"') in body
    assert "Menunggu pembayaran" in body and "sisa 23 jam 59 menit" in body
    assert "<html" not in body and "hx-swap-oob" not in body
    etag = response.headers["ETag"].strip('"')
    again = client.get(f"/checkout/{reference}/status", headers={
        **HX, "If-None-Match": f'"{etag}"'})
    assert again.status_code == 304 and again.get_data() == b""


def test_status_block_answers_286_once_paid_and_links_to_the_orders(client, db, shop):
    reference = place(shop)
    log_in(client, shop.buyer_email)
    etag = client.get(f"/checkout/{reference}/status", headers=HX).headers["ETag"]
    pay_checkout(orders_of(reference)[0].checkout)
    response = client.get(f"/checkout/{reference}/status", headers={
        **HX, "If-None-Match": etag})
    body = response.get_data(as_text=True)
    assert response.status_code == 286
    assert "Pembayaran diterima" in body and 'href="/pesanan"' in body
    assert "hx-trigger" not in body
    # The instructions beside the block go too (out-of-band swap).
    assert '<div id="pay-instructions" hx-swap-oob="true"></div>' in body
    page = _page(client, reference)
    assert "Pembayaran diterima" in page and 'data-testid="va-number"' not in page
    assert 'data-testid="payment-status">Lunas<' in page


def test_status_block_answers_286_after_expiry_and_links_back_to_shopping(client, db, shop):
    reference = place(shop)
    log_in(client, shop.buyer_email)
    seller = make_user(roles=("staff",))
    _db.session.commit()
    tester = client.application.test_client()
    log_in(tester, seller.email)
    assert tester.post(f"/sandbox/bayar/{reference}",
                       data={"action": "expire"}).status_code == 303
    response = client.get(f"/checkout/{reference}/status", headers=HX)
    body = response.get_data(as_text=True)
    assert response.status_code == 286
    assert "Pembayaran kedaluwarsa, pesanan dibatalkan" in body
    assert 'href="/keranjang"' in body and 'href="/produk"' in body
    assert "hx-trigger" not in body
    assert [o.status for o in orders_of(reference)] == ["cancelled"]


def test_status_block_keeps_polling_slowly_while_an_admin_reviews(client, db, shop):
    reference = place(shop)
    sandbox_simulate(reference=reference, action="pay", amount=100_000)
    _db.session.commit()
    assert payment_of(reference).status == PayStatus.REVIEW
    log_in(client, shop.buyer_email)
    response = client.get(f"/checkout/{reference}/status", headers=HX)
    body = response.get_data(as_text=True)
    assert response.status_code == 200
    assert "Pembayaran sedang diperiksa admin" in body and 'hx-trigger="every 60s"' in body


def test_status_block_after_the_deadline_says_the_payment_is_being_checked(client, db, shop):
    reference = place(shop)
    _db.session.execute(update(Payment).where(Payment.reference == reference).values(
        expires_at=utcnow() - timedelta(minutes=1)))
    _db.session.commit()
    log_in(client, shop.buyer_email)
    response = client.get(f"/checkout/{reference}/status", headers=HX)
    assert response.status_code == 200
    assert "sudah lewat; status pembayaran sedang diperiksa" in response.get_data(as_text=True)


def test_another_buyer_gets_404_for_the_page_the_status_and_the_retry(client, db, shop):
    reference = place(shop, charge=False)
    stranger = make_user()
    _db.session.commit()
    log_in(client, stranger.email)
    assert client.get(f"/checkout/{reference}").status_code == 404
    assert client.get(f"/checkout/{reference}/status", headers=HX).status_code == 404
    assert client.post(f"/checkout/{reference}/bayar-ulang").status_code == 404
    assert payment_of(reference).charged_at is None


# --- a failed charge and "Coba lagi" --------------------------------------------------------

def _fail_charges(monkeypatch, times: int) -> list[str]:
    """The sandbox gateway refuses the next `times` charge requests."""
    calls: list[str] = []
    real = SandboxGateway.charge

    def charge(self, **kwargs):
        calls.append(kwargs["reference"])
        if len(calls) <= times:
            raise GatewayError("503: gateway unavailable")
        return real(self, **kwargs)

    monkeypatch.setattr(SandboxGateway, "charge", charge)
    return calls


def test_a_failed_charge_shows_a_message_and_coba_lagi_charges_it(
        client, db, shop, monkeypatch):
    calls = _fail_charges(monkeypatch, times=1)
    log_in(client, shop.buyer_email)
    client.post("/keranjang/tambah", data={"variant_id": shop.variant_id, "quantity": "1"})
    placed = client.post("/checkout", data=checkout_form(client))
    assert placed.status_code == 303
    reference = placed.headers["Location"].rsplit("/", 1)[1]
    payment = payment_of(reference)
    assert payment.charged_at is None and payment.charge_error == "503: gateway unavailable"
    body = _page(client, reference)
    assert "Instruksi pembayaran belum dapat dibuat." in body
    assert (f'<form method="post" action="/checkout/{reference}/bayar-ulang">') in body
    assert 'data-testid="va-number"' not in body and "503" not in body

    retried = client.post(f"/checkout/{reference}/bayar-ulang")
    assert retried.status_code == 303
    assert retried.headers["Location"].endswith(f"/checkout/{reference}")
    payment = payment_of(reference)
    assert payment.charged_at is not None and payment.charge_error == ""
    body = _page(client, reference)
    assert "Instruksi pembayaran sudah siap." in body
    assert f'data-testid="va-number">{group_digits(payment.va_number)}<' in body
    # A second click (another tab) asks the gateway nothing more.
    assert client.post(f"/checkout/{reference}/bayar-ulang").status_code == 303
    assert calls == [reference, reference]


def test_coba_lagi_failing_again_keeps_the_message(client, db, shop, monkeypatch):
    reference = place(shop, charge=False)
    _fail_charges(monkeypatch, times=2)
    log_in(client, shop.buyer_email)
    assert client.post(f"/checkout/{reference}/bayar-ulang").status_code == 303
    body = _page(client, reference)
    assert "Layanan pembayaran masih belum dapat dihubungi." in body
    assert "Instruksi pembayaran belum dapat dibuat." in body
    assert payment_of(reference).charged_at is None


def test_coba_lagi_after_the_deadline_is_refused_with_409(client, db, shop):
    reference = place(shop, charge=False)
    _db.session.execute(update(Payment).where(Payment.reference == reference).values(
        expires_at=utcnow() - timedelta(minutes=1)))
    _db.session.commit()
    log_in(client, shop.buyer_email)
    response = client.post(f"/checkout/{reference}/bayar-ulang")
    assert response.status_code == 409
    assert "Batas waktu pembayaran ini sudah lewat." in response.get_data(as_text=True)
    assert payment_of(reference).charged_at is None


# --- order pages -----------------------------------------------------------------------------

def test_buyer_order_pages_show_unpaid_with_a_pay_now_link_then_lunas(client, db, shop):
    reference = place(shop)
    number = orders_of(reference)[0].number
    log_in(client, shop.buyer_email)
    pay_now = f'href="/checkout/{reference}" data-testid="pay-now">Bayar sekarang</a>'
    listing = client.get("/pesanan").get_data(as_text=True)
    detail = client.get(f"/pesanan/{number}").get_data(as_text=True)
    for body in (listing, detail):
        assert 'data-testid="order-payment-status">Belum dibayar<' in body and pay_now in body
    pay_checkout(orders_of(reference)[0].checkout)
    for url in ("/pesanan", f"/pesanan/{number}"):
        body = client.get(url).get_data(as_text=True)
        assert 'data-testid="order-payment-status">Lunas<' in body
        assert "Bayar sekarang" not in body


def test_seller_sees_unpaid_orders_as_awaiting_payment_without_the_process_button(
        client, db, shop):
    unpaid = orders_of(place(shop))[0].number
    paid_reference = place(shop)
    pay_checkout(orders_of(paid_reference)[0].checkout)
    paid = orders_of(paid_reference)[0].number
    log_in(client, shop.seller_email)

    page = client.get(f"/seller/pesanan/{unpaid}").get_data(as_text=True)
    assert 'data-testid="order-status">Menunggu pembayaran<' in page
    assert "Proses pesanan" not in page and 'data-testid="awaiting-payment"' in page
    listing = client.get("/seller/pesanan").get_data(as_text=True)
    row = re.search(rf'<tr id="order-{unpaid}".*?</tr>', listing, re.S).group(0)
    assert "Menunggu pembayaran" in row and "Proses pesanan" not in row
    paid_row = re.search(rf'<tr id="order-{paid}".*?</tr>', listing, re.S).group(0)
    assert "Menunggu diproses" in paid_row and "Proses pesanan" in paid_row
    # Only the paid order counts as new.
    assert re.search(r'data-testid="nav-orders.seller_orders">Kelola pesanan '
                     r'<span class="count">1</span>', listing)
    # The service refuses it anyway (a stale form).
    before = count(EmailOutbox.id)
    response = client.post(f"/seller/pesanan/{unpaid}/lanjut", data={"dari": "pending"})
    assert response.status_code == 409
    assert "belum dibayar" in response.get_data(as_text=True)
    _db.session.expire_all()
    order = _db.session.scalars(select(Order).where(Order.number == unpaid)).one()
    assert (order.status, order.payment_status) == ("pending", "unpaid")
    assert count(EmailOutbox.id) == before


def test_amounts_are_the_checkout_total(client, db, shop):
    reference = place(shop, quantity=2)
    assert payment_of(reference).amount == 2 * PRICE + SHIPPING == 315_000
    log_in(client, shop.buyer_email)
    assert 'data-testid="pay-amount">Rp\u00a0315.000<' in _page(client, reference)


def test_two_simultaneous_coba_lagi_ask_the_gateway_once(app, db, shop, make_client,
                                                         monkeypatch):
    reference = place(shop, charge=False)
    calls = _fail_charges(monkeypatch, times=0)
    clients = []
    for _ in range(2):
        client = make_client()
        log_in(client, shop.buyer_email)
        clients.append((client, client.csrf_token()))
    barrier = threading.Barrier(2)
    answers: list = [None, None]

    def press(index: int) -> None:
        client, token = clients[index]
        barrier.wait()
        answers[index] = client.open(f"/checkout/{reference}/bayar-ulang", method="POST",
                                     csrf=False, data={"csrf_token": token}).status_code

    threads = [threading.Thread(target=press, args=(i,)) for i in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert answers == [303, 303]
    assert calls == [reference]
    assert payment_of(reference).charged_at is not None
