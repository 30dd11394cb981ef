"""The header in a real browser, for every role and for users with several roles, at
360x740, 1024x600 and without JavaScript: one row of at most 64px, no sideways scroll,
the menus open without JavaScript (<details>) and reach their pages; with JavaScript a
click outside or Escape closes an open menu. The admin console's section navigation folds
into a <details> at 360px and stands beside the content at 1024px."""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest
from playwright.sync_api import Page, expect

from app import create_app
from app.config import TestConfig
from tests.e2e.conftest import CONTEXTS, check_console, check_layout, open_page, serve
from tests.factories import DEFAULT_PASSWORD as PASSWORD

pytestmark = pytest.mark.e2e

ROLES = {
    "customer": ("customer",),
    "seller": ("seller", "customer"),
    "client": ("client", "seller", "customer"),
    "staff": ("staff",),
    "admin": ("admin",),
    "everything": ("admin", "staff", "client", "seller", "customer"),
}


@pytest.fixture(scope="module")
def nav_server(tmp_path_factory) -> Iterator[str]:
    root = tmp_path_factory.mktemp("e2e-nav")
    application = create_app(TestConfig, SQLALCHEMY_DATABASE_URI=f"sqlite:///{root / 'nav.db'}",
                             INSTANCE_PATH=str(root / "instance"), JOBS_MODE="sync")
    with application.app_context():
        from flask_migrate import upgrade

        from app.extensions import db
        from tests.factories import make_user

        upgrade()
        for name, roles in ROLES.items():
            make_user(email=f"{name}@nav.test", roles=roles, password=PASSWORD)
        db.session.commit()
    with serve(application) as base_url:
        yield base_url


@pytest.fixture(params=list(CONTEXTS), ids=list(CONTEXTS))
def page(request, chromium_browser, nav_server) -> Iterator[Page]:
    with open_page(chromium_browser, nav_server, request.param) as opened:
        opened.context_name = request.param  # type: ignore[attr-defined]
        yield opened


def _log_in(page: Page, email: str) -> None:
    page.goto("/masuk")
    page.fill("#login-form [name=email]", email)
    page.fill("#login-form [name=password]", PASSWORD)
    with page.expect_navigation():
        page.click("#login-form button[type=submit]")


def _header_fits(page: Page, where: str) -> None:
    page.wait_for_load_state("load")  # the stylesheets applied (a page has several)
    height = page.evaluate("() => document.querySelector('header').offsetHeight")
    assert height <= 64, f"{where}: header {height}px"
    check_layout(page, where)


def _open_menu_and_follow(page: Page, group: str, testid: str, url: str) -> None:
    """Open `group`'s menu (inside "Menu" on a phone) and follow the item `testid`."""
    link = page.get_by_test_id(testid)
    if not link.is_visible():
        all_menu = page.get_by_test_id("nav-menu")
        if all_menu.is_visible():
            all_menu.click()
        page.locator("header details.nav-group > summary", has_text=group).click()
    expect(link).to_be_visible()
    box = link.bounding_box()
    assert box and box["height"] >= 44, box
    link.click()
    expect(page).to_have_url(re.compile(re.escape(url) + r"$"))


def test_anonymous_header_is_one_row_with_search(page: Page) -> None:
    page.goto("/")
    _header_fits(page, "anonymous home")
    search = page.locator("#header-q")
    if not search.is_visible():
        page.locator("header .search-menu > summary").click()
    search.fill("sampo")
    search.press("Enter")
    expect(page).to_have_url(re.compile(r"/produk\?q=sampo$"))
    check_console(page, "anonymous header")


@pytest.mark.parametrize("role", list(ROLES))
def test_every_role_gets_a_compact_header_whose_menus_open(page: Page, role: str) -> None:
    _log_in(page, f"{role}@nav.test")
    page.goto("/akun")
    _header_fits(page, f"{role} profile page")
    target = {
        "customer": ("Belanja", "nav-orders.my_orders", "/pesanan"),
        "seller": ("Toko saya", "nav-inventory.index", "/seller/inventaris"),
        "client": ("Maklon", "nav-maklon.requests", "/maklon"),
        "staff": ("CRM", "nav-crm.tasks", "/crm/tugas"),
        "admin": ("Admin", "nav-admin.users", "/admin/pengguna"),
        "everything": ("Produksi", "nav-maklon.board", "/produksi"),
    }[role]
    _open_menu_and_follow(page, *target)
    _header_fits(page, f"{role} on {target[2]}")
    check_console(page, f"{role} navigation")


def test_escape_and_a_click_outside_close_the_account_menu(page: Page) -> None:
    if not page.js_enabled:  # type: ignore[attr-defined]
        pytest.skip("closing on Escape / outside click is the JavaScript enhancement")
    _log_in(page, "seller@nav.test")
    menu = page.locator("header details.account-menu")
    menu.locator("summary").click()
    expect(menu).to_have_attribute("open", "")
    expect(page.get_by_test_id("logout")).to_be_visible()
    page.keyboard.press("Escape")
    expect(menu).not_to_have_attribute("open", "")
    expect(menu.locator("summary")).to_be_focused()
    menu.locator("summary").click()
    expect(menu).to_have_attribute("open", "")
    page.mouse.click(10, 560)  # below the open panel, on the page itself
    expect(menu).not_to_have_attribute("open", "")
    check_console(page, "menu closing")


def test_admin_console_section_navigation(page: Page) -> None:
    _log_in(page, "admin@nav.test")
    page.goto("/admin/pengguna")
    _header_fits(page, "admin users")
    link = page.get_by_test_id("admin-nav-audit.index")
    toggle = page.get_by_test_id("admin-nav-toggle")
    if page.viewport_size and page.viewport_size["width"] < 720:
        expect(link).to_be_hidden()
        expect(toggle).to_contain_text("Pengguna")
        toggle.click()
    else:
        expect(toggle).to_be_hidden()
    expect(link).to_be_visible()
    link.click()
    expect(page).to_have_url(re.compile(r"/admin/audit$"))
    expect(page.get_by_test_id("admin-nav-audit.index")).to_have_attribute(
        "aria-current", "page")
    check_console(page, "admin console")
