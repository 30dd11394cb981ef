"""The storefront in a real browser: the home page's sections, the product gallery (no
JavaScript needed: radio inputs and labels), the variant chips (htmx swaps the price and
stock; without JavaScript the form's button does), and the buyer's orders with thumbnails.

Same three contexts as the other flows (1024x600 laptop, 360px phone, laptop without
JavaScript), on the demo shop (`demo_load`).
"""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Page, expect

from tests.e2e.conftest import MIN_TAP, check_console, check_layout, htmx_settled

pytestmark = pytest.mark.e2e

DEMO_PASSWORD = "racik-demo-2026"
GALLERY_PRODUCT = "Serum Vitamin C 10% Brightening"  # three photos, Ukuran 20 ml / 30 ml


def open_product(page: Page, name: str) -> None:
    page.goto("/produk?q=" + "+".join(name.split()[:3]).lower())
    page.get_by_test_id("product-card").filter(has_text=name).locator("a").first.click()
    expect(page.locator("h1")).to_have_text(name)
    page.wait_for_load_state("load")  # measured below: the stylesheets must have applied


def test_home_page_is_a_storefront_with_search_shelves_stores_and_the_maklon_offer(
        page: Page) -> None:
    page.goto("/")
    check_layout(page, "home page")
    for section in ("home-categories", "home-popular", "home-new", "home-stores",
                    "home-maklon"):
        expect(page.get_by_test_id(section)).to_be_visible()
    expect(page.get_by_test_id("home-popular").get_by_test_id("product-card")).to_have_count(8)
    expect(page.get_by_test_id("home-stores").get_by_test_id("home-store").first).to_be_visible()
    # The best seller's card says how much it sold, compactly.
    expect(page.get_by_test_id("home-popular").get_by_test_id("card-sold").first).to_have_text(
        re.compile(r"Terjual 1,\d\s?rb"))
    expect(page.get_by_test_id("home-maklon-interest")).to_have_attribute(
        "href", "/ajukan-maklon")
    if page.js_enabled:  # type: ignore[attr-defined]
        # The first row's photos are loaded and drawn at the size of their box.
        first = page.get_by_test_id("home-popular").locator("img").first
        expect(first).not_to_have_attribute("loading", "lazy")
        page.wait_for_function("img => img.complete && img.naturalWidth > 0",
                               arg=first.element_handle())
        box = page.get_by_test_id("home-popular").get_by_test_id("product-card").first\
            .bounding_box()
        assert box is not None and box["height"] >= MIN_TAP
    page.fill("#home-q", "serum")
    page.locator(".home-search button[type=submit]").click()
    expect(page).to_have_url(re.compile(r"/produk\?q=serum"))
    expect(page.get_by_test_id("product-card").first).to_be_visible()
    check_console(page, "home page")


def test_gallery_switches_photos_by_thumbnail_and_arrow_keys_without_javascript(
        page: Page) -> None:
    open_product(page, GALLERY_PRODUCT)
    check_layout(page, "product page")
    slides = page.get_by_test_id("gallery-slide")
    thumbs = page.get_by_test_id("gallery-thumb")
    expect(slides).to_have_count(3)
    expect(slides.nth(0)).to_be_visible()
    expect(slides.nth(1)).to_be_hidden()
    thumbs.nth(1).click()
    expect(slides.nth(1)).to_be_visible()
    expect(slides.nth(0)).to_be_hidden()
    box = thumbs.nth(1).bounding_box()
    assert box is not None and box["width"] >= MIN_TAP and box["height"] >= MIN_TAP
    # Keyboard: the photos are one radio group; the arrow keys move through it.
    page.locator("#g-2").focus()
    page.keyboard.press("ArrowRight")
    expect(slides.nth(2)).to_be_visible()
    expect(slides.nth(1)).to_be_hidden()
    check_console(page, "product gallery")


def test_variant_chips_choose_the_variant_with_and_without_javascript(page: Page) -> None:
    open_product(page, GALLERY_PRODUCT)
    stock = page.get_by_test_id("variant-stock")
    expect(stock).to_contain_text("Ukuran: 20 ml")
    chip = page.get_by_test_id("variant-picker").get_by_label("30 ml", exact=True)
    box = chip.bounding_box()
    assert box is not None and box["height"] >= MIN_TAP
    htmx_settled(page)
    chip.click()
    if page.js_enabled:  # type: ignore[attr-defined]
        expect(stock).to_contain_text("Ukuran: 30 ml")  # swapped in place
        expect(page).to_have_url(re.compile(r"opsi-0=30"))
    else:
        page.get_by_role("button", name="Tampilkan varian").click()
        expect(page).to_have_url(re.compile(r"opsi-0=30"))
        expect(page.get_by_test_id("variant-stock")).to_contain_text("Ukuran: 30 ml")
    expect(page.locator("input[name=opsi-0][value='30 ml']")).to_be_checked()
    expect(page.get_by_test_id("variant-stock")).to_contain_text(re.compile(r"Stok \d+|Sisa \d+"))
    check_console(page, "variant chips")


def test_buyer_orders_show_the_store_and_product_thumbnails(page: Page) -> None:
    page.goto("/masuk")
    page.fill("[name=email]", "buyer@racik.test")
    page.fill("[name=password]", DEMO_PASSWORD)
    page.locator("main button[type=submit]").click()
    expect(page.get_by_test_id("logout")).to_be_attached()  # in the account menu
    page.goto("/pesanan")
    check_layout(page, "buyer orders")
    row = page.get_by_test_id("order-row").first
    expect(row.get_by_test_id("order-store")).to_be_visible()
    thumb = row.get_by_test_id("order-thumb").first
    expect(thumb).to_be_visible()
    store_box = row.get_by_test_id("order-store").bounding_box()
    thumb_box = thumb.bounding_box()
    assert store_box and thumb_box and store_box["y"] < thumb_box["y"]  # the store first
    if page.js_enabled:  # type: ignore[attr-defined]
        page.wait_for_function("img => img.complete && img.naturalWidth > 0",
                               arg=row.locator("img.order-thumb").first.element_handle())
    check_console(page, "buyer orders")
