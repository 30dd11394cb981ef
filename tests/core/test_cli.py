"""CLI: create-admin, demo data (idempotent, never in production), mail sweep."""

from __future__ import annotations

from sqlalchemy import func, select

from app.accounts.models import Store, User
from app.accounts.services import user_by_email
from app.accounts.totp import secret_decrypt
from app.demo import DEMO_ACCOUNTS, DEMO_PASSWORD, DEMO_TOTP_SECRET
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


def test_demo_load_is_idempotent_every_login_works_and_admin_staff_have_2fa(app, make_client,
                                                                          db):
    from app.catalog.demo import DEMO_RESELLER, DEMO_SELLERS, DEMO_SHOPPERS
    from app.catalog.models import Category, Product, ProductImage
    from app.core.storage import storage_backend
    from app.orders.models import Order, Review

    def counts() -> tuple[int, ...]:
        return tuple(db.session.scalar(select(func.count(model.id)))
                     for model in (User, Store, Product, ProductImage, Order, Review))

    runner = app.test_cli_runner()
    first = runner.invoke(args=["demo", "load"])
    after_first = counts()
    second = runner.invoke(args=["demo", "load"])
    assert first.exit_code == 0 and second.exit_code == 0
    assert counts() == after_first  # the second load added nothing
    assert DEMO_PASSWORD in first.output and "admin@racik.test" in first.output
    assert db.session.scalar(select(func.count(User.id))) == (
        len(DEMO_ACCOUNTS) + len(DEMO_SELLERS) + len(DEMO_SHOPPERS) + 1)
    assert db.session.scalar(select(func.count(Store.id))) == 3 + len(DEMO_SELLERS)
    assert user_by_email(DEMO_RESELLER.email) is not None
    # A real storefront: 120+ products in every category, 8+ cities, varied photos, sales.
    assert db.session.scalar(select(func.count(Product.id))) >= 120
    assert db.session.scalar(select(func.count(func.distinct(Store.location)))) >= 8
    leaves = db.session.scalars(select(Category).where(
        ~Category.id.in_(select(Category.parent_id).where(Category.parent_id.is_not(None))))).all()
    stocked = set(db.session.scalars(select(Product.category_id).where(Product.active.is_(True))))
    assert leaves and all(leaf.id in stocked for leaf in leaves)
    covers = set(db.session.scalars(select(Product.cover_key)))
    assert "" not in covers and len(covers) >= 120
    photo_sizes = {storage_backend().stat(key).size for key in covers}
    assert len(photo_sizes) >= 100  # drawn differently, not one picture copied
    assert db.session.scalar(select(func.max(Product.sold_count))) >= 1000
    assert db.session.scalar(select(func.count(Product.id)).where(Product.rating_count > 0)) >= 20
    assert db.session.scalar(select(func.count(Review.id))) >= 30
    for account in DEMO_ACCOUNTS:
        user = db.session.scalars(select(User).where(User.email == account.email)).one()
        assert user.role_names == set(account.roles)
        log_in(make_client(), account.email, DEMO_PASSWORD)
    # The demo admin and staff use two-factor login with the documented demo secret (the
    # `totp-code` command's tests are in tests/accounts/test_totp_demo.py); the others not.
    users = {u.email: u for u in db.session.scalars(select(User))}
    for email in ("admin@racik.test", "staff@racik.test"):
        assert users[email].totp_enabled_at is not None
        assert secret_decrypt(users[email].totp_secret) == DEMO_TOTP_SECRET
    assert users["buyer@racik.test"].totp_enabled_at is None


def test_demo_data_is_never_created_in_production(app, db, monkeypatch):
    monkeypatch.setitem(app.config, "DEMO_DATA_ALLOWED", False)
    result = app.test_cli_runner().invoke(args=["demo", "load"])
    assert result.exit_code != 0 and "never created in production" in result.output
    assert db.session.scalar(select(func.count(User.id))) == 0


def test_mail_sweep_command(app, db):
    result = app.test_cli_runner().invoke(args=["mail", "sweep"])
    assert result.exit_code == 0 and "sent 0, failed 0" in result.output
