"""The notification switches in a real Chromium, at 360x740 and 1024x600, with and without
JavaScript: each checkbox is a 44px target, the page does not scroll sideways, axe-core finds
no serious or critical violation, and unticking a switch and saving persists it (htmx swaps
the section in place; without JavaScript a plain POST and 303)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect

from app import create_app
from app.config import TestConfig
from tests.e2e.conftest import CONTEXTS, MIN_TAP, open_page, page_widths, serve
from tests.factories import DEFAULT_PASSWORD as PASSWORD

pytestmark = pytest.mark.e2e

EMAIL = "notif@example.test"
AXE = next((p for p in (Path(__file__).parent / "vendor" / "axe.min.js",
                        Path("/work/shared-tools/axe.min.js")) if p.exists()), None)


@pytest.fixture(scope="module")
def notif_server(tmp_path_factory) -> Iterator[tuple[str, object]]:
    root = tmp_path_factory.mktemp("e2e-notif")
    application = create_app(TestConfig, SQLALCHEMY_DATABASE_URI=f"sqlite:///{root / 'n.db'}",
                             INSTANCE_PATH=str(root / "instance"), JOBS_MODE="sync")
    with application.app_context():
        from flask_migrate import upgrade

        from app.extensions import db
        from tests.factories import make_user

        upgrade()
        make_user(email=EMAIL, roles=("staff",), password=PASSWORD)
        db.session.commit()
    with serve(application) as base_url:
        yield base_url, application


@pytest.fixture(params=list(CONTEXTS), ids=list(CONTEXTS))
def page(request, chromium_browser, notif_server) -> Iterator[Page]:
    base_url, _ = notif_server
    with open_page(chromium_browser, base_url, request.param) as opened:
        yield opened


def _switch_on(application, kind: str) -> bool:
    with application.app_context():
        from app.accounts.models import User
        from app.extensions import db
        from app.notifications.prefs import notification_wanted

        user = db.session.query(User).filter_by(email=EMAIL).one()
        wanted = notification_wanted(user.id, kind, "email")
        db.session.remove()
        return wanted


def test_switches_page_is_usable_and_saves(page: Page, notif_server) -> None:
    _, application = notif_server
    page.goto("/masuk")
    page.fill("#login-form [name=email]", EMAIL)
    page.fill("#login-form [name=password]", PASSWORD)
    with page.expect_navigation():
        page.click("#login-form button[type=submit]")
    page.goto("/akun/notifikasi")
    boxes = page.locator(".notif-check")
    assert boxes.count() == 6
    for index in range(boxes.count()):
        box = boxes.nth(index).bounding_box()
        assert box and box["width"] >= MIN_TAP and box["height"] >= MIN_TAP
    if page.js_enabled:  # type: ignore[attr-defined]
        widths = page_widths(page)
        assert widths[0] <= widths[1], "the page scrolls sideways"
        if AXE is not None:
            page.evaluate(AXE.read_text())
            result = page.evaluate("axe.run(document, {resultTypes: ['violations']})")
            serious = [v["id"] for v in result["violations"]
                       if v["impact"] in ("serious", "critical")]
            assert serious == [], serious
    # Tick it back on first: the contexts share one user.
    checkbox = page.get_by_test_id("pref-task_due-email")
    checkbox.check()
    page.get_by_role("button", name="Simpan pengaturan notifikasi").click()
    expect(page.get_by_test_id("pref-task_due-email")).to_be_checked()
    page.get_by_test_id("pref-task_due-email").uncheck()
    with page.expect_response(lambda r: r.request.method == "POST"
                              and r.url.endswith("/akun/notifikasi")) as answer:
        page.get_by_role("button", name="Simpan pengaturan notifikasi").click()
    if page.js_enabled:  # type: ignore[attr-defined]
        assert answer.value.status == 200
        expect(page.locator("#notification-prefs [role=status]")).to_be_visible()
    else:
        assert answer.value.status == 303
    expect(page.get_by_test_id("pref-task_due-email")).not_to_be_checked()
    assert not _switch_on(application, "task_due")
    page.reload()
    expect(page.get_by_test_id("pref-task_due-email")).not_to_be_checked()
    assert not page.console_errors, page.console_errors  # type: ignore[attr-defined]
