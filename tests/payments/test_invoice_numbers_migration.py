"""Migration 0011_invoices on a database that already holds invoices in the old format:
the numbers every store shared (`INV/2026/000001`) become unique with the issuer's code,
each issuer's sequence unchanged, and the unique constraint holds afterwards.

Run on a SQLite file of its own (whatever `--db` says): it migrates down and up."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
import sqlalchemy as sa
from flask_migrate import downgrade, upgrade

from app import create_app
from app.config import TestConfig
from app.extensions import db as _db

NOW = datetime(2026, 12, 1, 3, 0, tzinfo=UTC)


def _row(n: int, issuer: str, year: int, sequence: int, number: str) -> dict:
    return {"order_id": None, "milestone_id": None, "issuer": issuer, "year": year,
            "sequence": sequence, "number": number, "subtotal": 1000, "shipping": 0,
            "total": 1000, "pkp": False, "ppn_rate": 0, "dpp": 0, "ppn": 0,
            "payment_method": "va_bca", "paid_at": NOW, "verification_code": f"CODE{n:012d}",
            "file_key": "", "sha256": "", "size": 0, "created_at": NOW}


@pytest.fixture
def old_database(tmp_path):
    application = create_app(TestConfig,
                             SQLALCHEMY_DATABASE_URI=f"sqlite:///{tmp_path / 'old.db'}",
                             INSTANCE_PATH=str(tmp_path / "instance"))
    with application.app_context():
        upgrade(revision="0010_api")
        yield application
        _db.engine.dispose()


def _numbers(connection) -> list[tuple[str, int, int, str]]:
    return [tuple(r) for r in connection.execute(sa.text(
        "SELECT issuer, year, sequence, number FROM invoices ORDER BY id"))]


def test_upgrade_renumbers_shared_old_numbers_uniquely_keeping_each_sequence(old_database):
    rows = [_row(1, "store:1", 2026, 1, "INV/2026/000001"),
            _row(2, "store:2", 2026, 1, "INV/2026/000001"),  # the same number: the bug
            _row(3, "store:1", 2026, 2, "INV/2026/000002"),
            _row(4, "store:1", 2025, 1, "INV/2025/000001"),
            _row(5, "maklon", 2026, 1, "INV/MK/2026/000001")]
    with _db.engine.begin() as connection:
        invoices = sa.Table("invoices", sa.MetaData(), autoload_with=connection)
        connection.execute(invoices.insert(), rows)

    upgrade()

    with _db.engine.begin() as connection:
        assert _numbers(connection) == [
            ("store:1", 2026, 1, "INV/TK1/2026/000001"),
            ("store:2", 2026, 1, "INV/TK2/2026/000001"),
            ("store:1", 2026, 2, "INV/TK1/2026/000002"),
            ("store:1", 2025, 1, "INV/TK1/2025/000001"),
            ("maklon", 2026, 1, "INV/MAKLON/2026/000001")]
        invoices = sa.Table("invoices", sa.MetaData(), autoload_with=connection)
        with pytest.raises(sa.exc.IntegrityError), connection.begin_nested():
            connection.execute(invoices.insert(), [
                    _row(6, "store:9", 2026, 1, "INV/TK1/2026/000001")])

    downgrade(revision="0010_api")  # and back: the old format again, nothing lost
    with _db.engine.begin() as connection:
        assert [r[3] for r in _numbers(connection)] == [
            "INV/2026/000001", "INV/2026/000001", "INV/2026/000002", "INV/2025/000001",
            "INV/MK/2026/000001"]
