"""The account flow in a real browser: register, log out, log in, switch to English, log out.

Runs in three browser contexts: a small laptop (1024x600), a phone (360x740, touch) and the
laptop with JavaScript off. With JavaScript the forms go through htmx (`HX-Redirect` on
success); without it they are plain POSTs answered by 303 redirects. Along the way the
header's touch targets (≥ 44px high), the absence of a horizontal scrollbar and the absence
of console errors (CSP violations included) are checked.
"""

from __future__ import annotations

import gettext
import itertools
import re
import uuid
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect

from tests.e2e.conftest import check_console, check_layout, log_out, open_account_menu

pytestmark = pytest.mark.e2e

PASSWORD = "kopi-susu-gula-aren-42"  # passes the password policy
MO_FILE = (
    Path(__file__).resolve().parents[2] / "app" / "translations" / "en" / "LC_MESSAGES"
    / "messages.mo"
)
_run = itertools.count(1)
HOME = re.compile(r"^http://127\.0\.0\.1:\d+/$")


def english_logout_label() -> str | None:
    """The English label of the logout button, if a compiled catalog translates it."""
    if not MO_FILE.is_file():
        return None
    with MO_FILE.open("rb") as handle:
        catalog = gettext.GNUTranslations(handle)
    label = catalog.gettext("Keluar")
    return label if label != "Keluar" else None


def submit(page: Page, form: str, path: str) -> None:
    """Click the form's submit button and check how the POST was answered.

    With JavaScript htmx sends it (`HX-Request`) and gets 204 + `HX-Redirect`; without
    JavaScript the browser posts the form itself and follows a 303.
    """
    with page.expect_response(
        lambda r: r.request.method == "POST" and r.url.endswith(path)
    ) as answer:
        page.click(f"{form} button[type=submit]")
    response = answer.value
    headers = response.request.all_headers()
    if page.js_enabled:  # type: ignore[attr-defined]
        assert headers.get("hx-request") == "true", f"{path}: not sent by htmx"
        assert response.status == 204, f"{path}: htmx answer {response.status}"
        assert response.header_value("hx-redirect") == "/", f"{path}: no HX-Redirect to /"
    else:
        assert "hx-request" not in headers, f"{path}: htmx ran with JavaScript off"
        assert response.status == 303, f"{path}: answer {response.status}"


def test_register_logout_login_switch_language_logout(page: Page) -> None:
    email = f"e2e-{next(_run)}-{uuid.uuid4().hex[:10]}@example.com"
    name = "Sari Pembeli"
    html = page.locator("html")
    logout = page.get_by_test_id("logout")
    welcome = page.get_by_test_id("welcome")

    # Register as a customer (the default account type), phone left empty.
    page.goto("/daftar")
    expect(html).to_have_attribute("lang", "id")
    if page.js_enabled:  # type: ignore[attr-defined]
        assert page.evaluate("() => typeof window.htmx") == "object", "htmx did not load"
    check_layout(page, "register page")
    form = page.locator("#register-form")
    expect(form.locator("input[name=account_type][value=customer]")).to_be_checked()
    page.fill("#register-form [name=name]", name)
    page.fill("#register-form [name=email]", email)
    expect(form.locator("[name=phone]")).to_have_value("")
    page.fill("#register-form [name=password]", PASSWORD)
    page.fill("#register-form [name=password_confirm]", PASSWORD)
    submit(page, "#register-form", "/daftar")

    def expect_logged_in_home() -> None:
        """Logged in: back on the home page, with the welcome card and a logout button."""
        expect(welcome).to_be_visible()
        expect(welcome).to_contain_text(name)
        expect(page).to_have_url(HOME)
        expect(logout).to_be_attached()  # in the account menu

    expect_logged_in_home()
    check_layout(page, "home page, logged in")

    # Log out.
    log_out(page)
    expect(welcome).to_have_count(0)
    expect(logout).to_have_count(0)
    expect(page.locator("header a[href='/masuk']")).to_be_visible()
    check_layout(page, "home page, logged out")

    # Log in again with the login form.
    page.click("header a[href='/masuk']")
    expect(page.locator("#login-form")).to_be_visible()
    check_layout(page, "login page")
    page.fill("#login-form [name=email]", email)
    page.fill("#login-form [name=password]", PASSWORD)
    submit(page, "#login-form", "/masuk")
    expect_logged_in_home()

    # Switch the language to English with the header's ID/EN buttons.
    english = page.locator("header .lang-switch button[value=en]")
    indonesian = page.locator("header .lang-switch button[value=id]")
    expect(english).to_have_attribute("aria-pressed", "false")
    expect(indonesian).to_have_attribute("aria-pressed", "true")
    open_account_menu(page)
    english.click()
    expect(html).to_have_attribute("lang", "en")
    expect(english).to_have_attribute("aria-pressed", "true")
    expect(indonesian).to_have_attribute("aria-pressed", "false")
    expect(welcome).to_be_visible()
    label = english_logout_label()
    if label is not None:  # only once the compiled catalog translates it
        expect(logout).to_have_text(label)
        assert label in ("Sign out", "Log out"), label
    check_layout(page, "home page, English")

    # Log out again; the language chosen stays.
    log_out(page)
    expect(welcome).to_have_count(0)
    expect(logout).to_have_count(0)
    expect(html).to_have_attribute("lang", "en")
    check_layout(page, "home page, logged out, English")
    check_console(page, "account flow")
