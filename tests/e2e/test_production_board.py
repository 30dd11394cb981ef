"""The production board on a 1024x600 tablet: staff advance an order (one tap, confirm with
a note), and the client's Produksi page, open in another browser, shows the new stage
within one polling interval. Also without JavaScript (confirm page, plain POST + 303), with
touch targets of at least 48px and no sideways scrolling (the stages fit the width)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from playwright.sync_api import Page, expect

from app import create_app
from app.config import TestConfig
from tests.e2e.conftest import open_page, page_widths, serve
from tests.factories import DEFAULT_PASSWORD as PASSWORD

pytestmark = pytest.mark.e2e

BIG_TAP = 48  # px: the board's buttons (gloved hands on a shop-floor tablet)
POLL_SECONDS = 3  # the client's live block on this server (10 s in production)


@pytest.fixture(scope="module")
def production_server(tmp_path_factory) -> Iterator[tuple[str, object]]:
    """A live server with its own SQLite file: one staff member, one client."""
    root = tmp_path_factory.mktemp("e2e-production")
    application = create_app(TestConfig,
                             SQLALCHEMY_DATABASE_URI=f"sqlite:///{root / 'production.db'}",
                             INSTANCE_PATH=str(root / "instance"), JOBS_MODE="sync",
                             PRODUCTION_TIMELINE_POLL_SECONDS=POLL_SECONDS)
    with application.app_context():
        from flask_migrate import upgrade

        from app.extensions import db
        from tests.factories import make_user
        from tests.maklon.factories import make_company, make_maklon_client

        upgrade()
        make_user(email="produksi@example.test", name="Sari Produksi", roles=("staff",),
                  password=PASSWORD)
        company = make_company(name="PT Cantik Alami")
        make_maklon_client(company=company, email="klien@example.test", password=PASSWORD)
        db.session.commit()
    with serve(application) as base_url:
        yield base_url, application


def _new_order(application) -> str:
    """A signed order of the client's company, DP paid (the first step is free to go)."""
    with application.app_context():
        from sqlalchemy import select

        from app.accounts.models import User
        from app.extensions import db
        from app.maklon.models import MilestoneKind
        from tests.maklon.factories import make_signed_order

        client = db.session.scalars(select(User).where(
            User.email == "klien@example.test")).one()
        order = make_signed_order(client=client, paid=(MilestoneKind.DP,))
        db.session.commit()
        return order.number


def _log_in(page: Page, email: str) -> None:
    page.goto("/masuk")
    page.fill("#login-form [name=email]", email)
    page.fill("#login-form [name=password]", PASSWORD)
    with page.expect_navigation():
        page.click("#login-form button[type=submit]")


def _no_sideways_scroll(page: Page, where: str) -> None:
    widths = page_widths(page)
    assert widths[0] <= widths[1], f"{where}: the page scrolls sideways {widths}"


@pytest.mark.parametrize("staff_context", ["desktop-1024x600", "desktop-no-js"])
def test_staff_advance_shows_on_the_clients_page_within_one_poll(chromium_browser,
                                                                 production_server,
                                                                 staff_context):
    base_url, application = production_server
    number = _new_order(application)
    with open_page(chromium_browser, base_url, "desktop-1024x600") as client_page, \
            open_page(chromium_browser, base_url, staff_context) as staff_page:
        _log_in(client_page, "klien@example.test")
        client_page.goto(f"/maklon/{number}/produksi")
        progress = client_page.get_by_test_id("stage-progress")
        expect(progress).to_have_attribute("aria-valuenow", "1")
        _no_sideways_scroll(client_page, "client production page")

        _log_in(staff_page, "produksi@example.test")
        staff_page.goto("/produksi")
        board = staff_page.get_by_test_id("production-board")
        card = board.get_by_test_id(f"card-{number}")
        expect(staff_page.get_by_test_id("column-concept_approved")
               .get_by_test_id(f"card-{number}")).to_be_visible()
        if staff_page.js_enabled:  # type: ignore[attr-defined]
            _no_sideways_scroll(staff_page, "board")
            scroll = board.evaluate("e => [e.scrollWidth, e.clientWidth]")
            assert scroll[0] <= scroll[1], "the six stages fit the tablet's width"
        next_button = card.get_by_test_id(f"next-{number}")
        box = next_button.bounding_box()
        assert box is not None and box["height"] >= BIG_TAP
        next_button.click()
        form = staff_page.get_by_test_id("stage-form")
        expect(form).to_be_visible()
        if staff_page.js_enabled:  # type: ignore[attr-defined]
            # The card itself turned into the confirm form, on the board.
            expect(card.get_by_test_id("stage-form")).to_be_visible()
        staff_page.fill(f"#note-{number}-board", "Bahan baku dipesan ke pemasok")
        confirm = form.get_by_test_id("confirm-step")
        box = confirm.bounding_box()
        assert box is not None and box["height"] >= BIG_TAP
        with staff_page.expect_response(lambda r: r.request.method == "POST") as answer:
            confirm.click()
        assert answer.value.status == (200 if staff_page.js_enabled else 303)  # type: ignore[attr-defined]
        expect(staff_page.get_by_test_id("column-material_purchase")
               .get_by_test_id(f"card-{number}")).to_be_visible()
        # Next step waits for the mid payment: the card says so.
        expect(staff_page.get_by_test_id(f"gate-{number}")).to_contain_text(
            "Menunggu pembayaran termin tengah 40%")

        # The client's page (never reloaded) shows it within one polling interval.
        expect(progress).to_have_attribute("aria-valuenow", "2",
                                           timeout=(POLL_SECONDS + 3) * 1000)
        timeline = client_page.get_by_test_id("timeline")
        expect(timeline.get_by_test_id("timeline-material_purchase")).to_contain_text(
            "Sari Produksi")
        expect(timeline).to_contain_text("Bahan baku dipesan ke pemasok")
        _no_sideways_scroll(client_page, "client production page after the update")
        for opened in (client_page, staff_page):
            assert not opened.console_errors, opened.console_errors  # type: ignore[attr-defined]


def test_a_blocked_gate_is_shown_on_the_card(chromium_browser, production_server):
    base_url, application = production_server
    number = _new_order(application)
    with open_page(chromium_browser, base_url, "desktop-1024x600") as page:
        _log_in(page, "produksi@example.test")
        page.goto("/produksi")
        card = page.get_by_test_id(f"card-{number}")
        card.get_by_test_id(f"next-{number}").click()
        card.get_by_test_id("confirm-step").click()
        expect(page.get_by_test_id("column-material_purchase")
               .get_by_test_id(f"card-{number}")).to_be_visible()
        card = page.get_by_test_id(f"card-{number}")
        card.get_by_test_id(f"next-{number}").click()
        card.get_by_test_id("confirm-step").click()
        # 409 from the gate: the message lands on the card, not somewhere else.
        expect(card.get_by_test_id("stage-error")).to_contain_text(
            "Menunggu pembayaran termin tengah 40%")
        expect(page.get_by_test_id("column-material_purchase")
               .get_by_test_id(f"card-{number}")).to_be_visible()
        # The browser logs every 4xx answer; the 409 itself is the point here.
        unexpected = [e for e in page.console_errors  # type: ignore[attr-defined]
                      if "409" not in e]
        assert not unexpected, unexpected
