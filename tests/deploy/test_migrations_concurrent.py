"""Several web nodes start together and each runs `flask db upgrade` (docker/entrypoint.sh):
migrations/env.py serialises them with a PostgreSQL advisory lock (two runs used to collide:
UniqueViolation pg_type_typname_nsp_index), and an upgrade with nothing pending does no
migration work at all (issue 19, "Migrations"). Real `flask` processes, a fresh database."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import create_engine, inspect, text
from sqlalchemy.engine import make_url

from app import normalize_database_url
from app.extensions import db as _db
from tests.conftest import missing_service

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture
def fresh_database(request, app, database_url) -> Iterator[str]:
    """An empty PostgreSQL database next to the suite's (the xdist worker's own), dropped
    afterwards."""
    if request.config.getoption("--db") != "postgres":
        pytest.skip("PostgreSQL's advisory lock: run with --db=postgres")
    suite = make_url(database_url)
    name = f"{suite.database}_migrate"
    server = create_engine(suite.set(database="postgres"), isolation_level="AUTOCOMMIT")
    try:
        with server.connect() as connection:
            connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
            connection.execute(text(f'CREATE DATABASE "{name}"'))
    except Exception as error:
        missing_service(f"PostgreSQL at {suite}: {error}")
    url = suite.set(database=name)
    try:
        yield url.render_as_string(hide_password=False)
    finally:
        with server.connect() as connection:
            connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        server.dispose()


def _upgrade(url: str) -> subprocess.Popen:
    flask = Path(sys.executable).with_name("flask")
    env = {**os.environ, "FLASK_APP": "wsgi.py", "DATABASE_URL": url, "REDIS_URL": "",
           "RACIK_ENV": "development", "LOG_LEVEL": "INFO"}
    return subprocess.Popen([str(flask), "db", "upgrade"], cwd=REPO, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)


def _finish(process: subprocess.Popen) -> tuple[int, str]:
    output, _ = process.communicate(timeout=180)
    return process.returncode, output


def test_two_nodes_upgrading_a_fresh_database_at_once_both_succeed(fresh_database, app):
    first, second = _upgrade(fresh_database), _upgrade(fresh_database)
    results = [_finish(first), _finish(second)]
    for code, output in results:
        assert code == 0, output[-3000:]
    # One of them ran the migrations, the other waited and found nothing to do.
    assert sum("Running upgrade" in output for _code, output in results) == 1
    engine = create_engine(normalize_database_url(fresh_database))
    try:
        tables = set(inspect(engine).get_table_names())
        with engine.connect() as connection:
            version = connection.execute(text("SELECT version_num FROM alembic_version")
                                         ).scalars().all()
    finally:
        engine.dispose()
    with app.app_context():
        assert {table.name for table in _db.metadata.sorted_tables} <= tables
        from alembic.script import ScriptDirectory

        heads = ScriptDirectory.from_config(app.extensions["migrate"].migrate.get_config())
        assert version == list(heads.get_heads())


def test_an_upgrade_with_nothing_pending_runs_no_ddl(fresh_database):
    """Measured, not asserted on time: the second run's DDL is recorded by an event trigger
    (every CREATE/ALTER/DROP), and there is none."""
    code, output = _finish(_upgrade(fresh_database))
    assert code == 0, output[-3000:]
    engine = create_engine(normalize_database_url(fresh_database), isolation_level="AUTOCOMMIT")
    try:
        with engine.connect() as connection:
            connection.execute(text("CREATE TABLE ddl_seen (tag text, at timestamptz)"))
            connection.execute(text(
                "CREATE FUNCTION ddl_note() RETURNS event_trigger LANGUAGE plpgsql AS "
                "$$ BEGIN INSERT INTO ddl_seen VALUES (tg_tag, now()); END $$"))
            connection.execute(text("CREATE EVENT TRIGGER ddl_note ON ddl_command_start "
                                    "EXECUTE FUNCTION ddl_note()"))
        started = time.monotonic()
        code, output = _finish(_upgrade(fresh_database))
        elapsed = time.monotonic() - started
        assert code == 0, output[-3000:]
        with engine.connect() as connection:
            seen = connection.execute(text("SELECT tag FROM ddl_seen")).scalars().all()
            connection.execute(text("DROP EVENT TRIGGER ddl_note"))
    finally:
        engine.dispose()
    assert seen == []
    assert "Database at head: nothing to migrate." in output
    assert "Running upgrade" not in output
    print(f"flask db upgrade at head: {elapsed:.2f} s (process start and app import included)")
