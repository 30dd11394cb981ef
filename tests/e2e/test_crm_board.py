"""The CRM leads board in a real browser: the move buttons work with htmx (the board is
swapped in place) and without JavaScript (plain POST + 303), on a 1024x600 tablet and a
360px phone, with touch targets of at least 44px and no console (CSP) errors."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from playwright.sync_api import Page, expect

from app import create_app
from app.config import TestConfig
from tests.e2e.conftest import CONTEXTS, MIN_TAP, open_page, page_widths, serve
from tests.factories import DEFAULT_PASSWORD as PASSWORD

pytestmark = pytest.mark.e2e

@pytest.fixture(scope="module")
def crm_server(tmp_path_factory) -> Iterator[tuple[str, object]]:
    """A live server with its own SQLite file, a staff member and nothing else."""
    root = tmp_path_factory.mktemp("e2e-crm")
    application = create_app(TestConfig, SQLALCHEMY_DATABASE_URI=f"sqlite:///{root / 'crm.db'}",
                             INSTANCE_PATH=str(root / "instance"), JOBS_MODE="sync")
    with application.app_context():
        from flask_migrate import upgrade

        from app.extensions import db
        from tests.factories import make_user

        upgrade()
        staff = make_user(email="sales@example.test", roles=("staff",), password=PASSWORD)
        staff.position = "sales"
        db.session.commit()
    with serve(application) as base_url:
        yield base_url, application


def _new_lead(application, title: str) -> int:
    with application.app_context():
        from app.crm.models import Lead
        from app.extensions import db

        lead = Lead(title=title, company_name="PT Peramban", estimated_value=1_000_000)
        db.session.add(lead)
        db.session.commit()
        return lead.id


@pytest.fixture(params=list(CONTEXTS), ids=list(CONTEXTS))
def page(request, chromium_browser, crm_server) -> Iterator[Page]:
    base_url, _ = crm_server
    with open_page(chromium_browser, base_url, request.param) as opened:
        yield opened


def test_move_a_lead_on_the_board(page: Page, crm_server) -> None:
    _, application = crm_server
    lead_id = _new_lead(application, f"Serum uji {id(page)}")
    page.goto("/masuk")
    page.fill("#login-form [name=email]", "sales@example.test")
    page.fill("#login-form [name=password]", PASSWORD)
    with page.expect_navigation():
        page.click("#login-form button[type=submit]")

    page.goto("/crm/")
    card = page.get_by_test_id(f"lead-{lead_id}")
    expect(page.locator("section.board-new").get_by_test_id(f"lead-{lead_id}")).to_be_visible()
    button = card.get_by_role("button", name="Dihubungi →")
    box = button.bounding_box()
    assert box is not None and box["height"] >= MIN_TAP
    widths = page_widths(page)
    assert widths[0] <= widths[1], "the page scrolls sideways (only the board may)"

    with page.expect_response(lambda r: r.request.method == "POST"
                              and r.url.endswith(f"/crm/prospek/{lead_id}/status")) as answer:
        button.click()
    response = answer.value
    if page.js_enabled:  # type: ignore[attr-defined]
        assert response.request.all_headers().get("hx-request") == "true"
        assert response.status == 200  # the board partial, swapped in place
    else:
        assert response.status == 303
    contacted = page.locator("section.board-contacted")
    expect(contacted.get_by_test_id(f"lead-{lead_id}")).to_be_visible()
    expect(page.locator("section.board-new").get_by_test_id(f"lead-{lead_id}")).to_have_count(0)
    assert not page.console_errors, page.console_errors  # type: ignore[attr-defined]
