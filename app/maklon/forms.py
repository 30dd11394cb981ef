"""Forms of the maklon area. The request form checks only types and lengths (a draft may be
partial); whether the factory can make it is `app.maklon.capability.request_validate`."""

from __future__ import annotations

import re
from datetime import date
from typing import Any

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from flask_wtf.file import FileField
from wtforms import RadioField, SelectField, StringField, TextAreaField
from wtforms.fields.choices import SelectChoice  # type: ignore[attr-defined]  # in WTForms 3.2, missing from its stubs
from wtforms.validators import Optional, StopValidation, ValidationError

from app.accounts.forms import NpwpField
from app.core.forms import WholeNumberField, max_length, strip
from app.maklon.labels import (
    FORMULA_CHOICE_LABELS,
    PACKAGING_LABELS,
    PRODUCT_TYPE_LABELS,
    SIZE_UNITS,
)
from app.maklon.models import FormulaChoice, Packaging, ProductType

QUANTITY_MAX = 10_000_000  # a type check: beyond this it is a typo (capability says more)
SIZE_MAX = 100_000
SIDE_MAX = 10_000
_ISO_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")
_ID_DATE = re.compile(r"(\d{1,2})[/.-](\d{1,2})[/.-](\d{4})")


def parse_date(text: str) -> date | None:
    """A date as a date input sends it (2026-08-17) or as people write it (17/08/2026)."""
    text = text.strip()
    try:
        if _ISO_DATE.fullmatch(text):
            return date.fromisoformat(text)
        match = _ID_DATE.fullmatch(text)
        if match:
            day, month, year = (int(part) for part in match.groups())
            return date(year, month, day)
    except ValueError:
        return None
    return None


class DateTextField(StringField):
    """A date (`<input type="date">`): `data` is a date or None; an unreadable one stops
    validation with a message in our language (WTForms' own DateField's is English)."""

    def process_formdata(self, valuelist: list[str]) -> None:
        raw = valuelist[0] if valuelist else ""
        self.data = parse_date(raw) if raw.strip() else None

    def _value(self) -> str:
        if self.raw_data:
            return self.raw_data[0]
        return self.data.isoformat() if isinstance(self.data, date) else ""

    def pre_validate(self, form) -> None:
        if self.raw_data and self.raw_data[0].strip() and self.data is None:
            raise StopValidation(_l("Tulis tanggal yang valid, misalnya 17/08/2026."))


def _whole(label, maximum: int, **kwargs) -> WholeNumberField:
    return WholeNumberField(label, validators=[Optional()], minimum=1, maximum=maximum,
                            render_kw={"inputmode": "numeric"}, **kwargs)


def _choice_in(allowed: tuple[str, ...], message) -> Any:
    def check(form, field) -> None:
        if field.data not in ("", None) and field.data not in allowed:
            raise ValidationError(message)
    return check


class RequestForm(FlaskForm):
    """The client's quote request. `formula_id.choices` and `needs_company` are set by the
    route (the company's formulas; company fields for a client without a company)."""

    company_name = StringField(_l("Nama perusahaan / merek"), filters=[strip],
                               validators=[Optional(), max_length(160)])
    company_npwp = NpwpField(_l("NPWP perusahaan"),
                             description=_l("15 atau 16 angka; boleh dikosongkan."))
    company_address = TextAreaField(_l("Alamat perusahaan"), filters=[strip],
                                    validators=[Optional(), max_length(500)])

    product_name = StringField(_l("Nama produk"), filters=[strip],
                               validators=[Optional(), max_length(120)])
    product_type = SelectField(
        _l("Jenis produk"), validate_choice=False,
        choices=[SelectChoice("", _l("— Pilih —"))]
        + [SelectChoice(kind, PRODUCT_TYPE_LABELS[kind]) for kind in ProductType.ALL],
        validators=[_choice_in(ProductType.ALL, _l("Pilih jenis produk dari daftar."))])
    packaging = SelectField(
        _l("Jenis kemasan"), validate_choice=False,
        choices=[SelectChoice("", _l("— Pilih —"))]
        + [SelectChoice(kind, PACKAGING_LABELS[kind]) for kind in Packaging.ALL],
        validators=[_choice_in(Packaging.ALL, _l("Pilih jenis kemasan dari daftar."))])
    size = _whole(_l("Isi per kemasan"), SIZE_MAX)
    size_unit = SelectField(_l("Satuan"), validate_choice=False, default="ml",
                            choices=[SelectChoice(unit, unit) for unit in SIZE_UNITS],
                            validators=[_choice_in(SIZE_UNITS, _l("Pilih satuan ml atau g."))])
    length_mm = _whole(_l("Panjang (mm)"), SIDE_MAX)
    width_mm = _whole(_l("Lebar (mm)"), SIDE_MAX)
    height_mm = _whole(_l("Tinggi (mm)"), SIDE_MAX)
    quantity = _whole(_l("Jumlah per batch (unit)"), QUANTITY_MAX)
    formula_choice = RadioField(
        _l("Formula"), validate_choice=False, default=FormulaChoice.DEVELOP,
        choices=[SelectChoice(kind, FORMULA_CHOICE_LABELS[kind]) for kind in FormulaChoice.ALL],
        validators=[_choice_in(FormulaChoice.ALL, _l("Pilih sumber formula."))])
    formula_id = SelectField(_l("Formula tersimpan"), validate_choice=False, choices=[])
    desired_date = DateTextField(_l("Tanggal pengiriman yang diinginkan"),
                                 render_kw={"type": "date"})
    notes = TextAreaField(_l("Catatan"), filters=[strip],
                          validators=[Optional(), max_length(2000)])
    spec_file = FileField(_l("Berkas spesifikasi formula (PDF, PNG, JPG, WebP)"),
                          render_kw={"accept": "application/pdf,image/png,image/jpeg,image/webp"})
    reference_file = FileField(_l("Berkas referensi (PDF, PNG, JPG, WebP)"),
                               render_kw={"accept":
                                          "application/pdf,image/png,image/jpeg,image/webp"})

    needs_company = False

    def validate_formula_id(self, field) -> None:
        allowed = {str(choice.value) for choice in field.choices if choice.value}
        if field.data not in ("", None) and str(field.data) not in allowed:
            raise ValidationError(_l("Formula ini tidak ditemukan di perusahaan Anda."))

    def validate_company_name(self, field) -> None:
        if self.needs_company and not field.data:
            raise ValidationError(_l("Nama perusahaan wajib diisi untuk pengajuan pertama."))

    def values(self) -> dict[str, Any]:
        """The typed request fields (what the services and the capability check take)."""
        formula_id = self.formula_id.data
        return {
            "product_name": self.product_name.data or "",
            "product_type": self.product_type.data or "",
            "packaging": self.packaging.data or "",
            "size": self.size.data,
            "size_unit": self.size_unit.data or "ml",
            "length_mm": self.length_mm.data,
            "width_mm": self.width_mm.data,
            "height_mm": self.height_mm.data,
            "quantity": self.quantity.data,
            "formula_choice": self.formula_choice.data or FormulaChoice.DEVELOP,
            "formula_id": int(formula_id) if formula_id and str(formula_id).isdigit() else None,
            "desired_date": self.desired_date.data,
            "notes": self.notes.data or "",
        }

    def company_values(self) -> dict[str, str]:
        return {"name": self.company_name.data or "", "npwp": self.company_npwp.data or "",
                "address": self.company_address.data or ""}


class ConfirmForm(FlaskForm):
    """A button that only needs the CSRF token (cancel, upload's own fields below)."""


class FileUploadForm(FlaskForm):
    kind = SelectField(_l("Jenis berkas"), validate_choice=False,
                       choices=[SelectChoice("reference", _l("Referensi")),
                                SelectChoice("spec", _l("Spesifikasi formula"))],
                       validators=[_choice_in(("reference", "spec"),
                                              _l("Pilih jenis berkas."))])
    upload = FileField(_l("Berkas (PDF, PNG, JPG, WebP)"),
                       render_kw={"accept": "application/pdf,image/png,image/jpeg,image/webp"})
