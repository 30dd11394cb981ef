"""The login page as the shared-answers layer gives it (the data cache on, as `make run` and
production have it): in a real browser at 360x740, 1024x600 and without JavaScript, a
first visit gets the page without Flask, with its own session cookie and CSRF token, and
signs in with them."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from app import create_app
from app.config import TestConfig
from tests.demo_copy import demo_shop_copy
from tests.e2e.conftest import CONTEXTS, open_page, page_widths, serve
from tests.factories import DEFAULT_PASSWORD as PASSWORD

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def cached_server(tmp_path_factory) -> Iterator[str]:
    url, instance = demo_shop_copy(tmp_path_factory, "e2e-login-cache")
    application = create_app(TestConfig, SQLALCHEMY_DATABASE_URI=url,
                             INSTANCE_PATH=str(instance), JOBS_MODE="sync",
                             CACHE_TYPE="SimpleCache")
    with application.app_context():
        from app.extensions import db
        from tests.factories import make_user

        for name in CONTEXTS:
            make_user(email=f"{name}@example.test", password=PASSWORD)
        db.session.commit()
    with serve(application) as base_url:
        yield base_url


def test_each_browser_signs_in_from_the_shared_login_page(chromium_browser, cached_server):
    seen: dict[str, str] = {}
    for round_ in ("warm", "signed in"):
        for name in CONTEXTS:
            with open_page(chromium_browser, cached_server, name) as page:
                answer = page.goto("/masuk")
                assert answer is not None and answer.status == 200
                seen[name] = answer.headers.get("x-racik-cache", "")
                if round_ == "warm":
                    continue
                width, viewport = page_widths(page)
                assert width == viewport, name
                page.fill("#login-form [name=email]", f"{name}@example.test")
                page.fill("#login-form [name=password]", PASSWORD)
                with page.expect_navigation():
                    page.click("#login-form button[type=submit]")
                assert "/masuk" not in page.url, (name, page.content()[:500])
                account = page.goto("/akun")
                assert account is not None and account.status == 200
                assert page.url.endswith("/akun"), name
    # Every browser's second visit was the layer's answer, not Flask's.
    assert seen == dict.fromkeys(CONTEXTS, "hit"), seen
