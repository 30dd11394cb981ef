"""Browser-test fixtures: a live Racik server and a headless Debian Chromium.

The live server has its own SQLite file and instance folder (a copy of the demo shop built
once per run, tests/demo_copy.py; one per xdist worker): it never shares state with the
`app` fixture of tests/conftest.py (e2e tests must not request `app`, so `_clean_state`
leaves them alone). Chromium missing or failing to start fails the run under CI=true and is
a loud skip elsewhere (`missing_service`).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from playwright.sync_api import ConsoleMessage, Page

from app import create_app
from app.config import TestConfig
from tests.conftest import missing_service
from tests.demo_copy import demo_shop_copy
from tests.live import serve

# Debian's chromium-headless-shell: the "old" headless Chromium (the same Blink and V8 as
# /usr/bin/chromium, without the desktop browser around it), the one Playwright itself runs
# for headless tests. A new browser context costs a third of the full browser's CPU, a
# page load two thirds: the browser tests' largest cost (issue 24).
CHROMIUM = Path("/usr/lib/chromium/chromium-headless-shell")
PAYMENT_POLL_SECONDS = 2  # the payment page's status block here (5 s in production)
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-dev-shm-usage",
]


@pytest.fixture(scope="session")
def live_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """The demo shop (categories, sellers, products: browser tests use them) served over
    HTTP on a free port of 127.0.0.1; yields the base URL. Its database and instance folder
    are this session's own copy of the run's demo shop (tests/demo_copy.py)."""
    url, instance = demo_shop_copy(tmp_path_factory, "e2e")
    application = create_app(TestConfig, SQLALCHEMY_DATABASE_URI=url,
                             INSTANCE_PATH=str(instance), JOBS_MODE="sync",
                             PAYMENT_POLL_SECONDS=PAYMENT_POLL_SECONDS)
    with serve(application) as base_url:
        yield base_url


@pytest.fixture(scope="session")
def chromium_browser() -> Iterator:
    """One headless Chromium for the whole session (each test opens its own context)."""
    if not CHROMIUM.exists():
        missing_service(f"Chromium not found at {CHROMIUM}")
    from playwright.sync_api import Error as PlaywrightError
    from playwright.sync_api import sync_playwright

    playwright = sync_playwright().start()
    try:
        browser = playwright.chromium.launch(
            executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS
        )
    except PlaywrightError as error:
        playwright.stop()
        missing_service(f"Chromium at {CHROMIUM} failed to start: {error}")
    try:
        yield browser
    finally:
        browser.close()
        playwright.stop()


MIN_TAP = 44  # px: the touch-target rule of app.css
CONTEXTS = {
    "desktop-1024x600": {"viewport": {"width": 1024, "height": 600}},
    "phone-360x740": {
        "viewport": {"width": 360, "height": 740},
        "is_mobile": True,
        "has_touch": True,
    },
    "desktop-no-js": {"viewport": {"width": 1024, "height": 600}, "java_script_enabled": False},
}

@pytest.fixture(params=list(CONTEXTS), ids=list(CONTEXTS))
def page(request: pytest.FixtureRequest, chromium_browser, live_server: str) -> Iterator[Page]:
    with open_page(chromium_browser, live_server, request.param) as opened:
        yield opened


@contextmanager
def open_page(browser, base_url: str, context_name: str) -> Iterator[Page]:
    """A page in a fresh browser context of CONTEXTS; console errors and page errors are
    collected in `page.console_errors` (see check_console), `page.js_enabled` tells the
    context apart."""
    options = CONTEXTS[context_name]
    context = browser.new_context(base_url=base_url, locale="id-ID", **options)
    context.set_default_timeout(5_000)
    page = context.new_page()
    page.console_errors = []  # type: ignore[attr-defined]
    page.js_enabled = options.get("java_script_enabled", True)  # type: ignore[attr-defined]

    def on_console(message: ConsoleMessage) -> None:
        if message.type == "error":
            page.console_errors.append(f"{message.text} @ {message.location}")  # type: ignore[attr-defined]

    page.on("console", on_console)
    page.on("pageerror", lambda error: page.console_errors.append(f"pageerror: {error}"))  # type: ignore[attr-defined]
    try:
        yield page
    finally:
        context.close()


def check_layout(page: Page, where: str) -> None:
    """Header touch targets ≥ 44px high; no horizontal scrollbar (when JS can measure it)."""
    # After a click the DOM can be there before the stylesheets are: measure styled pages.
    page.wait_for_load_state("load")
    targets = page.locator("header a, header button")
    assert targets.count() > 0, f"{where}: no links or buttons in the header"
    for index in range(targets.count()):
        target = targets.nth(index)
        box = target.bounding_box()
        if box is None or not target.is_visible():  # not rendered, or in a closed menu
            continue
        label = target.inner_text().strip() or target.get_attribute("value") or "?"
        assert box["height"] >= MIN_TAP, (
            f"{where}: header control {label!r} is {box['height']:.0f}px high (< {MIN_TAP}px)"
        )
    if page.js_enabled:  # type: ignore[attr-defined]
        widths = page_widths(page)
        assert widths[0] <= widths[1], (
            f"{where}: horizontal scrollbar (scrollWidth {widths[0]} > viewport {widths[1]})"
        )


def page_widths(page: Page) -> list[int]:
    """[the document's scrollWidth, the context's viewport width]. Not `innerWidth`: in a
    mobile context (`is_mobile`) Chromium zooms out to fit a page wider than the screen and
    `innerWidth` grows with it, so a page that scrolls sideways on a phone would pass."""
    return [page.evaluate("() => document.documentElement.scrollWidth"),
            (page.viewport_size or {"width": 0})["width"]]


def open_account_menu(page: Page) -> None:
    """Open the header's account menu (a <details>: profile, sessions, language, logout)."""
    menu = page.locator("header details.account-menu")
    if menu.get_attribute("open") is None:
        menu.locator("summary").click()


def log_out(page: Page) -> None:
    """Log out with the account menu's button."""
    open_account_menu(page)
    page.get_by_test_id("logout").click()


def check_console(page: Page, where: str) -> None:
    errors = page.console_errors  # type: ignore[attr-defined]
    assert not errors, f"{where}: console errors:\n" + "\n".join(errors)




# htmx has finished swapping and settling, and has wired up (hx-* attributes processed)
# every hx element: htmx marks one it has wired up with `initHash` in its internal data.
_HTMX_WIRED = ("!document.querySelector('.htmx-settling, .htmx-swapping, .htmx-request')"
               " && [...document.querySelectorAll('[hx-get], [hx-post]')].every("
               "e => (e['htmx-internal-data'] || {}).initHash)")


def htmx_settled(page: Page, *, loaded: bool = False) -> None:
    """Wait until htmx has finished swapping and settling: content swapped in is only wired
    up (hx-* attributes processed) after the settle delay, and a click on it before that is
    a plain link click (a full page load). A page that gets htmx on intent (app.js
    data-htmx-on-intent) is settled while htmx is not there yet (app.js holds a click made
    before it arrives), unless `loaded`: then htmx itself must be there too."""
    if page.js_enabled:  # type: ignore[attr-defined]
        if loaded:
            page.wait_for_function(f"() => window.htmx && {_HTMX_WIRED}")
        else:
            page.wait_for_function(
                "() => (!window.htmx && document.querySelector('script[data-htmx-on-intent]'))"
                f" || {_HTMX_WIRED}")
