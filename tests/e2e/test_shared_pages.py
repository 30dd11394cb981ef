"""Anonymous catalog pages in a real browser are shared pages: browsing the home page,
search, a product and a store leaves no cookie at all; the header's language links switch
to English with only the `racik_lang` cookie, and the buy button leads to the login form,
which (as every form anonymous visitors post) starts the session and its CSRF token.

Same three contexts as the other flows (1024x600, 360px phone, no JavaScript)."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Page, expect

from tests.e2e.conftest import check_console, check_layout, open_account_menu

pytestmark = pytest.mark.e2e


def _cookie_names(page: Page) -> set[str]:
    return {cookie["name"] for cookie in page.context.cookies()}


def test_browsing_the_catalog_sets_no_cookie_and_language_is_a_link(page: Page) -> None:
    html = page.locator("html")
    page.goto("/")
    page.goto("/produk")
    card = page.locator("main a[href^='/produk/']").first
    href = card.get_attribute("href")
    card.click()
    expect(page).to_have_url(re.compile(re.escape(href or "") + "$"))
    store = page.locator(".store-link a").first
    store.click()
    expect(page).to_have_url(re.compile(r"/toko/"))
    assert _cookie_names(page) == set(), page.context.cookies()
    check_layout(page, "store page, anonymous")

    # The language switch of a shared page: links (44px targets, checked by check_layout).
    open_account_menu(page)  # the header's language menu (a <details>)
    english = page.locator("header .lang-switch a[data-lang=en]")
    expect(english).not_to_have_attribute("aria-current", "true")
    english.click()
    expect(html).to_have_attribute("lang", "en")
    expect(page).to_have_url(re.compile(r"/toko/"))  # back on the same page
    expect(page.locator("header .lang-switch a[data-lang=en]")).to_have_attribute(
        "aria-current", "true")
    assert _cookie_names(page) == {"racik_lang"}
    check_layout(page, "store page, English")

    # Buying starts with logging in: the login form holds the session's CSRF token.
    page.goto(href or "/")
    page.get_by_test_id("add-to-cart").click()
    expect(page).to_have_url(re.compile(r"/masuk\?next=%2Fproduk%2F"))
    expect(page.locator("#login-form input[name=csrf_token]")).to_have_count(1)
    assert "racik_session" in _cookie_names(page)
    check_console(page, "shared pages")
