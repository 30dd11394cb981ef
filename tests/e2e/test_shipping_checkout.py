"""Choosing couriers in a real browser: at the checkout each store lists its couriers with
cost and estimate; picking another one updates that store's totals and the grand total in
place (htmx, no reload), without JavaScript "Hitung ulang ongkir" reloads the page with the
choice kept; "Bayar" places the orders at the server's price. At 1024x600 and 360x740.

The server is this module's own (its own SQLite file), arranged with known stores, rates and
weights, so the figures do not depend on the demo data."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect

from app import create_app
from app.config import TestConfig
from tests.e2e.conftest import check_console, check_layout, htmx_settled, open_page
from tests.factories import DEFAULT_PASSWORD
from tests.live import serve

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def shop(tmp_path_factory) -> Iterator[dict]:
    root = tmp_path_factory.mktemp("e2e-ship")
    application = create_app(TestConfig, SQLALCHEMY_DATABASE_URI=f"sqlite:///{root / 's.db'}",
                             INSTANCE_PATH=str(root / "instance"), JOBS_MODE="sync")
    (root / "instance").mkdir(parents=True, exist_ok=True)
    with application.app_context():
        from flask_migrate import upgrade

        from app.extensions import db
        from app.orders.cart import cart_add
        from tests.factories import make_address, make_user
        from tests.shipping.helpers import courier_store, seeded

        upgrade()
        seeded()
        buyers = []
        for n in range(3):  # one buyer per browser context
            _seller, product = courier_store(name=f"Toko Kurir {n}", weight=400)
            _flat_seller, flat = courier_store(name=f"Toko Tetap {n}", services=())
            buyer = make_user(email=f"pembeli-kurir{n}@example.test")
            make_address(user=buyer, city="Bandung")
            cart_add(user=buyer, variant_id=product.variants[0].id, quantity=3)
            cart_add(user=buyer, variant_id=flat.variants[0].id, quantity=1)
            buyers.append({"email": buyer.email, "store_id": _seller.store.id})
        db.session.commit()
    with serve(application) as base_url:
        yield {"url": base_url, "buyers": buyers}


AXE = next((p for p in (Path(__file__).parent / "vendor" / "axe.min.js",
                         Path("/work/shared-tools/axe.min.js")) if p.exists()), None)


def _axe_clean(page: Page, selector: str) -> None:
    """No axe-core violations in the shipping blocks (skipped when axe is not at hand)."""
    if AXE is None:
        return
    page.evaluate(AXE.read_text())
    result = page.evaluate(
        "(sel) => axe.run({include: [...document.querySelectorAll(sel)].map(e => [e])})"
        ".then(r => r.violations.map(v => v.id + ': ' + v.nodes.length))", selector)
    assert result == [], result


CONTEXT_BUYER = {"desktop-1024x600": 0, "phone-360x740": 1, "desktop-no-js": 2}


@pytest.mark.parametrize("context_name", list(CONTEXT_BUYER))
def test_choosing_a_courier_updates_the_totals(chromium_browser, shop, context_name):
    buyer = shop["buyers"][CONTEXT_BUYER[context_name]]
    with open_page(chromium_browser, shop["url"], context_name) as page:
        _run(page, buyer)


def _run(page: Page, buyer: dict) -> None:
    page.goto("/masuk")
    page.fill("[name=email]", buyer["email"])
    page.fill("[name=password]", DEFAULT_PASSWORD)
    page.locator("main button[type=submit]").click()
    expect(page.get_by_test_id("logout")).to_be_attached()  # in the account menu
    page.goto("/checkout")
    check_layout(page, "checkout with couriers")
    store = page.locator(f"#shipping-{buyer['store_id']}")
    # 3 x 400 g = 1.2 kg, billed as 2 kg: JNE REG Bandung→Bandung 2 x 9.000 = 18.000.
    # The cheapest is preselected (SiCepat REG, 2 x 8.500); + 150.000 + 50.000 + 7.000 flat.
    expect(store.locator("input[value='sicepat:REG']")).to_be_checked()
    expect(page.get_by_test_id("checkout-total")).to_have_text("Rp 224.000")
    if page.js_enabled:  # type: ignore[attr-defined]
        _axe_clean(page, ".checkout-shipping, #checkout-totals")
        page.evaluate("window.__sameDocument = true")
        htmx_settled(page)
        store.locator("label", has_text="JNE REG").click()
        expect(page.get_by_test_id("checkout-total")).to_have_text("Rp 225.000")
        expect(page.locator(f"#shipping-{buyer['store_id']}")
               .get_by_test_id("store-total")).to_have_text("Rp 168.000")
        expect(page.get_by_test_id("pay")).to_have_text("Bayar Rp 225.000")
        assert page.evaluate("window.__sameDocument === true")  # swapped, not reloaded
        htmx_settled(page)
    else:
        store.locator("label", has_text="JNE REG").click()
        store.get_by_role("button", name="Hitung ulang ongkir").click()
        expect(page).to_have_url(re.compile(r"/checkout$"))
        expect(page.locator(f"#shipping-{buyer['store_id']} input[value='jne:REG']")
               ).to_be_checked()
        expect(page.get_by_test_id("checkout-total")).to_have_text("Rp 225.000")
    for control in page.locator(".courier-option").all():
        box = control.bounding_box()
        assert box is not None and box["height"] >= 44, box
    page.get_by_test_id("pay").click()
    expect(page.locator("h1")).to_have_text("Pesanan dibuat")
    expect(page.get_by_test_id("checkout-done-total")).to_have_text("Rp 225.000")
    check_console(page, "checkout with couriers")
