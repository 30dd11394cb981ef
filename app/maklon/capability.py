"""Production capability (kept in settings) and the validation of a quote request against it.

    cap = capability()                         # settings, else DEFAULTS
    earliest_feasible_date(today)              # base lead time + current load / capacity
    errors = request_validate(values)          # {field: Indonesian message}; {} when valid

The settings keys ("maklon.capability.*") hold a number each, or a {name: number} mapping
for the minimum order per product type and the size range per packaging; the admin edits
them on /admin/pengaturan (section "Kapasitas maklon").

The earliest feasible date: the base lead time, plus the weeks the factory needs to finish
what is already signed (the quantity of SIGNED requests, i.e. signed and not completed,
divided by the weekly capacity, rounded up to whole weeks).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

from flask_babel import format_date, format_number
from flask_babel import gettext as _
from sqlalchemy import func, select

from app.core.clock import to_wib, utcnow
from app.core.settings import setting_get
from app.extensions import db
from app.maklon.models import FormulaChoice, MaklonRequest, Packaging, ProductType, RequestStatus

PREFIX = "maklon.capability."
SETTING_WEEKLY_CAPACITY = PREFIX + "weekly_capacity"  # units per week
SETTING_LEAD_DAYS = PREFIX + "lead_time_days"  # base lead time, days
SETTING_DIMENSION_MIN = PREFIX + "dimension_min_mm"  # custom packaging, each side
SETTING_DIMENSION_MAX = PREFIX + "dimension_max_mm"
SETTING_MAX_VOLUME = PREFIX + "max_volume_ml"  # custom packaging, L x W x H / 1000


SETTING_MOQ = PREFIX + "moq"  # {product type: minimum units}
SETTING_SIZE_MIN = PREFIX + "size_min"  # {packaging: ml or g}
SETTING_SIZE_MAX = PREFIX + "size_max"

DEFAULT_MOQ = {ProductType.SKINCARE: 1_000, ProductType.BODY_CARE: 1_000,
               ProductType.HAIR_CARE: 1_000, ProductType.DECORATIVE: 500,
               ProductType.SUPPLEMENT: 2_000, ProductType.OTHER: 1_000}
DEFAULT_SIZE_MIN = {Packaging.BOTTLE: 10, Packaging.JAR: 5, Packaging.TUBE: 5,
                    Packaging.AIRLESS: 15, Packaging.SACHET: 1, Packaging.POUCH: 50,
                    Packaging.CUSTOM: 1}
DEFAULT_SIZE_MAX = {Packaging.BOTTLE: 1_000, Packaging.JAR: 500, Packaging.TUBE: 300,
                    Packaging.AIRLESS: 150, Packaging.SACHET: 50, Packaging.POUCH: 2_000,
                    Packaging.CUSTOM: 3_000}

DEFAULTS: dict[str, Any] = {
    SETTING_WEEKLY_CAPACITY: 20_000,
    SETTING_LEAD_DAYS: 21,
    SETTING_DIMENSION_MIN: 10,
    SETTING_DIMENSION_MAX: 300,
    SETTING_MAX_VOLUME: 3_000,
    SETTING_MOQ: DEFAULT_MOQ,
    SETTING_SIZE_MIN: DEFAULT_SIZE_MIN,
    SETTING_SIZE_MAX: DEFAULT_SIZE_MAX,
}

# A batch larger than a year of capacity is not one order (and keeps numbers sane).
WEEKS_PER_YEAR = 52
PRODUCT_NAME_MAX = 120
MAX_DAYS_AHEAD = 730  # a desired date further out is a typo, not a plan


@dataclass(frozen=True)
class Capability:
    moq: dict[str, int]  # product type -> minimum units
    size_range: dict[str, tuple[int, int]]  # packaging -> (min, max) ml or g
    dimension_mm: tuple[int, int]  # custom packaging: each side
    max_volume_ml: int  # custom packaging: L x W x H / 1000
    weekly_capacity: int  # units per week
    lead_time_days: int

    @property
    def max_quantity(self) -> int:
        return self.weekly_capacity * WEEKS_PER_YEAR


def _int(key: str) -> int:
    try:
        return int(setting_get(key, DEFAULTS[key]))
    except (TypeError, ValueError):
        return DEFAULTS[key]


def _ints(key: str) -> dict[str, int]:
    """A {name: number} setting over its defaults; an unreadable entry keeps the default."""
    stored = setting_get(key, {})
    values = dict(DEFAULTS[key])
    for name, value in (stored.items() if isinstance(stored, dict) else ()):
        try:
            values[name] = int(value)
        except (TypeError, ValueError):
            continue
    return values


def capability() -> Capability:
    """The capability in force (settings, else DEFAULTS)."""
    low, high = _ints(SETTING_SIZE_MIN), _ints(SETTING_SIZE_MAX)
    return Capability(
        moq=_ints(SETTING_MOQ),
        size_range={kind: (low[kind], high[kind]) for kind in Packaging.ALL},
        dimension_mm=(_int(SETTING_DIMENSION_MIN), _int(SETTING_DIMENSION_MAX)),
        max_volume_ml=_int(SETTING_MAX_VOLUME),
        weekly_capacity=max(1, _int(SETTING_WEEKLY_CAPACITY)),
        lead_time_days=max(0, _int(SETTING_LEAD_DAYS)),
    )


def wib_today() -> date:
    return to_wib(utcnow()).date()


def current_load() -> int:
    """Units signed and not yet completed (what production still has to make)."""
    return int(db.session.scalar(
        select(func.coalesce(func.sum(MaklonRequest.quantity), 0))
        .where(MaklonRequest.status == RequestStatus.SIGNED)) or 0)


def earliest_feasible_date(today: date | None = None, cap: Capability | None = None) -> date:
    """The earliest delivery date the factory can promise today: base lead time + the
    current load in whole weeks of capacity."""
    cap = cap or capability()
    today = today or wib_today()
    weeks = math.ceil(current_load() / cap.weekly_capacity)
    return today + timedelta(days=cap.lead_time_days + 7 * weeks)


def _n(value: int) -> str:
    return format_number(value)


def _labels() -> tuple[dict, dict]:
    from app.maklon.labels import PACKAGING_LABELS, PRODUCT_TYPE_LABELS

    return PRODUCT_TYPE_LABELS, PACKAGING_LABELS


def request_validate(values: dict[str, Any], *, today: date | None = None,
                     cap: Capability | None = None) -> dict[str, str]:
    """Every way `values` (a request's typed fields: product_type, product_name, packaging,
    size, size_unit, length_mm, width_mm, height_mm, quantity, formula_choice, formula_id,
    desired_date, plus company_id and has_spec_file) falls outside what the factory can
    make, as {field: Indonesian message}. Empty when the request may be submitted."""
    cap = cap or capability()
    errors: dict[str, str] = {}
    _check_name(values, errors)
    _check_quantity(values, cap, errors)
    _check_packaging_size(values, cap, errors)
    if values.get("packaging") == Packaging.CUSTOM:
        _check_custom_dimensions(values, cap, errors)
    _check_formula(values, errors)
    _check_desired_date(values, cap, today, errors)
    return errors


def _check_name(values: dict[str, Any], errors: dict[str, str]) -> None:
    name = (values.get("product_name") or "").strip()
    if not name:
        errors["product_name"] = _("Nama produk wajib diisi.")
    elif len(name) > PRODUCT_NAME_MAX:
        errors["product_name"] = _("Maksimal %(max)d karakter.", max=PRODUCT_NAME_MAX)


def _check_quantity(values: dict[str, Any], cap: Capability, errors: dict[str, str]) -> None:
    """The product type, and a batch between its minimum order and a year's capacity."""
    type_labels, _packaging_labels = _labels()
    product_type = values.get("product_type") or ""
    if product_type not in ProductType.ALL:
        errors["product_type"] = _("Pilih jenis produk dari daftar.")

    quantity = values.get("quantity")
    if not isinstance(quantity, int) or quantity <= 0:
        errors["quantity"] = _("Isi jumlah unit dalam satu batch.")
    elif product_type in ProductType.ALL and quantity < cap.moq[product_type]:
        errors["quantity"] = _(
            "Minimum pesanan untuk %(type)s adalah %(moq)s unit.",
            type=type_labels[product_type], moq=_n(cap.moq[product_type]))
    elif quantity > cap.max_quantity:
        errors["quantity"] = _(
            "Melebihi kapasitas produksi setahun (%(max)s unit). Bagi menjadi beberapa "
            "pesanan.", max=_n(cap.max_quantity))


def _check_packaging_size(values: dict[str, Any], cap: Capability,
                          errors: dict[str, str]) -> None:
    """The packaging, the unit, and a content size the packaging's range allows."""
    _type_labels, packaging_labels = _labels()
    packaging = values.get("packaging") or ""
    size = values.get("size")
    if packaging not in Packaging.ALL:
        errors["packaging"] = _("Pilih jenis kemasan dari daftar.")
    if values.get("size_unit") not in ("ml", "g"):
        errors["size_unit"] = _("Pilih satuan ml atau g.")
    if not isinstance(size, int) or size <= 0:
        errors["size"] = _("Isi ukuran isi per kemasan (ml atau g).")
    elif packaging in Packaging.ALL:
        low, high = cap.size_range[packaging]
        if not low <= size <= high:
            errors["size"] = _(
                "Ukuran untuk kemasan %(packaging)s antara %(min)s dan %(max)s ml/g.",
                packaging=packaging_labels[packaging], min=_n(low), max=_n(high))


def _check_custom_dimensions(values: dict[str, Any], cap: Capability,
                             errors: dict[str, str]) -> None:
    """Custom packaging: three sides in range, a volume within the limit that holds the
    content."""
    low, high = cap.dimension_mm
    sides = {}
    for field in ("length_mm", "width_mm", "height_mm"):
        side = values.get(field)
        if not isinstance(side, int) or side <= 0:
            errors[field] = _("Wajib diisi untuk kemasan khusus (dalam mm).")
        elif not low <= side <= high:
            errors[field] = _("Setiap sisi kemasan antara %(min)s dan %(max)s mm.",
                              min=_n(low), max=_n(high))
        else:
            sides[field] = side
    if len(sides) < 3:
        return
    volume = sides["length_mm"] * sides["width_mm"] * sides["height_mm"] // 1000
    size = values.get("size")
    if volume > cap.max_volume_ml:
        errors["height_mm"] = _(
            "Volume kemasan %(volume)s ml melebihi batas %(max)s ml.",
            volume=_n(volume), max=_n(cap.max_volume_ml))
    elif isinstance(size, int) and size > volume and "size" not in errors:
        errors["size"] = _(
            "Isi %(size)s ml/g tidak muat dalam kemasan bervolume %(volume)s ml.",
            size=_n(size), volume=_n(volume))


def _check_formula(values: dict[str, Any], errors: dict[str, str]) -> None:
    """A formula source; a stored formula of the company, or an uploaded specification."""
    choice = values.get("formula_choice") or ""
    if choice not in FormulaChoice.ALL:
        errors["formula_choice"] = _("Pilih sumber formula.")
    elif choice == FormulaChoice.STORED:
        formula_id = values.get("formula_id")
        if not formula_id:
            errors["formula_id"] = _("Pilih salah satu formula tersimpan.")
        elif not _formula_of_company(formula_id, values.get("company_id")):
            errors["formula_id"] = _("Formula ini tidak ditemukan di perusahaan Anda.")
    elif choice == FormulaChoice.UPLOAD and not values.get("has_spec_file"):
        errors["spec_file"] = _("Unggah berkas spesifikasi formula (PDF atau gambar).")


def _check_desired_date(values: dict[str, Any], cap: Capability, today: date | None,
                        errors: dict[str, str]) -> None:
    """A delivery date no earlier than the production queue allows, within two years."""
    desired = values.get("desired_date")
    if not isinstance(desired, date):
        errors["desired_date"] = _("Isi tanggal pengiriman yang diinginkan.")
        return
    earliest = earliest_feasible_date(today, cap)
    if desired < earliest:
        errors["desired_date"] = _(
            "Paling cepat %(date)s (WIB) menurut antrean produksi saat ini.",
            date=format_date(earliest, "long"))
    elif desired > (today or wib_today()) + timedelta(days=MAX_DAYS_AHEAD):
        errors["desired_date"] = _("Paling lambat dua tahun dari hari ini.")


def _formula_of_company(formula_id: Any, company_id: Any) -> bool:
    from app.maklon.models import Formula

    if not isinstance(formula_id, int) or company_id is None:
        return False
    return db.session.scalar(select(Formula.id).where(
        Formula.id == formula_id, Formula.company_id == company_id)) is not None
