"""Object factories for tests. They add and flush; the test commits when it needs to."""

from __future__ import annotations

import itertools

from app.accounts.models import User
from app.accounts.passwords import password_hash
from app.accounts.services import role_get, store_create
from app.extensions import db

DEFAULT_PASSWORD = "kopi-susu-gula-aren-42"  # passes the password policy
_sequence = itertools.count(1)


def make_user(
    *,
    email: str | None = None,
    name: str | None = None,
    roles: tuple[str, ...] = ("customer",),
    password: str = DEFAULT_PASSWORD,
    locale: str = "id",
    store_name: str | None = None,
) -> User:
    n = next(_sequence)
    user = User(
        email=email or f"user{n}@example.test",
        name=name or f"Pengguna {n}",
        password_hash=password_hash(password),
        locale=locale,
        roles=[role_get(role) for role in roles],
    )
    db.session.add(user)
    db.session.flush()
    if "seller" in roles or store_name:
        store_create(owner=user, name=store_name or f"Toko {n}", location="Bandung")
    return user
