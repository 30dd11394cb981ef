"""Two-factor login in a real browser: a staff member (a role that must use 2FA) is held at
the enrolment page, takes the key shown for manual entry, confirms with a code, sees the
recovery codes once, logs out, and logs in again with password + code.

Runs in the three contexts (1024x600, a 360px phone, and without JavaScript); the code is
computed in the test with pyotp from the secret shown on the page."""

from __future__ import annotations

import itertools
import re
import time
from collections.abc import Iterator

import pyotp
import pytest
from playwright.sync_api import Page, expect

from app import create_app
from app.config import TestConfig
from tests.e2e.conftest import CONTEXTS, check_console, check_layout, log_out, open_page, serve
from tests.factories import DEFAULT_PASSWORD as PASSWORD

pytestmark = pytest.mark.e2e
_emails = (f"staf{n}@example.test" for n in itertools.count(1))


@pytest.fixture(scope="module")
def totp_server(tmp_path_factory) -> Iterator[tuple[str, object]]:
    """A live server where staff must use two-factor login."""
    root = tmp_path_factory.mktemp("e2e-totp")
    application = create_app(TestConfig, SQLALCHEMY_DATABASE_URI=f"sqlite:///{root / 't.db'}",
                             INSTANCE_PATH=str(root / "instance"), JOBS_MODE="sync",
                             TOTP_REQUIRED_ROLES=("staff",))
    with application.app_context():
        from flask_migrate import upgrade

        upgrade()
    with serve(application) as base_url:
        yield base_url, application


def _new_staff(application) -> str:
    with application.app_context():
        from app.extensions import db
        from tests.factories import make_user

        email = next(_emails)
        make_user(email=email, roles=("staff",), password=PASSWORD)
        db.session.commit()
        return email


@pytest.fixture(params=list(CONTEXTS), ids=list(CONTEXTS))
def page(request, chromium_browser, totp_server) -> Iterator[Page]:
    base_url, _ = totp_server
    with open_page(chromium_browser, base_url, request.param) as opened:
        yield opened


def _password_step(page: Page, email: str) -> None:
    page.goto("/masuk")
    page.fill("#login-form [name=email]", email)
    page.fill("#login-form [name=password]", PASSWORD)
    page.click("#login-form button[type=submit]")


def test_enrol_then_log_in_with_a_code(page: Page, totp_server) -> None:
    _, application = totp_server
    email = _new_staff(application)

    _password_step(page, email)
    page.wait_for_url(re.compile(r"/akun/2fa$"))  # held at the enrolment page
    expect(page.get_by_test_id("totp-required")).to_be_visible()
    expect(page.get_by_test_id("totp-qr")).to_be_visible()
    check_layout(page, "enrolment")
    page.goto("/")  # any other page sends the user back
    page.wait_for_url(re.compile(r"/akun/2fa$"))

    secret = (page.get_by_test_id("totp-secret").text_content() or "").replace(" ", "")
    assert re.fullmatch(r"[A-Z2-7]{32}", secret), secret
    totp = pyotp.TOTP(secret)
    page.fill("#totp-enable-form [name=code]", totp.now())
    page.click("#totp-enable-form button[type=submit]")
    expect(page.get_by_test_id("recovery-code")).to_have_count(10)
    check_layout(page, "recovery codes")
    page.get_by_test_id("codes-saved").click()
    page.wait_for_url(re.compile(r"/akun$"))

    log_out(page)
    page.wait_for_url(re.compile(r"/$"))
    _password_step(page, email)
    page.wait_for_url(re.compile(r"/masuk/verifikasi$"))
    # The enrolment code's step is spent: the next step's code (accepted, +30 s).
    page.fill("#verify-form [name=code]", totp.at(time.time() + 30))
    page.click("#verify-form button[type=submit]")
    page.wait_for_url(re.compile(r"/$"))
    page.goto("/akun")
    expect(page.get_by_test_id("totp-link")).to_be_visible()
    check_layout(page, "logged in")
    check_console(page, "two-factor flow")
