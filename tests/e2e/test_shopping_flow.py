"""Buying in a real browser: product page → cart → checkout → "Bayar" → paying in the
sandbox simulator → the order, and the seller moving it on from "Kelola pesanan".

Same three contexts as the other browser tests (1024x600 laptop, 360px phone, laptop without
JavaScript). With JavaScript "Tambah ke keranjang" answers a mini-cart and the badge in the
top bar without a reload, quantity changes re-render the cart in place, and the seller's
next-step button swaps the order's row; without it every step is a plain form + 303.
"""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Page, expect

from tests.e2e.conftest import check_console, check_layout, htmx_settled, log_out

pytestmark = pytest.mark.e2e

DEMO_PASSWORD = "racik-demo-2026"
PRODUCT = "Sampo Lidah Buaya Anti Ketombe"  # Rina Beauty (client@racik.test), 30 in stock


def log_in(page: Page, email: str) -> None:
    page.goto("/masuk")
    page.fill("[name=email]", email)
    page.fill("[name=password]", DEMO_PASSWORD)
    page.locator("main button[type=submit]").click()
    expect(page.get_by_test_id("logout")).to_be_attached()  # in the account menu


def test_buy_from_the_product_page_and_the_seller_processes_the_order(page: Page) -> None:
    log_in(page, "buyer@racik.test")
    page.goto("/produk?q=sampo")
    page.get_by_test_id("product-card").filter(has_text=PRODUCT).locator("a").first.click()
    expect(page.locator("h1")).to_have_text(PRODUCT)
    page.fill("#quantity", "2")
    page.get_by_test_id("add-to-cart").click()
    if page.js_enabled:  # type: ignore[attr-defined]
        expect(page.get_by_test_id("mini-cart")).to_contain_text("Ditambahkan ke keranjang")
        expect(page.locator("#cart-badge")).to_have_text("1")
        htmx_settled(page)
        expect(page).to_have_url(re.compile(r"/produk/\d+$"))  # no reload, no redirect
    else:
        expect(page.locator(".flash-success")).to_contain_text("ditambahkan ke keranjang")
    page.get_by_test_id("nav-orders.cart").click()
    check_layout(page, "cart page")
    line = page.get_by_test_id("cart-line").filter(has_text=PRODUCT)
    expect(line.locator("input[name=quantity]")).to_have_value("2")
    line.locator("input[name=quantity]").fill("3")
    if page.js_enabled:  # type: ignore[attr-defined]
        line.locator("input[name=quantity]").dispatch_event("change")
    else:
        line.get_by_role("button", name="Ubah").click()
    expect(page.get_by_test_id("cart-line").filter(has_text=PRODUCT)
           .locator("input[name=quantity]")).to_have_value("3")
    htmx_settled(page)
    expect(page.get_by_test_id("cart-total")).to_contain_text("Rp 141.000")  # 3 x 42.000 + 15.000
    page.get_by_test_id("to-checkout").click()
    check_layout(page, "checkout page")
    expect(page.get_by_test_id("checkout-total")).to_have_text("Rp 141.000")
    page.get_by_test_id("pay").click()
    expect(page.locator("h1")).to_have_text("Pesanan dibuat")
    expect(page.get_by_test_id("checkout-done-total")).to_have_text("Rp 141.000")
    # Paid through the sandbox simulator: the seller cannot process an unpaid order.
    page.get_by_test_id("sandbox-link").click()
    page.get_by_test_id("sandbox-pay").click()
    expect(page.get_by_test_id("pay-status")).to_contain_text("Pembayaran diterima")
    placed = page.get_by_test_id("placed-order").first.locator("h2 a")
    number = placed.inner_text()
    assert re.fullmatch(r"RCK-\d{8}-\d{6}", number)
    placed.click()
    expect(page.locator("main")).to_contain_text("Menunggu diproses")
    check_layout(page, "order page")
    check_console(page, "buyer pages")
    log_out(page)

    log_in(page, "client@racik.test")
    page.goto("/seller/pesanan")
    check_layout(page, "seller orders")
    row = page.locator(f"#order-{number}")
    expect(row).to_contain_text("Menunggu diproses")
    row.get_by_role("button", name="Proses pesanan").click()
    expect(page.locator(f"#order-{number}")).to_contain_text("Diproses")
    if page.js_enabled:  # type: ignore[attr-defined]
        expect(page).to_have_url(re.compile(r"/seller/pesanan$"))  # the row swapped in place
    # The processing row holds the tracking-number form (its label visually hidden): on a
    # phone the table scrolls inside its card, the page itself does not.
    expect(page.locator(f"#order-{number} input[name=tracking_number]")).to_be_visible()
    check_layout(page, "seller orders with an order being processed")
    check_console(page, "seller orders")
