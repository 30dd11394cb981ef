"""Forms of the admin settings page (/admin/pengaturan): one per section, each saved on its
own. Messages are Indonesian source strings, translated by Flask-Babel."""

from __future__ import annotations

import re
from decimal import Decimal
from typing import Any

from flask import current_app
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from flask_wtf.file import FileField
from wtforms import BooleanField, FormField, SelectField, StringField, TextAreaField
from wtforms.fields.choices import SelectChoice  # type: ignore[attr-defined]  # in WTForms 3.2, missing from its stubs
from wtforms.form import Form
from wtforms.validators import Optional, StopValidation, ValidationError

from app.accounts.forms import NpwpField
from app.core.forms import RupiahField, WholeNumberField, max_length, required, strip
from app.payments.gateways.base import GATEWAYS
from app.payments.invoices import dpp_fraction_valid, tax_number_parse

# Typed as percent: at most two digits before and two after the decimal point (comma or dot).
_RATE_TEXT = re.compile(r"\d{1,2}(?:\.\d{1,2})?")
_DPP_TEXT = re.compile(r"\d{1,4}/\d{1,4}|\d(?:\.\d{1,6})?")

GATEWAY_LABELS = {"sandbox": _l("Sandbox (uji coba, tanpa uang sungguhan)"),
                  "midtrans": _l("Midtrans")}
VA_EXPIRY_RANGE = (5, 10_080)  # 5 minutes to 7 days
EWALLET_EXPIRY_RANGE = (1, 1_440)  # 1 minute to 24 hours
CSTORE_EXPIRY_RANGE = (5, 10_080)  # 5 minutes to 7 days (Midtrans allows up to 180 days)


def tax_text(value: str | None) -> str | None:
    """"11,5 " -> "11.5": the decimal comma of Indonesian, spaces dropped."""
    return value.replace(" ", "").replace(",", ".") if isinstance(value, str) else value


def ppn_rate_text(text: str) -> str:
    """The rate as stored: "11.50" -> "11.5", "012" -> "12" (exact: Decimal, no float)."""
    rate = tax_number_parse(text)
    if rate is None:
        return text
    return format((Decimal(rate.numerator) / Decimal(rate.denominator)).normalize(), "f")


class SettingsForm(FlaskForm):
    """A section's form: `values(names)` gives what is stored for those fields."""

    def values(self, names: list[str]) -> dict[str, Any]:
        # A text field left out of the request has no data: stored as empty, like a blank.
        return {name: "" if self[name].data is None else self[name].data for name in names}


class CompanyForm(SettingsForm):
    name = StringField(_l("Nama resmi perusahaan"), filters=[strip],
                       validators=[required(), max_length(200)],
                       description=_l("Dicetak di dokumen, misalnya \"Diterbitkan melalui …\" "
                                      "di invoice."))
    address = TextAreaField(_l("Alamat"), filters=[strip],
                            validators=[Optional(), max_length(500)])
    npwp = NpwpField(_l("NPWP"), description=_l("15 atau 16 angka; wajib untuk PKP."))
    pkp = BooleanField(_l("Pengusaha Kena Pajak (PKP)"))
    logo = FileField(_l("Logo baru (JPG, PNG, atau WebP; maks. 5 MB)"),
                     render_kw={"accept": "image/jpeg,image/png,image/webp"},
                     description=_l("Opsional. Dicetak kecil di kepala invoice."))
    logo_remove = BooleanField(_l("Hapus logo"))

    def validate_npwp(self, field) -> None:
        if self.pkp.data and field.data == "":
            raise ValidationError(_l("Perusahaan PKP wajib memiliki NPWP."))


class TaxForm(SettingsForm):
    ppn_rate = StringField(
        _l("Tarif PPN (%)"), filters=[tax_text], validators=[required(), max_length(10)],
        render_kw={"inputmode": "decimal"},
        description=_l("Lebih dari 0 dan kurang dari 100, paling banyak 2 desimal, misalnya "
                       "12 atau 11,5."))
    dpp_fraction = StringField(
        _l("Bagian harga yang menjadi DPP"), filters=[tax_text],
        validators=[required(), max_length(12)],
        description=_l("Pecahan seperti 11/12, atau desimal di atas 0 sampai 1, misalnya "
                       "0,9."))

    def values(self, names: list[str]) -> dict[str, Any]:
        values = super().values(names)
        values["ppn_rate"] = ppn_rate_text(values["ppn_rate"])
        return values

    def validate_ppn_rate(self, field) -> None:
        rate = tax_number_parse(field.data) if _RATE_TEXT.fullmatch(field.data or "") else None
        if rate is None or not 0 < rate < 100:
            raise ValidationError(_l("Tulis persen lebih dari 0 dan kurang dari 100 dengan "
                                     "paling banyak 2 desimal, misalnya 12 atau 11,5."))

    def validate_dpp_fraction(self, field) -> None:
        value = tax_number_parse(field.data) if _DPP_TEXT.fullmatch(field.data or "") else None
        if value is None or not dpp_fraction_valid(value):
            raise ValidationError(_l("Tulis pecahan seperti 11/12 atau desimal di atas 0 "
                                     "sampai 1, misalnya 0,9."))


def _whole_number(label, low: int, high: int, **kwargs: Any) -> WholeNumberField:
    """A required whole number in [low, high] (the field says which bound is crossed)."""
    return WholeNumberField(label, render_kw={"inputmode": "numeric"},
                            validators=[required()], minimum=low, maximum=high, **kwargs)


class StockForm(SettingsForm):
    low_stock_default = _whole_number(
        _l("Batas stok menipis untuk toko baru"), 0, 100_000,
        description=_l("Toko yang sudah ada tetap memakai batasnya sendiri; penjual dapat "
                       "mengubahnya di pengaturan toko."))


class PaymentForm(SettingsForm):
    va_expiry = WholeNumberField(
        _l("Batas waktu bayar VA dan tagihan (menit)"), render_kw={"inputmode": "numeric"},
        validators=[required()], minimum=VA_EXPIRY_RANGE[0], maximum=VA_EXPIRY_RANGE[1],
        description=_l("5 menit sampai 7 hari (10.080 menit). Berlaku untuk pembayaran baru."))
    ewallet_expiry = WholeNumberField(
        _l("Batas waktu bayar e-wallet dan QRIS (menit)"),
        render_kw={"inputmode": "numeric"},
        validators=[required()], minimum=EWALLET_EXPIRY_RANGE[0],
        maximum=EWALLET_EXPIRY_RANGE[1],
        description=_l("1 menit sampai 24 jam (1.440 menit). Berlaku untuk pembayaran baru."))
    cstore_expiry = WholeNumberField(
        _l("Batas waktu bayar di gerai retail (menit)"),
        render_kw={"inputmode": "numeric"},
        validators=[required()], minimum=CSTORE_EXPIRY_RANGE[0],
        maximum=CSTORE_EXPIRY_RANGE[1],
        description=_l("Kode pembayaran Alfamart dan Indomaret: 5 menit sampai 7 hari "
                       "(10.080 menit). Berlaku untuk pembayaran baru."))
    gateway = SelectField(
        _l("Gateway pembayaran"),
        choices=[SelectChoice(name, GATEWAY_LABELS[name]) for name in GATEWAYS],
        validate_choice=False,  # checked below, with a message in our language
        validators=[required()],
        description=_l("Untuk pembayaran baru; pembayaran yang sudah dibuat tetap memakai "
                       "gateway-nya."))

    def validate_gateway(self, field) -> None:
        config = current_app.config
        if field.data not in GATEWAYS:
            raise ValidationError(_l("Pilih gateway dari daftar."))
        if field.data == "midtrans" and not config.get("MIDTRANS_SERVER_KEY"):
            raise ValidationError(_l("Midtrans belum dapat dipakai: MIDTRANS_SERVER_KEY "
                                     "belum diatur di server."))
        if field.data == "sandbox" and not config.get("PAYMENT_SANDBOX_ENABLED"):
            raise ValidationError(_l("Sandbox dimatikan di server ini (produksi)."))


class CrmForm(SettingsForm):
    reassign_threshold = WholeNumberField(
        _l("Batas tugas aktif sebelum dialihkan"), render_kw={"inputmode": "numeric"},
        validators=[required()], minimum=1, maximum=1000,
        description=_l("Tugas untuk orang yang sudah memiliki lebih dari jumlah ini dialihkan "
                       "ke rekan dengan posisi yang sama."))


class BackupForm(SettingsForm):
    keep_daily = _whole_number(_l("Cadangan harian yang disimpan"), 1, 60)
    keep_weekly = _whole_number(_l("Cadangan mingguan yang disimpan"), 0, 52)
    keep_monthly = _whole_number(
        _l("Cadangan bulanan yang disimpan"), 0, 120,
        description=_l("Cadangan terbaru tiap hari, minggu, dan bulan disimpan sebanyak ini; "
                       "sisanya dihapus oleh rotasi malam."))


# --- maklon: production capability and pricing -------------------------------------------
def _maklon_labels():
    from app.maklon.labels import PACKAGING_LABELS, PRODUCT_TYPE_LABELS

    return PRODUCT_TYPE_LABELS, PACKAGING_LABELS


def _rupiah(label, high: int = 1_000_000_000) -> RupiahField:
    return RupiahField(label, render_kw={"inputmode": "numeric"}, validators=[required()],
                       maximum=high)


def _mapping_form(names: tuple[str, ...], labels: dict, make_field) -> type:
    """A sub-form with one field per name (its `data` is {name: value})."""
    return type("MappingForm", (Form,), {name: make_field(labels[name]) for name in names})


def _decimal_text(text: str | None, *, places: int) -> str | None:
    """A decimal as typed ("12,5" or "12.5") -> its stored text ("12.5"), else None."""
    value = tax_text(text)
    if not value or not re.fullmatch(rf"\d{{1,9}}(?:\.\d{{1,{places}}})?", value):
        return None
    return format(Decimal(value).normalize(), "f")


class DecimalTextField(StringField):
    """A non-negative decimal (comma or dot), stored as normalised text ("12.5"); `low`
    and `high` bound it, `places` its decimals."""

    def __init__(self, label=None, *, low: Decimal = Decimal(0), high: Decimal,
                 places: int = 2, **kwargs):
        kwargs.setdefault("render_kw", {"inputmode": "decimal"})
        super().__init__(label, filters=[tax_text], **kwargs)
        self.low, self.high, self.places = low, high, places

    def process_data(self, value) -> None:
        self.data = None if value is None else str(value)

    def pre_validate(self, form) -> None:
        text = _decimal_text(self.data, places=self.places)
        if text is None or not self.low <= Decimal(text) <= self.high:
            raise StopValidation(_l(
                "Tulis angka %(low)s sampai %(high)s, paling banyak %(places)s desimal, "
                "misalnya 12,5.", low=self.low, high=self.high, places=self.places))
        self.data = text


TIER_MAX = 10
_TIER_ITEM = re.compile(r"(\d{1,3}(?:\.\d{3})+|\d{1,9})\s*:\s*(\d{1,2}(?:\.\d{1,2})?)\s*%?")


def tiers_parse(text: str) -> list[list[Any]]:
    """"1000:3, 5000:7, 10.000:12" -> [[1000, "3"], [5000, "7"], [10000, "12"]]. Raises
    ValueError with the message for anything else: unreadable, not ascending (quantities
    strictly, percentages never falling), a percent outside 0-100, more than 10 tiers."""
    items = [item.strip() for item in re.split(r"[,;\n]", text or "") if item.strip()]
    if len(items) > TIER_MAX:
        raise ValueError(_l("Paling banyak %(max)s tingkat.", max=TIER_MAX))
    tiers: list[list[Any]] = []
    for item in items:
        match = _TIER_ITEM.fullmatch(item)
        if match is None:
            raise ValueError(_l("Tulis tingkat seperti 1000:3, 5000:7, 10000:12 (jumlah "
                                "unit:persen diskon, desimal dengan titik)."))
        quantity = int(match.group(1).replace(".", ""))
        percent = Decimal(match.group(2))
        if quantity <= 0 or not 0 < percent < 100:
            raise ValueError(_l("Jumlah harus lebih dari 0 dan diskon antara 0 dan 100%."))
        if tiers and (quantity <= tiers[-1][0] or percent < Decimal(tiers[-1][1])):
            raise ValueError(_l("Urutkan tingkat dari jumlah terkecil; diskon tidak boleh "
                                "turun pada jumlah yang lebih besar."))
        tiers.append([quantity, format(percent.normalize(), "f")])
    return tiers


def tiers_text(tiers: Any) -> str:
    """The stored tiers as the admin types them: "1000:3, 5000:7"."""
    try:
        return ", ".join(f"{int(minimum)}:{pct}" for minimum, pct in tiers)
    except (TypeError, ValueError):
        return ""


class TiersField(StringField):
    """Quantity discount tiers typed as text; `data` becomes the stored list once valid."""

    def process_data(self, value) -> None:
        self.data = tiers_text(value) if isinstance(value, list | tuple) else value

    def pre_validate(self, form) -> None:
        try:
            self.data = tiers_parse(self.data or "")
        except ValueError as error:
            raise StopValidation(str(error.args[0])) from None

    def _value(self) -> str:
        if self.raw_data:
            return self.raw_data[0]
        return tiers_text(self.data) if isinstance(self.data, list) else (self.data or "")


def maklon_capability_form() -> type:
    from app.maklon.models import Packaging, ProductType

    types, packagings = _maklon_labels()

    class MaklonCapabilityForm(SettingsForm):
        weekly_capacity = _whole_number(_l("Kapasitas produksi per minggu (unit)"),
                                        1, 10_000_000)
        lead_time_days = _whole_number(_l("Waktu tunggu dasar (hari)"), 0, 365)
        moq = FormField(_mapping_form(ProductType.ALL, types, lambda label: _whole_number(
            label, 1, 10_000_000)), label=_l("Minimum pesanan per jenis produk (unit)"))
        size_min = FormField(_mapping_form(Packaging.ALL, packagings, lambda label:
                             _whole_number(label, 1, 100_000)),
                             label=_l("Isi minimum per kemasan (ml/g)"))
        size_max = FormField(_mapping_form(Packaging.ALL, packagings, lambda label:
                             _whole_number(label, 1, 100_000)),
                             label=_l("Isi maksimum per kemasan (ml/g)"))
        dimension_min_mm = _whole_number(_l("Kemasan khusus: sisi terpendek (mm)"), 1, 10_000)
        dimension_max_mm = _whole_number(_l("Kemasan khusus: sisi terpanjang (mm)"),
                                         1, 10_000)
        max_volume_ml = _whole_number(_l("Kemasan khusus: volume maksimum (ml)"),
                                      1, 1_000_000)

        def validate(self, extra_validators=None) -> bool:
            valid = super().validate(extra_validators)
            # Across the two sub-forms (FormField takes no inline validators).
            low_values, high_values = self.size_min.data or {}, self.size_max.data or {}
            for name, high in high_values.items():
                low = low_values.get(name)
                if isinstance(low, int) and isinstance(high, int) and high < low:
                    sub = self.size_max[name]
                    sub.errors = [*sub.errors, _l(
                        "Tidak boleh lebih kecil dari isi minimum (%(min)s).", min=low)]
                    valid = False
            return valid

        def validate_dimension_max_mm(self, field) -> None:
            low = self.dimension_min_mm.data
            if isinstance(low, int) and isinstance(field.data, int) and field.data < low:
                raise ValidationError(_l("Tidak boleh lebih kecil dari sisi terpendek."))

    return MaklonCapabilityForm


def maklon_price_form() -> type:
    from app.maklon.models import Packaging, ProductType

    types, packagings = _maklon_labels()

    class MaklonPriceForm(SettingsForm):
        import_surcharge = DecimalTextField(
            _l("Biaya tambahan bahan impor (%)"), high=Decimal(500),
            description=_l("Ditambahkan pada biaya bahan baku impor, misalnya 25."))
        margin = DecimalTextField(_l("Margin (%)"), high=Decimal(300))
        labour_per_batch = _rupiah(_l("Tenaga kerja & overhead per batch (Rp)"))
        labour_per_unit = _rupiah(_l("Tenaga kerja per unit (Rp)"), 10_000_000)
        development_fee = _rupiah(_l("Biaya pengembangan formula (Rp)"))
        packaging_cost = FormField(_mapping_form(Packaging.ALL, packagings, lambda label:
                                   _rupiah(label, 10_000_000)),
                                   label=_l("Biaya kemasan per unit (Rp)"))
        material_rate = FormField(_mapping_form(ProductType.ALL, types, lambda label:
                                  DecimalTextField(label, high=Decimal(1_000_000),
                                                   places=4)),
                                  label=_l("Tarif bahan baku tanpa formula tersimpan "
                                           "(Rp per ml/g)"))
        discount_tiers = TiersField(
            _l("Diskon jumlah"), validators=[max_length(200)],
            description=_l("Jumlah unit minimum:persen diskon, dipisah koma, dari jumlah "
                           "terkecil, misalnya 1000:3, 5000:7, 10000:12. Kosong: tanpa "
                           "diskon."))

    return MaklonPriceForm
