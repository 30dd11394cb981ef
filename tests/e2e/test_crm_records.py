"""Deleting and archiving CRM records in a real browser: with JavaScript the confirm step
replaces the record's buttons in place (htmx), without it the same links open the confirm
page; either way "Ya, hapus" deletes and lands on the list. On a 1024x600 tablet and a
360px phone, with touch targets of at least 44px and no console (CSP) errors."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect

from app import create_app
from app.config import TestConfig
from tests.e2e.conftest import CONTEXTS, MIN_TAP, htmx_settled, open_page, page_widths, serve
from tests.factories import DEFAULT_PASSWORD as PASSWORD

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def records_server(tmp_path_factory) -> Iterator[tuple[str, object]]:
    """A live server with its own SQLite file and a staff member."""
    root = tmp_path_factory.mktemp("e2e-crm-records")
    application = create_app(TestConfig,
                             SQLALCHEMY_DATABASE_URI=f"sqlite:///{root / 'crm.db'}",
                             INSTANCE_PATH=str(root / "instance"), JOBS_MODE="sync")
    with application.app_context():
        from flask_migrate import upgrade

        from app.extensions import db
        from tests.factories import make_user

        upgrade()
        make_user(email="records@example.test", roles=("staff",), password=PASSWORD)
        db.session.commit()
    with serve(application) as base_url:
        yield base_url, application


def _company(application, name: str) -> int:
    with application.app_context():
        from app.accounts.models import Company
        from app.extensions import db

        company = Company(name=name)
        db.session.add(company)
        db.session.commit()
        return company.id


@pytest.fixture(params=list(CONTEXTS), ids=list(CONTEXTS))
def page(request, chromium_browser, records_server) -> Iterator[Page]:
    base_url, _ = records_server
    with open_page(chromium_browser, base_url, request.param) as opened:
        yield opened


def _axe_path() -> Path:
    vendored = Path(__file__).parent / "vendor" / "axe.min.js"
    return vendored if vendored.exists() else Path("/work/shared-tools/axe.min.js")


def _axe_violations(page: Page, selector: str) -> list[str]:
    """axe-core's serious and critical violations inside `selector` (the page's own shell
    is the navigation's test); nothing to check without JavaScript or without axe."""
    if not page.js_enabled or not _axe_path().exists():  # type: ignore[attr-defined]
        return []
    page.evaluate(_axe_path().read_text())
    result = page.evaluate("s => axe.run(s, {resultTypes: ['violations']})", selector)
    return [f"{v['id']}: {v['help']}" for v in result["violations"]
            if v.get("impact") in ("serious", "critical")]


def _log_in(page: Page) -> None:
    page.goto("/masuk")
    page.fill("#login-form [name=email]", "records@example.test")
    page.fill("#login-form [name=password]", PASSWORD)
    with page.expect_navigation():
        page.click("#login-form button[type=submit]")


def test_delete_a_company_with_the_confirm_step(page: Page, records_server) -> None:
    _, application = records_server
    name = f"PT Peramban {id(page)}"
    company_id = _company(application, name)
    _log_in(page)
    page.goto(f"/crm/perusahaan/{company_id}")
    htmx_settled(page)
    delete = page.locator("#record-actions").get_by_role("link", name="Hapus")
    box = delete.bounding_box()
    assert box is not None and box["height"] >= MIN_TAP
    delete.click()
    confirm = page.get_by_role("button", name="Ya, hapus")
    expect(confirm).to_be_visible()
    if page.js_enabled:  # type: ignore[attr-defined]
        # Inline: still the detail page, the buttons replaced by the question.
        assert page.url.endswith(f"/crm/perusahaan/{company_id}")
        expect(page.locator("#record-actions #crm-confirm")).to_be_visible()
    else:
        assert page.url.endswith(f"/crm/perusahaan/{company_id}/hapus")
    box = confirm.bounding_box()
    assert box is not None and box["height"] >= MIN_TAP
    assert _axe_violations(page, "#crm-confirm") == []
    widths = page_widths(page)
    assert widths[0] <= widths[1], "the page scrolls sideways"
    with page.expect_navigation():
        confirm.click()
    assert page.url.endswith("/crm/perusahaan")
    expect(page.get_by_text(f"{name} dihapus.")).to_be_visible()
    assert not page.console_errors, page.console_errors  # type: ignore[attr-defined]


def test_cancel_leaves_the_company_alone(page: Page, records_server) -> None:
    _, application = records_server
    company_id = _company(application, f"PT Tetap {id(page)}")
    _log_in(page)
    page.goto(f"/crm/perusahaan/{company_id}")
    htmx_settled(page)
    page.locator("#record-actions").get_by_role("link", name="Arsipkan").click()
    expect(page.get_by_role("button", name="Ya, arsipkan")).to_be_visible()
    page.locator("#crm-confirm").get_by_role("link", name="Batal").click()
    expect(page.locator("#record-actions").get_by_role("link", name="Hapus")).to_be_visible()
    assert page.url.endswith(f"/crm/perusahaan/{company_id}")
    assert not page.console_errors, page.console_errors  # type: ignore[attr-defined]
