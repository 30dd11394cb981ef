"""The catalog in a real browser: active search and click-to-edit stock.

Same three contexts as the account flow (1024x600 laptop, 360px phone, laptop without
JavaScript). With JavaScript the search results update while typing (URL pushed, back
button works) and the stock cell turns into a form in place (Enter saves, Escape cancels);
without it the same pages work by plain GET forms, links and POST + 303.
"""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Page, expect

from tests.e2e.conftest import check_console, check_layout, htmx_settled

pytestmark = pytest.mark.e2e

DEMO_PASSWORD = "racik-demo-2026"


def log_in_as_demo_seller(page: Page) -> None:
    page.goto("/masuk")
    page.fill("[name=email]", "seller@racik.test")
    page.fill("[name=password]", DEMO_PASSWORD)
    page.locator("main button[type=submit]").click()
    expect(page.get_by_test_id("logout")).to_be_attached()  # in the account menu


def test_search_updates_as_you_type_and_the_url_follows(page: Page) -> None:
    page.goto("/produk")
    check_layout(page, "search page")
    count = page.get_by_test_id("result-count")
    if page.js_enabled:  # type: ignore[attr-defined]
        with page.expect_response(lambda r: "q=kunyit" in r.url
                                  and r.request.headers.get("hx-request") == "true"):
            page.locator("#q").press_sequentially("kunyit", delay=30)
        expect(count).to_contain_text("1 produk")
        expect(page).to_have_url(re.compile(r"/produk\?q=kunyit"))
        expect(page.get_by_test_id("product-card")).to_have_count(1)
        # A later request of the same typing (htmx loaded on intent replays the held
        # keystroke) may still swap and push the URL: a click during it is cancelled.
        page.wait_for_load_state("networkidle")
        htmx_settled(page)
    else:
        page.fill("#q", "kunyit")
        page.locator(".search-main button[type=submit]").click()
        expect(page).to_have_url(re.compile(r"/produk\?q=kunyit"))
        expect(count).to_contain_text("1 produk")
    page.get_by_test_id("product-card").first.locator("a").first.click()
    expect(page.locator("h1")).to_have_text("Jamu Kunyit Asam Botol")
    check_layout(page, "product page")
    page.go_back()  # the search as it was, from its pushed URL
    expect(page).to_have_url(re.compile(r"/produk\?q=kunyit"))
    expect(page.get_by_test_id("result-count")).to_contain_text("1 produk")
    check_console(page, "search and product pages")


def test_inline_stock_edit_saves_on_enter_and_cancels_on_escape(page: Page) -> None:
    log_in_as_demo_seller(page)
    page.goto("/seller/inventaris")
    check_layout(page, "inventory page")
    row = page.get_by_test_id("inventory-row").filter(has_text="Toner Air Mawar Segar")
    stock = row.get_by_test_id("stock")
    before = int(stock.inner_text())
    target = before + 7
    row.get_by_role("link", name="Ubah").click()
    editing = page.get_by_test_id("inventory-row").filter(has_text="Toner Air Mawar Segar")
    box = editing.locator("input[name=stok]")
    expect(box).to_be_visible()
    htmx_settled(page)
    box.fill(str(target))
    box.press("Enter")
    saved = page.get_by_test_id("inventory-row").filter(has_text="Toner Air Mawar Segar")
    expect(saved.get_by_test_id("stock")).to_have_text(str(target))
    htmx_settled(page)
    if page.js_enabled:  # type: ignore[attr-defined]
        # Escape leaves the edit form without saving what was typed.
        saved.get_by_role("link", name="Ubah").click()
        again = page.get_by_test_id("inventory-row").filter(has_text="Toner Air Mawar Segar")
        expect(again.locator("input[name=stok]")).to_be_visible()
        htmx_settled(page)
        again.locator("input[name=stok]").fill("999")
        again.locator("input[name=stok]").press("Escape")
        expect(again.get_by_test_id("stock")).to_have_text(str(target))
        expect(page).to_have_url(re.compile(r"/seller/inventaris$"))  # no reload happened
    check_console(page, "inventory page")
