"""The interface budgets of the key pages, in a real browser, at 360x740 (phone) and
1024x600 (tablet/laptop), each for the role that uses the page:

- the header is at most 64px tall;
- nothing scrolls sideways (document scrollWidth <= viewport width);
- every visible control (a, button, input, select, summary, a label of a control) is at
  least 44x44px, except a link inside a line of prose (axe's target-size exemption);
- axe-core (tests/e2e/vendor/axe.min.js, MPL-2.0) finds no serious or critical violation;
- no console error and no CSP violation;
- with JavaScript off the page still renders its main content.

One world (the demo shop plus a maklon order, a cart, an order, staff and an admin) is
built once for the module; each role logs in once and its cookies are reused.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Page

from app import create_app
from app.config import TestConfig
from tests.demo_copy import demo_shop_copy
from tests.e2e.conftest import CONTEXTS, MIN_TAP, page_widths, serve
from tests.factories import DEFAULT_PASSWORD as PASSWORD

pytestmark = pytest.mark.e2e

AXE = Path(__file__).parent / "vendor" / "axe.min.js"
MAX_HEADER = 64  # px
SIZES = ("phone-360x740", "desktop-1024x600")
EMAILS = {"customer": "pembeli@budget.test", "seller": "seller@racik.test",
          "client": "client@racik.test", "staff": "staf@budget.test",
          "admin": "admin@budget.test"}
DEMO_PASSWORD = "racik-demo-2026"  # the documented demo credential

# (name, role, path); "{product}" and "{maklon}" are filled from the world.
PAGES = [
    ("home", None, "/"),
    ("search", None, "/produk?q=sampo"),
    ("product", None, "/produk/{product}"),
    ("login", None, "/masuk"),
    ("cart", "customer", "/keranjang"),
    ("checkout", "customer", "/checkout"),
    ("buyer-orders", "customer", "/pesanan"),
    ("seller-inventory", "seller", "/seller/inventaris"),
    ("seller-analytics", "seller", "/seller/analitik"),
    ("maklon-dashboard", "client", "/maklon/dasbor"),
    ("maklon-request", "client", "/maklon/{maklon}"),
    ("production-board", "staff", "/produksi"),
    ("crm-board", "staff", "/crm/"),
    ("admin-dashboard", "admin", "/admin/dasbor"),
]

# Every visible control smaller than 44x44, as "tag 'label' WxH" (prose links exempt:
# an inline <a> with text on its line, as axe's target-size rule exempts it).
SMALL_CONTROLS = """() => {
  const out = [];
  const seen = new Set();
  const candidates = document.querySelectorAll(
    "a[href], button, input:not([type=hidden]), select, textarea, summary");
  for (const el of candidates) {
    let target = el;
    if (el.matches("input[type=checkbox], input[type=radio]")) {
      target = el.closest("label") || document.querySelector(`label[for="${el.id}"]`) || el;
    }
    if (seen.has(target)) continue;
    seen.add(target);
    const style = getComputedStyle(target);
    if (style.visibility === "hidden" || style.display === "none") continue;
    const box = target.getBoundingClientRect();
    if (box.width <= 1 || box.height <= 1) continue;  // visually hidden, or closed menu
    if (box.right <= 0 || box.bottom <= 0) continue;  // off-screen until focused (skip link)
    if (!target.checkVisibility({contentVisibilityAuto: true, visibilityProperty: true})) continue;
    if (target.tagName === "A" && style.display === "inline") {
      const block = target.parentElement;
      const text = block ? block.textContent.replace(target.textContent, "").trim() : "";
      if (text.length > 0) continue;  // a link inside a line of text
    }
    if (box.width < 44 || box.height < 44) {
      const name = (target.innerText || target.value || target.getAttribute("aria-label")
                    || "").trim().slice(0, 40);
      const tag = target.tagName.toLowerCase()
        + (target.className ? "." + String(target.className).split(" ")[0] : "");
      out.push(`${tag} '${name}' ${Math.round(box.width)}x${Math.round(box.height)}`);
    }
  }
  return out;
}"""


@pytest.fixture(scope="module")
def world(tmp_path_factory) -> Iterator[tuple[str, dict[str, object]]]:
    url, instance = demo_shop_copy(tmp_path_factory, "e2e-budgets")
    application = create_app(TestConfig, SQLALCHEMY_DATABASE_URI=url,
                             INSTANCE_PATH=str(instance), JOBS_MODE="sync")
    with application.app_context():
        from sqlalchemy import select

        from app.accounts.models import User
        from app.catalog.models import Product
        from app.extensions import db
        from app.orders.cart import cart_add
        from tests.factories import make_order, make_user
        from tests.maklon.factories import make_signed_order

        make_user(email=EMAILS["staff"], name="Sari Staf", roles=("staff",))
        make_user(email=EMAILS["admin"], name="Admin Uji", roles=("admin",))
        buyer = make_user(email=EMAILS["customer"], name="Andi Pembeli")
        products = db.session.scalars(select(Product).where(Product.active.is_(True))
                                      .order_by(Product.id)).all()
        with_stock = [p for p in products if any(v.stock > 5 for v in p.variants)]
        first, second = with_stock[0], with_stock[1]
        make_order(buyer=buyer, variant=next(v for v in first.variants if v.stock > 5))
        cart_add(user=buyer, variant_id=next(v for v in second.variants if v.stock > 5).id,
                 quantity=1)
        client = db.session.scalars(select(User).where(User.email == EMAILS["client"])).one()
        order = make_signed_order(client=client)
        db.session.commit()
        values = {"product": first.id, "maklon": order.number}
    with serve(application) as base_url:
        yield base_url, values


@pytest.fixture(scope="module")
def cookies(chromium_browser, world) -> dict[str, list]:
    """Each role's session cookies, logged in once through the login form."""
    base_url, _ = world
    jar: dict[str, list] = {}
    for role, email in EMAILS.items():
        context = chromium_browser.new_context(base_url=base_url)
        page = context.new_page()
        page.goto("/masuk")
        page.fill("#login-form [name=email]", email)
        password = DEMO_PASSWORD if email.endswith("@racik.test") else PASSWORD
        page.fill("#login-form [name=password]", password)
        with page.expect_navigation():
            page.click("#login-form button[type=submit]")
        assert page.get_by_test_id("logout").count() == 1, f"{role} could not log in"
        jar[role] = context.cookies()
        context.close()
    return jar


def _open(chromium_browser, world, cookies, role, path, context_name) -> tuple[Page, list]:
    base_url, values = world
    context = chromium_browser.new_context(base_url=base_url, locale="id-ID",
                                           **CONTEXTS[context_name])
    if role:
        context.add_cookies(cookies[role])
    page = context.new_page()
    errors: list[str] = []
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: errors.append(f"pageerror: {e}"))
    response = page.goto(path.format(**values))
    assert response is not None and response.status == 200, (
        f"{path}: answer {response and response.status}")
    return page, errors


@pytest.mark.parametrize("size", SIZES)
@pytest.mark.parametrize(("name", "role", "path"), PAGES, ids=[p[0] for p in PAGES])
def test_page_keeps_its_budgets(chromium_browser, world, cookies, name, role, path, size):
    page, errors = _open(chromium_browser, world, cookies, role, path, size)
    try:
        page.wait_for_load_state("networkidle")
        where = f"{name} ({role or 'anonymous'}, {size})"
        problems = []
        header = page.evaluate("() => document.querySelector('header').offsetHeight")
        if header > MAX_HEADER:
            problems.append(f"header {header}px > {MAX_HEADER}px")
        widths = page_widths(page)
        if widths[0] > widths[1]:
            problems.append(f"scrolls sideways {widths}")
        small = page.evaluate(SMALL_CONTROLS)
        if small:
            problems.append(f"controls under {MIN_TAP}x{MIN_TAP}px: {small}")
        page.evaluate(AXE.read_text())
        violations = page.evaluate("""async () => (await axe.run(document, {
            resultTypes: ["violations"]})).violations
            .filter(v => v.impact === "serious" || v.impact === "critical")
            .map(v => v.id + ": "
                 + v.nodes.slice(0, 3).map(n => n.target.join(" ")).join(" | "))""")
        if violations:
            problems.append(f"axe: {violations}")
        if errors:
            problems.append(f"console errors: {errors}")
        assert not problems, f"{where}: " + "; ".join(problems)
    finally:
        page.context.close()


@pytest.mark.parametrize(("name", "role", "path"), PAGES, ids=[p[0] for p in PAGES])
def test_page_renders_its_main_content_without_javascript(chromium_browser, world, cookies,
                                                          name, role, path):
    page, _errors = _open(chromium_browser, world, cookies, role, path, "desktop-no-js")
    try:
        main = page.locator("main h1")
        assert main.count() >= 1 and main.first.is_visible(), f"{name}: no heading in main"
        assert page.locator("main").inner_text().strip(), f"{name}: main is empty"
        assert page.locator("header .brand").is_visible()
    finally:
        page.context.close()
