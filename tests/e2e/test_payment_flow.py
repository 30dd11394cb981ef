"""Paying in a real browser: cart → checkout by virtual account → "Bayar" → the payment page
(VA number, countdown) → the sandbox simulator, opened in a second tab like the bank app →
"Bayar" → back on the payment page the status block says "Pembayaran diterima" → the order
page → the invoice PDF, downloaded.

Same three contexts as the other browser tests. With JavaScript the waiting page notices the
payment by itself (htmx polls the status block every 5 s); without it "Periksa status"
reloads the page.
"""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Page, expect

from tests.e2e.conftest import check_console, check_layout, htmx_settled
from tests.e2e.test_shopping_flow import log_in

pytestmark = pytest.mark.e2e

PRODUCT = "Sunscreen Gel SPF 50 PA++++"  # Toko Sehat Alami (seller@racik.test), 25 in stock
POLL_WAIT_MS = 12_000  # a few of the live server's 2 s polling periods, and some slack


def checkout_with(page: Page, method_label: str) -> str:
    """From the cart to the payment page, paying by `method_label`; returns the total."""
    page.get_by_test_id("nav-orders.cart").click()
    page.get_by_test_id("to-checkout").click()
    check_layout(page, "checkout page")
    page.get_by_label(method_label).check()
    total = page.get_by_test_id("checkout-total").inner_text()
    page.get_by_test_id("pay").click()
    expect(page.locator("h1")).to_have_text("Pesanan dibuat")
    return total


def add_to_cart(page: Page, product: str) -> None:
    page.goto("/produk?q=" + product.split()[0].lower())
    page.get_by_test_id("product-card").filter(has_text=product).locator("a").first.click()
    expect(page.locator("h1")).to_have_text(product)
    # htmx is a deferred script: pressed before the load event, the form would post without
    # it (a whole page with a flash instead of the mini cart).
    page.wait_for_load_state("load")
    page.get_by_test_id("add-to-cart").click()
    if page.js_enabled:  # type: ignore[attr-defined]
        expect(page.get_by_test_id("mini-cart")).to_contain_text("Ditambahkan ke keranjang")
        htmx_settled(page)
    else:
        expect(page.locator(".flash-success")).to_contain_text("ditambahkan ke keranjang")


def pay_in_simulator(page: Page, simulator_url: str) -> None:
    """Another tab of the same browser (the buyer's "bank app"): pay in full there."""
    bank_app = page.context.new_page()
    bank_app.goto(simulator_url)
    expect(bank_app.get_by_test_id("sandbox-banner")).to_have_text(
        "Mode sandbox — tidak ada uang sungguhan")
    expect(bank_app.get_by_test_id("sandbox-status")).to_have_text("Menunggu pembayaran")
    bank_app.get_by_test_id("sandbox-pay").click()
    # The payer is sent back to their payment page, already paid there.
    expect(bank_app.get_by_test_id("pay-status")).to_contain_text("Pembayaran diterima")
    bank_app.close()


def test_pay_a_checkout_by_virtual_account_through_the_sandbox(page: Page) -> None:
    log_in(page, "buyer@racik.test")
    add_to_cart(page, PRODUCT)
    total = checkout_with(page, "Virtual Account BNI")
    expect(page.get_by_test_id("pay-amount")).to_have_text(total)
    expect(page.get_by_test_id("va-number")).to_have_text(
        re.compile(r"^8808 \d{4} \d{4} \d{4}$"))
    countdown = page.get_by_test_id("pay-countdown")
    expect(countdown).to_contain_text("Bayar sebelum")
    expect(countdown).to_contain_text(re.compile(r"sisa 23 jam 5\d menit"))
    expect(page.get_by_test_id("pay-status")).to_contain_text("Menunggu pembayaran")
    check_layout(page, "payment page")
    payment_page = page.url

    pay_in_simulator(page, page.get_by_test_id("sandbox-link").get_attribute("href"))

    status = page.get_by_test_id("pay-status")
    if page.js_enabled:  # type: ignore[attr-defined]
        # No reload: the polled status block turns and the instructions go away.
        expect(status).to_contain_text("Pembayaran diterima", timeout=POLL_WAIT_MS)
        expect(page.get_by_test_id("va-number")).to_have_count(0)
        assert page.url == payment_page
    else:
        expect(status).to_contain_text("Menunggu pembayaran")  # nothing changes by itself
        page.get_by_test_id("pay-refresh").click()
        expect(status).to_contain_text("Pembayaran diterima")
        expect(page.get_by_test_id("payment-status")).to_have_text("Lunas")
    htmx_settled(page)
    page.get_by_test_id("to-my-orders").click()
    expect(page).to_have_url(re.compile(r"/pesanan$"))
    first = page.get_by_test_id("order-row").first
    expect(first).to_contain_text("Lunas")
    expect(first).to_contain_text("Menunggu diproses")
    check_layout(page, "my orders")
    # The invoice job ran after the payment's commit: the order page offers the PDF.
    first.locator("a").first.click()
    expect(page.locator("h1")).to_contain_text("RCK-")
    with page.expect_download() as download:
        page.get_by_test_id("invoice-download").click()
    assert re.fullmatch(r"INV-TK\d+-\d{4}-\d{6}\.pdf", download.value.suggested_filename)
    with open(download.value.path(), "rb") as pdf:
        assert pdf.read(5) == b"%PDF-"
    check_console(page, "payment pages")
