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
from wtforms import BooleanField, SelectField, StringField, TextAreaField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import NumberRange, Optional, ValidationError

from app.accounts.forms import NpwpField
from app.core.forms import WholeNumberField, max_length, required, strip
from app.payments.gateways.base import GATEWAYS
from app.payments.invoices import dpp_fraction_valid, tax_number_parse

# Typed as percent: at most two digits before and two after the decimal point (comma or dot).
_RATE_TEXT = re.compile(r"\d{1,2}(?:\.\d{1,2})?")
_DPP_TEXT = re.compile(r"\d{1,4}/\d{1,4}|\d(?:\.\d{1,6})?")

GATEWAY_LABELS = {"sandbox": _l("Sandbox (uji coba, tanpa uang sungguhan)"),
                  "midtrans": _l("Midtrans")}
VA_EXPIRY_RANGE = (5, 10_080)  # 5 minutes to 7 days
EWALLET_EXPIRY_RANGE = (1, 1_440)  # 1 minute to 24 hours


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


class StockForm(SettingsForm):
    low_stock_default = WholeNumberField(
        _l("Batas stok menipis untuk toko baru"), render_kw={"inputmode": "numeric"},
        validators=[required(), NumberRange(min=0, max=100_000,
                                            message=_l("Antara 0 dan 100.000."))],
        description=_l("Toko yang sudah ada tetap memakai batasnya sendiri; penjual dapat "
                       "mengubahnya di pengaturan toko."))


class PaymentForm(SettingsForm):
    va_expiry = WholeNumberField(
        _l("Batas waktu bayar VA dan tagihan (menit)"), render_kw={"inputmode": "numeric"},
        validators=[required(), NumberRange(*VA_EXPIRY_RANGE, message=_l(
            "Antara %(min)s dan %(max)s menit.", min=VA_EXPIRY_RANGE[0],
            max="10.080"))],
        description=_l("5 menit sampai 7 hari (10.080 menit). Berlaku untuk pembayaran baru."))
    ewallet_expiry = WholeNumberField(
        _l("Batas waktu bayar e-wallet dan QRIS (menit)"),
        render_kw={"inputmode": "numeric"},
        validators=[required(), NumberRange(*EWALLET_EXPIRY_RANGE, message=_l(
            "Antara %(min)s dan %(max)s menit.", min=EWALLET_EXPIRY_RANGE[0],
            max="1.440"))],
        description=_l("1 menit sampai 24 jam (1.440 menit). Berlaku untuk pembayaran baru."))
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
        validators=[required(), NumberRange(min=1, max=1000,
                                            message=_l("Masukkan angka 1 sampai 1000."))],
        description=_l("Tugas untuk orang yang sudah memiliki lebih dari jumlah ini dialihkan "
                       "ke rekan dengan posisi yang sama."))
