"""The admin reports page and the seller's analytics charts in a real browser at 360x740 and
1024x600: dates typed the Indonesian way (07/12/2026, "7 Des 2026") filter the table and
come back in that format, a bad date is explained, amounts never wrap between "Rp" and the
number; the SVG charts carry a value axis whose text stays readable on a phone."""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest
from playwright.sync_api import Page, expect

from app import create_app
from app.config import TestConfig
from tests.demo_copy import demo_shop_copy
from tests.e2e.conftest import open_page, page_widths, serve
from tests.factories import DEFAULT_PASSWORD as PASSWORD

pytestmark = pytest.mark.e2e

DEMO_PASSWORD = "racik-demo-2026"


@pytest.fixture(scope="module")
def demo_server(tmp_path_factory) -> Iterator[str]:
    """The demo shop plus an admin without two-factor login (the demo admin has TOTP)."""
    url, instance = demo_shop_copy(tmp_path_factory, "e2e-reports")
    application = create_app(TestConfig, SQLALCHEMY_DATABASE_URI=url,
                             INSTANCE_PATH=str(instance), JOBS_MODE="sync")
    with application.app_context():
        from app.extensions import db
        from tests.factories import make_user

        make_user(email="laporan@example.test", roles=("admin",), password=PASSWORD)
        db.session.commit()
    with serve(application) as base_url:
        yield base_url


def _log_in(page: Page, email: str, password: str) -> None:
    page.goto("/masuk")
    page.fill("#login-form [name=email]", email)
    page.fill("#login-form [name=password]", password)
    with page.expect_navigation():
        page.click("#login-form button[type=submit]")


def _lines(page: Page, selector: str) -> list[int]:
    """For each element: how many lines its text takes."""
    return page.locator(selector).evaluate_all(
        "els => els.map(e => { const r = document.createRange(); r.selectNodeContents(e);"
        " return new Set([...r.getClientRects()].map(x => Math.round(x.top))).size; })")


@pytest.mark.parametrize("context", ["phone-360x740", "desktop-1024x600", "desktop-no-js"])
def test_report_dates_are_indonesian_and_amounts_stay_on_one_line(chromium_browser,
                                                                  demo_server, context):
    with open_page(chromium_browser, demo_server, context) as page:
        _log_in(page, "laporan@example.test", PASSWORD)
        page.goto("/admin/laporan?laporan=pesanan")
        rows = page.get_by_test_id("report-row")
        total = rows.count()
        assert total > 0, "the demo has orders"
        money = "#report-table td.num"
        assert page.locator(money).count() > 0
        assert set(_lines(page, money)) == {1}, "an amount wraps"
        assert "Rp\u00a0" in page.locator(money).first.text_content()

        page.fill("#dari", "1/1/2020")
        page.fill("#sampai", "31 Des 2099")
        page.locator(".report-filters button[type=submit]").click()
        expect(page).to_have_url(re.compile(r"dari=1%2F1%2F2020&sampai=31(\+|%20)Des(\+|%20)2099"))
        expect(rows).to_have_count(total)  # every demo order lies in that range
        if not page.js_enabled:  # type: ignore[attr-defined]
            expect(page.locator("#dari")).to_have_value("01/01/2020")
            expect(page.locator("#sampai")).to_have_value("31/12/2099")

        page.goto("/admin/laporan?laporan=pesanan&dari=1%2F1%2F2099")
        expect(page.get_by_test_id("report-row")).to_have_count(0)
        expect(page.locator("#dari")).to_have_value("01/01/2099")
        page.goto("/admin/laporan?laporan=pesanan&dari=12%2F31%2F2026")
        expect(page.get_by_test_id("filter-problem")).to_contain_text(
            "bukan tanggal; tulis seperti 07/12/2026")
        expect(page.get_by_test_id("report-row")).to_have_count(total)  # ignored, not fatal
        if page.js_enabled:  # type: ignore[attr-defined]
            widths = page_widths(page)
            assert widths[0] <= widths[1], f"the page scrolls sideways {widths}"
        assert not page.console_errors, page.console_errors  # type: ignore[attr-defined]


@pytest.mark.parametrize("context", ["phone-360x740", "desktop-1024x600"])
def test_analytics_charts_have_a_readable_value_axis(chromium_browser, demo_server, context):
    with open_page(chromium_browser, demo_server, context) as page:
        _log_in(page, "seller@racik.test", DEMO_PASSWORD)
        page.goto("/seller/analitik")
        chart = page.locator("#tren-7 svg.chart")
        expect(chart).to_be_visible()
        values = chart.locator(".chart-value")
        expect(values).to_have_count(5)
        assert values.first.text_content() == "0"
        assert chart.locator(".chart-grid").count() == 4
        heights = [box["height"] for box in (values.nth(i).bounding_box()
                                             for i in range(5)) if box]
        assert min(heights) >= 10, f"axis text {heights}px high"
        box = chart.bounding_box()
        assert box is not None and box["x"] + box["width"] <= page.viewport_size["width"]
        expect(page.locator("#tren-7 .chart-table summary")).to_be_visible()  # the table link
        assert not page.console_errors, page.console_errors  # type: ignore[attr-defined]


@pytest.mark.parametrize("context", ["phone-360x740", "desktop-1024x600"])
def test_a_payment_with_its_orders_table_does_not_scroll_sideways(chromium_browser,
                                                                   demo_server, context):
    """The ledger's payment page (two columns, one below the other on a phone): a table
    wider than the phone scrolls inside its card instead of widening the page."""
    with open_page(chromium_browser, demo_server, context) as page:
        _log_in(page, "laporan@example.test", PASSWORD)
        page.goto("/admin/pembayaran/1")  # the demo's first checkout: two stores' orders
        expect(page.get_by_test_id("order-payment-status")).to_have_count(2)
        widths = page_widths(page)
        assert widths[0] <= widths[1], f"the page scrolls sideways {widths}"
        assert not page.console_errors, page.console_errors  # type: ignore[attr-defined]
