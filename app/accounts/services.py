"""Account writes. Services flush, never commit; the route or CLI commits once."""

from __future__ import annotations

import logging
import re
import unicodedata
from dataclasses import dataclass

from flask_babel import lazy_gettext as _l
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from app.accounts.models import Role, RoleName, Store, User
from app.accounts.passwords import (
    dummy_verify,
    password_hash,
    password_needs_rehash,
    password_problems,
    password_verify,
)
from app.accounts.sessions import sessions_revoke_others
from app.audit.services import audit_record
from app.core.clock import utcnow
from app.core.mail import mail_queue
from app.core.settings import setting_get
from app.extensions import db

log = logging.getLogger(__name__)

# A new store's low-stock threshold (the seller changes it on /seller/toko); edited on
# /admin/pengaturan.
SETTING_LOW_STOCK_DEFAULT = "inventory.low_stock_default"
DEFAULT_LOW_STOCK = 10


class AccountError(Exception):
    """A business rule refused the action; `field` names the form field to blame."""

    def __init__(self, message: str, field: str | None = None):
        super().__init__(message)
        self.message = message
        self.field = field


@dataclass(frozen=True)
class StoreDetails:
    name: str
    location: str


def normalize_email(email: str) -> str:
    return email.strip().lower()


def role_get(name: str) -> Role:
    """The Role row named `name`, created on first use."""
    if name not in RoleName.ALL:
        raise ValueError(f"unknown role {name!r}")
    role = db.session.execute(select(Role).where(Role.name == name)).scalar_one_or_none()
    if role is None:
        role = Role(name=name)
        try:
            with db.session.begin_nested():
                db.session.add(role)
        except IntegrityError:  # created concurrently
            role = db.session.execute(select(Role).where(Role.name == name)).scalar_one()
    return role


def user_by_email(email: str) -> User | None:
    return db.session.execute(
        select(User).where(User.email == normalize_email(email))
    ).scalar_one_or_none()


def user_register(
    *,
    name: str,
    email: str,
    password: str,
    phone: str = "",
    locale: str = "id",
    store: StoreDetails | None = None,
) -> User:
    """Create a customer (or a seller with a store when `store` is given).

    Raises AccountError for a duplicate email or a password outside the policy.
    Queues the welcome email in the same transaction.
    """
    email = normalize_email(email)
    problems = password_problems(password, email=email)
    if problems:
        raise AccountError(problems[0], field="password")
    if user_by_email(email) is not None:
        raise AccountError(str(_l("Email ini sudah terdaftar.")), field="email")
    roles = [role_get(RoleName.CUSTOMER)]
    if store is not None:
        roles.append(role_get(RoleName.SELLER))
    user = User(
        name=name.strip(),
        email=email,
        phone=phone.strip(),
        locale=locale,
        password_hash=password_hash(password),
        roles=roles,
    )
    try:
        with db.session.begin_nested():
            db.session.add(user)
    except IntegrityError:  # lost a race with the same email
        raise AccountError(str(_l("Email ini sudah terdaftar.")), field="email") from None
    if store is not None:
        store_create(owner=user, name=store.name, location=store.location)
    mail_queue(
        to=user.email,
        template="welcome",
        subject=_l("Selamat datang di Racik"),
        locale=user.locale,
        user_name=user.name,
        is_seller=store is not None,
    )
    log.info("user %s registered (seller=%s)", user.id, store is not None)
    return user


def slugify(text: str) -> str:
    """ASCII, lower-case, dash-separated; accents folded (`Kopi Ñusa` -> `kopi-nusa`)."""
    folded = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    slug = re.sub(r"[^a-z0-9]+", "-", folded.lower()).strip("-")
    return slug[:120] or "toko"


def low_stock_default() -> int:
    """The low-stock threshold a new store starts with (setting, default 10)."""
    return int(setting_get(SETTING_LOW_STOCK_DEFAULT, DEFAULT_LOW_STOCK))


def store_create(*, owner: User, name: str, location: str) -> Store:
    """Create `owner`'s store with a unique slug (`nama-toko`, `nama-toko-2`, ...) and the
    default low-stock threshold of the moment."""
    base = slugify(name)
    taken = set(
        db.session.scalars(
            select(Store.slug).where((Store.slug == base) | Store.slug.like(f"{base}-%"))
        )
    )
    threshold = low_stock_default()
    suffix = 1
    while True:
        slug = base if suffix == 1 else f"{base}-{suffix}"
        suffix += 1
        if slug in taken:
            continue
        store = Store(owner_id=owner.id, name=name.strip(), location=location.strip(), slug=slug,
                      low_stock_threshold=threshold)
        try:
            with db.session.begin_nested():
                db.session.add(store)
            db.session.expire(owner, ["store"])
            return store
        except IntegrityError:  # another registration took this slug meanwhile
            taken.add(slug)


def user_authenticate(*, email: str, password: str) -> User | None:
    """The active user with these credentials, or None. Same work for unknown emails."""
    user = user_by_email(email)
    if user is None:
        dummy_verify(password)
        return None
    if not password_verify(user.password_hash, password) or not user.active:
        return None
    if password_needs_rehash(user.password_hash):
        user.password_hash = password_hash(password)
        db.session.flush()
    return user


def profile_update(*, user: User, name: str, phone: str, locale: str,
                   npwp: str | None = None) -> User:
    """The user's own details; `npwp` (digits, "" to clear) is left alone when None."""
    user.name = name.strip()
    user.phone = phone.strip()
    user.locale = locale
    if npwp is not None:
        user.npwp = npwp
    db.session.flush()
    return user


def password_change(*, user: User, current_password: str, new_password: str) -> int:
    """Change the password after checking the current one; end the user's other sessions
    and queue the "password changed" email. Returns how many sessions were ended."""
    if not password_verify(user.password_hash, current_password):
        raise AccountError(str(_l("Kata sandi saat ini salah.")), field="current_password")
    problems = password_problems(new_password, email=user.email)
    if problems:
        raise AccountError(problems[0], field="new_password")
    if password_verify(user.password_hash, new_password):
        raise AccountError(
            str(_l("Kata sandi baru harus berbeda dari yang lama.")), field="new_password"
        )
    user.password_hash = password_hash(new_password)
    ended = sessions_revoke_others(user=user, keep=user.current_session,
                                   keep_api_family=getattr(user, "api_family_id", None))
    audit_record("auth.password_change", actor=user, object_type="user", object_id=user.id,
                 after={"sessions_ended": ended})
    mail_queue(
        to=user.email,
        template="password_changed",
        subject=_l("Kata sandi Racik Anda telah diubah"),
        locale=user.locale,
        user_name=user.name,
        changed_at=utcnow(),
    )
    log.info("user %s changed password; %s other session(s) ended", user.id, ended)
    return ended


def user_grant_role(*, user: User, role: str) -> None:
    if not user.has_role(role):
        user.roles.append(role_get(role))
        db.session.flush()


def admin_create(*, email: str, password: str, name: str | None = None) -> tuple[User, bool]:
    """Create an admin, or grant admin to an existing account. Returns (user, created)."""
    existing = user_by_email(email)
    if existing is not None:
        user_grant_role(user=existing, role=RoleName.ADMIN)
        return existing, False
    problems = password_problems(password, email=email)
    if problems:
        raise AccountError(problems[0], field="password")
    user = User(
        email=normalize_email(email),
        name=name or normalize_email(email).split("@")[0],
        password_hash=password_hash(password),
        roles=[role_get(RoleName.ADMIN)],
    )
    db.session.add(user)
    db.session.flush()
    return user, True
