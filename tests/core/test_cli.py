"""CLI: create-admin, demo data (idempotent, never in production), mail sweep."""

from __future__ import annotations

from sqlalchemy import func, select

from app.accounts.models import Store, User
from app.demo import DEMO_ACCOUNTS, DEMO_PASSWORD
from tests.conftest import log_in
from tests.factories import make_user


def test_create_admin_creates_an_admin_who_can_log_in(app, client, db, monkeypatch):
    monkeypatch.setenv("RACIK_ADMIN_PASSWORD", "rendang-padang-2026")
    result = app.test_cli_runner().invoke(args=["users", "create-admin", "boss@example.test"])
    assert result.exit_code == 0, result.output
    assert "Created admin boss@example.test" in result.output
    user = db.session.scalars(select(User).where(User.email == "boss@example.test")).one()
    assert user.role_names == {"admin"}
    log_in(client, "boss@example.test", "rendang-padang-2026")
    assert client.get("/admin/pekerjaan").status_code == 200


def test_create_admin_promotes_an_existing_user(app, db):
    user = make_user(email="ada@example.test")
    db.session.commit()
    result = app.test_cli_runner().invoke(args=["users", "create-admin", "ADA@example.test"])
    assert result.exit_code == 0 and "Granted admin" in result.output
    db.session.refresh(user)
    assert user.role_names == {"customer", "admin"}


def test_create_admin_refuses_a_weak_password(app, db, monkeypatch):
    monkeypatch.setenv("RACIK_ADMIN_PASSWORD", "password")
    result = app.test_cli_runner().invoke(args=["users", "create-admin", "weak@example.test"])
    assert result.exit_code != 0 and "terlalu umum" in result.output
    assert db.session.scalar(select(func.count(User.id))) == 0


def test_demo_load_is_idempotent_and_every_demo_login_works(app, make_client, db):
    runner = app.test_cli_runner()
    first = runner.invoke(args=["demo", "load"])
    second = runner.invoke(args=["demo", "load"])
    assert first.exit_code == 0 and second.exit_code == 0
    assert DEMO_PASSWORD in first.output and "admin@racik.test" in first.output
    assert db.session.scalar(select(func.count(User.id))) == len(DEMO_ACCOUNTS)
    assert db.session.scalar(select(func.count(Store.id))) == 3
    for account in DEMO_ACCOUNTS:
        user = db.session.scalars(select(User).where(User.email == account.email)).one()
        assert user.role_names == set(account.roles)
        log_in(make_client(), account.email, DEMO_PASSWORD)


def test_demo_data_is_never_created_in_production(app, db, monkeypatch):
    monkeypatch.setitem(app.config, "DEMO_DATA_ALLOWED", False)
    result = app.test_cli_runner().invoke(args=["demo", "load"])
    assert result.exit_code != 0 and "never created in production" in result.output
    assert db.session.scalar(select(func.count(User.id))) == 0


def test_mail_sweep_command(app, db):
    result = app.test_cli_runner().invoke(args=["mail", "sweep"])
    assert result.exit_code == 0 and "sent 0, failed 0" in result.output
