"""Users, roles, login sessions and stores."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum, nonmember
from typing import TYPE_CHECKING

from flask_login import UserMixin
from sqlalchemy import (
    BigInteger,
    Boolean,
    Column,
    ForeignKey,
    Index,
    Integer,
    String,
    Table,
    Text,
    text,
)
from sqlalchemy import false as sa_false
from sqlalchemy import true as sa_true
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.core.clock import UTCDateTime, utcnow
from app.extensions import Model, db


class StaffPosition(StrEnum):
    """What a staff member does; tasks are only reassigned within one position."""

    SALES = "sales"
    PRODUCTION = "production"
    WAREHOUSE = "warehouse"
    QUALITY = "quality"
    FINANCE = "finance"
    ALL = nonmember((SALES, PRODUCTION, WAREHOUSE, QUALITY, FINANCE))


class RoleName(StrEnum):
    CUSTOMER = "customer"
    SELLER = "seller"
    CLIENT = "client"
    STAFF = "staff"
    ADMIN = "admin"
    # Given to staff on top of "staff": may read formula compositions (every read audited).
    PRODUCTION_MANAGER = "production_manager"
    ALL = nonmember((CUSTOMER, SELLER, CLIENT, STAFF, ADMIN, PRODUCTION_MANAGER))


user_roles = Table(
    "user_roles",
    db.metadata,
    Column("user_id", ForeignKey("users.id", ondelete="CASCADE"), primary_key=True),
    Column("role_id", ForeignKey("roles.id", ondelete="CASCADE"), primary_key=True),
)


class Role(Model):
    __tablename__ = "roles"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(30), unique=True)

    def __repr__(self) -> str:
        return f"<Role {self.name}>"


class User(UserMixin, Model):
    __tablename__ = "users"

    id: Mapped[int] = mapped_column(primary_key=True)
    email: Mapped[str] = mapped_column(String(320), unique=True)  # stored lower-case
    password_hash: Mapped[str] = mapped_column(String(255))
    name: Mapped[str] = mapped_column(String(120))
    phone: Mapped[str] = mapped_column(String(30), default="")
    npwp: Mapped[str] = mapped_column(String(20), default="", server_default="")  # invoices
    # Two-factor login (TOTP, app.accounts.totp): the secret encrypted with the app's key,
    # when it was switched on, and the last time step used (a code works once).
    totp_secret: Mapped[str] = mapped_column(String(200), default="", server_default="")
    totp_enabled_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    totp_last_step: Mapped[int] = mapped_column(BigInteger, default=0, server_default="0")
    locale: Mapped[str] = mapped_column(String(5), default="id")
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    last_login_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    # Staff only: the team a staff member works in (see StaffPosition); the CRM task
    # auto-assignment moves work only between people of the same position.
    position: Mapped[str | None] = mapped_column(String(30), nullable=True, index=True)
    # Clients only: the brand owner company the user orders maklon production for.
    company_id: Mapped[int | None] = mapped_column(
        ForeignKey("companies.id", ondelete="SET NULL"), nullable=True, index=True)

    roles: Mapped[list[Role]] = relationship(secondary=user_roles, lazy="selectin")
    store: Mapped[Store | None] = relationship(back_populates="owner", uselist=False)

    # Set by the user loader: the UserSession this request runs in (see accounts.sessions).
    if TYPE_CHECKING:  # (an annotation SQLAlchemy would read as a column)
        current_session: UserSession | None
    current_session = None  # not a column
    if TYPE_CHECKING:  # (an annotation SQLAlchemy would read as a column)
        api_family_id: int | None
    api_family_id = None  # the API login (token family) of this request

    @property
    def is_active(self) -> bool:  # Flask-Login
        return self.active

    def get_id(self) -> str:
        """Flask-Login stores the *session token*, not the user id, in the cookie, so a
        revoked session ends at once wherever its cookie lives."""
        if self.current_session is None or self.current_session.raw_token is None:
            raise RuntimeError("get_id() before a session was opened for this user")
        return self.current_session.raw_token

    @property
    def role_names(self) -> set[str]:
        return {role.name for role in self.roles}

    def has_role(self, role: str) -> bool:
        return role in self.role_names

    def has_any_role(self, *roles: str) -> bool:
        return bool(self.role_names.intersection(roles))

    def __repr__(self) -> str:
        return f"<User {self.id} {self.email}>"


class RecoveryCode(Model):
    """One of a user's ten single-use two-factor recovery codes (only its SHA-256)."""

    __tablename__ = "recovery_codes"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    code_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    used_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)


class UserSession(Model):
    """One login on one device. The cookie carries the raw token; we keep its SHA-256."""

    __tablename__ = "user_sessions"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    last_seen_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime())
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    remember: Mapped[bool] = mapped_column(Boolean, default=False)
    ip_address: Mapped[str] = mapped_column(String(45), default="")
    user_agent: Mapped[str] = mapped_column(String(300), default="")

    user: Mapped[User] = relationship()

    # Only known in the request that created or loaded the session; never stored.
    if TYPE_CHECKING:  # (an annotation SQLAlchemy would read as a column)
        raw_token: str | None
    raw_token = None  # not a column

    @property
    def device(self) -> str:
        """A short "browser on system" label from the User-Agent, e.g. "Chrome · Android"."""
        agent = self.user_agent or ""
        browser = next((name for key, name in _BROWSERS if key in agent), "")
        system = next((name for key, name in _SYSTEMS if key in agent), "")
        return " · ".join(part for part in (browser, system) if part) or agent[:60]


# Order matters: Edge and Opera also say "Chrome", Chrome also says "Safari".
_BROWSERS = (("Edg/", "Edge"), ("OPR/", "Opera"), ("SamsungBrowser", "Samsung Internet"),
             ("Firefox/", "Firefox"), ("Chrome/", "Chrome"), ("Safari/", "Safari"))
_SYSTEMS = (("Android", "Android"), ("iPhone", "iPhone"), ("iPad", "iPad"),
            ("Windows", "Windows"), ("Mac OS X", "macOS"), ("CrOS", "ChromeOS"),
            ("Linux", "Linux"))


class ApiTokenFamily(Model):
    """One API login (a phone, a partner's system): the chain of refresh tokens it rotated
    through. Revoking the family ends its access tokens at once, too (they name it)."""

    __tablename__ = "api_token_families"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    last_used_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    # logout, password, deactivated, reuse, sessions (the "log out everywhere" button)
    revoked_reason: Mapped[str] = mapped_column(String(20), default="", server_default="")
    ip_address: Mapped[str] = mapped_column(String(45), default="")
    user_agent: Mapped[str] = mapped_column(String(300), default="")

    user: Mapped[User] = relationship()


class ApiRefreshToken(Model):
    """A refresh token of a family: the client holds the raw token, we keep its SHA-256.
    Each is good for one use; using a spent one again revokes the family (theft)."""

    __tablename__ = "api_refresh_tokens"

    id: Mapped[int] = mapped_column(primary_key=True)
    family_id: Mapped[int] = mapped_column(
        ForeignKey("api_token_families.id", ondelete="CASCADE"), index=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime())
    used_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)

    family: Mapped[ApiTokenFamily] = relationship()


class PasswordResetToken(Model):
    """A "forgot password" link: single use, valid for an hour. We keep its SHA-256 only."""

    __tablename__ = "password_reset_tokens"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime())
    used_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    ip_address: Mapped[str] = mapped_column(String(45), default="")  # who asked for it

    user: Mapped[User] = relationship()


class Store(Model):
    __tablename__ = "stores"

    id: Mapped[int] = mapped_column(primary_key=True)
    owner_id: Mapped[int] = mapped_column(
        ForeignKey("users.id", ondelete="RESTRICT"), unique=True
    )
    name: Mapped[str] = mapped_column(String(120))
    slug: Mapped[str] = mapped_column(String(140), unique=True)
    location: Mapped[str] = mapped_column(String(120))
    description: Mapped[str] = mapped_column(Text, default="")
    # Stock under this many units is "low" on the inventory page and triggers one alert.
    low_stock_threshold: Mapped[int] = mapped_column(Integer, default=10, server_default="10")
    # A flat shipping cost per order from this store (real courier rates are out of scope).
    shipping_cost: Mapped[int] = mapped_column(BigInteger, default=0, server_default="0")
    # For invoices: the legal address, NPWP (tax id) and whether the seller is a PKP
    # (registered for VAT): only a PKP's invoice shows PPN.
    address: Mapped[str] = mapped_column(Text, default="", server_default="")
    npwp: Mapped[str] = mapped_column(String(20), default="", server_default="")
    pkp: Mapped[bool] = mapped_column(Boolean, default=False, server_default=sa_false())
    # The Monday sales report email (app.reports.weekly); the seller may switch it off.
    weekly_report: Mapped[bool] = mapped_column(Boolean, default=True, server_default=sa_true())
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

    owner: Mapped[User] = relationship(back_populates="store")


class Address(Model):
    """A saved shipping address of a user; at most one is the default."""

    __tablename__ = "addresses"
    __table_args__ = (
        Index("uq_addresses_one_default", "user_id", unique=True,
              postgresql_where=text("is_default"), sqlite_where=text("is_default")),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    label: Mapped[str] = mapped_column(String(40), default="")  # "Rumah", "Kantor"
    recipient: Mapped[str] = mapped_column(String(120))
    phone: Mapped[str] = mapped_column(String(30))
    street: Mapped[str] = mapped_column(String(300))
    city: Mapped[str] = mapped_column(String(80))
    province: Mapped[str] = mapped_column(String(80))
    postal_code: Mapped[str] = mapped_column(String(10))
    is_default: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

    def snapshot(self) -> dict[str, str]:
        """What an order keeps of the address (a later edit does not move a parcel)."""
        return {"recipient": self.recipient, "phone": self.phone, "street": self.street,
                "city": self.city, "province": self.province,
                "postal_code": self.postal_code}


class Company(Model):
    """A brand owner or prospect: kept by the CRM, a maklon client once a deal is won."""

    __tablename__ = "companies"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(160), index=True)
    business_type: Mapped[str] = mapped_column(String(80), default="")
    city: Mapped[str] = mapped_column(String(80), default="", index=True)
    npwp: Mapped[str] = mapped_column(String(32), default="")
    address: Mapped[str] = mapped_column(Text, default="")
    website: Mapped[str] = mapped_column(String(300), default="")
    notes: Mapped[str] = mapped_column(Text, default="")
    is_client: Mapped[bool] = mapped_column(Boolean, default=False, index=True)
    employee_count: Mapped[int | None] = mapped_column(Integer, nullable=True)
    # Set when the CRM archives the company (hidden from lists; restored by an admin).
    archived_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, onupdate=utcnow)

    def __repr__(self) -> str:
        return f"<Company {self.id} {self.name}>"
