"""Browser-test fixtures: a live Racik server and a headless Debian Chromium.

The live server has its own SQLite file and instance folder: it never shares state with the
`app` fixture of tests/conftest.py (e2e tests must not request `app`, so `_clean_state`
leaves them alone). Chromium missing or failing to start fails the run under CI=true and is
a loud skip elsewhere (`missing_service`).
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from werkzeug.serving import make_server

from app import create_app
from app.config import TestConfig
from tests.conftest import missing_service

CHROMIUM = Path("/usr/bin/chromium")
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
    """The app served over HTTP on a free port of 127.0.0.1; yields the base URL."""
    root = tmp_path_factory.mktemp("e2e")
    instance = root / "instance"
    application = create_app(
        TestConfig,
        SQLALCHEMY_DATABASE_URI=f"sqlite:///{root / 'e2e.db'}",
        INSTANCE_PATH=str(instance),
        JOBS_MODE="sync",
    )
    instance.mkdir(parents=True, exist_ok=True)
    with application.app_context():
        from flask_migrate import upgrade

        upgrade()

    server = make_server("127.0.0.1", 0, application, threaded=True)
    thread = threading.Thread(target=server.serve_forever, name="e2e-live-server", daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=10)
        with application.app_context():
            from app.extensions import db

            db.engine.dispose()


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
