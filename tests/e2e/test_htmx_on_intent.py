"""htmx on intent (issue 20, page weight): search, a product page and the buyer's orders
do not download htmx with the first load; app.js fetches it when the user reaches for an
htmx control, and a click made before it arrived is still sent by htmx (not as a plain
form post). Pages with polling (the production board) still load it at once."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from app.demo import DEMO_PASSWORD

pytestmark = pytest.mark.e2e

HTMX = "() => typeof window.htmx"


def _phone(chromium_browser, live_server):
    return chromium_browser.new_context(base_url=live_server,
                                        viewport={"width": 360, "height": 740})


def test_search_loads_htmx_only_when_the_field_is_used_and_then_searches(
        chromium_browser, live_server):
    context = _phone(chromium_browser, live_server)
    page = context.new_page()
    scripts: list[str] = []
    page.on("request", lambda r: scripts.append(r.url) if r.resource_type == "script" else None)
    page.goto("/produk", wait_until="load")
    page.wait_for_load_state("networkidle")
    assert page.evaluate(HTMX) == "undefined"
    assert not any("htmx" in url for url in scripts)

    with page.expect_response(lambda r: "q=kunyit" in r.url
                              and r.request.headers.get("hx-request") == "true"):
        page.locator("#q").press_sequentially("kunyit", delay=30)

    assert page.evaluate(HTMX) == "object"
    expect(page.get_by_test_id("result-count")).to_contain_text("1 produk")
    expect(page).to_have_url(re.compile(r"/produk\?q=kunyit"))
    context.close()


def test_an_order_tab_clicked_before_htmx_arrived_is_sent_by_htmx(chromium_browser,
                                                                  live_server):
    context = _phone(chromium_browser, live_server)
    page = context.new_page()
    page.goto("/masuk")
    page.fill("[name=email]", "buyer@racik.test")
    page.fill("[name=password]", DEMO_PASSWORD)
    page.locator("main button[type=submit]").click()
    expect(page.get_by_test_id("logout")).to_be_attached()
    page.goto("/pesanan", wait_until="load")
    assert page.evaluate(HTMX) == "undefined"

    tab = page.locator("#my-orders a.tab").nth(1)
    with page.expect_request(lambda r: "status=" in r.url
                             and r.headers.get("hx-request") == "true"):
        tab.click()

    assert page.evaluate(HTMX) == "object"  # no full page load: the tab was swapped in
    context.close()


def test_a_polling_page_still_loads_htmx_with_the_page(chromium_browser, live_server):
    context = _phone(chromium_browser, live_server)
    page = context.new_page()
    page.goto("/masuk", wait_until="load")  # the login form is an htmx form, sent at once
    page.wait_for_load_state("networkidle")
    assert page.evaluate(HTMX) == "object"
    context.close()
