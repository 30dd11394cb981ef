"""Database engine behaviour shared by every domain.

SQLite (the embedded default) gets WAL mode, a busy timeout and `BEGIN IMMEDIATE` for
transactions that may write, so two writers queue instead of failing half-way. Requests with
a safe method (GET/HEAD/OPTIONS) start a deferred transaction: they only read, and readers
never block writers in WAL mode. PostgreSQL needs none of this.
"""

from __future__ import annotations

import contextvars
import logging
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any, TypeVar

from flask import Flask, g, request
from sqlalchemy import event
from sqlalchemy.engine import CursorResult, Engine, Result
from sqlalchemy.exc import DBAPIError, IntegrityError
from sqlalchemy.orm import Session

from app.extensions import db

T = TypeVar("T")
log = logging.getLogger(__name__)

# True: the next SQLite transaction starts with BEGIN IMMEDIATE (takes the write lock).
_sqlite_immediate: contextvars.ContextVar[bool] = contextvars.ContextVar(
    "sqlite_immediate", default=True
)


def set_read_only_transactions(read_only: bool) -> None:
    """Declare that this context's SQLite transactions only read (deferred BEGIN)."""
    _sqlite_immediate.set(not read_only)


def transactions_may_write() -> bool:
    """True when this context's transactions take SQLite's write lock (unsafe methods, jobs)."""
    return _sqlite_immediate.get()


@contextmanager
def write_connection() -> Iterator:
    """A short, separate write transaction (committed on exit), for bookkeeping during a
    read-only request. Never use it for business writes, and never while this context's own
    transaction may hold SQLite's write lock (see `transactions_may_write`): it would wait
    for itself."""
    token = _sqlite_immediate.set(True)
    try:
        with db.engine.begin() as connection:
            yield connection
    finally:
        _sqlite_immediate.reset(token)


def _configure_sqlite(engine: Engine) -> None:
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection, connection_record) -> None:  # pragma: no cover - glue
        # Let SQLAlchemy emit BEGIN itself (pysqlite's implicit BEGIN is deferred and late).
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA busy_timeout=15000")
        if engine.url.database not in (None, "", ":memory:"):
            cursor.execute("PRAGMA journal_mode=WAL")
            cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(connection) -> None:  # pragma: no cover - glue
        connection.exec_driver_sql("BEGIN IMMEDIATE" if _sqlite_immediate.get() else "BEGIN")


def init_db(app: Flask) -> None:
    """Attach backend-specific behaviour to the engine(s) once they exist, and make the
    request cycle survive database connections that die (`init_dead_connection_guard`)."""
    with app.app_context():
        engine = db.engine
        if engine.dialect.name == "sqlite":
            _configure_sqlite(engine)
    init_dead_connection_guard(app)


def _end_session_quietly(end: Callable[[], None], what: str) -> None:
    """Run `end` (the session's rollback or close); when its connection died, that raises
    too: log it, drop the connection (invalidated, never back in the pool) and go on."""
    try:
        end()
    except DBAPIError:
        log.warning("%s failed on a dead database connection; dropped it", what,
                    exc_info=True)
        try:
            db.session().invalidate()  # scoped_session's typing lacks invalidate
        except Exception:  # nothing more can be done with that connection
            log.debug("invalidate failed", exc_info=True)


def session_rollback_quietly() -> None:
    """Roll the session back, surviving a dead connection (`_end_session_quietly`)."""
    _end_session_quietly(db.session.rollback, "rollback")


def connection_died(error: BaseException) -> bool:
    """True when `error` is the database connection dying (terminated, network lost)."""
    return isinstance(error, DBAPIError) and bool(error.connection_invalidated)


def init_dead_connection_guard(app: Flask) -> None:
    """A dead connection must not turn a finished answer into a 500.

    - Teardown: the session is closed (its rollback) before Flask-SQLAlchemy removes it;
      on a connection that died after the answer was rendered that fails, and is logged
      and swallowed (the connection invalidated) instead of failing the request.
    - Reads: a GET/HEAD whose connection died (nothing is written on those: DESIGN §5)
      runs once more on a new connection before an error page is considered.
    Idle connections that died in the pool are caught by `pool_pre_ping` (config).
    """

    @app.teardown_appcontext  # registered after Flask-SQLAlchemy's: runs before it
    def _close_session_quietly(exc: BaseException | None) -> None:
        # A request that never touched the database (the anonymous home page from the
        # cache, static files) has no session: reaching for db.session would create one.
        if db.session.registry.has():
            _end_session_quietly(db.session.close, "closing the session")

    handle = app.handle_user_exception

    def handle_user_exception(error: Exception):
        if (connection_died(error) and request.method in ("GET", "HEAD")
                and not g.get("_db_retried")):
            g._db_retried = True
            log.warning("database connection died during %s %s; once more on a new one",
                        request.method, request.path)
            session_rollback_quietly()
            g.pop("_login_user", None)  # loaded through the dead session: load it again
            try:
                response = app.preprocess_request()
                return response if response is not None else app.dispatch_request()
            except Exception as again:
                return handle(again)
        return handle(error)

    # This app's handler wraps Flask's bound one; Flask's typing only knows the method.
    app.handle_user_exception = handle_user_exception  # type: ignore[method-assign, assignment]


def after_outer_commit(listener: Callable[[Session], None]) -> None:
    """Call `listener(session)` once the outermost transaction of a session has committed.

    SQLAlchemy also fires `after_commit` when a SAVEPOINT (`begin_nested`) is released; the
    real transaction is still open then (it may yet roll back, and may hold SQLite's write
    lock), so side effects waiting for the commit (jobs, file deletions) must wait longer.
    """

    @event.listens_for(Session, "after_commit")
    def _after_commit(session: Session) -> None:
        if not session.in_nested_transaction():
            listener(session)


def after_outer_rollback(listener: Callable[[Session], None]) -> None:
    """Call `listener(session)` once the outermost transaction has rolled back (a savepoint
    rolling back alone does not count)."""

    @event.listens_for(Session, "after_soft_rollback")
    def _after_rollback(session: Session, previous_transaction) -> None:
        if not session.in_transaction():
            listener(session)


# Schema objects made by hand in migrations that the models cannot describe (the product
# search index, see app/catalog/search.py). Autogenerate and the models-vs-migrations test
# leave them alone.
HAND_MADE_SCHEMA = {
    ("table", "product_fts"),
    ("column", "search_vector"),
    ("index", "ix_products_search"),
}


def rowcount(result: Result[Any]) -> int:
    """The number of rows an UPDATE or DELETE touched. `Session.execute` is typed to return
    a plain `Result` when it cannot tell the statement's kind; a DML statement's result is
    always a `CursorResult`, which counts them."""
    assert isinstance(result, CursorResult), type(result)
    return result.rowcount


def add_once(row: T, find: Callable[[], T | None]) -> tuple[T, bool]:
    """Insert `row` in a savepoint; when a unique constraint says a concurrent transaction
    inserted the same thing first, return that row instead (`find` looks it up once the
    winner committed — PostgreSQL makes us wait for it). Returns (row, created)."""
    try:
        with db.session.begin_nested():
            db.session.add(row)
    except IntegrityError:
        existing = find()
        if existing is None:
            raise
        return existing, False
    return row, True


def schema_include_object(obj, name: str | None, type_: str, reflected: bool,
                          compare_to) -> bool:
    """Alembic `include_object`: skip the hand-made search objects (and FTS5 shadow tables)."""
    if type_ == "table" and name and name.startswith("product_fts"):
        return False
    return (type_, name) not in HAND_MADE_SCHEMA
