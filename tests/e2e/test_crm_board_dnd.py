"""The CRM board's drag and drop in a real Chromium: a card dragged with the mouse (HTML5
drag and drop) or with a finger (touch → pointer events, on a 360px phone) to another stage
is posted with the CSRF header, the board swapped in place, and the move is still there
after a reload; a stage the pipeline does not allow does not take the card."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import pytest
from playwright.sync_api import Page, expect

from app import create_app
from app.config import TestConfig
from tests.e2e.conftest import open_page, serve
from tests.factories import DEFAULT_PASSWORD as PASSWORD

pytestmark = pytest.mark.e2e

EMAIL = "dnd@example.test"


@pytest.fixture(scope="module")
def dnd_server(tmp_path_factory) -> Iterator[tuple[str, object]]:
    root = tmp_path_factory.mktemp("e2e-crm-dnd")
    application = create_app(TestConfig, SQLALCHEMY_DATABASE_URI=f"sqlite:///{root / 'crm.db'}",
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


def _new_lead(application, title: str) -> int:
    with application.app_context():
        from app.crm.models import Lead
        from app.extensions import db

        lead = Lead(title=title, company_name="PT Seret", estimated_value=2_000_000)
        db.session.add(lead)
        db.session.commit()
        return lead.id


def _status(application, lead_id: int) -> str:
    with application.app_context():
        from app.crm.models import Lead
        from app.extensions import db

        status = db.session.get(Lead, lead_id).status
        db.session.remove()
        return status


@contextmanager
def _board(chromium_browser, base_url: str, context: str) -> Iterator[Page]:
    with open_page(chromium_browser, base_url, context) as page:
        page.goto("/masuk")
        page.fill("#login-form [name=email]", EMAIL)
        page.fill("#login-form [name=password]", PASSWORD)
        with page.expect_navigation():
            page.click("#login-form button[type=submit]")
        page.goto("/crm/")
        yield page


def test_drag_a_card_with_the_mouse_and_it_stays_after_reload(chromium_browser, dnd_server):
    base_url, application = dnd_server
    lead_id = _new_lead(application, "Serum seret mouse")
    with _board(chromium_browser, base_url, "desktop-1024x600") as page:
        card = f"[data-testid=lead-{lead_id}]"
        expect(page.locator(f"section.board-new {card}")).to_be_visible()
        with page.expect_response(lambda r: r.request.method == "POST"
                                  and r.url.endswith(f"/crm/prospek/{lead_id}/status")) as answer:
            page.drag_and_drop(f"section.board-new {card}", "section.board-contacted")
        response = answer.value
        headers = response.request.all_headers()
        assert headers.get("hx-request") == "true" and headers.get("x-csrftoken")
        assert response.status == 200
        expect(page.locator(f"section.board-contacted {card}")).to_be_visible()
        assert _status(application, lead_id) == "contacted"
        page.reload()
        expect(page.locator(f"section.board-contacted {card}")).to_be_visible()
        expect(page.locator(f"section.board-new {card}")).to_have_count(0)
        assert not page.console_errors, page.console_errors  # type: ignore[attr-defined]


def test_a_stage_the_pipeline_forbids_does_not_take_the_card(chromium_browser, dnd_server):
    base_url, application = dnd_server
    lead_id = _new_lead(application, "Serum lompat")
    with _board(chromium_browser, base_url, "desktop-1024x600") as page:
        card = f"[data-testid=lead-{lead_id}]"
        posts: list[str] = []
        page.on("request", lambda r: posts.append(r.url) if r.method == "POST" else None)
        page.drag_and_drop(f"section.board-new {card}", "section.board-proposal")
        expect(page.locator(f"section.board-new {card}")).to_be_visible()
        assert posts == [] and _status(application, lead_id) == "new"


def test_drag_a_card_with_a_finger_on_a_phone(chromium_browser, dnd_server):
    base_url, application = dnd_server
    lead_id = _new_lead(application, "Serum seret jari")
    with _board(chromium_browser, base_url, "phone-360x740") as page:
        card = page.locator(f"section.board-new [data-testid=lead-{lead_id}]")
        grip = card.locator(".card-grip")
        expect(grip).to_be_visible()
        grip_box = grip.bounding_box()
        assert grip_box["width"] >= 44 and grip_box["height"] >= 44
        target = page.locator("section.board-contacted")
        target.scroll_into_view_if_needed()
        grip.scroll_into_view_if_needed()
        start = grip.bounding_box()
        end = target.bounding_box()
        cdp = page.context.new_cdp_session(page)
        x0, y0 = start["x"] + start["width"] / 2, start["y"] + start["height"] / 2
        # The contacted column sits to the right of the new one; aim inside what is visible.
        x1 = min(end["x"] + 30, page.viewport_size["width"] - 5)
        y1 = end["y"] + 40
        with page.expect_response(lambda r: r.request.method == "POST"
                                  and r.url.endswith(f"/crm/prospek/{lead_id}/status")):
            cdp.send("Input.dispatchTouchEvent",
                     {"type": "touchStart", "touchPoints": [{"x": x0, "y": y0}]})
            for step in range(1, 6):
                cdp.send("Input.dispatchTouchEvent", {"type": "touchMove", "touchPoints": [
                    {"x": x0 + (x1 - x0) * step / 5, "y": y0 + (y1 - y0) * step / 5}]})
            cdp.send("Input.dispatchTouchEvent", {"type": "touchEnd", "touchPoints": []})
        moved = page.locator(f"section.board-contacted [data-testid=lead-{lead_id}]")
        expect(moved).to_be_visible()
        assert _status(application, lead_id) == "contacted"
        assert not page.console_errors, page.console_errors  # type: ignore[attr-defined]
