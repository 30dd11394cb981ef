"""System settings as the admin edits them (/admin/pengaturan): the sections, their keys and
defaults, what each value is now (default or changed, when, by whom), and saving a section.

The keys belong to the code that reads them (`app.core.company`, `app.payments.invoices`,
`app.payments.gateways.base`, `app.accounts.services`, `app.crm.assignment`); this module
only lists them. A section is saved whole or not at all: the route validates the form, and
`settings_section_save` writes only the values that differ from what is in force, so saving
an unchanged section writes nothing (no row, no audit entry). Every written value is audited
by `setting_set` ("settings.change", before/after).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from flask import current_app
from flask_babel import lazy_gettext as _l
from sqlalchemy import insert, select
from sqlalchemy.exc import IntegrityError

from app.accounts.models import User
from app.accounts.services import DEFAULT_LOW_STOCK, SETTING_LOW_STOCK_DEFAULT
from app.admin.settings_forms import (
    BackupForm,
    CompanyForm,
    CrmForm,
    PaymentForm,
    StockForm,
    TaxForm,
    maklon_capability_form,
    maklon_price_form,
)
from app.backups import rotation as backup_rotation
from app.catalog.images import PhotoRejected, photo_process
from app.core import company
from app.core.clock import utcnow
from app.core.models import Setting
from app.core.settings import setting_get, setting_set
from app.core.storage import storage_delete, storage_put
from app.crm.assignment import DEFAULT_THRESHOLD, SETTING_THRESHOLD
from app.extensions import db
from app.maklon import capability as maklon_capability
from app.maklon import pricing as maklon_pricing
from app.payments.gateways.base import (
    SETTING_CSTORE_EXPIRY,
    SETTING_EWALLET_EXPIRY,
    SETTING_GATEWAY,
    SETTING_VA_EXPIRY,
)
from app.payments.invoices import (
    DEFAULT_DPP_FRACTION,
    DEFAULT_PPN_RATE,
    SETTING_DPP_FRACTION,
    SETTING_PPN_RATE,
)

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Section:
    slug: str  # in the URL: /admin/pengaturan/<slug>
    title: Any  # lazy string
    intro: Any
    form_class: type
    fields: dict[str, str]  # form field -> setting key, in page order
    extra_keys: tuple[str, ...] = ()  # shown with their state, saved by their own rule

    @property
    def keys(self) -> tuple[str, ...]:
        return (*self.fields.values(), *self.extra_keys)


SECTIONS: dict[str, Section] = {section.slug: section for section in (
    Section("perusahaan", _l("Identitas perusahaan"),
            _l("Nama, alamat, dan NPWP perusahaan untuk dokumen. Invoice marketplace tetap "
               "diterbitkan atas nama toko penjual; nama perusahaan tercetak di kakinya."),
            CompanyForm,
            {"name": company.SETTING_NAME, "address": company.SETTING_ADDRESS,
             "npwp": company.SETTING_NPWP, "pkp": company.SETTING_PKP},
            extra_keys=(company.SETTING_LOGO,)),
    Section("pajak", _l("Pajak"),
            _l("PPN pada invoice penjual PKP: PPN = tarif × DPP, DPP = bagian × harga jual "
               "sebelum PPN. Berlaku untuk invoice yang diterbitkan setelah disimpan."),
            TaxForm, {"ppn_rate": SETTING_PPN_RATE, "dpp_fraction": SETTING_DPP_FRACTION}),
    Section("stok", _l("Stok"), _l("Nilai awal untuk toko yang baru dibuka."),
            StockForm, {"low_stock_default": SETTING_LOW_STOCK_DEFAULT}),
    Section("pembayaran", _l("Pembayaran"),
            _l("Batas waktu bayar dan gateway untuk pembayaran baru."),
            PaymentForm, {"va_expiry": SETTING_VA_EXPIRY,
                          "ewallet_expiry": SETTING_EWALLET_EXPIRY,
                          "cstore_expiry": SETTING_CSTORE_EXPIRY,
                          "gateway": SETTING_GATEWAY}),
    Section("crm", _l("CRM"), _l("Pembagian tugas otomatis kepada tim."),
            CrmForm, {"reassign_threshold": SETTING_THRESHOLD}),
    Section("cadangan", _l("Cadangan"),
            _l("Rotasi cadangan terenkripsi: berapa cadangan harian, mingguan, dan bulanan "
               "yang disimpan. Berlaku pada rotasi berikutnya."),
            BackupForm, {"keep_daily": backup_rotation.SETTING_KEEP_DAILY,
                         "keep_weekly": backup_rotation.SETTING_KEEP_WEEKLY,
                         "keep_monthly": backup_rotation.SETTING_KEEP_MONTHLY}),
    Section("maklon-kapasitas", _l("Kapasitas maklon"),
            _l("Batas yang diperiksa saat klien mengajukan permintaan maklon: minimum pesanan, "
               "ukuran kemasan, dan tanggal pengiriman paling cepat (waktu tunggu dasar + "
               "antrean pesanan yang sudah ditandatangani dibagi kapasitas mingguan)."),
            maklon_capability_form(),
            {"weekly_capacity": maklon_capability.SETTING_WEEKLY_CAPACITY,
             "lead_time_days": maklon_capability.SETTING_LEAD_DAYS,
             "moq": maklon_capability.SETTING_MOQ,
             "size_min": maklon_capability.SETTING_SIZE_MIN,
             "size_max": maklon_capability.SETTING_SIZE_MAX,
             "dimension_min_mm": maklon_capability.SETTING_DIMENSION_MIN,
             "dimension_max_mm": maklon_capability.SETTING_DIMENSION_MAX,
             "max_volume_ml": maklon_capability.SETTING_MAX_VOLUME}),
    Section("maklon-harga", _l("Harga maklon"),
            _l("Parameter perkiraan harga maklon. Berlaku untuk perkiraan dan penawaran baru; "
               "penawaran yang sudah dibuat menyimpan parameternya sendiri."),
            maklon_price_form(),
            {"import_surcharge": maklon_pricing.SETTING_IMPORT_SURCHARGE,
             "margin": maklon_pricing.SETTING_MARGIN,
             "labour_per_batch": maklon_pricing.SETTING_LABOUR_BATCH,
             "labour_per_unit": maklon_pricing.SETTING_LABOUR_UNIT,
             "development_fee": maklon_pricing.SETTING_DEVELOPMENT_FEE,
             "packaging_cost": maklon_pricing.SETTING_PACKAGING_COST,
             "material_rate": maklon_pricing.SETTING_DEFAULT_RATE,
             "discount_tiers": maklon_pricing.SETTING_TIERS}),
)}


def setting_defaults() -> dict[str, Any]:
    """Each key's value when it was never set (payments: the environment's config)."""
    config = current_app.config
    return {
        company.SETTING_NAME: company.DEFAULT_NAME,
        company.SETTING_ADDRESS: "",
        company.SETTING_NPWP: "",
        company.SETTING_PKP: False,
        company.SETTING_LOGO: "",
        SETTING_PPN_RATE: str(DEFAULT_PPN_RATE),
        SETTING_DPP_FRACTION: DEFAULT_DPP_FRACTION,
        SETTING_LOW_STOCK_DEFAULT: DEFAULT_LOW_STOCK,
        SETTING_VA_EXPIRY: int(config["PAYMENT_VA_EXPIRY_MINUTES"]),
        SETTING_EWALLET_EXPIRY: int(config["PAYMENT_EWALLET_EXPIRY_MINUTES"]),
        SETTING_CSTORE_EXPIRY: int(config["PAYMENT_CSTORE_EXPIRY_MINUTES"]),
        SETTING_GATEWAY: str(config["PAYMENT_GATEWAY"]),
        SETTING_THRESHOLD: DEFAULT_THRESHOLD,
        **backup_rotation.retention_defaults(),
        **maklon_capability.DEFAULTS,
        **maklon_pricing.DEFAULTS,
    }


@dataclass(frozen=True)
class SettingState:
    """One value as the page shows it."""

    key: str
    value: Any
    default: Any
    changed: bool  # differs from the default
    updated_at: datetime | None  # last saved (None: never)
    updated_by: str  # who saved it last ("" for the system or a deleted user)


def _same(a: Any, b: Any) -> bool:
    """Equal as settings: the PPN rate may be stored as 12 or "12"."""
    return a == b or (type(a) is not bool and type(b) is not bool and str(a) == str(b))


def setting_states(keys: tuple[str, ...]) -> dict[str, SettingState]:
    """The state of each of `keys` (two queries for all)."""
    defaults = setting_defaults()
    rows = {row.key: row for row in db.session.scalars(
        select(Setting).where(Setting.key.in_(keys))) if row.value is not None}
    editor_ids = {row.updated_by_id for row in rows.values() if row.updated_by_id}
    names = {user_id: name for user_id, name in db.session.execute(
        select(User.id, User.name).where(User.id.in_(editor_ids)))} if editor_ids else {}
    states = {}
    for key in keys:
        row = rows.get(key)
        value = row.value if row is not None and row.value is not None else defaults[key]
        states[key] = SettingState(
            key=key, value=value, default=defaults[key],
            changed=not _same(value, defaults[key]),
            updated_at=row.updated_at if row is not None else None,
            updated_by=names.get(row.updated_by_id, "")
            if row is not None and row.updated_by_id is not None else "")
    return states


def section_form_data(section: Section) -> dict[str, Any]:
    """The section's form filled with the values in force (form field -> value)."""
    states = setting_states(tuple(section.fields.values()))
    return {name: states[key].value for name, key in section.fields.items()}


class SettingsRejected(Exception):
    """A value refused after the form's own checks (an unreadable logo); nothing saved."""

    def __init__(self, message: str, field: str):
        super().__init__(message)
        self.message = message
        self.field = field


def company_logo_store(data: bytes) -> str:
    """Validate and re-encode an uploaded logo exactly like a product photo (decoded for
    real, pixels re-encoded to WebP, at most 400 px) and store it; returns its key.
    Raises SettingsRejected("logo"). The file goes again if the transaction rolls back."""
    config = current_app.config
    try:
        processed = photo_process(data, max_bytes=config["PHOTO_MAX_BYTES"],
                                  max_pixels=config["PHOTO_MAX_PIXELS"])
    except PhotoRejected as rejected:
        raise SettingsRejected(rejected.message, "logo") from None
    return storage_put(processed.thumb, folder=company.LOGO_FOLDER, suffix=".webp")


def _settings_lock(keys: list[str]) -> None:
    """Lock the rows of `keys` (created empty where missing: an empty value means "never
    set") and re-read them, so two saves at once queue here and the second compares with,
    and audits against, what the first stored — a double click changes once. (SQLite
    serialises writing requests already.)"""
    if not keys:
        return
    existing = set(db.session.scalars(select(Setting.key).where(Setting.key.in_(keys))))
    for key in keys:
        if key in existing:
            continue
        try:
            with db.session.begin_nested():
                db.session.execute(insert(Setting).values(key=key, value=None,
                                                          updated_at=utcnow()))
        except IntegrityError:
            pass  # a concurrent save created it first; it is there now
    db.session.scalars(select(Setting).where(Setting.key.in_(keys)).with_for_update()
                       .execution_options(populate_existing=True)).all()


def settings_section_save(*, section: Section, values: dict[str, Any], actor: User,
                          logo: bytes | None = None, logo_remove: bool = False) -> list[str]:
    """Store a validated section (`values`: form field -> value) and, for the company, a
    new logo (`logo`, the uploaded bytes) or its removal. All checks come before the first
    write, so a refusal (SettingsRejected) leaves nothing changed. Returns the keys whose
    value changed (each with its audit row); flushes."""
    updates = {section.fields[name]: value for name, value in values.items()}
    if section.slug == "perusahaan":
        old_logo = setting_get(company.SETTING_LOGO, "") or ""
        if logo is not None:
            updates[company.SETTING_LOGO] = company_logo_store(logo)
        elif logo_remove:
            updates[company.SETTING_LOGO] = ""
        if old_logo and updates.get(company.SETTING_LOGO, old_logo) != old_logo:
            storage_delete(old_logo)  # after the commit: a rollback keeps the old logo
    defaults = setting_defaults()
    _settings_lock([key for key, value in updates.items()
                    if not _same(setting_get(key, defaults[key]), value)])
    changed = []
    for key, value in updates.items():
        if not _same(setting_get(key, defaults[key]), value):
            setting_set(key=key, value=value, actor=actor, default=defaults[key])
            changed.append(key)
    if changed:
        log.info("settings %s changed by user %s: %s", section.slug, actor.id, changed)
    return changed
