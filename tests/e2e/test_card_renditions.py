"""Card renditions in a real browser (issue 20, page weight): Chromium picks the 240 px
rendition from a card's `srcset` on a 360 px phone at 1x and on a 1024 px tablet, the
400 px thumbnail on a 2x phone, and the order list's 56 px thumbnails take the 128 px mini
rendition (sharp at 2x, half the card rendition's bytes)."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from app.demo import DEMO_PASSWORD

pytestmark = pytest.mark.e2e

CURRENT = "img => img.complete && img.naturalWidth > 0 ? img.currentSrc : ''"


def _candidates(img) -> dict[str, str]:
    """{"128w": url path, "240w": ..., "400w": ...} of an <img>'s srcset."""
    pairs = [part.strip().split(" ") for part in img.get_attribute("srcset").split(",")]
    return {width: url for url, width in pairs}


@pytest.mark.parametrize(("width", "height", "scale", "expected"), [
    (360, 740, 1, "240w"), (1024, 600, 1, "240w"), (360, 740, 2, "400w")])
def test_home_cards_load_the_smallest_rendition_that_fills_them(
        chromium_browser, live_server, width, height, scale, expected):
    context = chromium_browser.new_context(
        base_url=live_server, viewport={"width": width, "height": height},
        device_scale_factor=scale)
    page = context.new_page()
    page.goto("/")
    img = page.locator("[data-testid=product-card] img.product-thumb").first
    expect(img).to_be_visible()
    page.wait_for_function("img => img.complete && img.naturalWidth > 0",
                           arg=img.element_handle())
    current = img.evaluate(CURRENT)
    assert current.endswith(_candidates(img)[expected]), current
    assert _candidates(img)["240w"] != _candidates(img)["400w"]
    context.close()


def test_order_thumbnails_load_the_rendition(chromium_browser, live_server):
    context = chromium_browser.new_context(
        base_url=live_server, viewport={"width": 360, "height": 740}, device_scale_factor=2)
    page = context.new_page()
    page.goto("/masuk")
    page.fill("[name=email]", "buyer@racik.test")
    page.fill("[name=password]", DEMO_PASSWORD)
    page.locator("main button[type=submit]").click()
    expect(page.get_by_test_id("logout")).to_be_attached()  # in the account menu
    page.goto("/pesanan")
    img = page.locator("img.order-thumb").first
    expect(img).to_be_visible()
    page.wait_for_function("img => img.complete && img.naturalWidth > 0",
                           arg=img.element_handle())
    assert img.evaluate(CURRENT).endswith(_candidates(img)["128w"])
    context.close()
