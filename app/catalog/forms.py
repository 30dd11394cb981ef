"""Catalog forms. The product form has rows that grow and shrink (specifications and option
groups): they are plain repeated inputs parsed by `ProductRows`, and the buttons that add or
remove a row submit the form with an `action` (re-rendered, nothing saved), so they work
with and without JavaScript."""

from __future__ import annotations

from dataclasses import dataclass, field

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from flask_wtf.file import MultipleFileField
from werkzeug.datastructures import MultiDict
from wtforms import BooleanField, SelectField, StringField, TextAreaField
from wtforms.validators import Optional, ValidationError

from app.accounts.forms import NpwpField
from app.catalog.queries import category_flat
from app.catalog.services import MAX_PRICE, PRICE_MESSAGE, OptionGroup, VariantChange
from app.catalog.stock import MAX_STOCK, NEGATIVE_STOCK_MESSAGE
from app.core.forms import (
    NumberInputError,
    RupiahField,
    WholeNumberField,
    max_length,
    parse_int,
    read_rupiah,
    read_whole_number,
    required,
    strip,
)

SPEC_LABEL_MAX, SPEC_VALUE_MAX = 60, 200
GROUP_NAME_MAX, OPTION_VALUE_MAX = 30, 40

MAX_WEIGHT_GRAMS = 50_000  # 50 kg: couriers' parcel limit

def category_choices(blank: str | None = None) -> list[tuple[int, str]]:
    from flask_babel import get_locale

    locale = str(get_locale() or "id")
    choices = [(node.category.id, "— " * node.depth + node.category.label(locale))
               for node in category_flat()]
    return ([(0, blank)] if blank else []) + choices


class ProductForm(FlaskForm):
    name = StringField(_l("Nama produk"), filters=[strip], validators=[required(),
                                                                        max_length(150)])
    description = TextAreaField(_l("Deskripsi"), filters=[strip],
                                validators=[Optional(), max_length(5000)])
    category_id = SelectField(_l("Kategori"), coerce=int, validate_choice=False)
    price = RupiahField(_l("Harga (Rp)"), validators=[required()], maximum=MAX_PRICE,
                        description=_l("Harga varian baru; harga tiap varian bisa diubah "
                                       "setelah disimpan."))
    initial_stock = WholeNumberField(
        _l("Stok awal per varian"), default=0, validators=[Optional()], maximum=MAX_STOCK,
        negative_message=NEGATIVE_STOCK_MESSAGE)
    sku = StringField(_l("SKU (opsional)"), filters=[strip], validators=[max_length(64)],
                      description=_l("Kosongkan agar dibuat otomatis."))

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.category_id.choices = category_choices(str(_l("— pilih kategori —")))

    def validate_category_id(self, field) -> None:
        if not field.data or field.data not in {c for c, _ in field.choices}:
            from wtforms.validators import ValidationError

            raise ValidationError(_l("Pilih kategori."))

    def validate_price(self, field) -> None:
        from wtforms.validators import ValidationError

        if field.data is not None and field.data <= 0:
            raise ValidationError(PRICE_MESSAGE)


@dataclass
class ProductRows:
    """Specification rows and option groups as typed (kept verbatim to re-render)."""

    specs: list[tuple[str, str]] = field(default_factory=list)
    groups: list[tuple[str, str]] = field(default_factory=list)  # (name, "a, b, c")
    errors: dict[str, list[str]] = field(default_factory=dict)

    @classmethod
    def from_form(cls, form: MultiDict) -> ProductRows:
        specs = list(zip(form.getlist("spec_label"), form.getlist("spec_value"), strict=False))
        groups = list(zip(form.getlist("group_name"), form.getlist("group_values"),
                          strict=False))
        return cls(specs=[(a.strip(), b.strip()) for a, b in specs],
                   groups=[(a.strip(), b.strip()) for a, b in groups])

    @classmethod
    def from_product(cls, product) -> ProductRows:
        return cls(
            specs=[(s["label"], s["value"]) for s in product.specifications],
            groups=[(g["name"], ", ".join(g["values"])) for g in product.option_groups],
        )

    def apply(self, action: str) -> bool:
        """Add or remove a row; True when the action was one of those (nothing to save)."""
        name, _, index = action.partition(":")
        position = parse_int(index)
        if name == "add_spec":
            self.specs.append(("", ""))
        elif name == "add_group":
            self.groups.append(("", ""))
        elif name == "remove_spec" and position is not None and 0 <= position < len(self.specs):
            del self.specs[position]
        elif name == "remove_group" and position is not None and \
                0 <= position < len(self.groups):
            del self.groups[position]
        else:
            return False
        return True

    def specifications(self) -> list[tuple[str, str]]:
        out = []
        for label, value in self.specs:
            if not label and not value:
                continue
            if not label or not value:
                self._error("specifications", _l("Isi label dan nilai setiap baris "
                                                 "spesifikasi (atau kosongkan keduanya)."))
            elif len(label) > SPEC_LABEL_MAX or len(value) > SPEC_VALUE_MAX:
                self._error("specifications", _l("Label maksimal %(a)s dan nilai maksimal "
                                                 "%(b)s karakter.", a=SPEC_LABEL_MAX,
                                                 b=SPEC_VALUE_MAX))
            else:
                out.append((label, value))
        return out

    def option_groups(self) -> list[OptionGroup]:
        out = []
        for name, values_text in self.groups:
            values = [v.strip() for v in values_text.split(",") if v.strip()]
            if not name and not values:
                continue
            if len(name) > GROUP_NAME_MAX or any(len(v) > OPTION_VALUE_MAX for v in values):
                self._error("options", _l("Nama kelompok maksimal %(a)s dan tiap nilai "
                                          "maksimal %(b)s karakter.", a=GROUP_NAME_MAX,
                                          b=OPTION_VALUE_MAX))
                continue
            out.append(OptionGroup(name=name, values=values))
        return out

    def _error(self, key: str, message) -> None:
        messages = self.errors.setdefault(key, [])
        if str(message) not in messages:
            messages.append(str(message))


def variant_changes(form: MultiDict) -> tuple[list[VariantChange], dict[str, list[str]]]:
    """Parse the variants table (`sku-<id>`, `price-<id>`, `stock-<id>`, `weight-<id>`
    (grams), `expected-<id>`)."""
    changes, errors = [], {}
    for raw_id in form.getlist("variant_id"):
        variant_id = parse_int(raw_id)
        if variant_id is None:
            continue
        price = stock = None
        try:
            price = read_rupiah(form.get(f"price-{variant_id}"), maximum=MAX_PRICE)
        except NumberInputError as error:
            errors[f"price-{variant_id}"] = [error.message]
        try:
            stock = read_whole_number(form.get(f"stock-{variant_id}"), maximum=MAX_STOCK,
                                      negative_message=NEGATIVE_STOCK_MESSAGE)
        except NumberInputError as error:
            errors[f"stock-{variant_id}"] = [error.message]
        weight = None
        if form.get(f"weight-{variant_id}") is not None:
            try:
                weight = read_whole_number(form.get(f"weight-{variant_id}"), minimum=1,
                                           maximum=MAX_WEIGHT_GRAMS)
            except NumberInputError as error:
                errors[f"weight-{variant_id}"] = [error.message]
        expected = parse_int(form.get(f"expected-{variant_id}"))
        changes.append(VariantChange(
            variant_id=variant_id, sku=(form.get(f"sku-{variant_id}") or "").strip(),
            price=price or 0, stock=stock if stock is not None else 0,
            expected_stock=expected if expected is not None else -1,
            weight_grams=weight,
        ))
    return changes, errors


class PhotoForm(FlaskForm):
    photos = MultipleFileField(
        _l("Foto (JPG, PNG, atau WebP; maks. 5 MB per foto)"),
        render_kw={"accept": "image/jpeg,image/png,image/webp"},
        description=_l("Foto pertama menjadi sampul. Maksimal 8 foto per produk."),
    )


class StoreSettingsForm(FlaskForm):
    name = StringField(_l("Nama toko"), filters=[strip], validators=[required(),
                                                                      max_length(120)])
    location = StringField(_l("Lokasi (kota)"), filters=[strip],
                           validators=[required(), max_length(120)])
    description = TextAreaField(_l("Deskripsi toko"), filters=[strip],
                                validators=[Optional(), max_length(2000)])
    low_stock_threshold = WholeNumberField(
        _l("Batas stok menipis"),
        validators=[required()], maximum=100_000,
        description=_l("Varian dengan stok di bawah angka ini ditandai dan Anda dikirimi "
                       "pemberitahuan."),
    )
    shipping_cost = RupiahField(
        _l("Ongkos kirim per pesanan"),
        validators=[Optional()], maximum=10_000_000,
        description=_l("Tarif tetap yang ditambahkan ke setiap pesanan dari toko Anda. "
                       "Kosongkan atau isi 0 untuk gratis ongkir."),
    )
    # Printed on invoices.
    address = TextAreaField(_l("Alamat usaha (untuk invoice)"), filters=[strip],
                            validators=[Optional(), max_length(500)])
    npwp = NpwpField(_l("NPWP toko (opsional)"))
    pkp = BooleanField(
        _l("Toko saya Pengusaha Kena Pajak (PKP)"),
        description=_l("Invoice toko PKP memuat DPP dan PPN yang sudah termasuk dalam "
                       "harga."))
    weekly_report = BooleanField(
        _l("Kirim laporan mingguan"),
        description=_l("Setiap Senin pukul 09.00 WIB: pendapatan, pesanan, produk terlaris "
                       "dan stok menipis minggu lalu, lewat email."))

    def validate_npwp(self, field) -> None:
        if self.pkp.data and not field.data:
            raise ValidationError(_l("Toko PKP wajib mengisi NPWP."))


class CategoryForm(FlaskForm):
    name = StringField(_l("Nama (Indonesia)"), filters=[strip],
                       validators=[required(), max_length(80)])
    name_en = StringField(_l("Nama (Inggris)"), filters=[strip],
                          validators=[Optional(), max_length(80)])
    parent_id = SelectField(_l("Induk"), coerce=int, validate_choice=False)
    position = WholeNumberField(_l("Urutan"), default=0, validators=[Optional()],
                                maximum=10_000)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.parent_id.choices = category_choices(str(_l("— kategori utama —")))
