"""Paying at Alfamart / Indomaret in a real browser: the grouped payment-method choice
(Virtual Account · E-wallet · QRIS · Gerai retail, a radio card per method with the mark we
draw), "Bayar", and the payment page showing the payment code large and copyable with the
store, the amount, the deadline and the cashier's steps — on a 360x740 phone, on a 1024x600
tablet, and with JavaScript off (a plain form; "Periksa status" reloads). The sandbox
simulator then pays, as the cashier's system would, and the status block turns.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect

from tests.e2e.conftest import MIN_TAP, check_console, check_layout, htmx_settled
from tests.e2e.test_payment_flow import POLL_WAIT_MS, add_to_cart
from tests.e2e.test_shopping_flow import log_in

pytestmark = pytest.mark.e2e

PRODUCT = "Sunscreen Gel SPF 50 PA++++"
AXE = next((p for p in (Path(__file__).parent / "vendor" / "axe.min.js",
                        Path("/work/shared-tools/axe.min.js")) if p.exists()), None)
STORES = {"alfamart": ("Alfamart", r"^\d{4} \d{4} \d{4} \d{4}$", "Di kasir Alfamart"),
          "indomaret": ("Indomaret", r"^\d{4} \d{4} \d{4}$", "Di kasir Indomaret")}


def axe_serious(page: Page, selector: str) -> list[str]:
    """Serious or critical axe-core violations inside `selector` (our part of the page);
    not measured without JavaScript (nothing can run in the page)."""
    if AXE is None or not page.js_enabled:  # type: ignore[attr-defined]
        return []
    page.evaluate(AXE.read_text(encoding="utf-8"))
    result = page.evaluate(
        "sel => axe.run({include: [sel]}).then(r => r.violations"
        ".filter(v => ['serious', 'critical'].includes(v.impact))"
        ".map(v => v.id + ': ' + v.nodes.map(n => n.target.join(' ')).join(', ')))",
        selector)
    return list(result)


def check_targets(page: Page, selector: str, where: str) -> None:
    boxes = page.locator(selector)
    assert boxes.count() > 0, f"{where}: nothing matches {selector}"
    for index in range(boxes.count()):
        box = boxes.nth(index).bounding_box()
        if box is not None:
            assert box["height"] >= MIN_TAP, f"{where}: {selector} #{index} is {box['height']}px"


def choose_and_pay(page: Page, store: str) -> str:
    """Checkout: the grouped choice, the store's card, "Bayar"; returns the total shown."""
    page.get_by_test_id("nav-orders.cart").click()
    page.get_by_test_id("to-checkout").click()
    page.wait_for_load_state("load")  # sizes are measured below: the stylesheets applied
    choice = page.get_by_test_id("method-choice")
    legends = choice.locator("fieldset.pay-group > legend")
    expect(legends).to_have_text(["Virtual Account", "E-wallet", "QRIS", "Gerai retail"])
    check_targets(page, "label.pay-option", "checkout")
    group = page.get_by_test_id("method-group-cstore")
    card = group.locator("label.pay-option", has_text=STORES[store][0])
    expect(card.locator(".pay-mark")).to_be_visible()
    card.click()  # the whole card is the radio's label
    expect(card.locator("input")).to_be_checked()
    assert axe_serious(page, "[data-testid=method-choice]") == []
    check_layout(page, "checkout")
    total = page.get_by_test_id("checkout-total").inner_text()
    page.get_by_test_id("pay").click()
    expect(page.locator("h1")).to_have_text("Pesanan dibuat")
    page.wait_for_load_state("load")
    return total


@pytest.mark.parametrize(("context_name", "store"), [
    ("phone-360x740", "alfamart"), ("desktop-1024x600", "indomaret"),
    ("desktop-no-js", "alfamart")])
def test_pay_at_a_retail_outlet_with_the_code_on_the_payment_page(
        chromium_browser, live_server, context_name, store) -> None:
    from tests.e2e.conftest import open_page

    with open_page(chromium_browser, live_server, context_name) as page:
        log_in(page, "buyer@racik.test")
        add_to_cart(page, PRODUCT)
        total = choose_and_pay(page, store)
        name, pattern, steps_title = STORES[store]
        code = page.get_by_test_id("payment-code")
        expect(code).to_have_text(re.compile(pattern))
        expect(page.get_by_test_id("cstore-store")).to_have_text(name)
        expect(page.get_by_test_id("cstore-amount")).to_have_text(total)
        expect(page.get_by_test_id("cstore-expiry")).to_contain_text("WIB")
        expect(page.get_by_test_id("pay-countdown")).to_contain_text(
            re.compile(r"sisa 23 jam 5\d menit"))
        expect(page.locator("details.pay-steps summary").first).to_have_text(
            re.compile(steps_title))
        # Large and within the screen: the cashier reads it off the phone.
        if page.js_enabled:  # type: ignore[attr-defined]
            size = float(code.evaluate("e => parseFloat(getComputedStyle(e).fontSize)"))
            assert size >= 20, f"payment code at {size}px"  # the body text is 16 px
            box = code.bounding_box()
            assert box is not None and box["height"] < size * 2.5, "the code wraps"
        box = code.bounding_box()
        viewport = page.viewport_size
        assert box is not None and box["x"] >= 0 and box["x"] + box["width"] <= viewport["width"]
        assert box["y"] + box["height"] <= viewport["height"] * 1.5  # near the top
        copy = page.get_by_role("button", name="Salin kode")
        if page.js_enabled:  # type: ignore[attr-defined]
            expect(copy).to_be_visible()
            check_targets(page, "button.js-copy", "payment page")
        else:
            expect(copy).to_be_hidden()  # nothing to press without JavaScript
        assert axe_serious(page, "#pembayaran") == []
        check_layout(page, "payment page")

        simulator = page.get_by_test_id("sandbox-link").get_attribute("href")
        cashier = page.context.new_page()
        cashier.goto(simulator)
        expect(cashier.get_by_test_id("sandbox-payment-code")).to_have_text(
            code.inner_text().replace(" ", ""))
        cashier.get_by_test_id("sandbox-pay").click()
        expect(cashier.get_by_test_id("pay-status")).to_contain_text("Pembayaran diterima")
        cashier.close()
        status = page.get_by_test_id("pay-status")
        if page.js_enabled:  # type: ignore[attr-defined]
            expect(status).to_contain_text("Pembayaran diterima", timeout=POLL_WAIT_MS)
            expect(page.get_by_test_id("payment-code")).to_have_count(0)
        else:
            page.get_by_test_id("pay-refresh").click()
            expect(status).to_contain_text("Pembayaran diterima")
        htmx_settled(page)
        check_console(page, "retail-outlet payment")
