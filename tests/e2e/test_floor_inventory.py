"""Inventory "Kosongkan" in a real browser: one tap asks (inline on the row with htmx, the
page with the row asking without JS), "Batal" leaves the stock alone, "Ya, kosongkan" sets
it to 0; the button is styled destructive next to the neutral +10 and looks disabled at 0."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from playwright.sync_api import expect

from app import create_app
from app.config import TestConfig
from tests.e2e.conftest import MIN_TAP, open_page, page_widths, serve
from tests.factories import DEFAULT_PASSWORD as PASSWORD

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def shop_server(tmp_path_factory) -> Iterator[tuple[str, object]]:
    root = tmp_path_factory.mktemp("e2e-inventory")
    application = create_app(TestConfig,
                             SQLALCHEMY_DATABASE_URI=f"sqlite:///{root / 'shop.db'}",
                             INSTANCE_PATH=str(root / "instance"), JOBS_MODE="sync")
    with application.app_context():
        from flask_migrate import upgrade

        from app.extensions import db
        from tests.factories import make_user

        upgrade()
        make_user(email="rak@example.test", roles=("seller",), store_name="Rak Sehat",
                  password=PASSWORD)
        db.session.commit()
    with serve(application) as base_url:
        yield base_url, application


def _variant(application, name: str) -> tuple[int, str]:
    with application.app_context():
        from sqlalchemy import select

        from app.accounts.models import User
        from app.extensions import db
        from tests.factories import make_product

        seller = db.session.scalars(select(User).where(User.email == "rak@example.test")).one()
        variant = make_product(store=seller.store, name=name, stock=12).variants[0]
        db.session.commit()
        return variant.id, variant.sku


@pytest.mark.parametrize("context", ["phone-360x740", "desktop-1024x600", "desktop-no-js"])
def test_kosongkan_asks_first_and_looks_destructive_then_disabled(chromium_browser,
                                                                  shop_server, context):
    base_url, application = shop_server
    variant_id, sku = _variant(application, f"Lulur Kopi {context}")
    with open_page(chromium_browser, base_url, context) as page:
        page.goto("/masuk")
        page.fill("#login-form [name=email]", "rak@example.test")
        page.fill("#login-form [name=password]", PASSWORD)
        with page.expect_navigation():
            page.click("#login-form button[type=submit]")
        page.goto("/seller/inventaris")
        row = page.locator(f"#v{variant_id}")
        clear = row.get_by_test_id("clear-stock")
        add = row.get_by_role("button", name=f"Tambah 10 stok {sku}")
        colours = [e.evaluate("e => getComputedStyle(e).color") for e in (clear, add)]
        assert colours[0] != colours[1], f"Kosongkan looks like +10 {colours}"
        box = clear.bounding_box()
        assert box is not None and box["height"] >= MIN_TAP

        clear.click()
        confirm = page.locator(f"#v{variant_id}").get_by_test_id("clear-confirm")
        expect(confirm).to_be_visible()
        expect(confirm).to_contain_text("dari 12 menjadi 0")
        expect(page.locator(f"#v{variant_id}").get_by_test_id("stock")).to_have_text("12")
        confirm.get_by_test_id("clear-no").click()
        expect(page.locator(f"#v{variant_id}").get_by_test_id("clear-confirm")).to_have_count(0)
        expect(page.locator(f"#v{variant_id}").get_by_test_id("stock")).to_have_text("12")

        page.locator(f"#v{variant_id}").get_by_test_id("clear-stock").click()
        yes = page.locator(f"#v{variant_id}").get_by_test_id("clear-yes")
        box = yes.bounding_box()
        assert box is not None and box["height"] >= MIN_TAP
        yes.click()
        expect(page.locator(f"#v{variant_id}").get_by_test_id("stock")).to_have_text("0")
        disabled = page.locator(f"#v{variant_id}").get_by_test_id("clear-stock")
        expect(disabled).to_be_disabled()
        look = disabled.evaluate("e => [getComputedStyle(e).cursor, getComputedStyle(e)"
                                 ".borderStyle, getComputedStyle(e).color]")
        assert look[0] == "not-allowed" and look[1] == "dashed", look
        assert look[2] != colours[0], "the disabled button still looks active"
        if page.js_enabled:  # type: ignore[attr-defined]
            widths = page_widths(page)
            assert widths[0] <= widths[1], f"the page scrolls sideways {widths}"
        assert not page.console_errors, page.console_errors  # type: ignore[attr-defined]
