"""Saved shipping addresses. A user has at most `MAX_ADDRESSES`, and exactly one default
once they have any (a partial unique index backs "at most one"). Flushes, never commits."""

from __future__ import annotations

from dataclasses import dataclass

from flask_babel import lazy_gettext as _l
from sqlalchemy import func, select, update

from app.accounts.models import Address, User
from app.extensions import db

MAX_ADDRESSES = 20

# Indonesia's 38 provinces (proper names: the same in both languages).
PROVINCES = (
    "Aceh", "Sumatera Utara", "Sumatera Barat", "Riau", "Kepulauan Riau", "Jambi",
    "Sumatera Selatan", "Kepulauan Bangka Belitung", "Bengkulu", "Lampung", "DKI Jakarta",
    "Jawa Barat", "Banten", "Jawa Tengah", "DI Yogyakarta", "Jawa Timur", "Bali",
    "Nusa Tenggara Barat", "Nusa Tenggara Timur", "Kalimantan Barat", "Kalimantan Tengah",
    "Kalimantan Selatan", "Kalimantan Timur", "Kalimantan Utara", "Sulawesi Utara",
    "Gorontalo", "Sulawesi Tengah", "Sulawesi Barat", "Sulawesi Selatan",
    "Sulawesi Tenggara", "Maluku", "Maluku Utara", "Papua", "Papua Barat", "Papua Barat Daya",
    "Papua Tengah", "Papua Pegunungan", "Papua Selatan",
)


class AddressError(Exception):
    def __init__(self, message: object):
        super().__init__(str(message))
        self.message = str(message)


@dataclass
class AddressData:
    label: str
    recipient: str
    phone: str
    street: str
    city: str
    province: str
    postal_code: str
    make_default: bool = False


def addresses_of(user_id: int) -> list[Address]:
    """The default first, then the newest."""
    return list(db.session.scalars(
        select(Address).where(Address.user_id == user_id)
        .order_by(Address.is_default.desc(), Address.created_at.desc(), Address.id.desc())
    ))


def address_owned(*, user: User, address_id: int | None) -> Address | None:
    if address_id is None:
        return None
    return db.session.scalars(select(Address).where(
        Address.id == address_id, Address.user_id == user.id)).first()


def address_default(user_id: int) -> Address | None:
    return db.session.scalars(select(Address).where(
        Address.user_id == user_id, Address.is_default.is_(True))).first()


def _fill(address: Address, data: AddressData) -> None:
    address.label = data.label.strip()
    address.recipient = data.recipient.strip()
    address.phone = data.phone.strip()
    address.street = data.street.strip()
    address.city = data.city.strip()
    address.province = data.province
    address.postal_code = data.postal_code.strip()


def _set_default(user: User, address: Address) -> None:
    # Clear the old default first: the partial unique index allows one at a time.
    db.session.execute(update(Address).where(Address.user_id == user.id,
                                             Address.id != address.id,
                                             Address.is_default.is_(True))
                       .values(is_default=False).execution_options(synchronize_session=False))
    db.session.flush()
    address.is_default = True
    db.session.flush()


def address_create(*, user: User, data: AddressData) -> Address:
    """Save a new address; the first one (or one asked for) becomes the default.
    Raises AddressError when the user already has MAX_ADDRESSES."""
    count = db.session.scalar(select(func.count(Address.id))
                              .where(Address.user_id == user.id)) or 0
    if count >= MAX_ADDRESSES:
        raise AddressError(_l("Maksimal %(max)s alamat. Hapus alamat yang tidak dipakai.",
                              max=MAX_ADDRESSES))
    address = Address(user_id=user.id, is_default=False)
    _fill(address, data)
    db.session.add(address)
    db.session.flush()
    if count == 0 or data.make_default:
        _set_default(user, address)
    return address


def address_update(*, user: User, address: Address, data: AddressData) -> None:
    _fill(address, data)
    db.session.flush()
    if data.make_default and not address.is_default:
        _set_default(user, address)


def address_make_default(*, user: User, address: Address) -> None:
    if not address.is_default:
        _set_default(user, address)


def address_delete(*, user: User, address: Address) -> None:
    """Delete an address; when it was the default, the newest other one takes over.
    Orders keep their own copy of the address, so nothing else changes."""
    was_default = address.is_default
    db.session.delete(address)
    db.session.flush()
    if was_default:
        remaining = addresses_of(user.id)
        if remaining:
            _set_default(user, remaining[0])
