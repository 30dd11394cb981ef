"""Account forms. Messages are Indonesian source strings, translated by Flask-Babel."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import (
    BooleanField,
    EmailField,
    PasswordField,
    RadioField,
    SelectField,
    StringField,
    TelField,
)
from wtforms.validators import Email, EqualTo, InputRequired, Length, Optional, Regexp

from app.accounts.passwords import MAX_LENGTH

LANGUAGE_CHOICES = [("id", "Bahasa Indonesia"), ("en", "English")]
PHONE_PATTERN = r"^\+?[0-9 ()-]{6,20}$"


def _required() -> InputRequired:
    return InputRequired(message=_l("Wajib diisi."))


class RegisterForm(FlaskForm):
    account_type = RadioField(
        _l("Jenis akun"),
        choices=[("customer", _l("Pembeli")), ("seller", _l("Penjual (buka toko)"))],
        default="customer",
        validators=[_required()],
    )
    name = StringField(_l("Nama lengkap"), validators=[_required(), Length(max=120)])
    email = EmailField(
        _l("Email"),
        validators=[
            _required(),
            Length(max=320),
            Email(message=_l("Alamat email tidak valid."), check_deliverability=False),
        ],
    )
    phone = TelField(
        _l("Nomor telepon (opsional)"),
        validators=[Optional(), Regexp(PHONE_PATTERN, message=_l("Nomor telepon tidak valid."))],
    )
    password = PasswordField(
        _l("Kata sandi"), validators=[_required(), Length(max=MAX_LENGTH + 1)]
    )
    password_confirm = PasswordField(
        _l("Ulangi kata sandi"),
        validators=[
            _required(),
            EqualTo("password", message=_l("Konfirmasi kata sandi tidak cocok.")),
        ],
    )
    store_name = StringField(_l("Nama toko"), validators=[Length(max=120)])
    store_location = StringField(_l("Lokasi toko (kota)"), validators=[Length(max=120)])

    def validate(self, extra_validators=None) -> bool:
        valid = super().validate(extra_validators)
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
    email = EmailField(_l("Email"), validators=[_required(), Length(max=320)])
    password = PasswordField(_l("Kata sandi"), validators=[_required(), Length(max=1024)])
    remember = BooleanField(_l("Ingat saya di perangkat ini"))


class ProfileForm(FlaskForm):
    name = StringField(_l("Nama lengkap"), validators=[_required(), Length(max=120)])
    phone = TelField(
        _l("Nomor telepon"),
        validators=[Optional(), Regexp(PHONE_PATTERN, message=_l("Nomor telepon tidak valid."))],
    )
    locale = SelectField(_l("Bahasa"), choices=LANGUAGE_CHOICES, validators=[_required()])


class PasswordChangeForm(FlaskForm):
    current_password = PasswordField(
        _l("Kata sandi saat ini"), validators=[_required(), Length(max=1024)]
    )
    new_password = PasswordField(
        _l("Kata sandi baru"), validators=[_required(), Length(max=MAX_LENGTH + 1)]
    )
    new_password_confirm = PasswordField(
        _l("Ulangi kata sandi baru"),
        validators=[
            _required(),
            EqualTo("new_password", message=_l("Konfirmasi kata sandi tidak cocok.")),
        ],
    )
