"""The client's maklon history in a real browser at 360x740 and 1024x600, and without
JavaScript: the filter form narrows the list (htmx swaps the results and pushes the
filters into the address; without JS a plain GET does the same), the CSV button downloads
exactly that list, the page does not scroll sideways, its controls are 44px, and axe-core
finds no serious or critical violation."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect

from app import create_app
from app.config import TestConfig
from tests.e2e.conftest import check_console, check_layout, htmx_settled, open_page, serve
from tests.factories import DEFAULT_PASSWORD as PASSWORD

pytestmark = pytest.mark.e2e

EMAIL = "riwayat@example.test"
AXE = next((p for p in (Path(__file__).parent / "vendor" / "axe.min.js",
                        Path("/work/shared-tools/axe.min.js")) if p.exists()), None)


@pytest.fixture(scope="module")
def history_server(tmp_path_factory) -> Iterator[tuple[str, dict]]:
    """Client A's company: two orders paid in instalments, one with nothing paid; another
    company's order paid in instalments (never shown)."""
    root = tmp_path_factory.mktemp("e2e-history")
    application = create_app(TestConfig, SQLALCHEMY_DATABASE_URI=f"sqlite:///{root / 'h.db'}",
                             INSTANCE_PATH=str(root / "instance"), JOBS_MODE="sync")
    (root / "instance").mkdir(exist_ok=True)
    with application.app_context():
        from flask_migrate import upgrade

        from app.extensions import db
        from tests.maklon.factories import make_company, make_maklon_client, make_signed_order

        upgrade()
        client = make_maklon_client(company=make_company(name="PT Alfa"), email=EMAIL,
                                    password=PASSWORD)
        other = make_maklon_client(company=make_company(name="PT Beta"))
        partial = {make_signed_order(client=client, paid=("dp",)).number for _ in range(2)}
        pending = make_signed_order(client=client).number
        theirs = make_signed_order(client=other, paid=("dp",)).number
        db.session.commit()
        facts = {"partial": partial, "pending": pending, "theirs": theirs}
    with serve(application) as base_url:
        yield base_url, facts


def _log_in(page: Page) -> None:
    page.goto("/masuk")
    page.fill("#login-form [name=email]", EMAIL)
    page.fill("#login-form [name=password]", PASSWORD)
    with page.expect_navigation():
        page.click("#login-form button[type=submit]")


@pytest.mark.parametrize("context", ["phone-360x740", "desktop-1024x600", "desktop-no-js"])
def test_client_filters_history_and_downloads_that_list(chromium_browser, history_server,
                                                        context):
    base_url, facts = history_server
    with open_page(chromium_browser, base_url, context) as page:
        _log_in(page)
        page.goto("/maklon")
        page.get_by_test_id("history-link").click()
        expect(page).to_have_url(re.compile(r"/maklon/riwayat$"))
        rows = page.get_by_test_id("history-row")
        expect(rows).to_have_count(3)
        assert facts["theirs"] not in page.content()

        if page.js_enabled:  # type: ignore[attr-defined]
            page.evaluate("window.historyMarker = 1")  # survives only an htmx swap
        page.select_option("#status_bayar", "bertahap")
        page.locator(".history-filters button[type=submit]").click()
        expect(page).to_have_url(re.compile(r"status_bayar=bertahap"))
        expect(rows).to_have_count(2)
        htmx_settled(page)
        if page.js_enabled:  # type: ignore[attr-defined]
            assert page.evaluate("window.historyMarker") == 1, "a full page load, not htmx"
        numbers = {rows.nth(i).locator("td").first.inner_text() for i in range(2)}
        assert numbers == facts["partial"]

        with page.expect_download() as info:
            page.get_by_test_id("export-csv").click()
        download = info.value
        assert re.fullmatch(r"laporan-riwayat-maklon-\d{8}\.csv", download.suggested_filename)
        text = Path(download.path()).read_bytes().decode("utf-8-sig")
        assert {n for n in facts["partial"] if n in text} == facts["partial"]
        assert facts["pending"] not in text and facts["theirs"] not in text

        check_layout(page, f"history {context}")
        for control in (page.locator(".history-filters select, .history-filters button, "
                                     ".history-export button").all()):
            box = control.bounding_box()
            assert box and box["height"] >= 44, control.evaluate("e => e.outerHTML")
        if page.js_enabled and AXE is not None:  # type: ignore[attr-defined]
            page.evaluate(AXE.read_text())
            result = page.evaluate("axe.run(document, {resultTypes: ['violations']})")
            serious = [v["id"] for v in result["violations"]
                       if v["impact"] in ("serious", "critical")]
            assert serious == [], serious
        check_console(page, f"history {context}")
