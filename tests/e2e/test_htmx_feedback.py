"""Global htmx feedback (app/static/js/app.js) in a real browser: while a request runs the
pressed button is busy (aria-busy, disabled against a double submit); when it fails (the
network drops it, or the server answers 500 with a page that is not ours) #htmx-error says
so in the page's language with "Coba lagi", everything typed is still in the form, and the
retry sends the same request again and succeeds. On a cart add and on a CRM lead form.
"""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest
from playwright.sync_api import Page, Route, expect

from app import create_app
from app.config import TestConfig
from tests.demo_copy import demo_shop_copy
from tests.e2e.conftest import check_console, htmx_settled, open_page, serve
from tests.factories import DEFAULT_PASSWORD as PASSWORD

pytestmark = pytest.mark.e2e

PRODUCT = "Sampo Lidah Buaya Anti Ketombe"  # a demo product with stock


@pytest.fixture(scope="module")
def feedback_server(tmp_path_factory) -> Iterator[str]:
    """The demo shop plus one staff member (password only) and a buyer per test."""
    url, instance = demo_shop_copy(tmp_path_factory, "e2e-feedback")
    application = create_app(TestConfig, SQLALCHEMY_DATABASE_URI=url,
                             INSTANCE_PATH=str(instance), JOBS_MODE="sync")
    with application.app_context():
        from app.extensions import db
        from tests.factories import make_user

        make_user(email="sales@example.test", roles=("staff",), password=PASSWORD)
        for kind in ("abort", "500"):
            make_user(email=f"buyer-{kind}@example.test", roles=("customer",), password=PASSWORD)
        db.session.commit()
    with serve(application) as base_url:
        yield base_url


@pytest.fixture
def page(chromium_browser, feedback_server) -> Iterator[Page]:
    with open_page(chromium_browser, feedback_server, "desktop-1024x600") as opened:
        yield opened


def _log_in(page: Page, email: str) -> None:
    page.goto("/masuk")
    page.fill("#login-form [name=email]", email)
    page.fill("#login-form [name=password]", PASSWORD)
    with page.expect_navigation():
        page.click("#login-form button[type=submit]")


class FailOnce:
    """A Playwright route handler that holds the first matching request (so the test can
    look at the busy button), then fails it as told; later requests pass through."""

    def __init__(self, kind: str) -> None:
        self.kind = kind
        self.held: list[Route] = []
        self.seen = 0

    def __call__(self, route: Route) -> None:
        self.seen += 1
        if self.seen == 1:
            self.held.append(route)
        else:
            route.continue_()

    def fail(self, page: Page) -> None:
        # The busy button shows before Playwright has handed the route to this handler
        # (it does so while the sync API waits): let it, up to 5 s, on a loaded machine.
        for _ in range(250):
            if self.held:
                break
            page.wait_for_timeout(20)
        route = self.held.pop()
        if self.kind == "abort":
            route.abort("internetdisconnected")
        else:
            route.fulfill(status=500, content_type="text/html",
                          body="<html><body>Internal Server Error</body></html>")


def _fails_then_retries(page: Page, *, url: str, button, kind: str) -> None:
    """Press `button` with `url` failing once; check busy state, message, retry."""
    handler = FailOnce(kind)
    page.route(url, handler)
    # This test is about htmx's failure feedback, not about htmx arriving on intent: the
    # user reaches for the button and htmx is there, wired up, before the press (on a
    # loaded machine a press before that could become the form's plain POST, which the
    # route held as a navigation that never finished).
    button.hover()
    htmx_settled(page, loaded=True)
    button.click()
    expect(button).to_have_attribute("aria-busy", "true")
    expect(button).to_be_disabled()
    handler.fail(page)
    box = page.locator("#htmx-error")
    key = "data-msg-network" if kind == "abort" else "data-msg-server"
    expect(box).to_contain_text(box.get_attribute(key) or "?")
    expect(button).not_to_have_attribute("aria-busy", "true")
    expect(button).to_be_enabled()
    retry = page.get_by_test_id("htmx-retry")
    expect(retry).to_have_text(box.get_attribute("data-msg-retry") or "?")
    box_height = retry.bounding_box()
    assert box_height and box_height["height"] >= 44, box_height
    return retry


def _expected_errors_only(page: Page, path: str) -> None:
    """Drop the console lines the failure itself causes (the browser's failed load, htmx's
    own log of the error event); anything else still fails check_console."""
    page.console_errors[:] = [  # type: ignore[attr-defined]
        e for e in page.console_errors  # type: ignore[attr-defined]
        if path not in e and "Failed to load" not in e and not e.startswith("htmx:")]


@pytest.mark.parametrize("kind", ["abort", "500"])
def test_a_failed_cart_add_keeps_the_quantity_and_retry_adds_it(page: Page, kind: str) -> None:
    _log_in(page, f"buyer-{kind}@example.test")
    page.goto("/produk?q=sampo")
    page.get_by_test_id("product-card").filter(has_text=PRODUCT).locator("a").first.click()
    htmx_settled(page)
    page.fill("#quantity", "3")
    retry = _fails_then_retries(page, url="**/keranjang/tambah", kind=kind,
                                button=page.get_by_test_id("add-to-cart"))
    expect(page.locator("#quantity")).to_have_value("3")  # nothing typed is lost
    expect(page.get_by_test_id("mini-cart")).to_have_count(0)
    retry.click()
    expect(page.get_by_test_id("mini-cart")).to_contain_text("Ditambahkan ke keranjang")
    expect(page.locator("#cart-badge")).to_have_text("1")
    expect(page.locator("#htmx-error")).to_be_empty()
    page.get_by_test_id("nav-orders.cart").click()
    line = page.get_by_test_id("cart-line").filter(has_text=PRODUCT)
    expect(line.locator("input[name=quantity]")).to_have_value("3")  # added once, not twice
    _expected_errors_only(page, "keranjang/tambah")
    check_console(page, "cart add with a failure")


@pytest.mark.parametrize("kind", ["abort", "500"])
def test_a_failed_lead_form_keeps_what_was_typed_and_retry_saves_it(page: Page,
                                                                      kind: str) -> None:
    _log_in(page, "sales@example.test")
    page.goto("/crm/prospek/baru")
    htmx_settled(page)
    title = f"Serum vitamin C gagal-{kind}"
    page.fill("#crm-form [name=title]", title)
    page.fill("#crm-form [name=company_name]", "PT Uji Jaringan")
    page.fill("#crm-form [name=notes]", "Catatan panjang yang tidak boleh hilang.")
    retry = _fails_then_retries(page, url="**/crm/prospek/baru", kind=kind,
                                button=page.locator("#crm-form button[type=submit]"))
    expect(page.locator("#crm-form [name=title]")).to_have_value(title)
    expect(page.locator("#crm-form [name=company_name]")).to_have_value("PT Uji Jaringan")
    expect(page.locator("#crm-form [name=notes]")).to_have_value(
        "Catatan panjang yang tidak boleh hilang.")
    retry.click()
    expect(page).to_have_url(re.compile(r"/crm/prospek/\d+$"))
    expect(page.locator("h1")).to_contain_text(title)
    _expected_errors_only(page, "prospek/baru")
    check_console(page, "lead form with a failure")
