"""The production board as the shop floor sees it: on a 1024x600 tablet the six stages side
by side without sideways scrolling, "Lanjut" on one line and its confirmation inside the first
screen; on a 360x740 phone one stage at a time with tabs (with counts) that also work
without JavaScript (?tahap=); and the board refreshing itself when another user moves an
order, without ever swapping away a confirmation that is open."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from playwright.sync_api import Page, expect

from app import create_app
from app.config import TestConfig
from tests.e2e.conftest import open_page, page_widths, serve
from tests.factories import DEFAULT_PASSWORD as PASSWORD

pytestmark = pytest.mark.e2e

POLL_SECONDS = 2  # the board's polling interval on this server (20 s in production)
SIX_STAGES = ("concept_approved", "material_purchase", "formulation", "qc", "packaging",
              "shipping_scheduled")


@pytest.fixture(scope="module")
def floor_server(tmp_path_factory) -> Iterator[tuple[str, object]]:
    """A live server with its own SQLite file: two staff members and a client's company."""
    root = tmp_path_factory.mktemp("e2e-floor")
    application = create_app(TestConfig,
                             SQLALCHEMY_DATABASE_URI=f"sqlite:///{root / 'floor.db'}",
                             INSTANCE_PATH=str(root / "instance"), JOBS_MODE="sync",
                             PRODUCTION_BOARD_POLL_SECONDS=POLL_SECONDS)
    with application.app_context():
        from flask_migrate import upgrade

        from app.extensions import db
        from tests.factories import make_user
        from tests.maklon.factories import make_company, make_maklon_client

        upgrade()
        make_user(email="lantai@example.test", name="Sari Lantai", roles=("staff",),
                  password=PASSWORD)
        make_user(email="gudang@example.test", name="Budi Gudang", roles=("staff",),
                  password=PASSWORD)
        make_maklon_client(company=make_company(name="PT Kulit Sehat"),
                           email="klien-lantai@example.test", password=PASSWORD)
        db.session.commit()
    with serve(application) as base_url:
        yield base_url, application


def _order(application, stage: str = "concept_approved") -> str:
    """A signed order, all milestones paid (no gate), in `stage`."""
    with application.app_context():
        from sqlalchemy import select

        from app.accounts.models import User
        from app.extensions import db
        from app.maklon.models import MilestoneKind
        from tests.maklon.factories import make_signed_order

        client = db.session.scalars(select(User).where(
            User.email == "klien-lantai@example.test")).one()
        order = make_signed_order(client=client, paid=(MilestoneKind.DP, MilestoneKind.MID,
                                                       MilestoneKind.FINAL))
        order.stage = stage
        db.session.commit()
        return order.number


def _advance_as_other_staff(application, number: str, to: str) -> None:
    """What a second tablet does: one step by another staff member, committed."""
    with application.app_context():
        from sqlalchemy import select

        from app.accounts.models import User
        from app.extensions import db
        from app.maklon.models import MaklonRequest
        from app.maklon.stages import stage_advance

        other = db.session.scalars(select(User).where(
            User.email == "gudang@example.test")).one()
        order = db.session.scalars(select(MaklonRequest).where(
            MaklonRequest.number == number)).one()
        stage_advance(request=order, to=to, actor=other, from_stage=order.stage,
                      qc_result="pass" if order.stage == "qc" else "")
        db.session.commit()


def _log_in(page: Page) -> None:
    page.goto("/masuk")
    page.fill("#login-form [name=email]", "lantai@example.test")
    page.fill("#login-form [name=password]", PASSWORD)
    with page.expect_navigation():
        page.click("#login-form button[type=submit]")


def _line_count(page: Page, selector: str) -> int:
    """How many lines the text of the element wraps to (line boxes of its text)."""
    return page.locator(selector).evaluate(
        "e => { const r = document.createRange(); r.selectNodeContents(e);"
        " const tops = new Set([...r.getClientRects()].map(x => Math.round(x.top)));"
        " return tops.size; }")


def test_tablet_board_shows_all_six_stages_and_the_confirmation_in_the_first_screen(
        chromium_browser, floor_server):
    base_url, application = floor_server
    numbers = {stage: _order(application, stage) for stage in SIX_STAGES}
    with open_page(chromium_browser, base_url, "desktop-1024x600") as page:
        _log_in(page)
        page.goto("/produksi")
        widths = page_widths(page)
        assert widths[0] <= widths[1], f"the page scrolls sideways {widths}"
        board = page.get_by_test_id("production-board")
        inner = board.evaluate("e => [e.scrollWidth, e.clientWidth]")
        assert inner[0] <= inner[1], f"the board scrolls sideways {inner}"
        expect(page.get_by_test_id("stage-tabs")).to_be_hidden()  # tabs are for phones
        for stage in SIX_STAGES:
            column = page.get_by_test_id(f"column-{stage}")
            box = column.bounding_box()
            assert box is not None and box["x"] >= 0 and box["x"] + box["width"] <= 1024, stage
            assert box["y"] < 600, f"{stage} starts below the first screen"
            button = page.get_by_test_id(f"next-{numbers[stage]}")
            assert _line_count(page, f"[data-testid=next-{numbers[stage]}]") == 1, stage
            button_box = button.bounding_box()
            assert button_box is not None and button_box["height"] >= 48
        assert page.get_by_test_id(f"next-{numbers['qc']}").get_attribute(
            "aria-label") == "Catat hasil QC"
        assert page.get_by_test_id(f"next-{numbers['formulation']}").get_attribute(
            "aria-label") == "Lanjut: Kontrol Kualitas"

        page.get_by_test_id(f"next-{numbers['material_purchase']}").click()
        confirm = page.get_by_test_id(f"card-{numbers['material_purchase']}") \
            .get_by_test_id("confirm-step")
        expect(confirm).to_be_visible()
        box = confirm.bounding_box()
        assert box is not None and box["y"] + box["height"] <= 600, \
            f"the confirm button ends at {box and box['y'] + box['height']}px (> 600)"
        assert _line_count(page, "[data-testid=confirm-step]") <= 2
        cancel = page.get_by_test_id("cancel-step").bounding_box()
        assert cancel is not None and cancel["y"] + cancel["height"] <= 600
        widths = page_widths(page)
        assert widths[0] <= widths[1], f"the open form makes the page scroll sideways {widths}"
        assert not page.console_errors, page.console_errors  # type: ignore[attr-defined]


@pytest.mark.parametrize("context", ["phone-360x740", "phone-360x740-no-js"])
def test_phone_board_shows_one_stage_at_a_time_with_tabs(chromium_browser, floor_server,
                                                         context):
    base_url, application = floor_server
    first = _order(application, "concept_approved")
    packed = _order(application, "packaging")
    name = "phone-360x740" if context == "phone-360x740" else "desktop-no-js"
    with open_page(chromium_browser, base_url, name) as page:
        if context.endswith("no-js"):
            page.set_viewport_size({"width": 360, "height": 740})
        _log_in(page)
        page.goto("/produksi")
        tabs = page.get_by_test_id("stage-tabs")
        expect(tabs).to_be_visible()
        expect(page.get_by_test_id("column-concept_approved")).to_be_visible()
        for stage in SIX_STAGES[1:]:
            expect(page.get_by_test_id(f"column-{stage}")).to_be_hidden()
        expect(page.get_by_test_id(f"card-{first}")).to_be_visible()
        packaging_tab = page.get_by_test_id("tab-packaging")
        count = int(packaging_tab.locator(".badge").inner_text())
        assert count >= 1
        box = packaging_tab.bounding_box()
        assert box is not None and box["height"] >= 44
        expect(page.get_by_test_id("tab-concept_approved")).to_have_attribute(
            "aria-current", "true")
        packaging_tab.click()
        expect(page).to_have_url(f"{base_url}/produksi?tahap=packaging")
        expect(page.get_by_test_id("column-packaging")).to_be_visible()
        expect(page.get_by_test_id(f"card-{packed}")).to_be_visible()
        expect(page.get_by_test_id("column-concept_approved")).to_be_hidden()
        expect(page.get_by_test_id("tab-packaging")).to_have_attribute("aria-current", "true")
        if page.js_enabled:  # type: ignore[attr-defined]
            widths = page_widths(page)
            assert widths[0] <= widths[1], f"the page scrolls sideways {widths}"
            # The step from this tab keeps the phone on it.
            page.get_by_test_id(f"next-{packed}").click()
            page.get_by_test_id("confirm-step").click()
            expect(page.get_by_test_id("column-packaging")).to_be_visible()
            expect(page.get_by_test_id("tab-packaging")).to_have_attribute("aria-current",
                                                                             "true")
            expect(page.get_by_test_id(f"card-{packed}")).to_be_hidden()
        assert not page.console_errors, page.console_errors  # type: ignore[attr-defined]


def test_a_step_by_another_user_appears_without_reload_and_an_open_form_stays(
        chromium_browser, floor_server):
    base_url, application = floor_server
    moved = _order(application, "formulation")
    mine = _order(application, "concept_approved")
    with open_page(chromium_browser, base_url, "desktop-1024x600") as page:
        _log_in(page)
        page.goto("/produksi")
        expect(page.get_by_test_id("column-formulation")
               .get_by_test_id(f"card-{moved}")).to_be_visible()
        page.evaluate("() => { window.notReloaded = true; }")

        _advance_as_other_staff(application, moved, "qc")
        expect(page.get_by_test_id("column-qc").get_by_test_id(f"card-{moved}")).to_be_visible(
            timeout=(POLL_SECONDS * 3 + 2) * 1000)
        assert page.evaluate("() => window.notReloaded === true"), "the page was reloaded"

        # An open confirmation is never swapped away by the polling.
        page.get_by_test_id(f"next-{mine}").click()
        page.fill(f"#note-{mine}-board", "Botol datang sore")
        _advance_as_other_staff(application, moved, "packaging")
        page.wait_for_timeout(POLL_SECONDS * 3 * 1000)  # several polling intervals pass
        expect(page.locator(f"#note-{mine}-board")).to_have_value("Botol datang sore")
        expect(page.get_by_test_id("column-qc").get_by_test_id(f"card-{moved}")).to_be_visible()
        page.get_by_test_id("cancel-step").click()
        expect(page.get_by_test_id("column-packaging")
               .get_by_test_id(f"card-{moved}")).to_be_visible()
        assert page.evaluate("() => window.notReloaded === true"), "the page was reloaded"
        assert not page.console_errors, page.console_errors  # type: ignore[attr-defined]
