"""setting_get remembers, for the rest of the request, that a key was never set (no SELECT
per call), and a setting_set in the same request is read back at once."""

from __future__ import annotations

from sqlalchemy import event

from app.core.settings import setting_get, setting_set


def test_absent_setting_is_selected_once_per_request_and_set_value_is_read_back(app, db):
    statements: list[str] = []

    def count(conn, cursor, statement, *args):
        if "FROM settings" in statement:
            statements.append(statement)

    with app.test_request_context("/"):
        event.listen(db.engine, "before_cursor_execute", count)
        try:
            assert setting_get("bench.absent", 7) == 7
            assert setting_get("bench.absent", 7) == 7
            assert setting_get("bench.absent", 7) == 7
            assert len(statements) == 1
            setting_set(key="bench.absent", value=12)
            assert setting_get("bench.absent", 7) == 12
        finally:
            event.remove(db.engine, "before_cursor_execute", count)
