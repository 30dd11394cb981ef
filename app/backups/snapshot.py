"""Database snapshots: take one consistently, count its rows, load it somewhere else.

SQLite: the online backup API (`sqlite3.Connection.backup`) copies the live database into a
file, page by page, as one consistent read. PostgreSQL: a REPEATABLE READ transaction
exports its snapshot; the row counts and the schema revision are read in it and
`pg_dump -Fc --snapshot=...` dumps exactly that state. Passwords go to pg_dump/pg_restore/
psql through PGPASSWORD, never on the command line.
"""

from __future__ import annotations

import os
import shutil
import sqlite3
import subprocess
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from sqlalchemy import create_engine, text
from sqlalchemy.engine import URL, Connection

from app.extensions import db


class SnapshotError(Exception):
    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


def database_kind() -> str:
    return db.engine.dialect.name  # "sqlite" | "postgresql"


def sqlite_path(url: URL | None = None) -> Path:
    url = url or db.engine.url
    if not url.database or url.database == ":memory:":
        raise SnapshotError("database SQLite di memori tidak bisa dicadangkan")
    return Path(url.database)


def sqlite_tables(connection: sqlite3.Connection) -> list[str]:
    rows = connection.execute(
        "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' "
        "ORDER BY name").fetchall()
    return [name for (name,) in rows]


def sqlite_counts(path: Path) -> tuple[dict[str, int], str]:
    """Row counts per table and the alembic revision of the SQLite file at `path`."""
    connection = sqlite3.connect(path)
    try:
        # Table names come from the catalog, not from input.
        counts = {name: connection.execute(
                      f'SELECT count(*) FROM "{name}"').fetchone()[0]  # noqa: S608
                  for name in sqlite_tables(connection)}
        revision = ""
        if "alembic_version" in counts:
            row = connection.execute("SELECT version_num FROM alembic_version").fetchone()
            revision = row[0] if row else ""
        return counts, revision
    finally:
        connection.close()


def sqlite_snapshot(target: Path) -> tuple[dict[str, int], str]:
    """Copy the live SQLite database into `target` with the online backup API."""
    source = sqlite3.connect(sqlite_path())
    try:
        destination = sqlite3.connect(target)
        try:
            source.backup(destination, pages=4096)
        finally:
            destination.close()
    finally:
        source.close()
    return sqlite_counts(target)


def sqlite_integrity(path: Path) -> str:
    connection = sqlite3.connect(path)
    try:
        return connection.execute("PRAGMA integrity_check").fetchone()[0]
    finally:
        connection.close()


# -- PostgreSQL ------------------------------------------------------------------------

def _pg_env(url: URL) -> dict[str, str]:
    env = dict(os.environ)
    for name, value in (("PGHOST", url.host), ("PGPORT", url.port), ("PGUSER", url.username),
                        ("PGPASSWORD", url.password), ("PGDATABASE", url.database)):
        if value not in (None, ""):
            env[name] = str(value)
    return env


def pg_tool(name: str) -> str:
    path = shutil.which(name)
    if path is None:
        raise SnapshotError(f"{name} tidak ditemukan: pasang postgresql-client")
    return path


def _run(command: list[str], url: URL) -> None:
    result = subprocess.run(command, env=_pg_env(url), capture_output=True, check=False)  # noqa: S603
    if result.returncode != 0:
        detail = result.stderr.decode(errors="replace").strip()[-500:]
        raise SnapshotError(f"{Path(command[0]).name} gagal: {detail}")


def pg_count(connection: Connection) -> tuple[dict[str, int], str]:
    names = connection.execute(text(
        "SELECT table_name FROM information_schema.tables WHERE table_schema = 'public' "
        "AND table_type = 'BASE TABLE' ORDER BY table_name")).scalars().all()
    # Table names come from the catalog, not from input.
    counts = {name: connection.execute(
                  text(f'SELECT count(*) FROM "{name}"')).scalar_one()  # noqa: S608
              for name in names}
    revision = ""
    if "alembic_version" in counts:
        revision = connection.execute(
            text("SELECT version_num FROM alembic_version")).scalar() or ""
    return counts, revision


def pg_snapshot(target: Path) -> tuple[dict[str, int], str]:
    """pg_dump -Fc of one exported snapshot; the counts are read in the same snapshot."""
    url = db.engine.url
    tool = pg_tool("pg_dump")
    engine = create_engine(url, isolation_level="REPEATABLE READ")
    try:
        with engine.connect() as connection:
            connection.execute(text("SET TRANSACTION READ ONLY"))
            snapshot_id = connection.execute(text("SELECT pg_export_snapshot()")).scalar_one()
            counts, revision = pg_count(connection)
            _run([tool, "-Fc", "--no-owner", "--no-privileges", f"--snapshot={snapshot_id}",
                  "-f", str(target)], url)
            connection.rollback()
    finally:
        engine.dispose()
    return counts, revision


@contextmanager
def pg_scratch(url: URL, label: str) -> Iterator[URL]:
    """A throwaway database `<name>_<label>` on the same server, dropped afterwards."""
    name = f"{url.database}_{label}"
    admin = create_engine(url.set(database="postgres"), isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as connection:
            connection.execute(text(f'CREATE DATABASE "{name}"'))
        try:
            yield url.set(database=name)
        finally:
            with admin.connect() as connection:
                connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    finally:
        admin.dispose()


def pg_restore_into(dump: Path, url: URL) -> tuple[dict[str, int], str]:
    """Restore `dump` into the (empty) database at `url`; its counts and revision."""
    _run([pg_tool("pg_restore"), "--no-owner", "--no-privileges", "--exit-on-error",
          "--single-transaction", "-d", str(url.database), str(dump)], url)
    engine = create_engine(url)
    try:
        with engine.connect() as connection:
            return pg_count(connection)
    finally:
        engine.dispose()


def pg_replace(dump: Path, url: URL) -> None:
    """Replace the database at `url` with `dump` in ONE transaction: psql --single-transaction
    runs `DROP SCHEMA public CASCADE; CREATE SCHEMA public;` followed by the dump as SQL
    (pg_restore -f -, streamed). Any error rolls the whole thing back: never half-restored."""
    env = _pg_env(url)
    with tempfile.TemporaryFile() as restore_log, tempfile.TemporaryFile() as psql_log:
        restore = subprocess.Popen(  # noqa: S603
            [pg_tool("pg_restore"), "--no-owner", "--no-privileges", "-f", "-", str(dump)],
            stdout=subprocess.PIPE, stderr=restore_log, env=env)
        psql = subprocess.Popen(  # noqa: S603
            [pg_tool("psql"), "--no-psqlrc", "--quiet", "--single-transaction",
             "-v", "ON_ERROR_STOP=1", "-d", str(url.database), "-f", "-"],
            stdin=subprocess.PIPE, stdout=subprocess.DEVNULL, stderr=psql_log, env=env)
        assert restore.stdout is not None and psql.stdin is not None
        try:
            psql.stdin.write(b"DROP SCHEMA public CASCADE;\nCREATE SCHEMA public;\n")
            shutil.copyfileobj(restore.stdout, psql.stdin, 1024 * 1024)
        except BrokenPipeError:
            pass
        finally:
            psql.stdin.close()
        restore.wait()
        psql.wait()
        restore_log.seek(0)
        psql_log.seek(0)
        restore_err, psql_err = restore_log.read(), psql_log.read()
    if restore.returncode != 0 or psql.returncode != 0:
        detail = (psql_err or restore_err).decode(errors="replace").strip()[-500:]
        raise SnapshotError(f"pemulihan PostgreSQL gagal (tidak ada yang berubah): {detail}")

