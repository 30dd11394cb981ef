"""Test fixtures: `app`, `client`, `db` and `login_as`, on SQLite or PostgreSQL.

    pytest --db=sqlite      (default) a fresh SQLite file per run, WAL mode as in production
    pytest --db=postgres    TEST_DATABASE_URL (default postgresql:///test), schema rebuilt

The schema is built by running the Alembic migrations (so every run also proves they
apply); every table is emptied after each test. Services that are missing (PostgreSQL,
Redis, Chromium) fail the run under CI=true and are a loud skip elsewhere.

Parallel runs (pytest-xdist, `make test` uses `-n 2 --dist loadgroup`): every worker is its
own process with its own `app`, its own SQLite file (tmp_path_factory is per worker) or its
own PostgreSQL database (`<TEST_DATABASE_URL's database>_gw0`, `_gw1`, … created on first
use), its own live servers on free ports and its own demo-shop copy (tests/demo_copy.py).
The tests that use Redis (one shared REDIS_URL, flushed by `redis_url`) all run on one
worker: they are the xdist group "redis".
"""

from __future__ import annotations

import os
import re
import warnings
from collections.abc import Iterator
from functools import lru_cache
from pathlib import Path

import pytest
from flask import Flask, has_app_context
from flask.testing import FlaskClient
from sqlalchemy import create_engine, text

from app import create_app, normalize_database_url
from app.config import TestConfig
from app.core.cache import csrf_form_token
from app.extensions import db as _db
from app.extensions import limiter
from tests.demo_copy import demo_shop_prebuild
from tests.factories import DEFAULT_PASSWORD, make_user
from tests.live import serve

CSRF_INPUT = re.compile(r'name="csrf_token"[^>]*value="([^"]+)"')
UNDER_CI = os.environ.get("CI", "").lower() == "true"


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption("--db", choices=("sqlite", "postgres"), default="sqlite",
                     help="database backend for the suite")
    parser.addoption("--database-tests-only", action="store_true",
                     help="leave out the tests that use no database of --db (no "
                          "`database_url` among their fixtures): `make test-postgres` runs "
                          "only what PostgreSQL can change, the rest ran on SQLite")


def missing_service(message: str) -> None:
    """Fail under CI=true, otherwise skip with a warning nobody can miss."""
    if UNDER_CI:
        pytest.fail(f"required service missing under CI=true: {message}", pytrace=False)
    warnings.warn(f"SKIPPING: {message}", stacklevel=2)
    pytest.skip(f"SKIPPED (service missing): {message}")


@pytest.hookimpl(tryfirst=True)
def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """The tests that use the one Redis database carry the `redis` mark (before `-m`
    selects): `make test` runs them in a second, serial pass (the killed-worker recovery
    test loses its job under an xdist worker), and under xdist they share one worker."""
    for item in items:
        fixtures = getattr(item, "fixturenames", ())
        if "redis_url" in fixtures or item.get_closest_marker("redis") or "redis" in item.name:
            item.add_marker(pytest.mark.redis)
            item.add_marker(pytest.mark.xdist_group("redis"))
    if config.getoption("--database-tests-only"):
        # Every test that reaches the suite's database does it through `database_url` (the
        # `app`, `db`, `client` and `live_url` fixtures depend on it); the others (compose
        # and key checks, `make run` in a subprocess on its own SQLite, stylesheets,
        # catalogs) would run the same code a second time.
        kept, unused = [], []
        for item in items:
            uses = "database_url" in getattr(item, "fixturenames", ())
            (kept if uses else unused).append(item)
        if unused:
            config.hook.pytest_deselected(items=unused)
            items[:] = kept


def xdist_worker() -> str:
    """"gw0", "gw1", … in a pytest-xdist worker; "" in a plain (serial) run."""
    return os.environ.get("PYTEST_XDIST_WORKER", "")


def _worker_database(url: str) -> str:
    """The xdist worker's own PostgreSQL database next to `url`'s (created when missing,
    through the server's maintenance database); `url` itself in a serial run."""
    worker = xdist_worker()
    if not worker:
        return url
    from sqlalchemy.engine import make_url

    suite = make_url(url)
    name = f"{suite.database}_{worker}"
    server = create_engine(suite.set(database="postgres"), isolation_level="AUTOCOMMIT")
    try:
        with server.connect() as connection:
            exists = connection.execute(text("SELECT 1 FROM pg_database WHERE datname = :n"),
                                        {"n": name}).first()
            if exists is None:
                connection.execute(text(f'CREATE DATABASE "{name}"'))
    finally:
        server.dispose()
    return suite.set(database=name).render_as_string(hide_password=False)


@pytest.fixture(scope="session", autouse=True)
def _demo_shop_prebuilt(request: pytest.FixtureRequest, tmp_path_factory) -> Iterator[None]:
    """When this run holds browser tests, one of its processes (the first xdist worker)
    starts building the demo shop they share in the background (tests/demo_copy.py)."""
    wanted = xdist_worker() in ("", "gw0") and any(
        item.get_closest_marker("e2e") for item in request.session.items)
    builder = demo_shop_prebuild(tmp_path_factory) if wanted else None
    yield
    if builder is not None:
        builder.wait()


@pytest.fixture(scope="session")
def database_url(request: pytest.FixtureRequest, tmp_path_factory) -> str:
    if request.config.getoption("--db") == "sqlite":
        return f"sqlite:///{tmp_path_factory.mktemp('db') / 'racik-test.db'}"
    url = normalize_database_url(os.environ.get("TEST_DATABASE_URL", "postgresql:///test"))
    try:
        url = _worker_database(url)
    except Exception as error:
        missing_service(f"PostgreSQL at {url}: {error}")
    engine = create_engine(url, isolation_level="AUTOCOMMIT")
    try:
        with engine.connect() as connection:
            connection.execute(text("DROP SCHEMA public CASCADE"))
            connection.execute(text("CREATE SCHEMA public"))
    except Exception as error:
        missing_service(f"PostgreSQL at {url}: {error}")
    finally:
        engine.dispose()
    return url


@pytest.fixture(scope="session")
def app(database_url: str, tmp_path_factory) -> Iterator[Flask]:
    instance = tmp_path_factory.mktemp("instance")
    application = create_app(
        TestConfig,
        SQLALCHEMY_DATABASE_URI=database_url,
        INSTANCE_PATH=str(instance),
    )
    with application.app_context():
        from flask_migrate import upgrade

        upgrade()
    yield application
    with application.app_context():
        _db.engine.dispose()


@pytest.fixture(autouse=True)
def _clean_state(request: pytest.FixtureRequest) -> Iterator[None]:
    """Empty every table (but the seeded roles) and reset rate limits after each test."""
    yield
    if "app" not in request.fixturenames:
        return
    empty_tables(request.getfixturevalue("app"))


@lru_cache(maxsize=4)
def _pg_empty_statement(tables: tuple[str, ...]) -> str:
    """One round trip that empties PostgreSQL as `TRUNCATE … RESTART IDENTITY` of every
    table would, at a fraction of its cost (that TRUNCATE took ~120 ms per test, the
    PostgreSQL run's biggest cost): only the tables holding rows are emptied, children
    first, with DELETE (the append-only audit log, which refuses DELETE, with TRUNCATE);
    then every sequence a test advanced, rolled-back inserts included, is restarted, so ids
    start at 1 again. `tables` come parents first; the seeded roles are not among them and
    keep their sequence."""
    names = ", ".join(f"'{name}'" for name in reversed(tables))
    return f"""
DO $$
DECLARE
    name text;
    has_rows boolean;
    seq record;
BEGIN
    FOREACH name IN ARRAY ARRAY[{names}]::text[] LOOP
        EXECUTE format('SELECT EXISTS (SELECT 1 FROM %I)', name) INTO has_rows;
        IF has_rows AND name = 'audit_entries' THEN
            EXECUTE format('TRUNCATE %I', name);
        ELSIF has_rows THEN
            EXECUTE format('DELETE FROM %I', name);
        END IF;
    END LOOP;
    FOR seq IN SELECT schemaname, sequencename FROM pg_sequences
               WHERE schemaname = current_schema() AND last_value IS NOT NULL
                 AND sequencename <> 'roles_id_seq' LOOP
        EXECUTE format('ALTER SEQUENCE %I.%I RESTART', seq.schemaname, seq.sequencename);
    END LOOP;
END $$;
"""  # noqa: S608 (the names are our own tables', not input)


def empty_tables(application: Flask) -> None:
    """Empty every table but the seeded roles, and reset the rate limits."""
    with application.app_context():
        _db.session.remove()
        tables = [t for t in _db.metadata.sorted_tables if t.name != "roles"]
        with _db.engine.begin() as connection:
            if connection.dialect.name == "postgresql":
                connection.execute(text(_pg_empty_statement(tuple(t.name for t in tables))))
            else:
                # The audit log's append-only trigger lets only archived rows go: cover them
                # all with one archive row (deleted with the rest).
                connection.execute(text(
                    "INSERT INTO audit_archives (first_id, last_id, first_at, last_at, rows, "
                    "file_key, sha256, size, created_at) VALUES (0, 9223372036854775807, "
                    "'2000-01-01', '2000-01-01', 0, 'test-cleanup', '', 0, '2000-01-01')"))
                for table in reversed(tables):
                    if table.name != "audit_archives":
                        connection.execute(table.delete())
                connection.execute(text("DELETE FROM audit_archives"))
        limiter.reset()


@pytest.fixture(scope="session")
def live_url(app: Flask) -> Iterator[str]:
    """The suite's `app` served over real HTTP on a free port (tests/live.py): arrange rows
    with `db` and commit, then request with `tests.live.raw_request` or any HTTP client."""
    with serve(app) as base_url:
        yield base_url


@pytest.fixture
def db(app: Flask) -> Iterator:
    """The Flask-SQLAlchemy handle inside an app context (for arranging and asserting)."""
    with app.app_context():
        yield _db
        _db.session.remove()


class CsrfClient(FlaskClient):
    """A test client that behaves like a browser against a real server.

    - It sends the page's CSRF token with every form POST (pass `csrf=False` not to).
    - Every request runs in its own app context, as in production: nothing in `g` (the
      logged-in user, the CSRF token) or in the database session leaks from the test's own
      app context into the request or between requests. The test's session is committed
      before (so arranged rows are visible) and after (so it re-reads what the request
      wrote) each request.
    """

    def csrf_token(self) -> str:
        """The form token a page of this browser's session would carry. When the session
        already holds its raw CSRF token it is signed here as Flask-WTF signs it
        (`core.cache.csrf_form_token`; the app sets no time limit), which saves a page
        fetch before every POST (~a third of the suite's requests); otherwise a page is
        fetched, which gives the session its token."""
        signed = self._token_of_session()
        if signed is not None:
            return signed
        response = self._isolated_open("/masuk", method="GET")
        match = CSRF_INPUT.search(response.get_data(as_text=True))
        if match is None:  # logged in: /masuk redirects, use the home page instead
            response = self._isolated_open("/", method="GET")
            match = CSRF_INPUT.search(response.get_data(as_text=True))
        assert match, "no csrf_token found in the page"
        return match.group(1)

    def _token_of_session(self) -> str | None:
        app = self.application
        cookie = self.get_cookie(app.config["SESSION_COOKIE_NAME"])
        if cookie is None:
            return None
        data = app.session_interface.get_signing_serializer(app).loads(cookie.value)
        raw = data.get(app.config.get("WTF_CSRF_FIELD_NAME", "csrf_token"))
        return csrf_form_token(app, raw) if raw else None

    def _isolated_open(self, *args, **kwargs):
        outer = has_app_context()
        if outer:
            _db.session.commit()
        with self.application.app_context():
            response = super().open(*args, **kwargs)
        if outer:
            _db.session.commit()
        return response

    def open(self, *args, csrf: bool = True, **kwargs):
        method = (kwargs.get("method") or "GET").upper()
        if csrf and method in {"POST", "PUT", "PATCH", "DELETE"}:
            data = kwargs.get("data")
            if data is None:
                data = {}
            if isinstance(data, dict) and "csrf_token" not in data:
                # A copy: never write the token into the caller's (maybe shared) dict.
                # Read afresh each time: logging in or out rotates the session.
                kwargs["data"] = {**data, "csrf_token": self.csrf_token()}
        return self._isolated_open(*args, **kwargs)


@pytest.fixture
def client(app: Flask) -> FlaskClient:
    app.test_client_class = CsrfClient
    return app.test_client()


@pytest.fixture
def make_client(app: Flask):
    """Another, independent browser (its own cookies)."""

    def _make() -> CsrfClient:
        app.test_client_class = CsrfClient
        return app.test_client()

    return _make


def log_in(client: FlaskClient, email: str, password: str = DEFAULT_PASSWORD,
           remember: bool = False):
    data = {"email": email, "password": password}
    if remember:
        data["remember"] = "y"
    response = client.post("/masuk", data=data)
    assert response.status_code == 303, response.get_data(as_text=True)[:500]
    return response


@pytest.fixture
def login_as(app: Flask, client: FlaskClient):
    """`login_as("seller")` creates a user with that role (or takes a User) and logs in."""

    def _login(who, target: FlaskClient | None = None):
        with app.app_context():
            if isinstance(who, str):
                user = make_user(roles=(who,))
                _db.session.commit()
                email = user.email
            else:
                email = who.email
        log_in(target or client, email)
        return email

    return _login


@pytest.fixture
def cache_on(app: Flask) -> Iterator:
    """The app's data cache backed by a fresh in-process SimpleCache for this test (the
    suite's app runs with NullCache), taken away again afterwards."""
    from cachelib import SimpleCache

    from app.core.cache import cache

    backend = SimpleCache(threshold=10_000)
    previous = (app.config["CACHE_TYPE"], app.extensions["cache"][cache])
    app.config["CACHE_TYPE"] = "SimpleCache"
    app.extensions["cache"][cache] = backend
    try:
        yield backend
    finally:
        app.config["CACHE_TYPE"], app.extensions["cache"][cache] = previous


@pytest.fixture
def redis_url() -> Iterator[str]:
    """A real Redis (REDIS_URL, default db 15), flushed before and after the test."""
    import redis

    url = os.environ.get("REDIS_URL") or "redis://127.0.0.1:6379/15"
    client = redis.Redis.from_url(url, socket_connect_timeout=1)
    try:
        client.ping()
    except redis.RedisError as error:
        missing_service(f"Redis at {url}: {error}")

    def flush() -> None:  # only our keys: REDIS_URL may point at a shared database
        for pattern in ("rq:*", "racik*"):
            keys = list(client.scan_iter(match=pattern, count=500))
            if keys:
                client.delete(*keys)

    flush()
    yield url
    flush()
    client.close()


@pytest.fixture
def mail_dir(app: Flask) -> Path:
    return Path(app.instance_path) / "mail"
