"""Account forms. Messages are Indonesian source strings, translated by Flask-Babel."""

from __future__ import annotations

import re

from email_validator import EmailNotValidError, validate_email
from flask import current_app
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import (
    BooleanField,
    EmailField,
    HiddenField,
    PasswordField,
    RadioField,
    SelectField,
    StringField,
    TelField,
    TextAreaField,
)
from wtforms.fields.choices import SelectChoice  # type: ignore[attr-defined]  # in WTForms 3.2, missing from its stubs
from wtforms.validators import (
    EqualTo,
    Optional,
    Regexp,
    StopValidation,
    ValidationError,
)

from app.accounts.addresses import PROVINCES, AddressData
from app.accounts.passwords import MAX_LENGTH, MIN_LENGTH
from app.core.forms import max_length, required, strip

LANGUAGE_CHOICES = [
    SelectChoice("id", "Bahasa Indonesia", render_kw={"lang": "id"}),
    SelectChoice("en", "English", render_kw={"lang": "en"}),
]
PHONE_PATTERN = r"^\+?[0-9 ()-]{6,20}$"
PASSWORD_HINT = _l("%(min)s–%(max)s karakter; hindari kata sandi yang umum.",
                   min=MIN_LENGTH, max=MAX_LENGTH)


NPWP_SEPARATORS = re.compile(r"[\s.\-]")


def npwp_normalize(text: str | None) -> str | None:
    """The digits of an NPWP typed with or without its dots and dashes
    (`01.234.567.8-901.000` or the 16-digit NIK-based form); "" when empty, None when it is
    not 15 or 16 digits."""
    digits = NPWP_SEPARATORS.sub("", text or "")
    if not digits:
        return ""
    return digits if re.fullmatch(r"\d{15}|\d{16}", digits) else None


class NpwpField(StringField):
    """An optional NPWP: `data` is its digits ("" when empty); anything else than 15 or 16
    digits (dots, dashes and spaces allowed) is refused at the field."""

    def process_formdata(self, valuelist: list[str]) -> None:
        self.data = npwp_normalize(valuelist[0] if valuelist else "")

    def _value(self) -> str:
        if self.raw_data:
            return self.raw_data[0]
        return self.data or ""

    def pre_validate(self, form) -> None:
        if self.data is None:
            raise StopValidation(_l("NPWP terdiri dari 15 atau 16 angka, misalnya "
                                    "01.234.567.8-901.000."))


class EmailAddress:
    """Syntax check with email-validator (no DNS lookups). Outside production the reserved
    `.test` domain is accepted, so demo and test addresses (`@racik.test`) work."""

    def __call__(self, form, field) -> None:
        try:
            validate_email(
                field.data or "",
                check_deliverability=False,
                test_environment=current_app.config.get("EMAIL_ALLOW_TEST_DOMAINS", False),
            )
        except EmailNotValidError:
            raise ValidationError(_l("Alamat email tidak valid.")) from None


class RegisterForm(FlaskForm):
    account_type = RadioField(
        _l("Jenis akun"),
        choices=[
            SelectChoice("customer", _l("Pembeli")),
            SelectChoice("seller", _l("Penjual (buka toko)")),
        ],
        default="customer",
        validate_choice=False,  # checked in validate() with a message in our language
        validators=[required()],
    )
    name = StringField(_l("Nama lengkap"), validators=[required(), max_length(120)])
    email = EmailField(
        _l("Email"),
        filters=[strip],
        validators=[
            required(),
            max_length(320),
            EmailAddress(),
        ],
    )
    phone = TelField(
        _l("Nomor telepon (opsional)"),
        validators=[Optional(), Regexp(PHONE_PATTERN, message=_l("Nomor telepon tidak valid."))],
    )
    password = PasswordField(
        _l("Kata sandi"),
        validators=[required(), max_length(MAX_LENGTH + 1)],
        description=PASSWORD_HINT,
    )
    password_confirm = PasswordField(
        _l("Ulangi kata sandi"),
        validators=[
            required(),
            EqualTo("password", message=_l("Konfirmasi kata sandi tidak cocok.")),
        ],
    )
    store_name = StringField(_l("Nama toko"), validators=[max_length(120)])
    store_location = StringField(_l("Lokasi toko (kota)"), validators=[max_length(120)])

    def validate(self, extra_validators=None) -> bool:
        valid = super().validate(extra_validators)
        if self.account_type.data not in ("customer", "seller"):
            self.account_type.errors = [*self.account_type.errors, _l("Pilihan tidak valid.")]
            return False
        if self.account_type.data == "seller":
            if not (self.store_name.data or "").strip():
                self.store_name.errors = [*self.store_name.errors, _l("Nama toko wajib diisi.")]
                valid = False
            if not (self.store_location.data or "").strip():
                self.store_location.errors = [
                    *self.store_location.errors,
                    _l("Lokasi toko wajib diisi."),
                ]
                valid = False
        return valid


class LoginForm(FlaskForm):
    email = EmailField(_l("Email"), filters=[strip], validators=[required(), max_length(320)])
    password = PasswordField(_l("Kata sandi"), validators=[required(), max_length(1024)])
    remember = BooleanField(_l("Ingat saya di perangkat ini"))


class ProfileForm(FlaskForm):
    name = StringField(_l("Nama lengkap"), validators=[required(), max_length(120)])
    phone = TelField(
        _l("Nomor telepon"),
        validators=[Optional(), Regexp(PHONE_PATTERN, message=_l("Nomor telepon tidak valid."))],
    )
    locale = SelectField(_l("Bahasa"), choices=LANGUAGE_CHOICES, validators=[required()])
    npwp = NpwpField(_l("NPWP (opsional)"),
                     description=_l("Dicetak di invoice pembelian Anda."))


class NewPasswordForm(FlaskForm):
    """A new password typed twice (the reset link's form; the base of the change form)."""

    new_password = PasswordField(
        _l("Kata sandi baru"),
        validators=[required(), max_length(MAX_LENGTH + 1)],
        description=PASSWORD_HINT,
    )
    new_password_confirm = PasswordField(
        _l("Ulangi kata sandi baru"),
        validators=[
            required(),
            EqualTo("new_password", message=_l("Konfirmasi kata sandi tidak cocok.")),
        ],
    )


class PasswordChangeForm(NewPasswordForm):
    current_password = PasswordField(
        _l("Kata sandi saat ini"), validators=[required(), max_length(1024)]
    )


class ResetRequestForm(FlaskForm):
    email = EmailField(_l("Email"), filters=[strip], validators=[required(), max_length(320)])


# The address rules (the web form and the API's /me/addresses both validate with AddressForm;
# the API's schema states these same limits).
ADDRESS_LABEL_MAX = 40
ADDRESS_RECIPIENT_MAX = 120
ADDRESS_STREET_MAX = 300
ADDRESS_CITY_MAX = 80
POSTAL_CODE_PATTERN = r"^\d{5}$"


class AddressForm(FlaskForm):
    label = StringField(_l("Label (misalnya Rumah, Kantor)"), filters=[strip],
                        validators=[Optional(), max_length(ADDRESS_LABEL_MAX)])
    recipient = StringField(_l("Nama penerima"), filters=[strip],
                            validators=[required(), max_length(ADDRESS_RECIPIENT_MAX)])
    phone = TelField(_l("Nomor telepon penerima"), filters=[strip], validators=[
        required(), Regexp(PHONE_PATTERN, message=_l("Nomor telepon tidak valid."))])
    street = TextAreaField(_l("Alamat lengkap"), filters=[strip],
                           validators=[required(), max_length(ADDRESS_STREET_MAX)],
                           description=_l("Jalan, nomor rumah, RT/RW, kelurahan, kecamatan."))
    city = StringField(_l("Kota/kabupaten"), filters=[strip],
                       validators=[required(), max_length(ADDRESS_CITY_MAX)])
    province = SelectField(_l("Provinsi"),
                           choices=[SelectChoice("", "—")] + [SelectChoice(p, p)
                                                               for p in PROVINCES],
                           validate_choice=False, validators=[required()])
    postal_code = StringField(_l("Kode pos"), filters=[strip], validators=[
        required(), Regexp(POSTAL_CODE_PATTERN, message=_l("Kode pos terdiri dari 5 angka."))])
    make_default = BooleanField(_l("Jadikan alamat utama"))
    # Where to go after saving (the checkout page sends its own address).
    next = HiddenField()

    def validate_province(self, field) -> None:
        if field.data not in PROVINCES:
            raise ValidationError(_l("Pilih provinsi dari daftar."))

    def address_data(self) -> AddressData:
        """What was typed, for `address_create` / `address_update` (after `validate()`)."""
        return AddressData(label=self.label.data or "", recipient=self.recipient.data or "",
                           phone=self.phone.data or "", street=self.street.data or "",
                           city=self.city.data or "", province=self.province.data,
                           postal_code=self.postal_code.data or "",
                           make_default=bool(self.make_default.data))


class SecondFactorForm(FlaskForm):
    """The second step of a login: the authenticator's code, or a recovery code."""

    code = StringField(
        _l("Kode verifikasi"), filters=[strip], validators=[required(), max_length(20)],
        description=_l("6 angka dari aplikasi autentikator, atau salah satu kode pemulihan "
                       "(xxxx-xxxx)."),
        render_kw={"autocomplete": "one-time-code", "autocapitalize": "off",
                   "spellcheck": "false"})


class TotpEnableForm(FlaskForm):
    """Enrolment: the code the authenticator shows for the new secret."""

    code = StringField(
        _l("Kode dari aplikasi"), filters=[strip], validators=[required(), max_length(20)],
        description=_l("Ketik 6 angka yang tampil di aplikasi autentikator."),
        render_kw={"autocomplete": "one-time-code", "inputmode": "numeric"})


class ReauthForm(FlaskForm):
    """'Konfirmasi bahwa ini Anda': the password, and a code when 2FA is on."""

    password = PasswordField(_l("Kata sandi"), validators=[required(), max_length(1024)])
    code = StringField(
        _l("Kode verifikasi"), filters=[strip], validators=[max_length(20)],
        description=_l("6 angka dari aplikasi autentikator, atau salah satu kode pemulihan."),
        render_kw={"autocomplete": "one-time-code", "autocapitalize": "off",
                   "spellcheck": "false"})
    next = HiddenField()
