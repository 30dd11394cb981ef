"""Idempotent demo data for `make run` (never in production).

Each feature extends `demo_load` so a new user sees a living shop. Running it twice changes
nothing: rows are looked up by their natural keys before being created.
"""

from __future__ import annotations

from dataclasses import dataclass

from flask import current_app

from app.accounts.models import RoleName, User
from app.accounts.passwords import password_hash
from app.accounts.services import role_get, store_create, user_by_email
from app.extensions import db

DEMO_PASSWORD = "racik-demo-2026"  # noqa: S105 - documented demo credential


@dataclass(frozen=True)
class DemoAccount:
    email: str
    name: str
    roles: tuple[str, ...]
    store: tuple[str, str] | None = None  # (name, location)


DEMO_ACCOUNTS = (
    DemoAccount("admin@racik.test", "Admin Racik", (RoleName.ADMIN,)),
    DemoAccount("staff@racik.test", "Sari Produksi", (RoleName.STAFF,)),
    DemoAccount("seller@racik.test", "Dewi Lestari", (RoleName.SELLER, RoleName.CUSTOMER),
                ("Glow Nusantara", "Bandung")),
    DemoAccount("seller2@racik.test", "Budi Santoso", (RoleName.SELLER, RoleName.CUSTOMER),
                ("Herbal Jaya", "Surabaya")),
    DemoAccount("client@racik.test", "Rina Wijaya", (RoleName.CLIENT, RoleName.SELLER,
                                                     RoleName.CUSTOMER),
                ("Rina Beauty", "Jakarta Selatan")),
    DemoAccount("buyer@racik.test", "Andi Pratama", (RoleName.CUSTOMER,)),
)


class DemoRefused(RuntimeError):
    pass


def demo_load() -> list[DemoAccount]:
    """Create the demo accounts (and their stores) that do not exist yet. Flushes only."""
    if not current_app.config.get("DEMO_DATA_ALLOWED"):
        raise DemoRefused("demo data is never created in production")
    for account in DEMO_ACCOUNTS:
        user = user_by_email(account.email)
        if user is None:
            user = User(email=account.email, name=account.name,
                        password_hash=password_hash(DEMO_PASSWORD))
            db.session.add(user)
            db.session.flush()
        for role in account.roles:
            if not user.has_role(role):
                user.roles.append(role_get(role))
        if account.store and user.store is None:
            store_create(owner=user, name=account.store[0], location=account.store[1])
    db.session.flush()
    return list(DEMO_ACCOUNTS)
